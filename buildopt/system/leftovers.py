"""What a dead buildopt left behind: work folders and files named after the process that made
them (``PREFIX<pid>.<start>-...``: its pid and start time), removed by the next run once that
process is gone - by its pid, never by age, so a long mksquashfs of a live run is never taken
for a leftover. The start time tells a reused pid from the owner (where /proc is); a name with
the pid alone (``PREFIX<pid>-...``) is judged by the pid."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path


def start_time(pid: int) -> str | None:
    """When process pid started (clock ticks since boot, /proc/PID/stat's 22nd field), or None
    when it is not running or there is no /proc."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19].decode() if len(fields) > 19 else None


def owned_name(prefix: str) -> str:
    """The start of a name this process owns: PREFIX<pid>.<start>- (tempfile adds a random
    tail), or PREFIX<pid>- where the start time cannot be read."""
    pid = os.getpid()
    start = start_time(pid)
    return f"{prefix}{pid}.{start}-" if start else f"{prefix}{pid}-"


def alive(pid: int, start: str | None = None) -> bool:
    """Whether the process pid (that started at start, if given) still runs (another user's
    counts: it may be a buildopt)."""
    if start is not None and os.path.isdir("/proc"):
        return start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner(name: str, prefix: str) -> tuple[int, str | None] | None:
    """The pid and start time in a name PREFIX<pid>[.<start>]-..., or None when the name is
    not one of these."""
    if not name.startswith(prefix):
        return None
    tag, dash, _ = name[len(prefix) :].partition("-")
    pid, dot, start = tag.partition(".")
    if not (dash and pid.isdigit() and int(pid) > 0) or (dot and not start.isdigit()):
        return None
    return int(pid), start if dot else None


def owner_alive(name: str, prefix: str) -> bool | None:
    """Whether the owner of a name PREFIX<pid>[.<start>]-... runs; None for another name."""
    found = owner(name, prefix)
    return None if found is None else alive(*found)


def remove_left_by_dead(folder: Path, prefix: str) -> list[Path]:
    """Remove the entries of folder named PREFIX<pid>-... whose process is gone (files, and
    folders with all they hold; a symbolic link itself, never what it points to). Returns
    what was removed."""
    removed: list[Path] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in sorted(names):
        if owner_alive(name, prefix) in (None, True):
            continue
        with contextlib.suppress(OSError):
            remove(folder / name)
            removed.append(folder / name)
    return removed


def remove(path: Path) -> None:
    """A file, or a folder with all it holds; a symbolic link itself, never what it points to."""
    if stat.S_ISDIR(path.lstat().st_mode):
        shutil.rmtree(path)
    else:
        path.unlink()
