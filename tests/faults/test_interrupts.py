"""Interrupts and kills during a build: every child ends, nothing half-written stays."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.faults.conftest import (
    buildopt,
    processes_with_env,
    record_matches_dist,
    start_buildopt,
)
from tests.integration.conftest import proc_text


def stubborn_go(go: str, tmp_path: Path) -> Path:
    """A go whose build ignores SIGTERM (as a wedged compiler or a toolexec wrapper might)."""
    fake = tmp_path / "fake-go"
    fake.write_text(
        f'#!/bin/sh\n[ "$1" = build ] && trap \'\' TERM && exec sleep 300\nexec {go} "$@"\n'
    )
    fake.chmod(0o755)
    return fake


def wait_for_processes(mark: str, timeout: float = 60) -> None:
    """Until the fake go build runs (its sleep: buildopt itself has the mark from the start,
    and under load it was still asking go env when interrupted: a plain 'interrupted')."""
    deadline = time.monotonic() + timeout
    while not [
        pid
        for pid in processes_with_env(f"BUILDOPT_TEST_MARK={mark}")
        if proc_text(pid, "comm") == "sleep"
    ]:
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.05)
    time.sleep(0.1)  # sleep ignores SIGTERM from its start (the trap came before exec)


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_a_go_build_that_ignores_sigterm(
    go: str, hello: Path, tmp_path: Path, presses: int
) -> None:
    """Ctrl-C twice while a go child ignored SIGTERM: "interrupted" was printed and buildopt
    stayed alive (631 s until killed). Now the group gets SIGKILL after a 3 s grace, or at once
    on the second Ctrl-C, and buildopt exits 130."""
    mark = uuid.uuid4().hex
    running = start_buildopt(
        ["build", "--profile", "p", "--variant", "a"],
        hello,
        {"BUILDOPT_GO": str(stubborn_go(go, tmp_path)), "BUILDOPT_TEST_MARK": mark},
    )
    wait_for_processes(mark)
    started = time.monotonic()
    running.send_signal(signal.SIGINT)
    if presses == 2:
        time.sleep(0.3)
        running.send_signal(signal.SIGINT)
    _out, err = running.communicate(timeout=30)
    took = time.monotonic() - started
    assert running.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted: stopped 1 unfinished")
    assert "Traceback" not in err
    assert took < (2.5 if presses == 2 else 10)  # the second press does not wait the grace
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []
    assert not list((hello / "dist").rglob(".buildopt-tmp-*"))


def test_after_kill_9_the_next_build_recovers_and_removes_stale_temporaries(
    go: str, hello: Path, tmp_path: Path
) -> None:
    """kill -9 of buildopt during a build left the go build running and its half-written
    output behind, and later builds never removed buildopt's temporary files. (A killed process
    cannot stop its go build; it ends on its own.) Now go writes into the variant's stage: the
    next build rebuilds over a half-written stage, publishes only a verified binary, and
    removes buildopt's own .buildopt-tmp-* files older than 10 minutes, saying so."""
    fake = tmp_path / "fake-go"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = build ]; then\n'
        '  while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\n'
        '  printf half-written > "$out"; exec sleep 300\n'
        "fi\n"
        f'exec {go} "$@"\n'
    )
    fake.chmod(0o755)
    mark = uuid.uuid4().hex
    running = start_buildopt(
        ["build", "--profile", "p", "--variant", "a"],
        hello,
        {"BUILDOPT_GO": str(fake), "BUILDOPT_TEST_MARK": mark},
    )
    stage = hello / "dist" / "p" / "a" / "linux-amd64" / ".buildopt-stage" / "hello"
    deadline = time.monotonic() + 60
    while not (stage.exists() and stage.read_bytes() == b"half-written"):
        assert time.monotonic() < deadline, "the fake go never wrote its output"
        time.sleep(0.05)
    running.kill()
    running.communicate(timeout=30)
    for pid in processes_with_env(f"BUILDOPT_TEST_MARK={mark}"):  # the orphaned go build
        os.kill(pid, signal.SIGKILL)
    assert not (stage.parent.parent / "hello").exists()  # nothing unverified was published
    # what a kill at an unlucky moment leaves of buildopt's own writes (a record, a publish)
    stale = stage.parent.parent / ".buildopt-tmp-abc123"
    stale.write_text("stale")
    past = time.time() - 3600
    os.utime(stale, (past, past))
    young = stale.with_name(".buildopt-tmp-young")  # as if another build were writing it
    young.write_text("in progress")
    done = buildopt(["build", "--profile", "p", "--variant", "a"], cwd=hello)
    assert done.returncode == 0, done.stderr
    assert f"removed {stale}: left by a buildopt that was killed" in done.stderr
    assert not stale.exists()
    assert young.exists()
    young.unlink()
    binary = stage.parent.parent / "hello"
    assert binary.read_bytes() != b"half-written" and binary.read_bytes()[:4] == b"\x7fELF"
    record_matches_dist(hello / "dist" / "p" / "build.json")
