"""Children are owned (issue 22, item 5): SIGTERM to `image` (or to `gate` making an image)
exited 143 with no message and left mksquashfs running, a .buildopt-tmp-* file and a staging
folder that no later run removed; kill -9 of `build` left go build running. Now SIGTERM and
SIGHUP are Ctrl-C: a message, the children's process groups killed, temporaries removed,
128+signal; every go build and mksquashfs runs under a guard that ends its process group when
buildopt is gone; and what a dead run left is removed by the next one, by its owner's pid."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.conftest import buildopt, processes_with_env, start_buildopt
from tests.integration.conftest import hello_project, proc_text

pytestmark = pytest.mark.integration

IMAGE_PROFILE = """package = "./hello"
[variants.a]
cgo = false

[[image]]
name = "node"
select = ["a"]
filesystem = "squashfs"
compressor = "xz"
files = { "/data/noise" = "noise.bin" }
max_size = "1 GiB"
"""


def living(mark: str, names: set[str] | None = None) -> list[str]:
    """The processes of a run still alive (not zombies), as 'pid comm'; only those named."""
    found = []
    for pid in processes_with_env(f"BUILDOPT_TEST_MARK={mark}"):
        comm = proc_text(pid, "comm")
        state = proc_text(pid, "stat").rsplit(")", 1)[-1].split()[:1]
        if comm and state != ["Z"] and (names is None or comm in names):
            found.append(f"{pid} {comm}")
    return found


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def settle(mark: str, names: set[str] | None = None, grace: float = 5.0) -> list[str]:
    """What of the run is still alive after up to grace seconds."""
    deadline = time.monotonic() + grace
    while living(mark, names) and time.monotonic() < deadline:
        time.sleep(0.1)
    return living(mark, names)


def kill_all(mark: str) -> None:
    """End what a failed test left running (only this run's processes)."""
    for pid in processes_with_env(f"BUILDOPT_TEST_MARK={mark}"):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def imaged(go: str, tmp_path: Path) -> Path:
    """A built project whose image takes mksquashfs seconds: 48 MB of noise through xz."""
    if shutil.which("mksquashfs") is None:
        pytest.fail("these tests need mksquashfs (squashfs-tools)")
    project = hello_project(tmp_path, IMAGE_PROFILE)
    (project / "noise.bin").write_bytes(os.urandom(48 << 20))
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    return project


@pytest.mark.parametrize(
    ("command", "sig"),
    [("image", signal.SIGTERM), ("gate", signal.SIGTERM), ("image", signal.SIGHUP)],
)
def test_a_signal_while_mksquashfs_runs_ends_it_and_leaves_nothing(
    imaged: Path, command: str, sig: signal.Signals
) -> None:
    mark = uuid.uuid4().hex
    running = start_buildopt([command, "--profile", "p"], imaged, {"BUILDOPT_TEST_MARK": mark})
    try:
        wait_until(lambda: living(mark, {"mksquashfs"}), 120, "mksquashfs never started")
        time.sleep(0.5)
        running.send_signal(sig)
        _out, err = running.communicate(timeout=60)
        assert running.returncode == 128 + sig, err
        name = signal.Signals(sig).name
        assert err.strip().splitlines()[-1] == f"error: interrupted ({name})"
        assert settle(mark) == []
        images = imaged / "dist" / "p" / "images"
        # no image, no temporary, no work folder (the image's lock file stays, as every lock)
        assert sorted(p.name for p in images.iterdir()) == [".locks"]
    finally:
        running.kill()
        kill_all(mark)


def test_kill_9_of_build_ends_its_go_build_and_the_next_build_cleans_up(
    go: str, tmp_path: Path
) -> None:
    """kill -9 while go build compiles (a cold cache: net/http and crypto/tls): go, compile
    and link of that build end within seconds (they ran on for tens of seconds). A temporary
    of the dead run is removed by the next build, one of a live process is kept, however old."""
    project = hello_project(tmp_path, 'package = "./hello"\n[variants.a]\ncgo = false\n')
    (project / "hello" / "main.go").write_text(
        'package main\n\nimport (\n\t_ "crypto/tls"\n\t_ "net/http"\n)\n\nfunc main() {}\n'
    )
    mark = uuid.uuid4().hex
    env = {"BUILDOPT_TEST_MARK": mark, "GOCACHE": str(tmp_path / "gocache")}
    running = start_buildopt(["build", "--profile", "p"], project, env)
    try:
        wait_until(lambda: living(mark, {"compile"}), 120, "go never started compiling")
        owner = f"{running.pid}.{proc_text(running.pid, 'stat').rsplit(')', 1)[1].split()[19]}"
        running.kill()
        running.communicate(timeout=30)
        assert settle(mark, {"go", "compile", "link", "asm", "cgo"}) == []
        variant = project / "dist" / "p" / "a" / "linux-amd64"
        variant.mkdir(parents=True, exist_ok=True)
        dead = variant / f".buildopt-tmp-{owner}-abc123"  # what the dead run could have left
        dead.write_text("half a binary")
        mine = f"{os.getpid()}.{proc_text(os.getpid(), 'stat').rsplit(')', 1)[1].split()[19]}"
        live = variant / f".buildopt-tmp-{mine}-xyz789"  # a running buildopt's
        live.write_text("in progress")
        past = time.time() - 86400
        os.utime(live, (past, past))
        done = buildopt(["build", "--profile", "p"], cwd=project, env=env)
        assert done.returncode == 0, done.stderr
        assert f"removed {dead}: left by a buildopt that was killed" in done.stderr
        assert not dead.exists()
        assert live.exists()
    finally:
        running.kill()
        kill_all(mark)


def test_one_guard_watches_every_build_of_a_run(go: str, tmp_path: Path) -> None:
    """A guard per go build put an interpreter's start (~6.7 ms) before each build; one guard
    per run now watches them all, and kill -9 of buildopt still ends every build."""
    project = hello_project(
        tmp_path,
        'package = "./hello"\n[variants.a]\ncgo = false\n[variants.b]\ncgo = false\n'
        "trimpath = true\n",
    )
    fake = tmp_path / "fake-go"
    fake.write_text(f'#!/bin/sh\n[ "$1" = build ] && exec sleep 300\nexec {go} "$@"\n')
    fake.chmod(0o755)
    mark = uuid.uuid4().hex
    env = {"BUILDOPT_GO": str(fake), "BUILDOPT_TEST_MARK": mark}
    running = start_buildopt(["build", "--profile", "p", "--jobs", "2"], project, env)
    try:
        wait_until(lambda: len(living(mark, {"sleep"})) == 2, 60, "the builds never started")
        guards = [p for p in living(mark) if "guard.py" in proc_text(int(p.split()[0]), "cmdline")]
        assert len(guards) == 1, guards
        running.kill()
        running.communicate(timeout=30)
        assert settle(mark) == []
    finally:
        running.kill()
        kill_all(mark)


def test_the_next_image_removes_a_dead_runs_work(imaged: Path) -> None:
    """An image's work folder (its staging tree and the image mksquashfs was writing) and a
    temporary record of a dead image run are removed by the next: by the owner, not by age."""
    dead = subprocess.Popen(["sleep", "0"])
    start = proc_text(dead.pid, "stat").rsplit(")", 1)[1].split()[19]
    dead.wait()
    images = imaged / "dist" / "p" / "images"
    images.mkdir(parents=True, exist_ok=True)
    work = images / f".buildopt-image-{dead.pid}.{start}-w1"
    (work / "root" / "usr" / "bin").mkdir(parents=True)
    (work / "image.squashfs").write_text("half an image")
    record = images / f".buildopt-tmp-{dead.pid}.{start}-r1"
    record.write_text("half a record")
    done = buildopt(["image", "--profile", "p"], cwd=imaged)
    assert done.returncode == 0, done.stderr
    assert f"removed {record}: left by a buildopt that was killed" in done.stderr
    assert sorted(p.name for p in images.iterdir()) == [".locks", "node.json", "node.squashfs"]
