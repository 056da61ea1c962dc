"""A reader that closes stdout early ends buildopt quietly, exit 141 (issue 22, item 6).

`buildopt gate | head -1` printed an unexpected BrokenPipeError and exited 3; plan,
inspect and `--help` exited 1, which means "a budget failed". Now every command that prints
on stdout stops without a word, with 141, the status a shell gives a program that SIGPIPE
ended.

The reader here has closed its end before buildopt writes anything, so that the first write
fails whatever the size of the output (a reader that takes one line and leaves races the
writer: a short output fits in the pipe's buffer and is all written before the reader goes);
the `| head -1` shape, with an output larger than the pipe's buffer, is tested once too.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import buildopt
from tests.integration.conftest import hello_project

pytestmark = pytest.mark.integration

BINARY = "dist/p/a/linux-amd64/hello"
OTHER = "dist/p/b/linux-amd64/hello"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hello project, built (so that the next build finds it up to date)."""
    root = hello_project(
        tmp_path_factory.mktemp("pipes"),
        'package = "./hello"\n[variants.a]\ncgo = false\n[variants.b]\ncgo = false\n'
        'trimpath = true\n[[budget]]\nselect = "*"\nmax_size = "100 MiB"\n',
    )
    done = buildopt(["build", "--profile", "p"], cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def run_into_closed_pipe(
    args: list[str], cwd: Path, *, stderr_too: bool = False
) -> subprocess.CompletedProcess[str]:
    """buildopt ARGS with stdout (and with stderr_too, stderr) a pipe nobody reads any more."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run(
            [sys.executable, "-m", "buildopt", *args],
            cwd=cwd,
            stdout=write,
            stderr=write if stderr_too else subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
            timeout=300,
            check=False,
        )
    finally:
        os.close(write)


COMMANDS = [
    ["plan", "-p", "p"],
    ["plan", "-p", "p", "--json"],
    ["build", "-p", "p"],  # up to date: the table of results
    ["build", "-p", "p", "--json"],
    ["inspect", BINARY],
    ["inspect", "--json", BINARY],
    ["compare", "-p", "p"],
    ["compare", "dist/p/build.json", "dist/p/build.json", "--json"],
    ["gate", "-p", "p"],
    ["gate", "-p", "p", "--json"],
    ["gate", "-p", "p", "--junit", "-"],
    ["diff", BINARY, OTHER],
    ["diff", BINARY, OTHER, "--json"],
    ["why", "fmt", "-p", "p"],
    ["scan", "hello"],
    ["scan", "hello", "--sarif", "-"],
    ["matrix", "-p", "p"],
    ["docs"],
    ["docs", "commands"],
    ["report", "-p", "p", "-o", "-"],
    ["merge", "dist/p/build.json", "-o", "-"],
    ["--help"],
    ["gate", "--help"],
    ["--version"],
    ["--debug", "gate", "-p", "p"],  # through the invoke Program, not the fast path
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_a_closed_stdout_ends_quietly_with_141(project: Path, args: list[str]) -> None:
    done = run_into_closed_pipe(args, project)
    assert done.returncode == 141, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert "BrokenPipe" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.mark.parametrize("args", [["gate", "-p", "p"], ["build", "-p", "p"], ["inspect", "x"]])
def test_closed_stdout_and_stderr(project: Path, args: list[str]) -> None:
    """`buildopt ... 2>&1 | head -1`: even the error line cannot be written."""
    assert run_into_closed_pipe(args, project, stderr_too=True).returncode == 141


def test_head_one_line(project: Path) -> None:
    """The shape of `buildopt docs commands | head -1`: the reader takes a line and leaves,
    with most of the page (over 30 KiB) still to come through a 4 KiB pipe."""
    process = subprocess.Popen(
        [sys.executable, "-m", "buildopt", "docs", "commands"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    fcntl.fcntl(process.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
    assert process.stdout.readline() == b"# Commands\n"
    process.stdout.close()
    assert process.wait(timeout=60) == 141
    assert process.stderr.read() == b""
    process.stderr.close()


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--profile", "p"],
        ["plan", "--profile", "p", "--json"],
        ["inspect", "--json", BINARY],
        ["compare", "--profile", "p"],
        ["gate", "--profile", "p", "--json"],
    ],
)
def test_a_full_disk_under_stdout_is_one_line_and_exit_1(project: Path, args: list[str]) -> None:
    """``buildopt inspect --json FILE > /dev/full``: a full disk is the machine's state, not a
    fault of buildopt to report (exit 3 asked for a bug report). One line, exit 1, whether the
    write failed in the command or at its end."""
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "buildopt", *args],
            cwd=project,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert done.stderr == "error: stdout: No space left on device\n"
