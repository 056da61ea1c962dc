"""``buildopt build``: the profile's variants built in parallel, verified, recorded (and
compressed, scanned and measured when the profile asks).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _dist, _load_plan
from buildopt.cli.values import count
from buildopt.errors import EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from buildopt.pipeline.plan import Plan
    from buildopt.record.model import Build


def build(
    *,
    profile: str = "",
    variant: list[str] | None = None,
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    record: str = "",
    dist: str = "",
) -> int:
    """``buildopt build``: build the selected variants, verify them, write the build record."""
    threads = count("--jobs", jobs, 0)
    return build_command(profile, variant, threads, record, dist, as_json=json, exact=bytes)


def build_command(
    profile: str,
    variants: Sequence[str] | None = None,
    jobs: int = 0,
    record: str | None = None,
    dist: str | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    as_json: bool = False,
    exact: bool = False,
    results_on_stderr: bool = False,
) -> int:
    """The build of ``buildopt build``, ``gate --build`` and ``init --budgets``; its exit code."""
    from buildopt.output.progress import StepProgress
    from buildopt.pipeline import steps

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    plan = _load_plan(profile, variants, dist, cwd, environ, command="build")
    record_path = (cwd / record).resolve() if record else plan.profile.record_path(_dist(dist, cwd))
    _record_may_go(plan, record or str(record_path), cwd, "--record" if record else "record")
    given = steps.Context(
        profile=plan.profile,
        plan=plan,
        record_path=record_path,
        environ=environ,
        progress=StepProgress(environ),
        cwd=cwd,
        jobs=jobs,
    )
    done = steps.run(steps.BUILD_STEPS, given)
    builds, data = done.builds, done.recorded
    from buildopt.output import console as report
    from buildopt.output import startup_tables, tables

    # The results once, on stdout (on stderr when stdout is for JSON: this command's, or the
    # gate's that runs it)
    results = report.make_console(stderr=as_json or results_on_stderr)
    report.show_results(results, builds, record_path, exact=exact)
    from buildopt.output.deadcode import show_dead_code

    ours = {b.id for b in builds}
    show_dead_code(results, [b for b in data.builds if b.id in ours])
    if plan.profile.scan:  # what the scan found is shown, not only stored: once per tag set
        by_tags: dict[tuple[str, ...], list[Build]] = {}
        for build in data.builds:
            if build.scan is not None and build.scan.findings and not build.scan_stale:
                by_tags.setdefault(build.scan.tags, []).append(build)
        for scanned in by_tags.values():
            results.print()
            scan_of = tables.data(f"scan of {', '.join(b.id for b in scanned)}:")
            results.print(scan_of, soft_wrap=not results.is_terminal)
            startup_tables.show_scan(results, scanned[0].scan)  # type: ignore[arg-type]
    if as_json:
        report.print_json(data)
    return EXIT_FAILED if any(b.status == "failed" for b in builds) else EXIT_OK


def _record_may_go(plan: Plan, given: str, cwd: Path, option: str = "--record") -> None:
    """The build record (which builds read and update) must be absent or a regular file
    that is none of what the build reads or writes: its profiles, its sources, its binaries."""
    from buildopt.cli.reads import profile_inputs
    from buildopt.pipeline.plan import module_dir
    from buildopt.system.outputs import GoSources, Input, output_to

    binaries = [Input(s.output, f"the binary of {s.id}") for s in plan.steps]
    modules = dict.fromkeys(module_dir(p.package) for p in plan.profile.builds)
    sources = [GoSources(folder) for folder in modules]  # every program's module
    output_to(
        option,  # "record" for the default one: --record was not given
        given,
        cwd,
        [*profile_inputs(plan.profile), *sources, *binaries],
        stdout=False,
        record=True,
    )
