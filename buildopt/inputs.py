"""Opening the files a user names: regular files only, never blocking, with size limits.

Shared by every stage that reads a user's file (profiles, build records, ELF files, hashing),
as ``errors`` is: a FIFO opened the usual way blocks until a writer comes, and /dev/zero
never ends. The file is opened non-blocking, checked with fstat on the open descriptor (no
race with a rename), and only then read.
"""

from __future__ import annotations

import os
import stat
from typing import BinaryIO

KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


class NotRegularFile(ValueError):
    """The path names something that is not a regular file; the message says what it is."""


class TooLarge(ValueError):
    """A file over the size limit of its kind."""


def open_regular(path: str | os.PathLike[str], *, buffering: int = -1) -> BinaryIO:
    """path opened for reading in binary mode if it is a regular file; NotRegularFile if it
    is not, OSError if it cannot be opened. Never waits for a FIFO's writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = KINDS.get(stat.S_IFMT(mode), "not a file")
            raise NotRegularFile(f"not a regular file ({kind})")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb", buffering=buffering)
    except BaseException:
        os.close(fd)
        raise


def size_or_zero(path: str | os.PathLike[str]) -> int:
    """The file's size, or 0 when it cannot be stat'ed (to order work by size, largest first:
    a file that cannot be read is reported by whatever reads it)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def read_limited(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole regular file at path, refused (TooLarge) past limit bytes."""
    with open_regular(path) as f:
        if os.fstat(f.fileno()).st_size > limit:
            raise TooLarge(f"larger than the {limit:,} bytes allowed")
        data = f.read(limit + 1)  # a file that grows while read is cut here
    if len(data) > limit:
        raise TooLarge(f"larger than the {limit:,} bytes allowed")
    return data
