"""Whether each built binary's method dead-code elimination was on: its variant linked again
with ``-dumpdep -v=2`` (pipeline/twin.py, made by pipeline/linker.py), what that link says read
by analysis/deadcode.py.

A twin link is made only for a binary the record has no answer for (an unchanged rebuild
keeps its entry's, by sha256). What the twin says of reachability holds for the shipped
binary whatever its layout (the same program, packages and flags but -s/-w); its function
table is read for the estimate only when ``same_layout`` finds it the shipped one's.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from buildopt.analysis.deadcode import judge
from buildopt.binary.elf.reader import NotElfError
from buildopt.binary.go.costs import SymbolCosts, symbol_costs
from buildopt.binary.go.dumpdep import Reach
from buildopt.pipeline.plan import Step
from buildopt.pipeline.twin import Twin, same_layout
from buildopt.record.model import Build, DeadCode


def dead_code_of(step: Step, build: Build, twin: Twin, reach: Reach) -> DeadCode:
    """What build's twin link (its step's) says of its method dead-code elimination."""
    sha256 = build.sha256 or ""
    log = twin.methods()
    costs, why = _costs(Path(build.output or step.stage), twin.binary)
    go = build.inspect.go if build.inspect is not None else None
    main = go.main.path if go is not None and go.main is not None else ""
    modules = (*(d.path for d in go.deps), main) if go is not None else ()
    found = judge(reach, log, costs, sha256=sha256, modules=modules, main_module=main, no_costs=why)
    facts = build.inspect
    if found.estimate is not None and facts and (facts.dwarf.file_bytes or facts.symbol_bytes):
        return msgspec.structs.replace(found, counted=f"{found.counted}; {UNSTRIPPED}")
    return found


def unknown(build: Build, problem: str) -> DeadCode:
    """The answer when the twin link failed: not known, and why."""
    return DeadCode(sha256=build.sha256 or "", state="unknown", reason="", problem=problem)


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
