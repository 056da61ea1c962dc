"""The start-up step's work: which of a record's binaries run where the runs happen, and their
series measured there (buildopt.measure.startup), each with the ``[startup]`` settings of its
build (``[[startup.each]]``) and compared with the baseline's run of the same program."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.config.budgets import matches, selects
from buildopt.config.ids import program_of, variant_of
from buildopt.errors import UsageError

if TYPE_CHECKING:
    from buildopt.config.startup import StartupConfig
    from buildopt.measure.startup import Series
    from buildopt.pipeline.steps import Progress
    from buildopt.record.model import Record, StartupResult


def runs_on(config: StartupConfig, environ: Mapping[str, str]) -> str:
    """GOOS/GOARCH the runs happen on: this machine's, an emulator's or a device's (asked)."""
    from buildopt.measure.device import platform_of
    from buildopt.system import toolchain

    tools = toolchain.load(environ)
    return platform_of(config, environ, f"{tools.hostos}/{tools.hostarch}")


def runnable(
    record: Record,
    environ: Mapping[str, str],
    platform: str = "",
    selected: Sequence[str] = (),
) -> tuple[dict[str, Path], list[str], str]:
    """Built binaries that can run on platform (default: this machine's GOOS/GOARCH), of
    those the patterns select (none: all), the others, and the baseline. UsageError for a
    pattern that selects no build of the record."""
    from buildopt.record.integrity import changed
    from buildopt.system import toolchain

    if not platform:
        tools = toolchain.load(environ)
        platform = f"{tools.hostos}/{tools.hostarch}"
    ids = [b.id for b in record.builds]
    for pattern in selected:
        if not any(selects(pattern, i) for i in ids):
            raise UsageError(f"--variant {pattern}: selects no build of the record; the ids:", ids)
    found: dict[str, Path] = {}
    skipped = []
    for build in record.builds:
        if not build.ok or build.output is None or (selected and not matches(selected, build.id)):
            continue
        if build.pair != platform:
            skipped.append(f"{build.id}: a {build.pair} binary cannot run on {platform}")
            continue
        if (problem := changed(build)) is not None:  # its result would be another binary's
            skipped.append(f"{build.id}: {problem}: build again")
            continue
        found[build.id] = Path(build.output)
    baseline = next((i for i in found if variant_of(i) == record.profile.baseline), "")
    return found, skipped, baseline


def measure(
    binaries: Mapping[str, Path],
    config: StartupConfig,
    baseline: str,
    environ: Mapping[str, str],
    progress: Progress,
    *,
    platform: str = "",
) -> tuple[StartupResult, ...]:
    """Each binary's start-up measured where the config's runner says (platform: its
    GOOS/GOARCH, asked when not given), compared with the baseline's."""
    from buildopt.measure import device, startup
    from buildopt.system import proc

    if not binaries:
        raise UsageError(f"startup: nothing can run on {platform or 'this machine'}")
    startup.check_series(binaries, config)
    total = len(binaries) * (config.warmup + config.trace_runs + config.runs)
    where = platform or runs_on(config, environ)
    with (
        proc.sigterm_as_interrupt(),  # a CI cancel stops the measured program, as Ctrl-C does
        device.placed(binaries, config, environ, where) as placed,
        progress.runs(total) as advance,
    ):
        series = startup.run_series(binaries, config, environ, placed, advance)
    bases = baselines([s.name for s in series], baseline, _ran(series, config))
    by_name = {s.name: s for s in series}
    return tuple(
        startup.summarize_series(s, config.for_build(s.name), by_name.get(bases.get(s.name, "")))
        for s in series
    )


def _ran(series: Sequence[Series], config: StartupConfig) -> dict[str, str]:
    """The program each series ran as, when its argv[0] names another program of the profile
    (a combined binary started as its CLI): the CLI's runs are its peers."""
    programs = {program_of(s.name) for s in series} - {None}
    named = {s.name: os.path.basename(config.for_build(s.name).argv0 or "") for s in series}
    return {name: program for name, program in named.items() if program in programs}


def baselines(
    names: Sequence[str], baseline: str, ran: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each measured id's baseline: the baseline's own series, or in a profile of several
    programs the baseline variant's first series of the same program - of the program it ran
    as (ran) when its argv[0] named another - so a CLI is never compared with its daemon."""
    if baseline not in names:
        return {}
    ran = ran or {}

    def program(name: str) -> str | None:
        return ran.get(name) or program_of(name)

    firsts: dict[str | None, str] = {}
    for name in names:
        if variant_of(name) == variant_of(baseline):
            firsts.setdefault(program(name), name)
    firsts[program(baseline)] = baseline
    return {n: firsts[program(n)] for n in names if program(n) in firsts}
