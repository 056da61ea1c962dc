"""The source scan: start-up anti-patterns in Go code, found with Go's own parser.

``go list`` selects the packages and files (build tags applied, vendor directories left out as
``./...`` does); the scan helper (buildopt/measure/helpers/scan) parses them with go/parser and
reports facts: every runtime.GOMAXPROCS call with its argument and where it runs, automaxprocs
imports, init functions and package-level initialisers with their risks. This module judges
the facts.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from buildopt.errors import BuildoptError
from buildopt.record.model import SCAN_SCHEMA, Finding, InitSite, ScanReport, Severity
from buildopt.system import proc, toolchain

HELPER_TIMEOUT = 300.0  # seconds for the parser helper on a whole module
NOT_SPACE = re.compile(r"\S")
GENERATED = re.compile(r"^// Code generated .* DO NOT EDIT\.$", re.M)
CONTAINER_AWARE_GO = (1, 25)  # GOMAXPROCS follows the cgroup CPU limit from this go directive on

RULES: dict[str, tuple[Severity, str, str]] = {
    "gomaxprocs-constant": (
        "error",
        "runtime.GOMAXPROCS set to a constant",
        "remove the call; the runtime sizes GOMAXPROCS from the CPUs (and, since Go 1.25, "
        "the container's CPU limit) by itself",
    ),
    "gomaxprocs-numcpu": (
        "warning",
        "runtime.GOMAXPROCS(runtime.NumCPU())",
        "remove the call: it is the default since Go 1.5, and since Go 1.25 setting it by hand "
        "switches off the container-aware default and its updates",
    ),
    "gomaxprocs-flag": (
        "warning",
        "runtime.GOMAXPROCS from a command-line flag with a default",
        "default the flag to 0 (leave GOMAXPROCS alone unless an operator asks), or drop it: "
        "the runtime follows the container's CPU limit since Go 1.25",
    ),
    "gomaxprocs-dynamic": (
        "note",
        "runtime.GOMAXPROCS from configuration or environment",
        "make sure production leaves it unset (GOMAXPROCS follows the container's CPU limit "
        "since Go 1.25); a hand-set value switches that off",
    ),
    "automaxprocs-redundant": (
        "note",
        "go.uber.org/automaxprocs in a module with go >= 1.25",
        "remove the import: since Go 1.25 the runtime follows the container's CPU limit",
    ),
    "go-directive-maxprocs": (
        "note",
        "go.mod says go <= 1.24: the container-aware GOMAXPROCS is off",
        "raise the go directive to 1.25 or later (or keep automaxprocs) so that GOMAXPROCS "
        "follows the container's CPU limit",
    ),
    "init-risk": (
        "note",
        "start-up work in init() or a package-level initialiser",
        "move the work out of start-up: initialise on first use (sync.OnceValue) or in main",
    ),
}
WHERE = {
    "init": "in init(): it runs before main, at every start",
    "package": "in a package-level initialiser: it runs at every start",
    "main": "in main, before the service starts",
    "handler": "in an HTTP handler: it runs on every request",
}


class ScanError(BuildoptError):
    """No Go files, a file that does not parse, or go list failing (bad input, exit 2)."""


def go_list(
    go: str,
    root: Path,
    patterns: Sequence[str],
    tags: Sequence[str],
    environ: Mapping[str, str],
    *,
    deps: bool = False,
) -> list[dict[str, Any]]:
    """The packages ``go list -e -json`` selects (with ``deps``, and all they import), as
    dictionaries. ScanError at once for a source file go would wait on (a FIFO), and when go
    list does not answer within BUILDOPT_GO_TIMEOUT."""
    argv = [go, "list", "-e", "-json", *(["-deps"] if deps else [])]
    argv += [f"-tags={','.join(tags)}"] if tags else []
    module = toolchain.enclosing_module(root)
    try:
        toolchain.check_sources(module, Path.cwd())
        done = proc.run(
            [*argv, *(patterns or ["./..."])],
            env=environ,
            cwd=root,
            timeout=toolchain.query_timeout(environ),
            check=False,
        )
    except proc.CommandFailed as exc:
        raise ScanError(f"{root}: {toolchain.timed_out(exc, module, Path.cwd())}") from None
    except BuildoptError as exc:
        raise ScanError(exc.message) from None
    if done.returncode != 0 and not done.stdout.strip():
        raise ScanError(f"{root}: go list failed: {proc.first_error(done.stderr)}")
    decoder, text, pos, packages = json.JSONDecoder(), done.stdout, 0, []
    while (found := NOT_SPACE.search(text, pos)) is not None:  # one JSON object after another
        obj, pos = decoder.raw_decode(text, found.start())
        packages.append(obj)
    return packages


def scan(
    root: Path,
    patterns: Sequence[str] = (),
    tags: Sequence[str] = (),
    *,
    environ: Mapping[str, str],
    include_generated: bool = False,
) -> ScanReport:
    """Scan the packages under root (default ./...) as the given build tags select them."""
    from buildopt.measure.helpers import build_helper

    tools = toolchain.load(environ)
    packages = go_list(tools.go, root, patterns, tags, environ)
    files, modules = _files(packages, root, include_generated)
    if not files:
        raise ScanError(f"{root}: no Go files to scan ({' '.join(patterns) or './...'})")
    helper = build_helper("scan", environ)
    request = json.dumps({"files": [{"path": str(p), "package": pkg} for p, pkg in files]})
    try:
        done = proc.run([str(helper)], input=request, timeout=HELPER_TIMEOUT)
    except proc.CommandFailed as exc:
        raise ScanError(f"the scan helper failed: {exc.message}") from exc
    facts = json.loads(done.stdout)
    if facts["errors"]:
        first = facts["errors"][0]
        raise ScanError(f"{_rel(first['file'], root)} does not parse: {first['error']}")
    findings = judge(facts, modules, root)
    inventory = tuple(
        msgspec.convert({**i, "file": _rel(i["file"], root)}, InitSite) for i in facts["inits"]
    )
    return _report(root, tuple(tags), len(files), tuple(findings), inventory)


SKIPPED_DIRS = frozenset({"vendor", "testdata", "node_modules"})


def modules_below(directory: Path, depth: int = 6) -> list[Path]:
    """Roots of the Go modules in directory and below (go.mod files), nearest first, not in
    vendor/, testdata/ or hidden folders: what `buildopt scan` covers outside any module. A
    go.mod or Go source that is not a regular file (a FIFO) is skipped with a note."""
    found: list[Path] = []
    for folder, dirs, names in os.walk(directory):  # top-down: dirs is pruned in place
        here = Path(folder)
        level = len(here.relative_to(directory).parts)
        dirs[:] = sorted(
            d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".") and level < depth
        )
        for name in sorted(names):
            if name != "go.mod" and Path(name).suffix not in toolchain.GO_READS:
                continue
            if not (here / name).is_file():  # what go would read but cannot (a FIFO)
                _note_skipped(here / name, directory)
            elif name == "go.mod":
                found.append(here)
    return found


def _note_skipped(path: Path, base: Path) -> None:
    try:
        kind = toolchain.KINDS.get(stat.S_IFMT(os.stat(path).st_mode), "not a file")
    except OSError:
        kind = "no longer there"
    print(f"note: {_rel(str(path), base)}: not a regular file ({kind}); skipped", file=sys.stderr)


def combine(reports: Sequence[ScanReport], base: Path) -> ScanReport:
    """One report of several modules' scans, file names relative to base."""

    def moved(path: str, report: ScanReport) -> str:
        return _rel(str(Path(report.root) / path), base)

    findings = tuple(
        msgspec.structs.replace(f, file=moved(f.file, r)) for r in reports for f in r.findings
    )
    inventory = tuple(
        msgspec.structs.replace(i, file=moved(i.file, r)) for r in reports for i in r.inventory
    )
    tags = reports[0].tags if reports else ()
    return _report(base, tags, sum(r.files for r in reports), findings, inventory)


def _report(
    root: Path,
    tags: tuple[str, ...],
    files: int,
    findings: tuple[Finding, ...],
    inventory: tuple[InitSite, ...],
) -> ScanReport:
    return ScanReport(
        schema=SCAN_SCHEMA,
        root=str(root),
        tags=tags,
        files=files,
        counts={s: sum(f.severity == s for f in findings) for s in ("error", "warning", "note")},
        findings=findings,
        inventory=inventory,
    )


def _files(
    packages: list[dict[str, Any]], root: Path, include_generated: bool
) -> tuple[list[tuple[Path, str]], dict[str, dict[str, Any]]]:
    """(file, package) pairs to parse, and the modules (by package) for go-version rules."""
    files: list[tuple[Path, str]] = []
    modules: dict[str, dict[str, Any]] = {}
    for pkg in packages:
        error = pkg.get("Error")
        if error and "no Go files" not in error.get("Err", "") and not pkg.get("GoFiles"):
            raise ScanError(f"{error.get('Pos') or pkg.get('ImportPath')}: {error.get('Err')}")
        directory = Path(pkg.get("Dir", root))
        if pkg.get("Module"):
            modules[pkg["ImportPath"]] = pkg["Module"]
        for name in [*pkg.get("GoFiles", []), *pkg.get("CgoFiles", [])]:
            path = directory / name
            if not path.is_file():  # made a FIFO since go read it: the parser would wait
                _note_skipped(path, root)
                continue
            if not include_generated and GENERATED.search(path.read_text(errors="replace")[:4096]):
                continue
            files.append((path, pkg["ImportPath"]))
    return files, modules


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def _finding(rule: str, site: Mapping[str, Any], root: Path, message: str) -> Finding:
    """A finding of rule at the helper's site (its file, line and column)."""
    severity, _, fix = RULES[rule]
    file, line, column = _rel(site["file"], root), site["line"], site["column"]
    return Finding(
        file=file, line=line, column=column, rule=rule, severity=severity, message=message, fix=fix
    )


def _gomaxprocs(call: Mapping[str, Any], where: str) -> tuple[str, str]:
    """The rule and message of a runtime.GOMAXPROCS call that sets it, written as in the
    source (with its value where the source names a constant)."""
    source, number = call["value"], call.get("number")
    shown = f"runtime.GOMAXPROCS({source})"
    if number is not None and str(number) != source:
        shown += f" (= {number})"
    if call["arg"] == "constant":
        return "gomaxprocs-constant", (
            f"{shown} {where}: pins GOMAXPROCS whatever CPUs the machine or container has"
        )
    if call["arg"] == "numcpu":
        return "gomaxprocs-numcpu", (
            f"{shown} {where}: redundant, and it switches off the container-aware default"
        )
    if call["arg"] == "flag" and number is not None and number >= 1:
        return "gomaxprocs-flag", (
            f"runtime.GOMAXPROCS({source}) {where}: set from the -{call['flag']} flag, whose "
            f"default {number} caps GOMAXPROCS at {number} unless it is given"
        )
    if call["arg"] == "flag":
        return "gomaxprocs-dynamic", (
            f"runtime.GOMAXPROCS({source}) {where}: set from the -{call['flag']} flag (its "
            f"default, {number}, leaves GOMAXPROCS alone)"
        )
    return "gomaxprocs-dynamic", f"{shown} {where}: set from a value computed at run time"


def judge(
    facts: Mapping[str, Any], modules: Mapping[str, Mapping[str, Any]], root: Path
) -> list[Finding]:
    """Findings from the helper's facts."""
    findings: list[Finding] = []
    setters = [c for c in facts["calls"] if c["arg"] != "zero"]
    per_package = Counter(c["package"] for c in setters)
    for c in setters:
        where = WHERE.get(c["context"], f"in {c['function']}()")
        count = per_package[c["package"]]
        repeated = f" (one of {count} calls in {c['package']})" if count > 1 else ""
        rule, text = _gomaxprocs(c, f"{where}{repeated}")
        findings.append(_finding(rule, c, root, text))
    for imp in facts["imports"]:
        version = _go_version(modules.get(imp["package"], {}))
        if version is not None and version >= CONTAINER_AWARE_GO:
            go = ".".join(map(str, version))
            text = f"{imp['path']} is imported, but the module says go {go}: the runtime already "
            text += "follows the CPU limit"
            findings.append(_finding("automaxprocs-redundant", imp, root, text))
    findings += _go_directives(modules, root)
    for site in facts["inits"]:
        if site["risks"]:
            what = "init()" if site["kind"] == "init" else f"var {site['name']}"
            text = f"{what} in {site['package']} does start-up work: {', '.join(site['risks'])}"
            findings.append(_finding("init-risk", site, root, text))
    return sorted(findings, key=lambda f: (f.file, f.line, f.column, f.rule))


def _go_version(module: Mapping[str, Any]) -> tuple[int, ...] | None:
    text = module.get("GoVersion") or ""
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _go_directives(modules: Mapping[str, Mapping[str, Any]], root: Path) -> list[Finding]:
    """One note per module whose go directive predates the container-aware GOMAXPROCS."""
    out = []
    seen = set()
    for module in modules.values():
        gomod = module.get("GoMod")
        version = _go_version(module)
        if not gomod or gomod in seen or version is None or version >= CONTAINER_AWARE_GO:
            continue
        seen.add(gomod)
        lines = Path(gomod).read_text().splitlines()
        line = next((i for i, text in enumerate(lines, 1) if text.startswith("go ")), 1)
        text = (
            f"{module.get('Path')} says go {module.get('GoVersion')}: its binaries default to "
            "containermaxprocs=0, so GOMAXPROCS ignores the container's CPU limit"
        )
        site = {"file": gomod, "line": line, "column": 1}
        out.append(_finding("go-directive-maxprocs", site, root, text))
    return out
