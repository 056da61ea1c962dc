"""Ctrl-C while the second links that check method dead-code elimination run: they end, the
run exits 130 with one line, and the record holds the finished builds - without the answer,
which the next build gives."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize(
    ("variant", "hangs"),
    [
        ("a", "*-dumpdep*"),  # the twin link itself
        ("b", "*tool\\ nm*"),  # the owners' go tool nm over the archives, after it (trimpath)
    ],
)
def test_ctrl_c_during_the_second_link(
    go: str, hello: Path, tmp_path: Path, variant: str, hangs: str
) -> None:
    fake = tmp_path / "go-that-hangs"
    fake.write_text(
        f'#!/bin/sh\ncase "$*" in {hangs}) trap \'\' TERM; exec sleep 300;; esac\nexec {go} "$@"\n'
    )
    fake.chmod(0o755)
    mark = uuid.uuid4().hex
    running = start_buildopt(
        ["build", "--profile", "p", "--variant", variant],
        hello,
        {"BUILDOPT_GO": str(fake), "BUILDOPT_TEST_MARK": mark},
    )
    deadline = time.monotonic() + 120
    while not [
        pid
        for pid in processes_with_env(f"BUILDOPT_TEST_MARK={mark}")
        if proc_text(pid, "comm") == "sleep"
    ]:
        assert time.monotonic() < deadline, "the second link never started"
        time.sleep(0.05)
    time.sleep(0.1)
    running.send_signal(signal.SIGINT)
    _out, err = running.communicate(timeout=60)
    assert running.returncode == 130, err
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(
            "error: interrupted: stopped the second links that check method dead-code elimination"
        )
    )
    assert "Traceback" not in err
    assert "attributed to packages" not in err  # an answer stopped is not shown
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []
    record = hello / "dist" / "p" / "build.json"
    assert list(record_matches_dist(record)) == [f"{variant}@linux-amd64"]
    (entry,) = json.loads(record.read_text())["builds"]
    assert "dead_code" not in entry
    again = buildopt(["build", "--profile", "p", "--variant", variant, "--json"], cwd=hello)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["builds"][0]["dead_code"]["state"] == "on"
