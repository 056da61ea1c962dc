"""The faults suite: hostile input, interrupts, kills, full and read-only disks, concurrent runs.

Each test runs the real command line (and the real Go toolchain where a build is needed) and
checks the promise: exit 0/1/2/130, one line naming the file or key, nothing written outside
the output root, no process left behind, and a build record that matches ``dist/``.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import buildopt, go, hello_project, processes_with_env

__all__ = ["buildopt", "go", "processes_with_env"]


@pytest.fixture
def hello(tmp_path: Path) -> Path:
    """A project with the hello program and profile p (variants a and b), not built yet."""
    return hello_project(
        tmp_path,
        'package = "./hello"\n[variants.a]\ncgo = false\n[variants.b]\ncgo = false\ntrimpath = true\n',
    )


def start_buildopt(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """buildopt running in the background (to be interrupted or killed)."""
    import os

    return subprocess.Popen(
        [sys.executable, "-m", "buildopt", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_file(path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.02)


def record_matches_dist(record: Path) -> dict[str, str]:
    """Check that every ok entry of the record describes the binary in dist/ (size and
    sha256) and that every binary in the variant directories has an entry; id -> sha256."""
    import hashlib

    data = json.loads(record.read_text())
    entries = {b["id"]: b for b in data["builds"] if b["status"] == "ok"}
    for entry in entries.values():
        binary = Path(entry["output"])
        assert binary.is_file(), entry["id"]
        assert hashlib.sha256(binary.read_bytes()).hexdigest() == entry["sha256"], entry["id"]
        assert binary.stat().st_size == entry["size"]
    on_disk = {
        p
        for p in record.parent.rglob("*")
        if p.is_file()
        and p.parent != record.parent
        and not {".buildopt-stage", ".locks"} & set(p.relative_to(record.parent).parts)
        and ".advise" not in p.relative_to(record.parent).parts  # advise's what-ifs: its record
    }
    assert on_disk == {Path(e["output"]) for e in entries.values()}
    return {i: e["sha256"] for i, e in entries.items()}


def interrupt(process: subprocess.Popen[str], sig: signal.Signals = signal.SIGINT) -> None:
    process.send_signal(sig)
