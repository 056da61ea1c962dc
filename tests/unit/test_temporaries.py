"""Temporaries are removed by their owner's death, not by their age (issue 22, item 5)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from buildopt.system.files import TEMP_PREFIX, remove_stale_temporaries, temp_prefix
from buildopt.system.leftovers import owner_alive


def _old(path: Path) -> Path:
    past = time.time() - 86400
    os.utime(path, (past, past))
    return path


def test_a_dead_owners_temporaries_go_and_a_live_ones_stay_however_old(tmp_path: Path) -> None:
    mine = temp_prefix()  # this process: alive
    pid, start = mine[len(TEMP_PREFIX) : -1].split(".")
    assert pid == str(os.getpid()) and start.isdigit()
    reused = f"{TEMP_PREFIX}{pid}.{int(start) + 1}-"  # the same pid, another process
    folder = tmp_path / "dist" / "p" / "a"
    folder.mkdir(parents=True)
    live = folder / f"{mine}file"
    live.write_text("")
    _old(live)
    staging = folder / f"{mine}stage"
    staging.mkdir()
    dead = folder / f"{reused}file"
    dead.write_text("half")
    dead_staging = folder / f"{reused}stage"
    (dead_staging / "usr" / "bin").mkdir(parents=True)
    (dead_staging / "usr" / "bin" / "x").write_text("x")
    legacy_old = folder / f"{TEMP_PREFIX}abc123"
    legacy_old.write_text("")
    _old(legacy_old)
    legacy_young = folder / f"{TEMP_PREFIX}xyz789"
    legacy_young.write_text("")
    removed = remove_stale_temporaries(tmp_path / "dist")
    assert removed == sorted([dead, dead_staging, legacy_old])
    assert live.exists() and staging.is_dir() and legacy_young.exists()


def test_owner_alive_reads_the_name() -> None:
    assert owner_alive(f"{temp_prefix()}abc", TEMP_PREFIX) is True
    assert owner_alive(f"{TEMP_PREFIX}abc123", TEMP_PREFIX) is None  # an older buildopt's name
    assert owner_alive(f"{TEMP_PREFIX}{2**22 + 7}.123-abc", TEMP_PREFIX) is False  # > pid_max
    assert owner_alive(f"{TEMP_PREFIX}{os.getpid()}-abc", TEMP_PREFIX) is True  # the pid alone
