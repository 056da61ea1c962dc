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
from dataclasses import dataclass
from pathlib import Path

from buildopt.binary.facts import Attribution
from buildopt.errors import BuildoptError, Interrupted, interrupted, signal_of
from buildopt.pipeline.deadcode import dead_code_of, unknown
from buildopt.pipeline.owners import fallback, linker_attribution
from buildopt.pipeline.plan import Step
from buildopt.pipeline.twin import twin_link
from buildopt.record.model import Build, DeadCode
from buildopt.system import proc

STOPPED = (
    "stopped the second links that check method dead-code elimination and find the owners of "
    "strings and types; the build record holds every build that finished, without those "
    "answers (the next build gives them)"
)


@dataclass(frozen=True)
class Told:
    """What one binary's twin link told: the answers that were asked (None: not asked)."""

    sha256: str
    attribution: Attribution | None
    dead_code: DeadCode | None


@dataclass(frozen=True)
class Asked:
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
                    step, shipped, facts, environ, twin=twin, reach=reach, timeout=timeout
                )
    except BuildoptError as exc:
        problem = exc.message.removeprefix(f"{step.id}: ")  # the id is said beside it
        dead = unknown(build, problem) if asked.dead_code else None
        whole = fallback(shipped, facts, problem) if asked.owners and facts else None
    return Told(build.sha256 or "", whole, dead)
