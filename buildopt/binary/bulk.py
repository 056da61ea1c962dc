"""Helpers for bulk data: a reused read buffer, and C-level gathers over tables (.symtab
columns, the pclntab's function table) - one call for what would otherwise be a Python loop
per entry. Light to import: the hashing thread starts before pyelftools is loaded."""

from __future__ import annotations

import mmap
import operator
import threading
from collections.abc import Sequence
from typing import TypeVar

_T = TypeVar("_T")


def gather(values: Sequence[_T], indices: Sequence[int]) -> tuple[_T, ...]:
    """values[i] for every i in indices, in one C-level call."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)(values)  # type: ignore[no-any-return]
    return tuple(values[i] for i in indices)


_scratch = threading.local()


def scratch(size: int) -> memoryview:
    """A buffer of at least ``size`` bytes, reused from call to call (one per thread): valid
    only until this thread's next call - copy what must last.

    It is anonymous memory (mmap): the kernel fills its pages during a read, outside the GIL,
    and they fault once. A fresh multi-megabyte bytes object or bytearray costs its page faults
    each time (~1 ms a MB on some virtual machines), and a bytearray is zeroed holding the GIL.
    """
    buffer: mmap.mmap | None = getattr(_scratch, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _scratch.buffer = mmap.mmap(-1, max(size, 1 << 20))
    return memoryview(buffer)[:size]
