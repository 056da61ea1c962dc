"""A stand-in GitHub runner: a workflow's jobs in ``needs`` order, each matrix entry in a fresh
checkout, every ``run:`` under ``bash --noprofile --norc -eo pipefail`` with the runner's
variables, and a stand-in for each ``uses:`` action:

- checkout: the repository's files copied into the workspace (the same path for every job, as
  on GitHub, so the absolute paths a record holds resolve in the next job too), then what a
  test asks to change in one job (``sabotage``);
- setup-python, setup-go: nothing (both are installed); ``python -m pip install`` does nothing
  either (the workspace is on PYTHONPATH);
- upload-artifact, download-artifact: folders under the run's root, with the actions' name,
  pattern, merge-multiple, exclusion and least-common-ancestor semantics;
- cache: folders keyed by the evaluated key, restored by exact key or the newest entry of a
  restore-key prefix, saved after a successful job that did not hit its key;
- ``sudo``: runs nothing for apt-get (the packages are present);
- ``gh``: a stub (tests/integration/gh_stub.py) that serves canned runs, artifacts and comments,
  or fails as told.

Expressions: the few forms the workflows use (contexts github, env, matrix, needs, steps,
runner; functions always, success, failure, cancelled, hashFiles, fromJSON, join; operators
``||``, ``&&``, ``!``, ``==``, ``!=``). Any other form raises ``UnknownForm``: the workflow must
stay within what this runner can check.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

STATUS_FUNCTIONS = re.compile(r"\b(always|success|failure|cancelled)\(")


class UnknownForm(Exception):
    """An expression, action or key this stand-in runner does not know."""


# --- expressions --------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||[!(),])"
    r"|(?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_*][\w-]*)*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UnknownForm(f"cannot read expression {text!r} at {text[pos:]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


@dataclass
class Scope:
    """What expressions see: the contexts, the job's status and the workspace."""

    contexts: dict[str, Any]
    workspace: Path
    failed: bool = False  # an earlier step (or a needed job) failed

    def call(self, name: str, args: list[Any]) -> Any:
        functions: dict[str, Callable[[], Any]] = {
            "always": lambda: True,
            "success": lambda: not self.failed,
            "failure": lambda: self.failed,
            "cancelled": lambda: False,
            "hashFiles": lambda: hash_files(self.workspace, args),
            "fromJSON": lambda: json.loads(args[0]),
            "join": lambda: _join(args),
        }
        if name not in functions:
            raise UnknownForm(f"function {name}() is not known to the stand-in runner")
        return functions[name]()

    def lookup(self, path: str) -> Any:
        root, *rest = path.split(".")
        if root in ("true", "false"):
            return root == "true"
        if root == "null":
            return None
        if root not in self.contexts:
            raise UnknownForm(f"context {root!r} is not known to the stand-in runner")
        value = self.contexts[root]
        for key in rest:
            value = value.get(key) if isinstance(value, dict) else None
        return value


class _Parser:
    def __init__(self, text: str, scope: Scope) -> None:
        self.tokens, self.at, self.scope, self.text = _tokens(text), 0, scope, text

    def peek(self) -> str:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else ""

    def take(self, want: str | None = None) -> tuple[str, str]:
        if self.at >= len(self.tokens):
            raise UnknownForm(f"expression {self.text!r} ends early")
        token = self.tokens[self.at]
        if want is not None and token[1] != want:
            raise UnknownForm(f"expression {self.text!r}: {want!r} expected, got {token[1]!r}")
        self.at += 1
        return token

    def parse(self) -> Any:
        value = self.either()
        if self.at != len(self.tokens):
            raise UnknownForm(f"expression {self.text!r}: unexpected {self.peek()!r}")
        return value

    def either(self) -> Any:
        value = self.both()
        while self.peek() == "||":
            self.take()
            other = self.both()
            value = value if truthy(value) else other
        return value

    def both(self) -> Any:
        value = self.compare()
        while self.peek() == "&&":
            self.take()
            other = self.compare()
            value = other if truthy(value) else value
        return value

    def compare(self) -> Any:
        value = self.unary()
        if self.peek() in ("==", "!="):
            op = self.take()[1]
            other = self.unary()
            same = _loose(value) == _loose(other)
            return same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if text == "(":
            value = self.either()
            self.take(")")
            return value
        if kind == "name" and self.peek() == "(":
            self.take("(")
            args = []
            while self.peek() != ")":
                args.append(self.either())
                if self.peek() == ",":
                    self.take(",")
            self.take(")")
            return self.scope.call(text, args)
        if kind == "name":
            return self.scope.lookup(text)
        raise UnknownForm(f"expression {self.text!r}: unexpected {text!r}")


def _join(args: list[Any]) -> Any:
    sep = args[1] if len(args) > 1 else ","
    return sep.join(str(x) for x in args[0]) if isinstance(args[0], list) else args[0]


def _loose(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else ("" if value is None else value)


def truthy(value: Any) -> bool:
    return value not in (None, False, "", 0, 0.0)


def evaluate(text: str, scope: Scope) -> Any:
    return _Parser(text, scope).parse()


_EXPR = re.compile(r"\$\{\{((?:(?!\}\}).)*)\}\}", re.S)


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def substitute(value: Any, scope: Scope) -> Any:
    """A workflow value with its ${{ }} expressions evaluated (a whole expression keeps its
    type: strategy.matrix is an object)."""
    if isinstance(value, dict):
        return {k: substitute(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, scope) for v in value]
    if not isinstance(value, str):
        return value
    whole = _EXPR.fullmatch(value.strip())
    if whole:
        return evaluate(whole.group(1), scope)
    return _EXPR.sub(lambda m: as_text(evaluate(m.group(1), scope)), value)


def condition(text: Any, scope: Scope) -> bool:
    """An ``if:``: a status function is implied (success()) when none is named."""
    if text is None:
        text = "success()"
    text = str(text).strip()
    whole = _EXPR.fullmatch(text)
    if whole:
        text = whole.group(1).strip()
    if not STATUS_FUNCTIONS.search(text):
        text = f"success() && ({text})"
    return truthy(evaluate(text, scope))


# --- files --------------------------------------------------------------------------------


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob of the actions (``**`` any folders, ``*`` within one; a trailing / is a folder
    and everything in it) as a regex over paths relative to the workspace."""
    folder = pattern.endswith("/")
    out, i = "", 0
    pattern = pattern.strip("/")
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + ("(?:/.*)?" if folder or "*" not in pattern else ""))


def files_under(root: Path) -> Iterator[str]:
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            yield str((Path(dirpath) / name).relative_to(root))


def hash_files(workspace: Path, patterns: list[Any]) -> str:
    """hashFiles(): '' when nothing matches, else a SHA-256 over the matched files' hashes."""
    regexes = [_glob_regex(str(p)) for p in patterns]
    matched = sorted(f for f in files_under(workspace) if any(r.fullmatch(f) for r in regexes))
    if not matched:
        return ""
    total = hashlib.sha256()
    for name in matched:
        total.update(hashlib.sha256((workspace / name).read_bytes()).digest())
    return total.hexdigest()


def link_tree(source: Path, target: Path) -> None:
    """target gets source's files as hard links (a file already there stays)."""
    for dirpath, _dirs, names in os.walk(source):
        place = target / Path(dirpath).relative_to(source)
        place.mkdir(parents=True, exist_ok=True)
        for name in names:
            with contextlib.suppress(FileExistsError):
                os.link(Path(dirpath) / name, place / name, follow_symlinks=False)


def remove_tree(path: Path) -> None:
    """rm -rf, read-only module cache folders included."""

    def writable(func: Callable[..., Any], name: str, exc: BaseException) -> None:
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            os.chmod(os.path.dirname(name), stat.S_IRWXU)
            func(name)
        elif not isinstance(exc, FileNotFoundError):
            raise exc

    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, onexc=writable) if sys.version_info >= (3, 12) else shutil.rmtree(
            path, onerror=lambda f, n, e: writable(f, n, e[1])
        )


# --- the run ------------------------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    outcome: str  # success, failure, skipped
    output: str = ""


@dataclass
class JobResult:
    name: str
    result: str  # success, failure, skipped
    summary: str = ""
    steps: list[StepResult] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)

    def step(self, name: str) -> StepResult:
        return next(s for s in self.steps if s.name == name)


@dataclass
class Runner:
    """One run of a workflow on this machine. ``root`` holds the workspace, the artifacts, the
    cache entries, the stubs and each step's files; ``caches`` may be shared between runs."""

    root: Path
    repo: Path
    caches: Path
    github: dict[str, Any]  # the github context: event_name, ref_name, base_ref, event, ...
    environ: dict[str, str]  # the runner's own environment (PATH with the stubs first ...)
    sabotage: Mapping[str, Callable[[Path], None]] = field(default_factory=dict)
    lose_artifacts: frozenset[str] = frozenset()  # uploaded, then never there (a dead job)
    jobs: dict[str, JobResult] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)

    @property
    def workspace(self) -> Path:
        return self.root / "work" / "repo" / "repo"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    def run(self, workflow: Path) -> dict[str, JobResult]:
        spec = yaml.safe_load(workflow.read_text())
        for job_id in _in_needs_order(spec["jobs"]):
            self._job(job_id, spec["jobs"][job_id], spec.get("env") or {})
        return self.jobs

    # -- jobs

    def _job(self, job_id: str, job: dict[str, Any], workflow_env: dict[str, str]) -> None:
        needs = job.get("needs") or []
        needs = [needs] if isinstance(needs, str) else needs
        needs_ctx = {
            n: {"result": self.jobs[n].result, "outputs": self.jobs[n].outputs} for n in needs
        }
        scope = Scope(self._contexts(workflow_env, needs_ctx, {}), self.workspace)
        scope.failed = any(self.jobs[n].result != "success" for n in needs)
        if not condition(job.get("if"), scope):
            self.jobs[job_id] = JobResult(job_id, "skipped")
            return
        matrix = (job.get("strategy") or {}).get("matrix")
        entries = [{}]
        if matrix is not None:
            value = substitute(matrix, scope)
            if set(value) != {"include"}:
                raise UnknownForm(f"job {job_id}: only a matrix of include entries is known")
            entries = value["include"]
        results = [self._instance(job_id, job, workflow_env, needs_ctx, m) for m in entries]
        if matrix is None:
            self.jobs[job_id] = results[0]
            return
        failed = any(r.result == "failure" for r in results)
        self.jobs[job_id] = JobResult(job_id, "failure" if failed else "success")
        for result in results:
            self.jobs[result.name] = result

    def _contexts(
        self, env: dict[str, str], needs: dict[str, Any], matrix: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "github": self.github,
            "env": dict(env),
            "needs": needs,
            "matrix": matrix,
            "steps": {},
            "runner": {"os": "Linux", "arch": "X64", "temp": str(self.root / "temp")},
            "job": {},
        }

    def _instance(
        self,
        job_id: str,
        job: dict[str, Any],
        workflow_env: dict[str, str],
        needs: dict[str, Any],
        matrix: dict[str, Any],
    ) -> JobResult:
        scope = Scope(self._contexts(workflow_env, needs, matrix), self.workspace)
        name = as_text(substitute(job.get("name", job_id), scope)) if matrix else job_id
        result = JobResult(name, "success")
        remove_tree(self.root / "work")  # a fresh runner
        for folder in ("temp", "gocache", "gomodcache"):
            remove_tree(self.root / folder)
            (self.root / folder).mkdir(parents=True)
        self.workspace.mkdir(parents=True)
        env = {**workflow_env, **substitute(job.get("env") or {}, scope)}
        scope.contexts["env"] = dict(env)
        posts: list[Callable[[bool], None]] = []
        for index, step in enumerate(job["steps"]):
            self._step(job_id, name, index, step, scope, env, result, posts)
        for post in posts:
            post(not scope.failed)
        result.result = "failure" if scope.failed else "success"
        result.outputs = {
            k: as_text(substitute(v, scope)) for k, v in (job.get("outputs") or {}).items()
        }
        return result

    # -- steps

    def _step(
        self,
        job_id: str,
        job_name: str,
        index: int,
        step: dict[str, Any],
        scope: Scope,
        env: dict[str, str],
        result: JobResult,
        posts: list[Callable[[bool], None]],
    ) -> None:
        known = {"name", "id", "if", "env", "run", "uses", "with", "continue-on-error"}
        if set(step) - known:
            raise UnknownForm(f"step keys {sorted(set(step) - known)} are not known")
        scope.contexts["env"] = dict(env)
        name = as_text(substitute(step.get("name") or step.get("run") or step.get("uses"), scope))
        step_id = step.get("id") or f"__{index}"
        if not condition(step.get("if"), scope):
            result.steps.append(StepResult(name, "skipped"))
            scope.contexts["steps"][step_id] = {
                "outcome": "skipped",
                "conclusion": "skipped",
                "outputs": {},
            }
            return
        step_env = {
            **env,
            **{k: as_text(v) for k, v in substitute(step.get("env") or {}, scope).items()},
        }
        files = self.root / "steps" / f"{job_name.replace('/', '_')}-{index}"
        files.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, str] = {}
        if "uses" in step:
            ok, text = self._action(step, scope, outputs, posts)
        else:
            ok, text, summary, outputs, more_env = self._run(
                as_text(substitute(step["run"], scope)), step_env, files
            )
            result.summary += summary
            env.update(more_env)
        self.log.append(f"[{job_name}] {name}: {'ok' if ok else 'FAILED'}\n{text}")
        outcome = "success" if ok else "failure"
        go_on = truthy(substitute(step.get("continue-on-error", False), scope))
        conclusion = "success" if ok or go_on else "failure"
        scope.contexts["steps"][step_id] = {
            "outcome": outcome,
            "conclusion": conclusion,
            "outputs": outputs,
        }
        result.steps.append(StepResult(name, outcome, text))
        if conclusion == "failure":
            scope.failed = True

    def _runner_env(self, env: dict[str, str], files: Path) -> dict[str, str]:
        event = self.root / "event.json"
        event.write_text(json.dumps(self.github.get("event", {})))
        return {
            **self.environ,
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_OUTPUT": str(files / "output"),
            "GITHUB_ENV": str(files / "env"),
            "GITHUB_STEP_SUMMARY": str(files / "summary"),
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_EVENT_NAME": self.github["event_name"],
            "GITHUB_SHA": self.github["sha"],
            "GITHUB_REF_NAME": self.github["ref_name"],
            "GITHUB_REPOSITORY": self.github["repository"],
            "RUNNER_TEMP": str(self.root / "temp"),
            "RUNNER_OS": "Linux",
            "GOCACHE": str(self.root / "gocache"),
            "GOMODCACHE": str(self.root / "gomodcache"),
            "PYTHONPATH": str(self.workspace),
            **env,
        }

    def _run(
        self, script: str, env: dict[str, str], files: Path
    ) -> tuple[bool, str, str, dict[str, str], dict[str, str]]:
        for name in ("output", "env", "summary"):
            (files / name).write_text("")
        (files / "script.sh").write_text(script)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(files / "script.sh")],
            cwd=self.workspace,
            env=self._runner_env(env, files),
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        text = (done.stdout + done.stderr)[-6000:]
        return (
            done.returncode == 0,
            text,
            (files / "summary").read_text(),
            _key_values((files / "output").read_text()),
            _key_values((files / "env").read_text()),
        )

    # -- actions

    def _action(
        self,
        step: dict[str, Any],
        scope: Scope,
        outputs: dict[str, str],
        posts: list[Callable[[bool], None]],
    ) -> tuple[bool, str]:
        action = step["uses"].split("@")[0]
        given = {k: as_text(v) for k, v in substitute(step.get("with") or {}, scope).items()}
        if action == "actions/checkout":
            return self._checkout(scope)
        if action in ("actions/setup-python", "actions/setup-go"):
            return True, f"stand-in: {action} does nothing (installed)"
        if action == "actions/upload-artifact":
            return self._upload(given)
        if action == "actions/download-artifact":
            return self._download(given)
        if action == "actions/cache":
            return self._cache(given, outputs, posts)
        raise UnknownForm(f"no stand-in for the action {action}")

    def _checkout(self, scope: Scope) -> tuple[bool, str]:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=self.repo,
            capture_output=True,
            check=True,
        ).stdout.decode()
        for name in filter(None, listed.split("\0")):
            source = self.repo / name
            if not source.exists() and not source.is_symlink():
                continue  # deleted in the working tree
            target = self.workspace / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
            else:
                shutil.copy2(source, target)
        change = self.sabotage.get(as_text(scope.contexts["matrix"].get("id", "")))
        if change is not None:
            change(self.workspace)
            return True, "stand-in: checked out, then changed as the test asked"
        return True, "stand-in: checked out"

    def _upload(self, given: dict[str, str]) -> tuple[bool, str]:
        name = given["name"]
        store = self.artifacts / name
        if store.exists():
            return False, f"an artifact named {name} was already uploaded in this run"
        lines = [x.strip() for x in given["path"].splitlines() if x.strip()]
        include = [_glob_regex(x) for x in lines if not x.startswith("!")]
        exclude = [_glob_regex(x[1:]) for x in lines if x.startswith("!")]
        prefixes = [_literal_prefix(x) for x in lines if not x.startswith("!")]
        root = os.path.commonpath(prefixes) if prefixes else ""
        chosen = [
            f
            for f in files_under(self.workspace)
            if any(r.fullmatch(f) for r in include) and not any(r.fullmatch(f) for r in exclude)
        ]
        if not chosen:
            return (
                True,
                f"No files were found with the provided path: {given['path']!r}. No artifacts will be uploaded.",
            )
        if name in self.lose_artifacts:
            return True, f"stand-in: {name} uploaded, and then lost (the job died)"
        for f in chosen:
            target = store / os.path.relpath(f, root or ".")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.workspace / f, target)
        return True, f"stand-in: uploaded {len(chosen)} files as {name}"

    def _download(self, given: dict[str, str]) -> tuple[bool, str]:
        into = self.workspace / given.get("path", "")
        if "name" in given:
            if not (self.artifacts / given["name"]).is_dir():
                return (
                    False,
                    f"Unable to download artifact(s): Artifact not found for name: {given['name']}",
                )
            shutil.copytree(self.artifacts / given["name"], into, dirs_exist_ok=True)
            return True, f"stand-in: downloaded {given['name']}"
        names = (
            sorted(
                p.name
                for p in self.artifacts.glob("*")
                if fnmatch.fnmatchcase(p.name, given["pattern"])
            )
            if self.artifacts.is_dir()
            else []
        )
        merge = given.get("merge-multiple") == "true"
        for name in names:
            shutil.copytree(
                self.artifacts / name, into if merge else into / name, dirs_exist_ok=True
            )
        return True, f"stand-in: downloaded {len(names)} artifacts: {', '.join(names)}"

    def _cache(
        self, given: dict[str, str], outputs: dict[str, str], posts: list[Callable[[bool], None]]
    ) -> tuple[bool, str]:
        paths = [Path(x.strip()) for x in given["path"].splitlines() if x.strip()]
        key = given["key"]
        prefixes = [x.strip() for x in given.get("restore-keys", "").splitlines() if x.strip()]
        entries = _cache_entries(self.caches)
        hit = next((e for e in entries if e["key"] == key), None)
        for prefix in prefixes:
            if hit is None:
                hit = next((e for e in entries if e["key"].startswith(prefix)), None)
        exact = hit is not None and hit["key"] == key
        if hit is not None:
            for index, path in enumerate(paths):
                saved = Path(hit["dir"]) / str(index)
                if saved.is_dir():
                    link_tree(saved, path)
        outputs["cache-hit"] = "true" if exact else "false"

        def save(job_ok: bool) -> None:
            if exact or not job_ok or any(e["key"] == key for e in _cache_entries(self.caches)):
                return
            folder = self.caches / hashlib.sha256(key.encode()).hexdigest()[:16]
            for index, path in enumerate(paths):
                if path.is_dir():
                    link_tree(path, folder / str(index))
            number = len(_cache_entries(self.caches))
            (folder / "key.json").write_text(json.dumps({"key": key, "number": number}))
            self.log.append(f"stand-in cache: saved {key}")

        posts.append(save)
        said = "no entry" if hit is None else ("hit" if exact else f"restored {hit['key']}")
        return True, f"stand-in cache {key}: {said}"


def _cache_entries(caches: Path) -> list[dict[str, Any]]:
    """Saved entries, newest first."""
    found = []
    for meta in caches.glob("*/key.json"):
        entry = json.loads(meta.read_text())
        found.append({**entry, "dir": str(meta.parent)})
    return sorted(found, key=lambda e: -int(e["number"]))


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard links of source's files (this machine's Go build cache is gigabytes; go writes a
    cache file whole under a name that is its content's hash, so sharing the file is safe),
    or a copy where links cannot be made (another file system)."""
    try:
        link_tree(source, target)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)


def seed_cache(caches: Path, keys: list[str], sources: list[Path]) -> None:
    """Cache entries made before the run (older entries restore-keys fall back to): hard links
    to (or copies of) sources, once, then hard links of those for every other key."""
    first: Path | None = None
    for key in keys:
        folder = caches / hashlib.sha256(key.encode()).hexdigest()[:16]
        for index, source in enumerate(sources):
            if first is not None:
                link_tree(first / str(index), folder / str(index))
            elif source.is_dir():
                _link_or_copy(source, folder / str(index))
        (folder / "key.json").write_text(json.dumps({"key": key, "number": -1}))
        first = first or folder


def _literal_prefix(pattern: str) -> str:
    """The folder part of a path pattern before its first wildcard (the artifact's root is
    the least common ancestor of these)."""
    parts = []
    for part in pattern.strip("/").split("/"):
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    if not pattern.endswith("/") and len(parts) == len(pattern.strip("/").split("/")):
        parts = parts[:-1]  # a file: its folder
    return "/".join(parts) or "."


def _key_values(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT / GITHUB_ENV: name=value lines and name<<DELIMITER blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


def _in_needs_order(jobs: dict[str, Any]) -> list[str]:
    done: list[str] = []

    def visit(job_id: str) -> None:
        if job_id in done:
            return
        needs = jobs[job_id].get("needs") or []
        for need in [needs] if isinstance(needs, str) else needs:
            visit(need)
        done.append(job_id)

    for job_id in jobs:
        visit(job_id)
    return done
