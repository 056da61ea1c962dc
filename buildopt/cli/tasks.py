"""The ``buildopt`` task collection: each command of buildopt.cli.options as an invoke task.

A task is made from its command's entry in the spec (its summary, parameters, help texts,
repeatable and short flags) and runs the command's function (buildopt.cli.commands) with the
flags' values as text, importing the command's module only then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from buildopt.cli.options import COMMANDS, Command, Flag


class SpecTask(Task[Any]):
    """An invoke Task whose flags are the ones its Command declares: its short flags, and no
    automatic ones (those gave -j and -s different meanings in different commands)."""

    spec: Command

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts = super().arg_opts(name, default, taken_names)
        short = self.spec.shorts().get(name)
        if short:
            opts["names"] = [*opts["names"], short.lstrip("-")]
        return opts


def debug_enabled() -> bool:
    """True under ``--debug`` (invoke's core flag turns on DEBUG logging)."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def run_command(command: Callable[[], int]) -> None:
    """Run a command; its errors become one line on stderr and a documented exit code."""
    from buildopt.errors import run_guarded

    code = run_guarded(command, debug=debug_enabled())
    if code:
        raise Exit(code=code)


def parameter(flag: Flag) -> Parameter:
    """The parameter a flag's value arrives in: its default tells invoke what the flag takes
    (a switch, on unless --no-NAME when its default is True; text; a list when repeated)."""
    default: object = flag.on if not flag.takes_value else None if flag.repeatable else ""
    return Parameter(flag.name, Parameter.KEYWORD_ONLY, default=default)


def _task(spec: Command) -> SpecTask:
    """The task of a command. ``remainder`` is not a flag but what invoke leaves after
    ``--`` (startup's program)."""

    def body(c: Context, **given: Any) -> None:
        from buildopt.cli.commands import adapter

        rest = {"remainder": c.remainder} if spec.rest else {}
        run_command(lambda: adapter(spec.name)(**given, **rest))

    context = Parameter("c", Parameter.POSITIONAL_OR_KEYWORD)
    flags = [parameter(f).replace(kind=Parameter.POSITIONAL_OR_KEYWORD) for f in spec.flags]
    body.__signature__ = Signature([context, *flags])  # type: ignore[attr-defined]
    body.__name__ = body.__qualname__ = spec.name
    body.__doc__ = spec.about
    made: SpecTask = task(
        help=spec.help(),
        iterable=spec.repeatable(),
        auto_shortflags=False,
        klass=SpecTask,
        name=spec.name,
    )(body)
    made.spec = spec
    return made


ns = Collection(*(_task(spec) for spec in COMMANDS.values()))
