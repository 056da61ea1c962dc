"""The ``buildopt`` task collection: each command of buildopt.cli.options as an invoke task.

Each task is declared by its entry in the spec (help, parameters, repeatable and short flags)
and runs its command's adapter (buildopt.cli.commands) with the flags' values as text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import Any, TypeVar

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from buildopt.cli.options import COMMANDS, Command, Flag

_F = TypeVar("_F", bound=Callable[..., None])


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


def declared(name: str) -> Callable[[_F], SpecTask]:
    """@task with the help, repeatable and short flags of COMMANDS[name]."""
    spec = COMMANDS[name]

    def wrap(body: _F) -> SpecTask:
        made: SpecTask = task(
            help=spec.help(),
            iterable=spec.repeatable(),
            auto_shortflags=False,
            klass=SpecTask,
            name=name,
        )(body)
        made.spec = spec
        return made

    return wrap


def debug_enabled() -> bool:
    """True under ``--debug`` (invoke's core flag turns on DEBUG logging)."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def run_command(command: Callable[[], int]) -> None:
    """Run a command; its errors become one line on stderr and a documented exit code."""
    from buildopt.errors import run_guarded

    code = run_guarded(command, debug=debug_enabled())
    if code:
        raise Exit(code=code)


def _parameter(flag: Flag) -> Parameter:
    """The task parameter of a flag: its default tells invoke what the flag takes."""
    default: object = flag.on if not flag.takes_value else None if flag.repeatable else ""
    return Parameter(flag.name, Parameter.POSITIONAL_OR_KEYWORD, default=default)


def _task(name: str) -> SpecTask:
    """The task of command ``name``: its flags are the ones the spec declares, and it runs
    the command's adapter (buildopt.cli.commands), imported only then. ``remainder`` is not
    a flag but what invoke leaves after ``--`` (startup's program)."""
    spec = COMMANDS[name]

    def body(c: Context, **given: Any) -> None:
        from buildopt.cli.commands import adapter

        rest = {"remainder": c.remainder} if spec.rest else {}
        run_command(lambda: adapter(name)(**given, **rest))

    context = Parameter("c", Parameter.POSITIONAL_OR_KEYWORD)
    flags = [_parameter(flag) for flag in spec.flags]
    body.__signature__ = Signature([context, *flags])  # type: ignore[attr-defined]
    body.__name__ = body.__qualname__ = name
    body.__doc__ = spec.about
    return declared(name)(body)


init = _task("init")
docs = _task("docs")
plan = _task("plan")
build = _task("build")
inspect = _task("inspect")
compare = _task("compare")
diff = _task("diff")
why = _task("why")
gate = _task("gate")
image = _task("image")
report = _task("report")
matrix = _task("matrix")
merge = _task("merge")
startup = _task("startup")
scan = _task("scan")

ns = Collection(
    init,
    docs,
    plan,
    build,
    inspect,
    compare,
    diff,
    why,
    gate,
    image,
    report,
    matrix,
    merge,
    startup,
    scan,
)
