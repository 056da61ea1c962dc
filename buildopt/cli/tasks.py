"""The ``buildopt`` task collection: each command of buildopt.cli.adapters as an invoke task.

Each task is declared by its entry in buildopt.cli.options (help, repeatable and short flags)
and takes the adapter's parameters, which are the flags' values as text (see adapters).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from inspect import Parameter, Signature, signature
from typing import Any, TypeVar, cast

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

from buildopt.cli.options import COMMANDS, Command

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


def _task(name: str) -> SpecTask:
    """The task of command ``name``: the adapter of the same name (buildopt.cli.adapters),
    taking invoke's context first. Its flags are the adapter's parameters, declared once;
    ``remainder`` is not a flag but what invoke leaves after ``--`` (startup's program)."""
    from buildopt.cli import adapters

    command = getattr(adapters, name)
    declared_flags = signature(command)
    takes_rest = "remainder" in declared_flags.parameters

    def body(c: Context, **given: Any) -> None:
        rest = {"remainder": c.remainder} if takes_rest else {}
        run_command(lambda: cast("int", command(**given, **rest)))

    context = Parameter("c", Parameter.POSITIONAL_OR_KEYWORD)
    flags = [
        p.replace(kind=Parameter.POSITIONAL_OR_KEYWORD)
        for p in declared_flags.parameters.values()
        if p.name != "remainder"
    ]
    body.__signature__ = Signature([context, *flags])  # type: ignore[attr-defined]
    body.__name__ = body.__qualname__ = name
    body.__doc__ = command.__doc__
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
