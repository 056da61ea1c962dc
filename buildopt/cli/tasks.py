"""The ``buildopt`` task collection: thin adapters from invoke to buildopt.cli.commands.

Each task is declared by its entry in buildopt.cli.options (help, repeatable and short flags);
whole numbers arrive as text and are read with ``count``, so a bad value is one line, exit 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

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


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """A task's flag values (its locals, at its start), without invoke's context."""
    return {k: v for k, v in values.items() if k != "c"}


def run_command(command: Callable[[], int]) -> None:
    """Run a command; its errors become one line on stderr and a documented exit code."""
    from buildopt.errors import run_guarded

    code = run_guarded(command, debug=debug_enabled())
    if code:
        raise Exit(code=code)


@declared("init")
def init(c: Context, dir: str = "", package: str = "", budgets: bool = False) -> None:
    """Write a commented starter profile for the Go module's main package (and tasks.py)."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.init(**given))


@declared("docs")
def docs(c: Context, topic: str = "") -> None:
    """Print a page of buildopt's documentation (profiles, commands, budgets, ...)."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.docs(**given))


@declared("plan")
def plan(
    c: Context,
    profile: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
) -> None:
    """Show every variant x target with its exact go build argv and env; build nothing."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.plan(**given))


@declared("build")
def build(
    c: Context,
    profile: str = "",
    variant: list[str] | None = None,
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    record: str = "",
    dist: str = "",
) -> None:
    """Build the profile's variants in parallel, verify each binary, write the build record."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.build(**given))


@declared("inspect")
def inspect(
    c: Context,
    file: list[str] | None = None,
    json: bool = False,
    packages: str = "",
    jobs: str = "",
    dwarf: bool = False,
) -> None:
    """Exact facts of ELF files: sections by category, linking, symbols, DWARF, Go packages."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.inspect(**given))


@declared("compare")
def compare(
    c: Context,
    profile: str = "",
    record: list[str] | None = None,
    json: bool = False,
    bytes: bool = False,
    rows: str = "",
    dist: str = "",
) -> None:
    """Variants side by side against the baseline, each delta explained; or two records."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.compare(**given))


@declared("gate")
def gate(
    c: Context,
    profile: str = "",
    baseline: str = "",
    record: str = "",
    build: bool = False,
    json: bool = False,
    bytes: bool = False,
    markdown: str = "",
    markdown_mode: str = "",
    junit: str = "",
    dist: str = "",
) -> None:
    """Evaluate the profile's size budgets: PASS/WARN/FAIL, exit 1 when a budget fails."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.gate(**given))


@declared("matrix")
def matrix(c: Context, profile: str = "", variant: list[str] | None = None) -> None:
    """Print {"include": [...]} for a GitHub Actions matrix: one job per variant x target."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.matrix(**given))


@declared("merge")
def merge(c: Context, record: list[str] | None = None, output: str = "") -> None:
    """Join per-job build records (same profile and Go version) into one."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.merge(**given))


@declared("startup")
def startup(
    c: Context,
    file: list[str] | None = None,
    arg: list[str] | None = None,
    profile: str = "",
    runs: str = "",
    warmup: str = "",
    timeout: str = "",
    cold: bool = True,
    cpus: str = "",
    ready_stdout: str = "",
    ready_port: str = "",
    json: bool = False,
    dist: str = "",
) -> None:
    """Cold start per variant: time to ready, CPU, peak RSS, GC cycles, init cost by package."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.startup(**given, remainder=c.remainder))


@declared("scan")
def scan(
    c: Context,
    path: list[str] | None = None,
    tags: list[str] | None = None,
    json: bool = False,
    sarif: str = "",
    include_generated: bool = False,
) -> None:
    """Find start-up anti-patterns in Go sources: GOMAXPROCS calls, heavy init, automaxprocs."""
    given = _given(locals())  # the flags, first: before anything else is a local
    from buildopt.cli import adapters

    run_command(lambda: adapters.scan(**given))


ns = Collection(init, docs, plan, build, inspect, compare, gate, matrix, merge, startup, scan)
