"""What a dead buildopt left behind: work folders and files named after the process that made
them (``PREFIX<pid>-...``), removed by the next run once that process is gone - by its pid,
never by age, so a long mksquashfs of a live run is never taken for a leftover."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path


def owned_name(prefix: str) -> str:
    """The start of a name this process owns: PREFIX<pid>- (tempfile adds a random tail)."""
    return f"{prefix}{os.getpid()}-"


def alive(pid: int) -> bool:
    """Whether a process of that pid exists (another user's counts: it may be a buildopt)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner(name: str, prefix: str) -> int | None:
    """The pid in a name PREFIX<pid>-..., or None when the name is not one of these."""
    if not name.startswith(prefix):
        return None
    pid, dash, _ = name[len(prefix) :].partition("-")
    return int(pid) if dash and pid.isdigit() and int(pid) > 0 else None


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
        pid = owner(name, prefix)
        if pid is None or alive(pid):
            continue
        path = folder / name
        with contextlib.suppress(OSError):
            if stat.S_ISDIR(path.lstat().st_mode):
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
    return removed
