"""Repository tasks: buildopt's own commands (plan, build) plus the development tasks.

``invoke build --profile=telecom-edge`` here does what ``buildopt build`` does anywhere.
Development tasks run their tools with argv lists (no shell), like the rest of buildopt.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from buildopt.cli import tasks as buildopt_tasks


def _run(*argvs: list[str]) -> None:
    for argv in argvs:
        print("+ " + " ".join(argv), file=sys.stderr)
        code = subprocess.run(argv, check=False).returncode
        if code:
            raise Exit(code=code)


@task(help={"unit": "only the unit tests (no Go needed)", "k": "pytest -k expression"})
def test(c: Context, unit: bool = False, k: str = "") -> None:
    """Run the test suite (unit tests, then integration tests with the real Go toolchain)."""
    argv = [sys.executable, "-m", "pytest", "tests/unit" if unit else "tests"]
    if k:
        argv += ["-k", k]
    _run(argv)


@task
def lint(c: Context) -> None:
    """ruff (lint and format check), mypy --strict, and the layering (import-linter)."""
    _run(
        [sys.executable, "-m", "ruff", "check", "buildopt", "tests", "tasks.py", "benchmarks"],
        [sys.executable, "-m", "ruff", "format", "--check", "buildopt", "tests", "tasks.py"],
        [sys.executable, "-m", "mypy"],
        # lint-imports, run by this Python (importlinter.cli has no __main__)
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"],
    )


@task
def schemas(c: Context) -> None:
    """Regenerate buildopt/schemas/*.json from the models (a test fails while they differ)."""
    _run([sys.executable, "-m", "buildopt.output.schemas", "--write"])


@task(help={"runs": "runs of each side, taken in turn (default 5)"})
def bench(c: Context, runs: int = 5) -> None:
    """Benchmark inspect (vs readelf + go version -m) and startup (vs hyperfine -N)."""
    with tempfile.TemporaryDirectory(prefix="buildopt-bench-venv-") as venv:
        _run(
            [sys.executable, "benchmarks/bench_inspect.py", "--runs", str(runs), "--venv", venv],
            [sys.executable, "benchmarks/bench_startup.py"],
        )


ns = Collection(*buildopt_tasks.ns.tasks.values(), test, lint, schemas, bench)
