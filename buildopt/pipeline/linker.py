"""What the linker says of each new binary, from one twin link (pipeline/twin.py) each: who
owns its strings, type descriptors and statics (pipeline/owners.py) and whether its method
dead-code elimination was on (pipeline/deadcode.py). The twin links run ``jobs`` at a time;
both answers come from the same link, so a binary is linked a second time once, not twice.

A link that fails gives each answer its fallback with the reason: the attribution stays the
file's own (``linker_fallback``), the dead-code state is "unknown". Ctrl-C or SIGTERM stops
the links and says so in one line; the record keeps every build that finished.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
from msgspec.structs import replace

from buildopt.binary.facts import Attribution
from buildopt.errors import BuildoptError, Interrupted, interrupted, signal_of
from buildopt.pipeline.build import BUILD_TIMEOUT
from buildopt.pipeline.plan import Step
from buildopt.pipeline.steps import Context
from buildopt.record import store
from buildopt.record.model import Build, DeadCode, Record
from buildopt.system import proc

STOPPED = (
    "stopped the second links that check method dead-code elimination and find the owners of "
    "strings and types; the build record holds every build that finished, without those "
    "answers (the next build gives them)"
)


class Told(msgspec.Struct, frozen=True):
    """What one binary's twin link told: the answers that were asked (None: not asked)."""

    sha256: str
    attribution: Attribution | None
    dead_code: DeadCode | None


class Asked(msgspec.Struct, frozen=True):
    """One binary and what is wanted of its twin link."""

    step: Step
    build: Build
    owners: bool  # the linker's attribution
    dead_code: bool


def tell(
    work: Sequence[Asked],
    environ: Mapping[str, str],
    *,
    jobs: int,
    timeout: float,
    said: Callable[[str, Told], None],
) -> dict[str, Told]:
    """What each binary's twin link tells, by build id, jobs links at a time; ``said`` gets
    each as it is known."""
    group = proc.ProcessGroup()

    def one(asked: Asked) -> tuple[str, Told]:
        told = _told(asked, environ, group, timeout)
        if not group.stopping.is_set():  # (stopped: what it says is not kept, nor shown)
            said(asked.build.id, told)
        return asked.build.id, told

    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="twin-link") as pool:
        try:
            with proc.sigterm_as_interrupt():
                return dict(pool.map(one, work))
        except KeyboardInterrupt as exc:
            group.stop_all(lambda: pool.shutdown(wait=True, cancel_futures=True))
            raise Interrupted(f"{interrupted(exc)}: {STOPPED}", signal_of(exc)) from None
        except BaseException:
            group.stop_all(lambda: pool.shutdown(wait=True, cancel_futures=True))
            raise


def _told(
    asked: Asked, environ: Mapping[str, str], group: proc.ProcessGroup, timeout: float
) -> Told:
    # (imported here: an unchanged rebuild, which links nothing, loads none of it - 30 ms)
    from buildopt.pipeline.deadcode import dead_code_of, unknown
    from buildopt.pipeline.owners import fallback, linker_attribution
    from buildopt.pipeline.twin import twin_link

    step, build = asked.step, asked.build
    shipped, facts = Path(build.output or step.stage), build.inspect
    whole = dead = None
    try:
        with twin_link(step, environ, group, timeout=timeout) as twin:
            reach = twin.reach()
            if asked.dead_code:
                dead = dead_code_of(step, build, twin, reach)
            if asked.owners and facts is not None:
                whole = linker_attribution(
                    step,
                    shipped,
                    facts,
                    environ,
                    twin=twin,
                    reach=reach,
                    group=group,
                    timeout=timeout,
                )
    except BuildoptError as exc:
        problem = exc.message.removeprefix(f"{step.id}: ")  # the id is said beside it
        dead = unknown(build, problem) if asked.dead_code else None
        whole = fallback(shipped, facts, problem) if asked.owners and facts else None
    return Told(build.sha256 or "", whole, dead)


# --- the build step (pipeline/steps.py LINKER) ---------------------------------------------


def linker_step(ctx: Context) -> Context:
    """This run's new binaries linked again with -dumpdep, once each (pipeline/linker.py): the
    owners of their strings and types (``owners = "linker"``) and whether their method
    dead-code elimination was on. An unchanged rebuild keeps what its entry holds (a failed
    try included: ``linker_fallback``, state "unknown") and links nothing."""
    work = _to_ask(ctx)
    if not work:  # (nothing more is imported)
        return ctx
    owners = "the owners of its strings and types, and " if any(a.owners for a in work) else ""
    ctx.progress.say(
        f"a second link of each new binary ({len(work)}), with -dumpdep: {owners}"
        "method dead-code elimination..."
    )
    found = tell(
        work,
        ctx.environ,
        jobs=ctx.jobs,
        timeout=ctx.timeout or BUILD_TIMEOUT,
        said=lambda build_id, told: ctx.progress.say(f"{build_id}: {_told_line(told)}"),
    )
    # this run's builds carry it too: the steps after (cuttable dependencies) weigh by it
    builds = tuple(_with_told(b, found[b.id]) if b.id in found else b for b in ctx.builds)
    return replace(ctx, builds=builds, record=record_linker(ctx.record_path, found))


def _told_line(told: Told) -> str:
    parts = []
    if (whole := told.attribution) is not None:
        share = whole.file_bytes_attributed_to_packages / max(whole.file_bytes, 1)
        fell = f": {whole.linker_fallback}" if whole.linker_fallback else ""
        parts.append(f"{share:.1%} of the file attributed to packages ({whole.method}{fell})")
    if (dead := told.dead_code) is not None:
        why = f" ({dead.reason})" if dead.reason else f": {dead.problem}" if dead.problem else ""
        parts.append(f"method dead-code elimination {dead.state}{why}")
    return "; ".join(parts)


def _to_ask(ctx: Context) -> list[Asked]:
    """This run's entries (with their plan steps) whose binary the linker has not told of yet:
    its owners (when the profile wants them) or its dead-code elimination."""
    from buildopt.record import integrity

    steps = {s.id: s for s in ctx.planned.steps}
    ours = {b.id for b in ctx.builds if b.ok}
    path = ctx.record_path
    work: list[Asked] = []
    for entry in store.load_cached(path).builds if path.exists() else ():
        if entry.id not in ours or entry.id not in steps or not (entry.output and entry.sha256):
            continue
        whole = entry.inspect.attribution if entry.inspect else None
        owners = (
            ctx.profile.owners == "linker"
            and whole is not None
            and whole.method != "linker"
            and whole.linker_fallback is None
        )
        dead = entry.dead_code is None or entry.dead_code.sha256 != entry.sha256
        if (owners or dead) and integrity.changed(entry) is None:
            work.append(Asked(steps[entry.id], entry, owners=owners, dead_code=dead))
    return work


def _with_told(build: Build, told: Told) -> Build:
    """build with what its twin link told, if it still is that binary."""
    if build.sha256 != told.sha256:  # rebuilt by another run since
        return build
    if told.attribution is not None and build.inspect is not None:
        facts = msgspec.structs.replace(build.inspect, attribution=told.attribution)
        build = msgspec.structs.replace(build, inspect=facts)
    if told.dead_code is not None:
        build = msgspec.structs.replace(build, dead_code=told.dead_code)
    return build


def record_linker(path: Path, found: Mapping[str, Told]) -> Record:
    """The record with what each twin link told put in the entry of the binary it describes
    (by id, while its sha256 is the entry's)."""

    def change(now: Record | None) -> Record:
        current = now if now is not None else store.load(path)
        return current.with_builds(
            tuple(_with_told(b, found[b.id]) if b.id in found else b for b in current.builds)
        )

    return store.update(path, change)
