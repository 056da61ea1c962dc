"""Atomic file output: write to a temporary name in the same directory, then rename.

Every temporary name says whose it is: ``.buildopt-tmp-<pid>.<start>-<random>``, the pid and
start time of the buildopt that made it (buildopt.system.leftovers). What a dead buildopt left
(kill -9, a power cut) is removed by the next run that looks (remove_stale_temporaries): by its
owner, not by its age.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from buildopt.errors import BuildoptError
from buildopt.inputs import KINDS
from buildopt.system.leftovers import owned_name, owner_alive, remove

TEMP_PREFIX = ".buildopt-tmp-"
log = logging.getLogger("buildopt")


def temp_prefix() -> str:
    """The prefix of this process's temporary names: its pid and start time (leftovers)."""
    return owned_name(TEMP_PREFIX)


class WriteError(BuildoptError):
    """A file buildopt was asked to write cannot be written (exit 2: the path is at fault)."""

    def __init__(self, path: Path, exc: OSError) -> None:
        super().__init__(f"cannot write {path}: {exc.strerror or exc}")


def atomic_write_text(path: Path, text: str) -> None:
    """Write text to path so that readers see the old file or the whole new one, never a part.
    WriteError (one line, the path named) when that cannot be done: a directory there, a
    parent that is a file, no permission, a full disk."""
    try:
        with contextlib.suppress(FileNotFoundError):  # a device or a FIFO is never replaced
            _refuse_non_regular(path.stat())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), dir=path.parent)
        try:
            # mkstemp makes it 0600; a record or report is for later CI steps and other users too
            os.fchmod(fd, 0o666 & ~umask())
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            remove_quietly(Path(tmp))
            raise
    except OSError as exc:
        raise WriteError(path, exc) from None


def umask() -> int:
    """This process's file creation mask. Read from /proc (Linux 4.7+): reading it with
    os.umask means setting it for a moment, which would race with build threads creating
    files; there, it is read once."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return _umask_once()


@functools.cache
def _umask_once() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def append_text(path: Path, text: str) -> None:
    """Add text at the end of path (created with the umask's mode if need be): for files that
    others write to as well, such as GitHub's step summary. WriteError when it cannot."""
    try:
        # never blocks on a FIFO, never writes into a device: a regular file or nothing
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(path, flags, 0o666)
        try:
            _refuse_non_regular(os.fstat(fd))
            os.set_blocking(fd, True)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise WriteError(path, exc) from None


def _refuse_non_regular(info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        kind = KINDS.get(stat.S_IFMT(info.st_mode), "not a file")
        raise FileExistsError(errno.EEXIST, f"not a regular file ({kind})")


def replace_with(made: Path, target: Path) -> None:
    """Put the file made at target by rename - unless target is there and is a device, a FIFO
    or a folder, which is never replaced (WriteError, the target named). A symbolic link at
    target is itself replaced: nothing is written through it."""
    try:
        with contextlib.suppress(FileNotFoundError):
            info = target.lstat()
            if not stat.S_ISLNK(info.st_mode):
                _refuse_non_regular(info)
        os.replace(made, target)
    except OSError as exc:
        raise WriteError(target, exc) from None


def temp_path_for(path: Path) -> Path:
    """A fresh temporary name beside path, for a tool (go build -o) that writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    return Path(tmp)


def publish(stage: Path, path: Path) -> bool:
    """Put the staged file at path atomically, as a second name of the same file (a hard
    link), so that dist/ holds each binary once and the stage stays for go's next up-to-date
    check. Safe because go never writes into its output: it renames a new file over it, or
    removes it and writes a new one (cmd/go/internal/work/shell.go, moveOrCopyFile and
    CopyFile); a rebuild is a new file, linked over path by a rename, and a reader of the
    old one keeps its bytes. Where no link can be made (the stage on another file system, a
    file system without hard links) the file is copied, with a warning: returns False then."""
    tmp = temp_path_for(path)
    try:
        try:
            os.link(stage, tmp)
            linked = True
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            shutil.copy2(stage, tmp)
            linked = False
            log.warning(
                "%s: published as a copy (%s): the stage %s cannot be linked, so dist/ holds "
                "this binary twice",
                path,
                exc.strerror,
                stage,
            )
        os.replace(tmp, path)  # the same file already there: nothing happens, tmp is removed
    finally:
        remove_quietly(tmp)
    return linked


_NO_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOTSUP})


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


@contextlib.contextmanager
def locked(path: Path, waiting: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (a lock file, created if need be) for the block: other
    processes, and other threads of this one, wait for it (``waiting`` is called first, when
    another holds it). The kernel drops the lock when the holder dies, however it dies.
    WriteError when the lock file cannot be made."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise WriteError(path, exc) from None
    try:
        try:  # one open file each: threads exclude each other too
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if waiting is not None:
                waiting()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


STALE_AFTER = 600.0  # seconds: a temporary of an old buildopt (no owner in its name) this old


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Remove the temporary files and folders (TEMP_PREFIX) under root whose buildopt is no
    longer running - left by one that was killed (kill -9, a power cut) before it renamed or
    removed them. Those of a running buildopt stay, however old. (A name without an owner,
    from an older buildopt, is removed when it was last written more than STALE_AFTER seconds
    ago.) Returns what was removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    now = time.time()
    for directory, dirs, names in os.walk(root):  # never follows symbolic links
        for name in [*names, *dirs]:
            if not name.startswith(TEMP_PREFIX):
                continue
            path = Path(directory, name)
            alive = owner_alive(name, TEMP_PREFIX)
            with contextlib.suppress(OSError):
                info = path.lstat()
                if alive or (
                    alive is None
                    and (not stat.S_ISREG(info.st_mode) or now - info.st_mtime <= STALE_AFTER)
                ):
                    continue
                remove(path)
                removed.append(path)
        dirs[:] = [d for d in dirs if not d.startswith(TEMP_PREFIX)]
    return sorted(removed)
