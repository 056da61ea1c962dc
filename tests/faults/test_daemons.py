"""startup of a program that daemonizes: what it leaves running outside its process group is
followed (the spawn helper is a child subreaper) and ended after the measurement."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.faults.conftest import buildopt, processes_with_env
from tests.integration.conftest import free_port, probe, proc_text

__all__ = ["probe"]  # the fixture, used by name


def test_a_daemon_left_at_exit_is_ended(probe: Path) -> None:
    """The program starts a setsid child and exits 0 (ready at exit): the child stayed running
    after buildopt, though docs/startup.md said no process is left behind."""
    mark = uuid.uuid4().hex
    done = buildopt(
        ["startup", str(probe), "--runs", "2", "--warmup", "0", "--json", "--", "-mode", "daemon"],
        env={"BUILDOPT_TEST_MARK": mark},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["variants"][0]["runs"] == 2
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []


def test_a_daemon_that_opens_the_port_is_ready_and_then_ended(probe: Path) -> None:
    """The program exits at once and its daemon listens: ready is the daemon's port, not
    'exited with 0 before ready'; afterwards the daemon is gone and the port free."""
    mark = uuid.uuid4().hex
    port = free_port()
    done = buildopt(
        [
            "startup",
            str(probe),
            "--runs",
            "2",
            "--warmup",
            "0",
            "--ready-port",
            str(port),
            "--json",
            "--",
            "-mode",
            "daemon",
            "-then",
            "port",
            "-port",
            str(port),
        ],
        env={"BUILDOPT_TEST_MARK": mark},
    )
    assert done.returncode == 0, done.stderr
    variant = json.loads(done.stdout)["variants"][0]
    assert variant["runs"] == 2 and variant["failed_runs"] == 0
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()


@pytest.mark.parametrize("mode", [["-mode", "never"], ["-mode", "daemon", "-then", "never"]])
def test_kill_9_of_buildopt_during_startup_ends_the_program(probe: Path, mode: list[str]) -> None:
    """kill -9 of buildopt while it measured left the spawn helper and the program (and what
    the program left) running. The helper now gets PR_SET_PDEATHSIG and ends them all."""
    import signal
    import sys
    import time

    mark = uuid.uuid4().hex
    running = subprocess.Popen(
        [
            *(sys.executable, "-m", "buildopt", "startup", str(probe), "--runs", "1"),
            *("--warmup", "0", "--timeout", "60s", "--ready-port", str(free_port()), "--", *mode),
        ],
        cwd=REPO,
        env={**os.environ, "BUILDOPT_TEST_MARK": mark},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any(
        proc_text(p, "comm") == "startprobe"
        for p in processes_with_env(f"BUILDOPT_TEST_MARK={mark}")
    ):
        assert time.monotonic() < deadline and running.poll() is None, "the program never ran"
        time.sleep(0.02)
    time.sleep(0.3)  # the daemon, if any, has started
    running.send_signal(signal.SIGKILL)
    running.wait(timeout=10)
    deadline = time.monotonic() + 10
    while processes_with_env(f"BUILDOPT_TEST_MARK={mark}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []
