"""NUL-terminated string tables (.strtab, the pclntab's function names), read in bulk: the
names themselves, for tools and tests (the attribution reads the tables whole, in goname)."""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable


def strings_at(blob: bytes, offsets: Iterable[int]) -> list[bytes]:
    """The strings starting at offsets; offsets into the middle of a string (tail sharing, as
    linkers do) are looked up one by one. Raises ValueError for an offset past the end."""
    wanted = list(offsets)
    # every string by its offset, with C-level loops (zip drops the offset after the last)
    parts = blob.split(b"\0")
    starts = itertools.accumulate(
        map(operator.add, map(len, parts), itertools.repeat(1)), initial=0
    )
    found: list[bytes | None] = list(map(dict(zip(starts, parts, strict=False)).get, wanted))
    if None not in found:
        return found  # type: ignore[return-value]
    out = []
    for offset, name in zip(wanted, found, strict=True):
        if name is not None:
            out.append(name)
            continue
        if offset > len(blob):
            raise ValueError(f"string offset {offset} is past the end of its table")
        end = blob.find(b"\0", offset)
        out.append(blob[offset : end if end >= 0 else None])
    return out
