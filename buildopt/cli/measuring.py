"""The commands behind the CLI, startup and scan: cold start of the built binaries, and the
start-up scan of the sources.

Shared helpers are in buildopt.cli.commands; stages are imported where they are used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.commands import _with
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from buildopt.config.startup import StartupOverrides
    from buildopt.pipeline.plan import Plan
    from buildopt.record.model import Build, Record, ScanReport


from buildopt.cli.commands import (
    _existing_record,
    _load_record,
    _profile,
)


def startup_command(
    profile: str | None,
    files: Sequence[str] = (),
    *,
    args: Sequence[str] = (),
    overrides: StartupOverrides | None = None,
    as_json: bool = False,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt startup``: cold start of a binary, or of every built variant of a profile."""
    from dataclasses import replace

    from buildopt.config.startup import StartupConfig, StartupOverrides, apply_overrides
    from buildopt.measure import startup
    from buildopt.output import console as report
    from buildopt.output import startup_tables, tables
    from buildopt.record import store
    from buildopt.record.model import STARTUP_SCHEMA, StartupReport
    from buildopt.system import proc

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    record_path: Path | None = None
    record: Record | None = None
    if profile:
        loaded = _profile(profile, cwd, "startup")
        config = loaded.startup
        record_path = _existing_record(loaded, dist, cwd, "startup")
        record = _load_record(record_path)
        binaries, skipped, baseline = _runnable(record, environ)
        if args:
            config = replace(config, args=tuple(args))
    elif len(files) == 1:
        config = StartupConfig(args=tuple(args))
        binaries, skipped, baseline = {files[0]: cwd / files[0]}, [], files[0]
    else:
        raise UsageError(
            "startup: give one executable (and its arguments after --), or --profile P"
        )
    config = apply_overrides(config, overrides or StartupOverrides())
    console = report.make_console(stderr=True)  # progress and notes
    for note in skipped:
        console.print(tables.data(("skipped", "yellow"), f" {note}"))
    if not binaries:
        raise UsageError("startup: nothing this machine can run")
    with (
        proc.sigterm_as_interrupt(),  # a CI cancel stops the measured program, as Ctrl-C does
        startup_tables.StartupProgress(
            console, len(binaries) * (config.warmup + config.trace_runs + config.runs)
        ) as bar,
    ):
        series = startup.run_series(
            binaries, config, environ, startup.spawn_helper(environ), bar.advance
        )
    base = next((s for s in series if s.name == baseline), None)
    results = tuple(startup.summarize_series(s, config, base) for s in series)
    if record is not None and record_path is not None:
        measured = {r.name: r for r in results}
        shas = {b.id: b.sha256 for b in record.builds if b.id in measured}
        kept = record

        def attach(now: Record | None) -> Record:
            return _with(now or kept, startup=measured, of=shas)

        store.update(record_path, attach)
    startup_tables.show_startup(report.make_console(stderr=as_json), results, baseline)
    if as_json:
        report.print_json(StartupReport(schema=STARTUP_SCHEMA, baseline=baseline, variants=results))
    return EXIT_FAILED if any(r.failed_runs for r in results) else EXIT_OK


def _runnable(record: Record, environ: Mapping[str, str]) -> tuple[dict[str, Path], list[str], str]:
    """Built binaries this machine can run (its own GOOS/GOARCH), the others, and the baseline."""
    from buildopt.record.integrity import changed
    from buildopt.system import toolchain

    tools = toolchain.load(environ)
    host = f"{tools.hostos}/{tools.hostarch}"
    runnable: dict[str, Path] = {}
    skipped = []
    for build in record.builds:
        if not build.ok or build.output is None:
            continue
        if build.pair != host:
            skipped.append(f"{build.id}: a {build.pair} binary cannot run on this {host} machine")
            continue
        if (problem := changed(build)) is not None:  # its result would be another binary's
            skipped.append(f"{build.id}: {problem}: build again")
            continue
        runnable[build.id] = Path(build.output)
    baseline_name = record.profile.baseline
    baseline = next((i for i in runnable if i.split("@")[0] == baseline_name), "")
    return runnable, skipped, baseline


def scan_command(
    patterns: Sequence[str] = (),
    *,
    tags: Sequence[str] = (),
    as_json: bool = False,
    sarif: str | None = None,
    include_generated: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt scan``: start-up anti-patterns in the Go sources; exit 1 on an error finding."""
    from buildopt.config.variant import is_build_tag
    from buildopt.measure import scan as scanner
    from buildopt.output import console as report
    from buildopt.output import startup_tables
    from buildopt.output.sarif import to_sarif
    from buildopt.system.outputs import GoSources, output_to, stdout_taken

    bad = next((t for t in tags if not is_build_tag(t)), None)
    if bad is not None:
        raise UsageError(f"scan: --tags: {bad!r} is not a build tag (letters, digits, _ .)")
    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    targets = _scan_targets(cwd, patterns, environ)
    sources = [GoSources(root) for root, _ in targets]
    sarif_out = output_to("--sarif", sarif, cwd, sources) if sarif else None
    on_stdout = stdout_taken([sarif_out], json=as_json)
    reports = [
        scanner.scan(root, pats, tags, environ=environ, include_generated=include_generated)
        for root, pats in targets
    ]
    result = reports[0] if len(reports) == 1 else scanner.combine(reports, cwd)
    if sarif_out:
        text = json.dumps(to_sarif(result), indent=2) + "\n"
        sarif_out.write(text, sources)
    if as_json:
        report.print_json(result)
    else:
        startup_tables.show_scan(report.make_console(stderr=on_stdout), result)
    return EXIT_FAILED if result.count("error") else EXIT_OK


def _scan_targets(
    cwd: Path, patterns: Sequence[str], environ: Mapping[str, str]
) -> list[tuple[Path, list[str]]]:
    """Where to run go list, and with what patterns: a directory or file argument in the root
    of its own module (a directory with what is below it, a file with its package); package
    patterns from cwd; nothing, outside any module: every module below cwd."""
    from buildopt.measure.scan import modules_below
    from buildopt.system.toolchain import module_root

    targets: dict[Path, list[str]] = {}
    for pattern in patterns:
        path = cwd / pattern
        if "..." not in pattern and not path.exists() and pattern.startswith(("/", "./", "../")):
            raise UsageError(f"scan: {pattern}: no such file or directory")
        if "..." not in pattern and path.exists():
            where = path if path.is_dir() else path.parent
            root = module_root(where, environ)
            if root is None:
                raise UsageError(f"scan: {pattern}: not in a Go module (no go.mod there or above)")
            rel = where.resolve().relative_to(root.resolve()).as_posix()
            suffix = "/..." if path.is_dir() else ""
            targets.setdefault(root, []).append("." + suffix if rel == "." else f"./{rel}{suffix}")
        else:
            targets.setdefault(cwd, []).append(pattern)
    if patterns:
        return list(targets.items())
    if module_root(cwd, environ) is not None:
        return [(cwd, [])]
    below = modules_below(cwd)
    if not below:
        raise UsageError(f"scan: no Go module in {cwd} or below it (no go.mod)")
    return [(root, []) for root in below]


def _scans(
    plan: Plan, builds: Sequence[Build], environ: Mapping[str, str]
) -> dict[str, ScanReport]:
    """[scan] enabled: each built variant's sources scanned with its own build tags."""
    from buildopt.measure import scan as scanner
    from buildopt.pipeline.plan import module_dir, package_arg

    root = module_dir(plan.profile.package)
    pattern = package_arg(plan.profile.package, root)
    by_tags: dict[tuple[str, ...], ScanReport] = {}
    out: dict[str, ScanReport] = {}
    for build in builds:
        if not build.ok:
            continue
        tags = plan.profile.variant(build.variant).tags
        if tags not in by_tags:
            by_tags[tags] = scanner.scan(root, [pattern], tags, environ=environ)
        out[build.id] = by_tags[tags]
    return out
