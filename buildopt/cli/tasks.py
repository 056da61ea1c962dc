"""The ``buildopt`` task collection: thin adapters from invoke to buildopt.cli.commands."""

from __future__ import annotations

import logging
from collections.abc import Callable

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task


def debug_enabled() -> bool:
    """True under ``--debug`` (invoke's core flag turns on DEBUG logging)."""
    return logging.getLogger().isEnabledFor(logging.DEBUG)


def run_command(command: Callable[[], int]) -> None:
    """Run a command; its errors become one line on stderr and a documented exit code."""
    from buildopt.errors import run_guarded

    code = run_guarded(command, debug=debug_enabled())
    if code:
        raise Exit(code=code)


COMMON_HELP = {
    "profile": "profile name (profiles/NAME.toml) or path to a .toml file",
    "variant": "fnmatch pattern over ids like static@linux-arm64 (repeatable)",
    "dist": "output directory (default: dist/ in the project root)",
}


@task(
    iterable=["variant"],
    help={**COMMON_HELP, "json": "print JSON on stdout"},
)
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


@task(
    iterable=["variant"],
    help={
        **COMMON_HELP,
        "jobs": "parallel builds (default: number of CPUs)",
        "json": "also print the build record on stdout",
        "record": "where to write the build record (default: dist/PROFILE/build.json)",
    },
)
def build(
    c: Context,
    profile: str = "",
    variant: list[str] | None = None,
    jobs: int = 0,
    json: bool = False,
    record: str = "",
    dist: str = "",
) -> None:
    """Build the profile's variants in parallel, verify each binary, write the build record."""
    from buildopt.cli.commands import build_command

    run_command(
        lambda: build_command(
            profile or None,
            variants=variant or (),
            jobs=jobs,
            as_json=json,
            record=record or None,
            dist=dist or None,
        )
    )


@task(
    iterable=["file"],
    help={
        "file": "an ELF file to inspect (repeatable; `buildopt inspect A B` works too)",
        "json": "print one buildopt.inspect/1 JSON document on stdout",
        "jobs": "decoding processes with --json (default: one per two CPUs; each hashes in a "
        "process of its own)",
        "packages": "rows of the package table (default 15)",
    },
)
def inspect(
    c: Context,
    file: list[str] | None = None,
    json: bool = False,
    packages: int = 15,
    jobs: int = -1,
) -> None:
    """Exact facts of ELF files: sections by category, linking, symbols, DWARF, Go packages."""
    from buildopt.cli.inspect import inspect_command

    run_command(
        lambda: inspect_command(
            file or [], as_json=json, packages=packages, jobs=None if jobs < 0 else jobs
        )
    )


@task(
    iterable=["record"],
    help={
        "profile": "compare the variants of dist/PROFILE/build.json with the baseline",
        "record": "a build record; two records are compared with each other "
        "(`buildopt compare OLD.json NEW.json` works too)",
        "json": "print JSON on stdout",
        "rows": "rows of the record-to-record table (default 30)",
    },
)
def compare(
    c: Context,
    profile: str = "",
    record: list[str] | None = None,
    json: bool = False,
    rows: int = 30,
) -> None:
    """Variants side by side against the baseline, each delta explained; or two records."""
    from buildopt.cli.commands import compare_command

    run_command(lambda: compare_command(profile or None, record or [], as_json=json, rows=rows))


@task(
    help={
        "profile": COMMON_HELP["profile"],
        "baseline": "build record to measure growth against (missing: growth budgets pass)",
        "record": "the build record to gate (default: dist/PROFILE/build.json; built if missing)",
        "json": "print buildopt.gate/1 JSON on stdout",
        "markdown": "write the result as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY)",
        "junit": "write JUnit XML to this file",
    },
)
def gate(
    c: Context,
    profile: str = "",
    baseline: str = "",
    record: str = "",
    json: bool = False,
    markdown: str = "",
    junit: str = "",
) -> None:
    """Evaluate the profile's size budgets: PASS/WARN/FAIL, exit 1 when a budget fails."""
    from buildopt.cli.commands import gate_command

    run_command(
        lambda: gate_command(
            profile or None,
            baseline=baseline or None,
            record=record or None,
            as_json=json,
            markdown=markdown or None,
            junit=junit or None,
        )
    )


@task(
    iterable=["variant"],
    help={"profile": COMMON_HELP["profile"], "variant": COMMON_HELP["variant"]},
)
def matrix(c: Context, profile: str = "", variant: list[str] | None = None) -> None:
    """Print {"include": [...]} for a GitHub Actions matrix: one job per variant x target."""
    from buildopt.cli.commands import matrix_command

    run_command(lambda: matrix_command(profile or None, variants=variant or ()))


@task(
    iterable=["record"],
    help={
        "record": "a per-job build record (repeatable; `buildopt merge A.json B.json` works)",
        "output": "where to write the merged record",
    },
)
def merge(c: Context, record: list[str] | None = None, output: str = "") -> None:
    """Join per-job build records (same profile and Go version) into one."""
    from buildopt.cli.commands import merge_command

    run_command(lambda: merge_command(record or [], output=output))


@task(
    iterable=["file", "arg"],
    help={
        "file": "the executable (`buildopt startup FILE -- ARGS...` works too)",
        "arg": "an argument for it (repeatable; or everything after --)",
        "profile": "measure every built variant of this profile that runs here",
        "runs": "measured runs per binary (default 30, or the profile's [startup] runs)",
        "warmup": "unmeasured runs first (default 3)",
        "timeout": "give up on a run after this long (default 10s)",
        "cold": "evict the binary from the page cache before each run (default on; --no-cold)",
        "cpus": "pin the program to this many CPUs (see what GOMAXPROCS does in a small box)",
        "ready_stdout": "ready when a stdout line matches this regex (default: at exit)",
        "ready_port": "ready when this loopback TCP port accepts",
        "json": "print buildopt.startup/1 JSON on stdout",
    },
)
def startup(
    c: Context,
    file: list[str] | None = None,
    arg: list[str] | None = None,
    profile: str = "",
    runs: int = 0,
    warmup: int = -1,
    timeout: str = "",
    cold: bool = True,
    cpus: int = 0,
    ready_stdout: str = "",
    ready_port: int = 0,
    json: bool = False,
) -> None:
    """Cold start per variant: time to ready, CPU, peak RSS, GC cycles, init cost by package."""
    from buildopt.cli.commands import startup_command
    from buildopt.config.startup import StartupOverrides

    overrides = StartupOverrides(
        runs=runs or None,
        warmup=warmup if warmup >= 0 else None,
        timeout=timeout or None,
        cold=cold,
        cpus=cpus or None,
        ready_stdout=ready_stdout or None,
        ready_port=ready_port or None,
    )
    run_command(
        lambda: startup_command(
            profile or None, file or [], args=arg or [], overrides=overrides, as_json=json
        )
    )


@task(
    iterable=["path", "tags"],
    help={
        "path": "package patterns or directories (default ./...; `buildopt scan ./cmd/...` works)",
        "tags": "build tags, as go build takes them (repeatable)",
        "json": "print buildopt.scan/1 JSON on stdout",
        "sarif": "write SARIF 2.1.0 to this file (GitHub code scanning)",
        "include_generated": "also scan files marked 'Code generated ... DO NOT EDIT.'",
    },
)
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


ns = Collection(plan, build, inspect, compare, gate, matrix, merge, startup, scan)
