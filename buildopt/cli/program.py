"""The invoke Program over the task collection in buildopt.cli.tasks: the ``buildopt`` command."""

from __future__ import annotations

import re

from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.parser.argument import Argument
from invoke.program import Program

from buildopt import __version__
from buildopt.cli import tasks
from buildopt.cli.options import COMMANDS
from buildopt.config.keys import did_you_mean
from buildopt.errors import EXIT_BAD_INPUT


class BuildoptProgram(Program):
    """invoke's Program, with argument errors mapped to exit code 2 (bad input)."""

    def parse_core(self, argv: list[str] | None) -> None:
        try:
            super().parse_core(argv)
        except ParseError as exc:
            raise Exit(f"error: {exc}", EXIT_BAD_INPUT) from None

    # invoke's core options about running shell commands (--pty, --echo, --dry, ...) mean
    # nothing for buildopt, which runs no shell: help shows only these.
    HELP_OPTIONS = ("--debug", "--help", "--list", "--version", "--print-completion-script")

    def core_args(self) -> list[Argument]:
        """invoke's core options, the short letters of the hidden ones taken away: with them,
        ``buildopt scan -p NAME`` was read as ``--pty`` and NAME as a path to scan, silently.
        (The options stay, long only: invoke's Program reads each of them.)"""
        shown = {name.lstrip("-") for name in self.HELP_OPTIONS}
        args = super().core_args()
        for arg in args:
            if not set(arg.names) & shown:
                arg.names = tuple(n for n in arg.names if len(n) > 1)
        return args

    def print_help(self) -> None:
        print(f"Usage: {self.binary} [--debug] <command> [--command-options] ...")
        print("")
        print("Options:")
        print("")
        tuples = self.initial_context.help_tuples()
        self.print_columns([t for t in tuples if _option_names(t[0]) & set(self.HELP_OPTIONS)])
        print("")
        print(
            "Exit codes: 0 ok, 1 a build, budget or program failed, 2 bad input, "
            "130 interrupted (143 SIGTERM, 129 SIGHUP), 141 stdout closed."
        )
        print(
            f"'{self.binary} COMMAND --help' describes a command; "
            f"'{self.binary} docs commands' all of them."
        )
        print("")
        self.list_tasks()

    def parse_tasks(self) -> None:
        try:
            super().parse_tasks()
        except ParseError as exc:
            raise Exit(f"error: {exc}{self._did_you_mean(str(exc))}", EXIT_BAD_INPUT) from None

    def _did_you_mean(self, message: str) -> str:
        """'; did you mean 'build'?' for a command name that is nearly one of ours."""
        unknown = re.fullmatch(r"No idea what '(.*)' is!", message)
        if unknown is None:
            return ""
        word = unknown.group(1)
        command = next((a for a in self.argv[1:] if a in COMMANDS), None)
        if word.startswith("-") and command is not None:  # a flag the command does not have
            flags = [f.long for f in COMMANDS[command].flags]
            flags += [f.short for f in COMMANDS[command].flags if f.short]
            hint = did_you_mean(word.split("=")[0], flags) or ";"
            return f" ({command} has no such option{hint} 'buildopt {command} --help' lists them)"
        return did_you_mean(word, COMMANDS) or f" (commands: {', '.join(COMMANDS)})"

    def print_task_help(self, name: str) -> None:
        """A command's help from its declaration: every flag with the value it takes."""
        spec = COMMANDS.get(name)
        if spec is None:
            super().print_task_help(name)
            return
        command, _, words = spec.usage().partition(" ")
        print(f"Usage: {self.binary} {command} [options] {words}".rstrip())
        print(f"\n{spec.about}\n\nOptions:\n")
        rows = []
        for flag in spec.flags:
            long = flag.long + (f"={flag.value}" if flag.value else "")
            long = f"--[no-]{flag.long[2:]}" if flag.on else long
            short = flag.short + (f" {flag.value}" if flag.short and flag.value else "")
            rows.append((", ".join(n for n in (short, long) if n), spec.help()[flag.name]))
        self.print_columns(rows)


def _option_names(spec: str) -> set[str]:
    """'-D INT, --list-depth=INT' -> {'-D', '--list-depth'}."""
    return {part.split("=")[0].split(" ")[0].split("[")[0] for part in spec.split(", ")}


program = BuildoptProgram(
    name="buildopt",
    binary="buildopt",
    version=__version__,
    namespace=Collection.from_module(tasks),
)
