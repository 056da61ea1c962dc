"""Whether each built binary's method dead-code elimination was on: its variant linked again
with ``-dumpdep -v=2`` (pipeline/twin.py), what that link says read by analysis/deadcode.py.

A twin link is made only for a binary the record has no answer for (an unchanged rebuild
keeps its entry's, by sha256). What the twin says of reachability holds for the shipped
binary whatever its layout (the same program, packages and flags but -s/-w); its function
table is read for the estimate only when ``same_layout`` finds it the shipped one's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from buildopt.analysis.deadcode import judge
from buildopt.binary.elf.reader import NotElfError
from buildopt.binary.go.costs import SymbolCosts, symbol_costs
from buildopt.errors import BuildoptError, Interrupted, interrupted, signal_of
from buildopt.pipeline.plan import Step
from buildopt.pipeline.twin import same_layout, twin_link
from buildopt.record.model import Build, DeadCode
from buildopt.system import proc

Said = Callable[[str, DeadCode], None]


def check_dead_code(
    work: Sequence[tuple[Step, Build]],
    environ: Mapping[str, str],
    *,
    jobs: int,
    timeout: float,
    said: Said,
) -> dict[str, DeadCode]:
    """Each build's DeadCode by id, its twin links jobs at a time; ``said`` gets each as it
    is known."""
    group = proc.ProcessGroup()

    def one(item: tuple[Step, Build]) -> tuple[str, DeadCode]:
        step, build = item
        found = dead_code_of(step, build, environ, group, timeout=timeout)
        said(build.id, found)
        return build.id, found

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


STOPPED = (
    "stopped the second links that check method dead-code elimination; the build record "
    "holds every build that finished, without that answer (the next build gives it)"
)


def dead_code_of(
    step: Step,
    build: Build,
    environ: Mapping[str, str],
    group: proc.ProcessGroup,
    *,
    timeout: float,
) -> DeadCode:
    """What the twin link of build's step says; state unknown, with why, when it fails."""
    sha256 = build.sha256 or ""
    try:
        with twin_link(step, environ, group, timeout=timeout) as twin:
            reach, log = twin.reach(), twin.methods()
            costs, why = _costs(Path(build.output or step.stage), twin.binary)
    except BuildoptError as exc:
        problem = exc.message.removeprefix(f"{step.id}: ")  # the id is said beside it
        return DeadCode(sha256=sha256, state="unknown", reason="", problem=problem)
    go = build.inspect.go if build.inspect is not None else None
    main = go.main.path if go is not None and go.main is not None else ""
    modules = (*(d.path for d in go.deps), main) if go is not None else ()
    found = judge(reach, log, costs, sha256=sha256, modules=modules, main_module=main, no_costs=why)
    facts = build.inspect
    if found.estimate is not None and facts and (facts.dwarf.file_bytes or facts.symbol_bytes):
        return msgspec.structs.replace(found, counted=f"{found.counted}; {UNSTRIPPED}")
    return found


UNSTRIPPED = (
    "not counted: this binary's symbol table and DWARF, which lose those methods' entries too "
    "(a stripped build's estimate is the whole)"
)


def _costs(shipped: Path, twin: Path) -> tuple[SymbolCosts | None, str]:
    """The twin's symbol costs when its layout is the shipped binary's, else None and why."""
    if problems := same_layout(shipped, twin):
        return None, f"the second link's layout differs from the binary's ({problems[0]})"
    try:
        return symbol_costs(twin), ""
    except NotElfError as exc:
        return None, exc.message
