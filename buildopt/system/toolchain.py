"""Find the Go toolchain and ask it for facts instead of hard-coding them.

Valid targets and their cgo support come from ``go tool dist list -json``; host platform,
version and defaults from ``go env -json``. The answers are buildopt.config.toolchain's facts,
which the planner takes as a parameter (it starts no process).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from buildopt.config.toolchain import Toolchain, parse_dist_list
from buildopt.errors import ToolchainError
from buildopt.system import proc

FALLBACK_GO = "/usr/local/go/bin/go"
GO_ENV_VAR = "BUILDOPT_GO"
QUERY_TIMEOUT = 120.0


def query_timeout(environ: Mapping[str, str]) -> float:
    """Seconds a query of the toolchain (go env, go tool dist list) may take: BUILDOPT_GO_TIMEOUT
    in seconds, else QUERY_TIMEOUT (the first go env of a new toolchain may download it)."""
    given = environ.get("BUILDOPT_GO_TIMEOUT", "")
    try:
        seconds = float(given) if given else QUERY_TIMEOUT
    except ValueError:
        raise ToolchainError(f"BUILDOPT_GO_TIMEOUT={given}: expected seconds") from None
    if seconds <= 0:
        raise ToolchainError(f"BUILDOPT_GO_TIMEOUT={given}: expected more than 0 seconds")
    return seconds


def find_go(environ: Mapping[str, str]) -> str:
    """Path of the go command: $BUILDOPT_GO, else go on PATH, else /usr/local/go/bin/go."""
    explicit = environ.get(GO_ENV_VAR)
    if explicit:
        found = shutil.which(explicit, path=environ.get("PATH"))
        if found is None:
            raise ToolchainError(f"{GO_ENV_VAR}={explicit}: no such executable")
        return found
    found = shutil.which("go", path=environ.get("PATH"))
    if found:
        return found
    if os.access(FALLBACK_GO, os.X_OK):
        return FALLBACK_GO
    raise ToolchainError(
        "Go toolchain not found: no 'go' on PATH nor at /usr/local/go/bin/go "
        f"(install Go from https://go.dev/dl/ or set {GO_ENV_VAR})"
    )


def _query_json(argvs: list[list[str]], environ: Mapping[str, str]) -> list[object]:
    """The JSON each command prints; the commands run at the same time."""
    try:
        done = proc.run_together(argvs, env=environ, timeout=query_timeout(environ))
    except proc.CommandFailed as exc:
        raise ToolchainError(f"the Go toolchain did not answer: {exc.message}") from exc
    answers = []
    for argv, query in zip(argvs, done, strict=True):
        try:
            answers.append(json.loads(query.stdout))
        except json.JSONDecodeError as exc:
            raise ToolchainError(f"{proc.display(argv)} printed no JSON: {exc}") from exc
    return answers


def load(environ: Mapping[str, str]) -> Toolchain:
    """Ask the Go toolchain named by ``environ`` for its version, host and targets."""
    go = find_go(environ)
    queries = [[go, "env", "-json"], [go, "tool", "dist", "list", "-json"]]
    goenv, targets = _query_json(queries, environ)
    if not isinstance(goenv, dict):
        raise ToolchainError("go env -json: expected a JSON object")
    env = {str(k): str(v) for k, v in goenv.items()}
    return Toolchain(
        go=go,
        version=env.get("GOVERSION", "unknown"),
        goroot=env.get("GOROOT", ""),
        hostos=env.get("GOHOSTOS", ""),
        hostarch=env.get("GOHOSTARCH", ""),
        platforms=parse_dist_list(targets),
        env=env,
    )


def release_cached(tools: Toolchain, release: str) -> bool:
    """Whether go has fetched release already (its module in GOMODCACHE)."""
    cache = tools.env.get("GOMODCACHE", "")
    name = f"toolchain@v0.0.1-{release}.{tools.hostos}-{tools.hostarch}"
    return bool(cache) and (Path(cache) / "golang.org" / name).is_dir()


def fetch_release(
    tools: Toolchain, release: str, directory: Path, environ: Mapping[str, str]
) -> str:
    """Make go fetch a Go release through the module proxy, as GOTOOLCHAIN=release does on
    first use (``go version`` with it set); the version line it prints. ToolchainError when go
    cannot get it (no such release, no network)."""
    env = {**environ, "GOTOOLCHAIN": release}
    try:
        done = proc.run(
            [tools.go, "version"], env=env, cwd=directory, timeout=query_timeout(environ)
        )
    except proc.CommandFailed as exc:
        why = download_failure(release, exc.stderr_tail)
        raise ToolchainError(why or f"GOTOOLCHAIN={release}: {exc.message}") from exc
    return done.stdout.strip()


def download_failure(release: str, stderr: str) -> str | None:
    """Why go could not get a Go release (GOTOOLCHAIN=release), in one line - "go1.99.0:
    go cannot download it: 403 Forbidden: This module version is not available." - or None
    when its output says no such thing. (Its first line only says "go: downloading".)"""
    lines = [line.strip() for line in stderr.splitlines()]
    failed = next((line for line in lines if line.startswith(f"go: download {release}:")), None)
    if failed is None:
        return None
    why = failed.rsplit(": ", 1)[-1]  # 403 Forbidden, no such host, ...
    server = next((line for line in lines if line.startswith("server response:")), "")
    detail = server.removeprefix("server response:").strip()
    return f"{release}: go cannot download it: {why}" + (f": {detail}" if detail else "")


# The files go opens in a package's folder to read their build constraints (go/build matchFile):
# Go sources and what cgo, the assembler and SWIG take. go.mod is read at the module's root.
GO_READS = frozenset(
    {".go", ".c", ".cc", ".cxx", ".cpp", ".m", ".h", ".hh", ".hpp", ".hxx", ".f", ".F", ".for"}
    | {".f90", ".s", ".S", ".sx", ".swig", ".swigcxx"}
)
KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class NotRegularSource(NamedTuple):
    path: Path
    kind: str  # "a FIFO", ...

    def message(self, shown_from: Path) -> str:
        shown = os.path.relpath(self.path, shown_from)
        if shown.startswith(".."):
            shown = str(self.path)
        waits = self.kind in ("a FIFO", "a character device")
        cause = "go would wait on it forever" if waits else "go cannot read it"
        return f"{shown}: not a regular file ({self.kind}); {cause}"


def not_regular_sources(root: Path) -> list[NotRegularSource]:
    """The files go would open in the module at root (./...: not in folders named ``.*``,
    ``_*`` or testdata, nor in other modules) that are not regular files. go opens each
    source file to read its build constraints and, on a FIFO, waits for a writer forever.
    One os.scandir per folder (the Go tree's 1,300 folders: ~20 ms; Caddy's: <1 ms)."""
    found: list[NotRegularSource] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # go says what is wrong with a folder it cannot read
            continue
        if folder != root and any(e.name == "go.mod" for e in entries):
            continue  # another module
        for entry in entries:
            name = entry.name
            read = os.path.splitext(name)[1] in GO_READS or (folder == root and name == "go.mod")
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not name.startswith((".", "_")) and name != "testdata":
                        folders.append(Path(entry.path))
                elif read and not entry.is_file():  # (a symbolic link is followed)
                    kind = KINDS.get(stat.S_IFMT(entry.stat().st_mode))
                    if kind is not None:
                        found.append(NotRegularSource(Path(entry.path), kind))
            except OSError:  # a dangling link: go reports it
                continue
    return sorted(found)


def check_sources(root: Path, shown_from: Path) -> None:
    """ToolchainError naming the first file of the module at root that would make go hang
    (see not_regular_sources): refused before go is started, not after its deadline."""
    found = not_regular_sources(root)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ToolchainError(found[0].message(shown_from) + more)


def enclosing_module(directory: Path) -> Path:
    """The nearest folder at or above directory with a go.mod (directory if there is none):
    what go reads for a package pattern given there, found without starting go."""
    for folder in (directory, *directory.parents):
        if os.path.lexists(folder / "go.mod"):
            return folder
    return directory


def timed_out(exc: proc.CommandFailed, root: Path, shown_from: Path) -> str:
    """The message of a go command's failure; for one stopped at its deadline, with the file
    that would have held it, if there is one now."""
    if not exc.timed_out:
        return exc.message
    found = not_regular_sources(root)
    return exc.message + (f" ({found[0].message(shown_from)})" if found else "")


class MainPackage(NamedTuple):
    import_path: str
    dir: Path


class Module(NamedTuple):
    """A Go module as ``go list`` sees it: where it is, its path, its main packages."""

    root: Path
    path: str
    mains: tuple[MainPackage, ...]


def module_at(directory: Path, environ: Mapping[str, str]) -> Module:
    """The Go module holding directory, and its main packages (``go list ./...`` at its root).
    ToolchainError when directory is in no module or the module does not list."""
    go = find_go(environ)
    try:
        gomod = _go_says(go, directory, environ, "env", "GOMOD").strip()
    except proc.CommandFailed as exc:
        raise ToolchainError(f"the Go toolchain did not answer: {exc.message}") from exc
    if gomod in ("", os.devnull):
        raise ToolchainError(f"{directory} is not in a Go module (no go.mod here or above it)")
    root = Path(gomod).parent
    check_sources(root, directory)
    template = '{{if eq .Name "main"}}{{.ImportPath}}\t{{.Dir}}{{end}}'
    try:
        listed = _go_says(go, root, environ, "list", "-e", "-f", template, "./...")
        module_path = _go_says(go, root, environ, "list", "-m", "-f", "{{.Path}}").strip()
    except proc.CommandFailed as exc:
        raise ToolchainError(
            f"go list in {root} failed: {timed_out(exc, root, directory)}"
        ) from exc
    mains = tuple(
        MainPackage(line.split("\t")[0], Path(line.split("\t")[1]))
        for line in listed.splitlines()
        if "\t" in line
    )
    return Module(root, module_path, mains)


def module_root(directory: Path, environ: Mapping[str, str]) -> Path | None:
    """The root of the Go module holding directory (``go env GOMOD``), or None."""
    try:
        gomod = _go_says(find_go(environ), directory, environ, "env", "GOMOD").strip()
    except proc.CommandFailed:
        return None
    return None if gomod in ("", os.devnull) else Path(gomod).parent


def _go_says(go: str, directory: Path, environ: Mapping[str, str], *args: str) -> str:
    """What ``go ARGS`` run in directory prints; CommandFailed when it fails."""
    return proc.run([go, *args], env=environ, cwd=directory, timeout=query_timeout(environ)).stdout
