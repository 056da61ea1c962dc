"""Atomic file output: write to a temporary name in the same directory, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from buildopt.errors import BuildoptError

TEMP_PREFIX = ".buildopt-tmp-"


class WriteError(BuildoptError):
    """A file buildopt was asked to write cannot be written (exit 2: the path is at fault)."""

    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(f"cannot write {path}: {exc.strerror or exc}")


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to path so that readers see the old file or the whole new one, never a part.
    WriteError (one line, the path named) when that cannot be done: a directory there, a
    parent that is a file, no permission, a full disk."""
    try:
        _write_atomically(path, text)
    except OSError as exc:
        raise WriteError(path, exc) from None


def _write_atomically(path: Path, text: str) -> None:
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def temp_path_for(path: Path) -> Path:
    """A fresh temporary name beside path, for a tool (go build -o) that writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def remove_empty_dirs(directory: Path, stop: Path) -> None:
    """Remove directory and its parents up to (not including) stop, while they are empty."""
    while directory != stop and stop in directory.parents:
        try:
            directory.rmdir()
        except OSError:  # not empty, or gone
            return
        directory = directory.parent
