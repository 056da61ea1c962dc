"""Whether the binary a record entry describes is still that binary.

Everything that trusts an entry's facts of a file (the gate's budgets, images, compressed
sizes, start-up runs) asks ``changed`` first: a binary that was written to after its build
(a byte appended in dist/) is named, never judged or packed as the one that was built. The
file is compared by size, then by its stamp (inode and mtime: a stat, no read) and only
when the stamp differs by its SHA-256, so a ``touch`` is no change and a 40 MiB binary is
read once per process at most. A binary that is not there is no mismatch: a record merged
from CI jobs is judged from its facts alone (whoever needs the file says it is missing).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from buildopt.binary.digest import sha256_of
from buildopt.inputs import NotRegularFile
from buildopt.record.model import Build, FileStamp

_seen: dict[tuple[object, ...], str | None] = {}


def stamp_of(path: str | Path) -> FileStamp | None:
    """The file's stamp now (None if it cannot be stat'ed)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return FileStamp(inode=info.st_ino, mtime_ns=info.st_mtime_ns)


def changed(build: Build) -> str | None:
    """One line naming the binary when the file at the entry's output is no longer the one
    it describes; None when it is, or when the entry has no file there to compare."""
    if not build.ok or build.output is None or build.sha256 is None:
        return None
    try:
        info = os.stat(build.output)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{build.output}: cannot be read since its build: {exc.strerror or exc}"
    key = (build.output, build.sha256, build.size, build.stamp, info.st_ino, info.st_size,
           info.st_mtime_ns, info.st_mode)  # fmt: skip
    if key not in _seen:
        _seen[key] = _compare(build, info)
    return _seen[key]


def _compare(build: Build, info: os.stat_result) -> str | None:
    path = build.output
    if not stat.S_ISREG(info.st_mode):
        return f"{path}: no longer a regular file since its build"
    if info.st_size != build.size:
        return f"{path}: changed since its build (size {build.size} -> {info.st_size} bytes)"
    now = FileStamp(inode=info.st_ino, mtime_ns=info.st_mtime_ns)
    if build.stamp == now:
        return None
    try:
        same = sha256_of(path or "") == build.sha256
    except (OSError, NotRegularFile) as exc:
        return f"{path}: cannot be read since its build: {exc}"
    return None if same else f"{path}: changed since its build (same size, other bytes)"
