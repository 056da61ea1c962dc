"""Decode Go's function table (.gopclntab) with struct: names and sizes of every function.

Layouts (Go's debug/gosym and cmd/link/internal/ld/pcln.go), told apart by the magic:

* 0xfffffffb (Go 1.2-1.15): header 8 bytes + nfunc; functab right after, pointer-sized
  (entry PC, funcoff) pairs; names at funcdata+ptrsize, relative to the table start.
* 0xfffffffa (Go 1.16-1.17): header words nfunc, nfiles, funcnameOffset, cuOffset, filetabOffset,
  pctabOffset, pclnOffset; pointer-sized (entry PC, funcoff) pairs at pclnOffset.
* 0xfffffff0 (Go 1.18-1.19) and 0xfffffff1 (1.20+): words nfunc, nfiles, textStart,
  funcnameOffset, cuOffset, filetabOffset, pctabOffset, pclnOffset; u32 (entryoff, funcoff) pairs
  relative to textStart (which Go 1.26 writes as 0 - only differences are used here).

The table ends with one more entry: the end of the last function. A function's size is the next
entry minus its own, which accounts for every byte of Go code in .text, padding included.
"""

from __future__ import annotations

import array
import operator
import struct
import sys
from dataclasses import dataclass

from buildopt.cstrings import strings_at

MAGIC_12, MAGIC_116, MAGIC_118, MAGIC_120 = 0xFFFFFFFB, 0xFFFFFFFA, 0xFFFFFFF0, 0xFFFFFFF1
GO_VERSIONS = {MAGIC_12: "1.2", MAGIC_116: "1.16", MAGIC_118: "1.18", MAGIC_120: "1.20"}
MAX_FUNCS = 1 << 24


class PclntabError(ValueError):
    """The table is not a pclntab buildopt can read, or it is corrupt."""


@dataclass(frozen=True)
class FuncTable:
    format: str  # the first Go release of this layout: "1.2", "1.16", "1.18" or "1.20"
    ptr_size: int
    quantum: int
    names: tuple[bytes, ...]  # raw UTF-8; decode what you show
    sizes: tuple[int, ...]

    @property
    def old_prefixes(self) -> bool:
        """Before Go 1.20, generated symbols were prefixed "go." and "type." (not ":")."""
        return self.format != "1.20"

    @property
    def text_bytes(self) -> int:
        return sum(self.sizes)


def header(data: bytes) -> tuple[int, str] | None:
    """(magic, byte order) when data starts like a pclntab, else None."""
    if len(data) < 16 or data[4] or data[5] or data[6] not in (1, 2, 4) or data[7] not in (4, 8):
        return None
    for order in ("<", ">"):
        (magic,) = struct.unpack_from(order + "I", data, 0)
        if magic in GO_VERSIONS:
            return magic, order
    return None


def find(data: bytes) -> int:
    """Offset of a plausible pclntab inside data (for files without section headers), or -1."""
    for magic in (MAGIC_120, MAGIC_118, MAGIC_116, MAGIC_12):
        for order in ("<", ">"):
            needle = struct.pack(order + "I", magic)
            pos = data.find(needle)
            while pos >= 0:
                if pos % 4 == 0 and header(data[pos : pos + 16]):
                    return pos
                pos = data.find(needle, pos + 1)
    return -1


def decode(data: bytes) -> FuncTable:
    """Every function's name and size, from the bytes of a pclntab."""
    found = header(data)
    if found is None:
        raise PclntabError("not a Go pclntab (bad magic or header)")
    magic, order = found
    try:
        return _decode(data, magic, order)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise PclntabError(f"corrupt pclntab: {exc}") from exc


def _decode(data: bytes, magic: int, order: str) -> FuncTable:
    ptr = data[7]
    word = "Q" if ptr == 8 else "I"
    words = struct.unpack_from(order + word * 8, data, 8) if len(data) >= 8 + 8 * ptr else ()
    if magic in (MAGIC_118, MAGIC_120):
        nfunc, funcnames, names_end, table, field, name_at = (
            words[0],
            words[3],
            words[4],
            words[7],
            "I",
            4,
        )
    elif magic == MAGIC_116:
        nfunc, funcnames, names_end, table, field, name_at = (
            words[0],
            words[2],
            words[3],
            words[6],
            word,
            ptr,
        )
    else:
        (nfunc,) = struct.unpack_from(order + word, data, 8)
        funcnames, names_end, table, field, name_at = 0, len(data), 8 + ptr, word, ptr
    funcdata = 0 if magic == MAGIC_12 else table
    if nfunc > MAX_FUNCS:
        raise PclntabError(f"implausible function count {nfunc}")
    fields = struct.unpack_from(f"{order}{2 * nfunc + 1}{field}", data, table)
    entries, funcoffs = fields[0::2], fields[1::2]
    sizes = tuple(map(operator.sub, entries[1:], entries[:-1]))
    if sizes and min(sizes) < 0:
        raise PclntabError("function table is not sorted by address")
    positions = list(map((funcdata + name_at).__add__, funcoffs))
    nameoffs = u32_at(data, order, positions)
    if funcnames > names_end or names_end > len(data):
        names_end = len(data)
    try:
        names = strings_at(data[funcnames:names_end], nameoffs)
    except ValueError as exc:
        raise PclntabError(f"function name offset out of range: {exc}") from exc
    return FuncTable(GO_VERSIONS[magic], ptr, data[6], tuple(names), sizes)


def u32_at(data: bytes, order: str, positions: list[int]) -> list[int]:
    """The u32 values at the given byte positions: one array view when all are aligned."""
    if positions and max(positions) + 4 > len(data):
        raise PclntabError("function table points past the end of the pclntab")
    if array.array("I").itemsize != 4 or any(map((3).__and__, positions)):
        unpack = struct.Struct(order + "I").unpack_from
        return [unpack(data, p)[0] for p in positions]
    usable = len(data) // 4 * 4
    if (order == "<") == (sys.byteorder == "little"):
        view: memoryview | array.array[int] = memoryview(data)[:usable].cast("I")  # no copy
    else:
        view = array.array("I", data[:usable])
        view.byteswap()
    return list(map(view.__getitem__, map((2).__rrshift__, positions)))
