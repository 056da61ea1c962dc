"""Publishing a verified binary: one file under two names, or a copy where no link can be."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from buildopt.system.files import publish


def test_the_published_binary_is_the_stage(tmp_path: Path) -> None:
    stage = tmp_path / ".buildopt-stage" / "app"
    stage.parent.mkdir()
    stage.write_bytes(b"\x7fELF one")
    out = tmp_path / "app"
    assert publish(stage, out) is True
    assert out.stat().st_ino == stage.stat().st_ino and out.read_bytes() == b"\x7fELF one"
    assert publish(stage, out) is True  # again onto itself: nothing left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == [".buildopt-stage", "app"]
    old = out.open("rb")
    new = tmp_path / "new"
    new.write_bytes(b"\x7fELF two")
    new.replace(stage)  # as go replaces its output
    assert publish(stage, out) is True
    assert out.read_bytes() == b"\x7fELF two" and old.read() == b"\x7fELF one"
    old.close()


def test_across_file_systems_a_copy_and_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        stage = Path(other) / "app"
        stage.write_bytes(b"\x7fELF elsewhere")
        out = tmp_path / "app"
        with caplog.at_level(logging.WARNING, logger="buildopt"):
            assert publish(stage, out) is False
        assert out.read_bytes() == stage.read_bytes()
        assert out.stat().st_ino != stage.stat().st_ino
        assert f"{out}: published as a copy" in caplog.text
        assert [p.name for p in tmp_path.iterdir()] == ["app"]
