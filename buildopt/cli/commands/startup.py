"""``buildopt startup``: cold start of the built binaries (or of given files)."""

from __future__ import annotations

import os
from pathlib import Path

from buildopt.cli.common import _existing_record, _load_record, _profile
from buildopt.cli.values import count, program_args
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError


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
    argv0: str = "",
    runner: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
    remainder: str = "",
) -> int:
    """``buildopt startup``: cold start of a binary, or of every built variant of a profile."""
    import msgspec

    from buildopt.config.startup import (
        StartupConfig,
        StartupOverrides,
        apply_overrides,
        given_wins,
    )
    from buildopt.output import console as report
    from buildopt.output import startup_tables
    from buildopt.output.progress import StepProgress
    from buildopt.pipeline import startup_runs, steps
    from buildopt.record.model import STARTUP_SCHEMA, StartupReport

    overrides = StartupOverrides(
        runs=count("--runs", runs, None, 1),
        warmup=count("--warmup", warmup, None),
        trace_runs=count("--trace-runs", trace_runs, None),
        timeout=timeout or None,
        cold=cold,
        cpus=count("--cpus", cpus, None, 1),
        ready_stdout=ready_stdout or None,
        ready_stderr=ready_stderr or None,
        ready_port=count("--ready-port", ready_port, None, 1),
        argv0=argv0 or None,
        runner=runner or None,
    )
    args = [*(arg or []), *program_args(remainder)]
    files = file or []
    cwd, environ = Path.cwd(), dict(os.environ)
    progress = StepProgress(environ)
    if profile:
        loaded = _profile(profile, cwd, "startup")
        record_path = _existing_record(loaded, dist, cwd, "startup")
        config = loaded.startup
        if args:
            config = given_wins(msgspec.structs.replace(config, args=tuple(args)), {"args"})
        context = steps.Context(
            profile=loaded,
            record_path=record_path,
            environ=environ,
            progress=progress,
            record=_load_record(record_path),
            startup=apply_overrides(config, overrides),
            selected=tuple(variant or ()),
        )
        done = steps.run([steps.STARTUP], context)
        results, baseline = done.measured, done.baseline
    elif variant:
        raise UsageError("--variant: selects builds of a profile's record; give --profile too")
    elif len(files) == 1:
        config = apply_overrides(StartupConfig(args=tuple(args)), overrides)
        baseline = files[0]
        binary = {baseline: cwd / baseline}
        results = startup_runs.measure(binary, config, baseline, environ, progress)
    else:
        raise UsageError(
            "startup: give one executable (and its arguments after --), or --profile P"
        )
    startup_tables.show_startup(report.make_console(stderr=json), results, baseline)
    if json:
        report.print_json(StartupReport(schema=STARTUP_SCHEMA, baseline=baseline, variants=results))
    return EXIT_FAILED if any(r.failed_runs for r in results) else EXIT_OK
