"""The invoke Program over the task collection in buildopt.tasks: the ``buildopt`` command."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from buildopt import __version__, tasks
from buildopt.errors import EXIT_BAD_INPUT


class BuildoptProgram(Program):
    """invoke's Program, with argument errors mapped to exit code 2 (bad input)."""

    def parse_core(self, argv: list[str] | None) -> None:
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise Exit(f"error: {exc}", EXIT_BAD_INPUT) from None

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(f"error: {exc}", EXIT_BAD_INPUT) from None


program = BuildoptProgram(
    name="buildopt",
    binary="buildopt",
    version=__version__,
    namespace=Collection.from_module(tasks),
)
