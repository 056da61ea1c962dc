"""``buildopt sweep``: each ``[sweep]`` feature tag removed from the full build and added back
to the minimal one, every variant built for real, ranked by bytes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec.structs import replace

from buildopt.cli.common import _dist, _profile
from buildopt.cli.values import count
from buildopt.errors import EXIT_FAILED, EXIT_OK, BuildoptError, Interrupted, UsageError

if TYPE_CHECKING:
    from buildopt.config.profile import Profile
    from buildopt.config.toolchain import Toolchain
    from buildopt.pipeline.steps import Context
    from buildopt.pipeline.sweep import SweepPlan
    from buildopt.record.model import Record
    from buildopt.record.sweep import SweepMode, SweepReport


def sweep(
    *,
    profile: str = "",
    variant: str = "",
    mode: str = "",
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    dist: str = "",
) -> int:
    """``buildopt sweep``: the feature tags of [sweep], one at a time, each built and measured."""
    from buildopt.config.profile import one_program
    from buildopt.output import console as report
    from buildopt.output.sweep_tables import EtaProgress, show_sweep
    from buildopt.pipeline import sweep as sweeps
    from buildopt.pipeline.steps import Context
    from buildopt.record.sweep import SWEEP_FILE
    from buildopt.system import toolchain as go
    from buildopt.system.files import atomic_write_text

    modes = _modes(mode)
    cwd, environ = Path.cwd(), dict(os.environ)
    loaded, variant = one_program(_profile(profile, cwd, "sweep"), variant)
    tools = go.load(environ)
    plan = _plan(loaded, variant, modes, tools)
    ctx = Context(
        profile=loaded,
        record_path=loaded.record_path(),
        environ=environ,
        progress=EtaProgress(environ),
        cwd=cwd,
        jobs=count("--jobs", jobs, 0),
    )
    where = _dist(dist, cwd)
    folder = sweeps.sweep_profile(loaded, plan, []).dist_dir(where)
    begun = time.monotonic()
    record, builds = _resumable(ctx, plan, tools, where, folder)
    done = sweeps.sweep_report(
        loaded, plan, record, builds=builds, seconds=time.monotonic() - begun
    )
    atomic_write_text(folder / SWEEP_FILE, _json_text(done))
    show_sweep(report.make_console(stderr=json), done, exact=bytes)
    if json:
        report.print_json(done)
    return EXIT_OK if _base_ok(done) else EXIT_FAILED


def _plan(
    profile: Profile, variant: str, modes: tuple[SweepMode, ...], tools: Toolchain
) -> SweepPlan:
    """The sweep of the variant --variant or [sweep] names (else the baseline)."""
    from buildopt.pipeline import advise as whatifs
    from buildopt.pipeline import sweep as sweeps

    if profile.sweep is None:
        raise UsageError(
            f'sweep: {profile.path.name} has no [sweep] table (tags = [...] or tags_file = "...")'
        )
    named = f"--variant {variant}" if variant else f"{profile.path.name}: sweep.variant"
    base, target_spec = whatifs.chosen(profile, variant or profile.sweep.variant, named)
    target = whatifs.target_of(profile, base, tools, target_spec)
    return sweeps.sweep_plan(profile, profile.sweep, base, target, modes)


def _resumable(
    ctx: Context, plan: SweepPlan, tools: Toolchain, dist: Path | None, folder: Path
) -> tuple[Record, int]:
    """The sweep run; on Ctrl-C, where what finished is kept, and how to resume."""
    from buildopt.errors import visible

    try:
        return _run(ctx, plan, tools, dist)
    except (KeyboardInterrupt, Interrupted):
        print(
            visible(
                f"sweep: interrupted; what finished is kept in {folder}: run the same command "
                "again to resume (go finds those builds up to date)"
            ),
            file=sys.stderr,
        )
        raise


def _modes(text: str) -> tuple[SweepMode, ...]:
    if text in ("", "both"):
        return ("remove", "add")
    if text in ("remove", "add"):
        return (text,)  # type: ignore[return-value]
    raise UsageError(f"--mode {text!r}: expected remove, add or both")


def _run(ctx: Context, plan: SweepPlan, tools: Toolchain, dist: Path | None) -> tuple[Record, int]:
    """The base built alone, then the other end (its time is the estimate of each build),
    then every row; the sweep's record and how many builds this run made."""
    from buildopt.output.progress import elapsed
    from buildopt.output.sweep_tables import EtaProgress
    from buildopt.pipeline import sweep as sweeps
    from buildopt.pipeline.advise import build_what_ifs

    others = plan.others()
    total = 1 + len(others)
    say = ctx.progress.say
    earlier = _earlier(sweeps.sweep_profile(ctx.profile, plan, others), dist)
    modes = " and ".join(plan.modes)
    say(
        f"sweep: {len(plan.tags)} {plan.kind} tags of {plan.id(plan.base)} ({modes}): "
        f"{total} builds in .sweep/"
        + (f", {sweeps.recorded(earlier, plan)} recorded by an earlier run" if earlier else "")
    )
    first = build_what_ifs(sweeps.sweep_profile(ctx.profile, plan, []), tools, ctx, dist)
    if not any(b.ok for b in first.builds):
        why = first.builds[0].reason if first.builds else "not built"
        raise _Failed(f"sweep: {plan.id(plan.base)} did not build: {why}")
    end = plan.other_end()
    second = build_what_ifs(sweeps.sweep_profile(ctx.profile, plan, [end]), tools, ctx, dist)
    each = max((b.wall_seconds for b in second.builds if b.id == plan.id(end)), default=0.0)
    jobs = second.jobs or 1
    left = total - 2
    guess = sweeps.estimate(each, left, jobs)
    say(
        f"sweep: {left} builds to go, {jobs} at a time, each about as long as "
        f"{plan.id(end)}'s {each:.1f}s: about {elapsed(guess)} (those go finds up to date "
        "take less)"
    )
    paced = replace(ctx, progress=EtaProgress(ctx.environ, each=each, jobs=jobs))
    last = build_what_ifs(sweeps.sweep_profile(ctx.profile, plan, others), tools, paced, dist)
    return last.recorded, total


def _earlier(what_if: Profile, dist: Path | None) -> Record | None:
    from buildopt.record import store

    path = what_if.record_path(dist)
    if not path.is_file():
        return None
    try:
        return store.load(path)
    except BuildoptError:
        return None  # the build step says what it does with a record it cannot take


class _Failed(UsageError):
    exit_code = EXIT_FAILED


def _base_ok(done: SweepReport) -> bool:
    return done.full.status == "ok" and done.minimal.status == "ok"


def _json_text(done: SweepReport) -> str:
    import json

    import msgspec

    return json.dumps(msgspec.to_builtins(done), indent=2) + "\n"
