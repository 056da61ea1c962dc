"""The linker's method dead-code elimination of each binary, in words (build results, inspect,
the report, the gate): "on", or "off - main.main -> ... -> reflect.Value.MethodByName (fix:
package X); costs about N"."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from buildopt.analysis.deadcode import why_off
from buildopt.config.units import format_size
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import data
from buildopt.record.model import Build, DeadCode

TITLE = "method dead-code elimination"


def cost_text(dead_code: DeadCode) -> str:
    if dead_code.estimate is None:
        return ""
    return f"costs about {format_size(dead_code.estimate)} ({dead_code.methods} methods kept)"


def dead_code_text(dead_code: DeadCode) -> str:
    """One line: the state, and when off why, the chain, the package to fix and the cost."""
    if dead_code.state == "on":
        return "on"
    if dead_code.state == "unknown":
        return f"unknown: {dead_code.problem}"
    cost = cost_text(dead_code) or dead_code.counted
    return f"off - {why_off(dead_code)}; {cost}"


def show_dead_code(console: DataConsole, builds: Sequence[Build]) -> None:
    """A line per build with an answer for its binary."""
    for build in builds:
        dead_code = build.dead_code
        if dead_code is None or dead_code.sha256 != build.sha256:
            continue
        console.print(data(f"{build.id}: {TITLE}: {dead_code_text(dead_code)}"), soft_wrap=True)


def show_recorded(
    console: DataConsole, record: Path | None, builds: Sequence[Build], sha256: str
) -> None:
    """For ``inspect FILE`` of a binary the build record above it describes (its sha256):
    what that record says of its method dead-code elimination."""
    for build in builds:
        found = build.dead_code
        if build.sha256 == sha256 and found is not None and found.sha256 == sha256:
            text = f"{build.id} ({record}): {TITLE}: {dead_code_text(found)}"
            console.print(data(text), soft_wrap=True)
            return
