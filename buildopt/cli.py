"""The ``buildopt`` command: an invoke Program over the task collection in buildopt.tasks."""

from __future__ import annotations

import sys

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


# Tasks that take any number of files as bare words; invoke itself has no variadic arguments,
# so `buildopt inspect A B` is rewritten to `buildopt inspect --file A --file B`.
VARIADIC = {"inspect": "--file"}


def expand_variadic(argv: list[str]) -> list[str]:
    """Turn bare words after a variadic task into repeated flags (other flags kept as they are)."""
    out: list[str] = []
    flag: str | None = None
    takes_value = False
    for word in argv:
        if flag is None:
            out.append(word)
            flag = VARIADIC.get(word) if not word.startswith("-") else None
            continue
        if takes_value:
            out.append(word)
            takes_value = False
        elif word == "--":
            flag = None
        elif word.startswith("-"):
            out.append(word)
            takes_value = "=" not in word and word in VALUE_FLAGS
        else:
            out += [flag, word]
    return out


VALUE_FLAGS = frozenset({"--packages", "-p", "--file", "-f"})


program = BuildoptProgram(
    name="buildopt",
    binary="buildopt",
    version=__version__,
    namespace=Collection.from_module(tasks),
)


def main() -> None:
    program.run(expand_variadic(sys.argv))
