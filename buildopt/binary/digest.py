"""SHA-256 of a file, the way buildopt reads big binaries: large reads into a reused buffer.

Kept apart from the inspector so that ``buildopt inspect`` can start its hashing thread before
it loads pyelftools and msgspec: the hashing of a batch then overlaps those imports.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from buildopt.binary.bulk import scratch
from buildopt.inputs import open_regular

if TYPE_CHECKING:
    from pathlib import Path

HASH_CHUNK = 8 << 20


class Hashing:
    """The SHA-256 of a file, computed on a thread of its own while the caller decodes.

    The file is read into the thread's scratch buffer (readinto) and hashed from it: both
    release the GIL, so the thread holds it only between chunks. Not the file through mmap: a
    file truncated while it is hashed would kill the process (SIGBUS).
    """

    def __init__(self, path: str | Path) -> None:
        self._digest = ""
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(path,), name="sha256")
        self._thread.daemon = True
        self._thread.start()

    def result(self) -> str:
        """The hex digest; what reading the file raised, if anything."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._digest

    def _run(self, path: str | Path) -> None:
        try:
            self._digest = sha256_of(path)
        except Exception as exc:
            self._error = exc


def sha256_of(path: str | Path) -> str:
    """SHA-256 of the file, read in large chunks into this thread's scratch buffer."""
    import hashlib  # here: loaded on the hashing thread, beside the decoder's imports

    digest = hashlib.sha256()
    view = scratch(HASH_CHUNK)
    with open_regular(path, buffering=0) as f:  # never blocks on a FIFO
        while size := f.readinto(view):  # type: ignore[attr-defined]
            digest.update(view[:size])
    return digest.hexdigest()
