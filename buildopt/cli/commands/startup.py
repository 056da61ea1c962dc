"""``buildopt startup``: cold start of the built binaries (or of given files)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _existing_record, _load_record, _profile, _with
from buildopt.cli.options import count, program_args
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from buildopt.config.startup import StartupOverrides
    from buildopt.record.model import Record


def startup(
    *,
    file: list[str] | None = None,
    arg: list[str] | None = None,
    profile: str = "",
    runs: str = "",
    warmup: str = "",
    trace_runs: str = "",
    timeout: str = "",
    cold: bool = True,
    cpus: str = "",
    ready_stdout: str = "",
    ready_stderr: str = "",
    ready_port: str = "",
    json: bool = False,
    dist: str = "",
    remainder: str = "",
) -> int:
    from buildopt.config.startup import StartupOverrides

    def command() -> int:
        def given(flag: str, text: str, least: int) -> int | None:
            return count(flag, text, 0, least) if text else None

        overrides = StartupOverrides(
            runs=given("--runs", runs, 1),
            warmup=given("--warmup", warmup, 0),
            trace_runs=given("--trace-runs", trace_runs, 0),
            timeout=timeout or None,
            cold=cold,
            cpus=given("--cpus", cpus, 1),
            ready_stdout=ready_stdout or None,
            ready_stderr=ready_stderr or None,
            ready_port=given("--ready-port", ready_port, 1),
        )
        return startup_command(
            profile or None,
            file or [],
            args=[*(arg or []), *program_args(remainder)],
            overrides=overrides,
            as_json=json,
            dist=dist or None,
        )

    return command()


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
