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

from buildopt.cli.options import COMMANDS, Command, count, program_args

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


@declared("init")
def init(c: Context, dir: str = "", package: str = "", budgets: bool = False) -> None:
    """Write a commented starter profile for the Go module's main package (and tasks.py)."""
    from buildopt.cli.commands import init_command

    run_command(lambda: init_command(dir or None, package=package or None, budgets=budgets))


@declared("docs")
def docs(c: Context, topic: str = "") -> None:
    """Print a page of buildopt's documentation (profiles, commands, budgets, ...)."""
    from buildopt.cli.commands import docs_command

    run_command(lambda: docs_command(topic or None))


@declared("plan")
def plan(
    c: Context,
    profile: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
) -> None:
    """Show every variant x target with its exact go build argv and env; build nothing."""
    from buildopt.cli.commands import plan_command

    run_command(
        lambda: plan_command(
            profile or None, variants=variant or (), as_json=json, dist=dist or None
        )
    )


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
    from buildopt.cli.commands import build_command

    run_command(
        lambda: build_command(
            profile or None,
            variants=variant or (),
            jobs=count("--jobs", jobs, 0),
            as_json=json,
            exact=bytes,
            record=record or None,
            dist=dist or None,
        )
    )


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
    from buildopt.cli.inspect import inspect_command

    run_command(
        lambda: inspect_command(
            file or [],
            as_json=json,
            packages=count("--packages", packages, 15),
            jobs=count("--jobs", jobs, 1, least=1) if jobs else None,
            dwarf=dwarf,
        )
    )


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
    from buildopt.cli.commands import compare_command

    run_command(
        lambda: compare_command(
            profile or None,
            record or [],
            as_json=json,
            exact=bytes,
            rows=count("--rows", rows, 30, least=1),
            dist=dist or None,
        )
    )


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
    from buildopt.cli.commands import gate_command

    run_command(
        lambda: gate_command(
            profile or None,
            baseline=baseline or None,
            record=record or None,
            build=build,
            as_json=json,
            exact=bytes,
            markdown=markdown or None,
            markdown_mode=markdown_mode or None,
            junit=junit or None,
            dist=dist or None,
        )
    )


@declared("matrix")
def matrix(c: Context, profile: str = "", variant: list[str] | None = None) -> None:
    """Print {"include": [...]} for a GitHub Actions matrix: one job per variant x target."""
    from buildopt.cli.commands import matrix_command

    run_command(lambda: matrix_command(profile or None, variants=variant or ()))


@declared("merge")
def merge(c: Context, record: list[str] | None = None, output: str = "") -> None:
    """Join per-job build records (same profile and Go version) into one."""
    from buildopt.cli.commands import merge_command

    run_command(lambda: merge_command(record or [], output=output))


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
    from buildopt.cli.commands import startup_command
    from buildopt.config.startup import StartupOverrides

    def command() -> int:
        def given(flag: str, text: str, least: int) -> int | None:
            return count(flag, text, 0, least) if text else None

        overrides = StartupOverrides(
            runs=given("--runs", runs, 1),
            warmup=given("--warmup", warmup, 0),
            timeout=timeout or None,
            cold=cold,
            cpus=given("--cpus", cpus, 1),
            ready_stdout=ready_stdout or None,
            ready_port=given("--ready-port", ready_port, 1),
        )
        return startup_command(
            profile or None,
            file or [],
            args=[*(arg or []), *program_args(c.remainder)],
            overrides=overrides,
            as_json=json,
            dist=dist or None,
        )

    run_command(command)


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
    from buildopt.cli.commands import scan_command

    split_tags = [t for group in (tags or []) for t in group.split(",") if t]
    run_command(
        lambda: scan_command(
            path or [],
            tags=split_tags,
            as_json=json,
            sarif=sarif or None,
            include_generated=include_generated,
        )
    )


ns = Collection(init, docs, plan, build, inspect, compare, gate, matrix, merge, startup, scan)
