"""Decode Go's function table (.gopclntab) with struct: name offsets and sizes of every function.

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
Names stay in the name table (funcnametab) as offsets: goname.attribute reads the table as a
whole, and FuncTable.names() gives them one by one for whoever needs them.
"""

from __future__ import annotations

import array
import operator
import re
import struct
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate, chain, compress, repeat
from typing import Literal

import msgspec

from buildopt.binary.bulk import gather
from buildopt.binary.elf.strings import strings_at
from buildopt.binary.go.names import attribute

MAGIC_12, MAGIC_116, MAGIC_118, MAGIC_120 = 0xFFFFFFFB, 0xFFFFFFFA, 0xFFFFFFF0, 0xFFFFFFF1
GO_VERSIONS = {MAGIC_12: "1.2", MAGIC_116: "1.16", MAGIC_118: "1.18", MAGIC_120: "1.20"}
MAX_FUNCS = 1 << 24


class PclntabError(ValueError):
    """The table is not a pclntab buildopt can read, or it is corrupt."""


NO_UNIT = 0xFFFFFFFF  # a _func's cuOffset when it has no Go compilation unit: C code


class Layout(msgspec.Struct, frozen=True):
    """Where a Go 1.18+ pclntab section's bytes go, function by function (see shares_of)."""

    shares: tuple[int, ...]  # per function: functab entry, _func record, pc tables, func data
    units: tuple[int, ...]  # per function: its compilation unit (NO_UNIT: C code)
    header: int  # the header and the functab's end marker
    file_tables: int  # cutab and filetab: the source files of each compilation unit
    lookup: int  # runtime.findfunctab, the pc -> function buckets (Go 1.22+: in this section)
    unowned: int  # bytes before the first pc table or func data, and alignment
    # function index -> source file ("" when it cannot be told), for every Go function named
    # without a dot (assembly without a package prefix): see source_files
    sources: dict[int, str] = {}
    # func data outside this section (go:func.* in .rodata before Go 1.22): per function, the
    # bytes of it that function is the first to refer to (empty when not asked for)
    outside: tuple[int, ...] = ()


class FuncTable(msgspec.Struct, frozen=True):
    format: str  # the first Go release of this layout: "1.2", "1.16", "1.18" or "1.20"
    funcnames: bytes  # the NUL-terminated name table (funcnametab)
    name_offsets: tuple[int, ...]  # where each function's name starts in funcnames
    sizes: tuple[int, ...]
    size: int = 0  # bytes of the whole table (the section holding it)
    layout: Layout | None = None  # Go 1.18+ only

    @property
    def old_prefixes(self) -> bool:
        """Before Go 1.20, generated symbols were prefixed "go." and "type." (not ":")."""
        return self.format != "1.20"

    def names(self) -> list[bytes]:
        """Every function's name, raw UTF-8 (one object per function: for tests and tools,
        not for the attribution, which works on the table itself)."""
        return strings_at(self.funcnames, self.name_offsets)

    def by_package(self) -> dict[bytes, list[int]]:
        """``{package: [text bytes, functions, init bytes]}`` (see goname.attribute)."""
        return attribute(self.funcnames, self.name_offsets, self.sizes, self.old_prefixes)


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


Reader = Callable[[int, int], bytes]  # (offset, size) -> the table's bytes there (short at its end)
TransientReader = Callable[[int, int], "bytes | memoryview"]  # the same, valid until next call


def decode(data: bytes, *, shares: bool = False) -> FuncTable:
    """Every function's name and size, from the bytes of a pclntab."""
    return decode_from(lambda offset, size: data[offset : offset + size], len(data), shares=shares)


def decode_from(
    read: Reader,
    size: int,
    read_transient: TransientReader | None = None,
    *,
    shares: bool = False,
    outside: int = 0,
) -> FuncTable:
    """decode, reading only the parts it needs: the header, the function names and the function
    table with its _func records - not the pc-value, file and unit tables (~40% of the bytes).
    ``read_transient`` may return a view that is valid until its next call (a reused buffer):
    it reads the function table, which is decoded at once and dropped. ``shares`` adds the
    Layout: which bytes of the table each function owns (Go 1.18+; costly, see shares_of);
    ``outside``, the size of go:func.* where it is not in the section (see shares_of)."""
    head = read(0, 8 + 8 * 8)
    found = header(head)
    if found is None:
        raise PclntabError("not a Go pclntab (bad magic or header)")
    magic, order = found
    try:
        ptr = head[7]
        word = "Q" if ptr == 8 else "I"
        words = struct.unpack_from(order + word * 8, head, 8) if len(head) >= 8 + 8 * ptr else ()
        # nfunc, funcnameOffset, its end (cuOffset), pclnOffset; the functab's field, nameOff's
        if magic in (MAGIC_118, MAGIC_120):
            nfunc, funcnames, names_end, table = operator.itemgetter(0, 3, 4, 7)(words)
            field, name_at = "I", 4
        elif magic == MAGIC_116:
            nfunc, funcnames, names_end, table = operator.itemgetter(0, 2, 3, 6)(words)
            field, name_at = word, ptr
        else:  # Go 1.2: names are offsets from the start of the whole table
            (nfunc,) = struct.unpack_from(order + word, head, 8)
            funcnames, names_end, table, field, name_at = 0, size, 8 + ptr, word, ptr
        if nfunc > MAX_FUNCS:
            raise PclntabError(f"implausible function count {nfunc}")
        # The function table and the _func records after it (all of it for Go 1.2).
        base = 0 if magic == MAGIC_12 else min(table, size)
        region = (read_transient or read)(base, size - base)
        entries, funcoffs = _pairs(region, table - base, 2 * nfunc + 1, order + field)
        sizes = tuple(map(operator.sub, entries[1:], entries))
        if sizes and min(sizes) < 0:
            raise PclntabError("function table is not sorted by address")
        funcdata = 0 if magic == MAGIC_12 else table  # what _func offsets are relative to
        nameoffs = u32_at(region, order, funcdata + name_at - base, funcoffs)
        if funcnames > names_end or names_end > size:
            names_end = size
        # Go 1.2 names are offsets into the whole table, which region then is.
        funcnametab = bytes(region) if magic == MAGIC_12 else read(funcnames, names_end - funcnames)
        if nameoffs and max(nameoffs) > len(funcnametab):
            raise PclntabError(f"function name offset {max(nameoffs)} is out of range")
        layout = None
        if shares and magic in (MAGIC_118, MAGIC_120):
            layout = shares_of(
                region,
                order=order,
                at=table - base,
                funcoffs=funcoffs,
                entries=entries,
                words=words,
                size=size,
                magic=magic,
                outside=outside,
            )
            dotless = {m.start() for m in DOTLESS.finditer(funcnametab)}
            wanted = list(compress(range(len(nameoffs)), map(dotless.__contains__, nameoffs)))
            if wanted:
                files = source_files(read, region, wanted, order, table - base, words, funcoffs)
                layout = msgspec.structs.replace(layout, sources=files)
        return FuncTable(GO_VERSIONS[magic], funcnametab, nameoffs, sizes, size, layout)
    except (struct.error, IndexError) as exc:
        raise PclntabError(f"corrupt pclntab: {exc}") from exc


DOTLESS = re.compile(rb"(?:^|(?<=\0))[^\0.]+(?=\0|$)")  # a function name without any dot


def source_files(  # noqa: PLR0917 - decode_from's state
    read: Reader,
    region: bytes | memoryview,
    indices: list[int],
    order: str,
    at: int,
    words: tuple[int, ...],
    funcoffs: list[int],
) -> dict[int, str]:
    """The source file each function of indices starts in: its pcfile table's first value (a
    zig-zag varint added to -1) indexes its compilation unit's file list (cutab), which points
    into the file name table (filetab). For the few functions that need it (assembly without
    a package prefix), not for all."""
    units_at, files_at, pctab_at = words[4], words[5], words[6]
    word = struct.Struct(order + "I")
    out = {}
    for i in indices:
        (pcfile,) = word.unpack_from(region, at + funcoffs[i] + 20)
        (unit,) = word.unpack_from(region, at + funcoffs[i] + 32)
        if unit == NO_UNIT:  # C: no Go source file, and no package to find
            continue
        index = _first_value(read(pctab_at + pcfile, 10)) if pcfile else -1
        entry = read(units_at + 4 * (unit + index), 4) if index >= 0 else b""
        if len(entry) < 4:  # the file cannot be told: "" (its unit still can)
            out[i] = ""
            continue
        (name_at,) = word.unpack(entry)
        name = read(files_at + name_at, 4096).split(b"\0", 1)[0]
        out[i] = name.decode("utf-8", "replace")
    return out


def _first_value(data: bytes) -> int:
    """The first value of a pc-value table: a zig-zag varint, added to -1."""
    shift = value = 0
    for byte in data:
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return -1 + ((value >> 1) ^ -(value & 1))


def shares_of(
    region: bytes | memoryview,
    *,
    order: str,
    at: int,
    funcoffs: list[int],
    entries: list[int],
    words: tuple[int, ...],
    size: int,
    magic: int,
    outside: int = 0,
) -> Layout:
    """Which bytes of a Go 1.18+ pclntab section each function owns (cmd/link/internal/ld/
    pcln.go): its functab entry (8 bytes), its _func record (to the next one), its pc-value
    tables and, where the section holds them (Go 1.22+: go:func.*), its func data.

    The linker writes the pc-value tables function by function, each table once (a function
    whose table equals an earlier one's refers back to it): a function owns the tables from
    the end of the previous functions' last table to the end of its own last one. Func data
    is not written in function order: each piece belongs to the first function that refers to
    it. A piece or table is as long as the distance to the next one.
    ``region`` holds the section from ``at`` (the function table) to its end; every step is a
    C-level pass over the columns (inspect's speed bound: no Python loop per function).
    """
    nfunc = len(funcoffs)
    if not nfunc:
        return Layout((), (), size, 0, 0, 0)
    names_at, units_at, pctab_at, functab_at = words[3], words[4], words[6], words[7]
    record = 44 if magic == MAGIC_120 else 40  # the _func struct: Go 1.20 added startLine
    npcdata = u32_at(region, order, at + 28, funcoffs)
    units = u32_at(region, order, at + 32, funcoffs)
    last_byte = record - 1 if order == "<" else record - 4  # nfuncdata: the struct's last byte
    nfuncdata = gather(region, list(map(operator.add, funcoffs, repeat(at + last_byte))))
    if max(npcdata) > 1024:
        raise PclntabError(f"implausible pc-data count {max(npcdata)}")
    starts = list(map(operator.add, funcoffs, repeat(record)))  # the pc-data offsets
    pcdata_ends = list(map(operator.add, starts, map(operator.mul, npcdata, repeat(4))))
    # pc tables, in the order the linker wrote them: sp, file, line, then the pc-data tables
    where = list(
        chain.from_iterable(
            map(
                chain,
                map(range, _plus(funcoffs, 16), _plus(funcoffs, 28), repeat(4)),
                map(range, starts, pcdata_ends, repeat(4)),
            )
        )
    )
    flat = u32_at(region, order, at, where)
    pctab_size = functab_at - pctab_at
    tables = sorted(set(flat))
    if tables and tables[0] == 0:
        del tables[0]  # 0: no table
    if tables and tables[-1] >= pctab_size:
        raise PclntabError("a pc-value table offset is out of range")
    last_of = list(accumulate(map(operator.add, npcdata, repeat(3)), initial=0))[1:]
    reach = gather(list(accumulate(flat, max)), [i - 1 for i in last_of])  # highest so far
    ends = [*tables, pctab_size]
    table_end = gather(ends, list(map(bisect_right, repeat(tables), reach)))
    owned = list(map(operator.sub, table_end, [tables[0] if tables else 0, *table_end[:-1]]))
    # _func records: to the next record; the last one by its own length
    functab_end = funcoffs[-1] + record + 4 * (npcdata[-1] + nfuncdata[-1])
    records = list(map(operator.sub, [*funcoffs[1:], functab_end], funcoffs))
    if min(records) < 0:
        raise PclntabError("_func records are not in function order")
    # Since Go 1.22 the section goes on with go:func.* (func data) and runtime.findfunctab,
    # whose length follows from the text's: 4 bytes per 4096-byte bucket, 1 per 256 bytes.
    tail = size - (functab_at + functab_end)
    text = entries[-1] - entries[0]
    lookup = 4 * -(-text // 4096) + -(-text // 256)
    gofunc = tail - lookup if tail > lookup else 0
    data_owned = _funcdata_owned(
        region, order, at, firsts=pcdata_ends, counts=nfuncdata, gofunc=gofunc
    )
    # Before Go 1.22 go:func.* is in .rodata: with its size (from the module data: inspect),
    # the same split, kept apart
    elsewhere: tuple[int, ...] = ()
    if outside and not gofunc:
        elsewhere = tuple(
            _funcdata_owned(region, order, at, firsts=pcdata_ends, counts=nfuncdata, gofunc=outside)
        )
    shares = tuple(
        map(
            operator.add,
            map(operator.add, owned, records),
            map(operator.add, data_owned, repeat(8)),
        )
    )
    accounted = names_at + 4 + (pctab_at - names_at) + sum(shares) + (lookup if gofunc else 0)
    return Layout(
        shares=shares,
        units=tuple(units),
        header=names_at + 4,
        file_tables=pctab_at - units_at,
        lookup=lookup if gofunc else 0,
        unowned=size - accounted,
        outside=elsewhere,
    )


def _plus(values: list[int], k: int) -> map[int]:
    return map(operator.add, values, repeat(k))


def _funcdata_owned(
    region: bytes | memoryview,
    order: str,
    at: int,
    *,
    firsts: list[int],
    counts: Sequence[int],
    gofunc: int,
) -> list[int]:
    """Per function, the bytes of go:func.* (``gofunc`` bytes, right after the functab) whose
    pieces it is the first to refer to (its func data offsets start at ``firsts``, ``counts``
    of them); all 0 when the section does not hold go:func.*."""
    nfunc = len(firsts)
    if not gofunc:
        return [0] * nfunc
    ends = map(operator.add, firsts, map(operator.mul, counts, repeat(4)))
    where = list(chain.from_iterable(map(range, firsts, ends, repeat(4))))
    found = u32_at(region, order, at, where) if where else ()
    owners = list(chain.from_iterable(map(repeat, range(nfunc), counts)))
    real = list(map(operator.lt, found, repeat(gofunc)))  # ^0: none
    offsets, owners = list(compress(found, real)), list(compress(owners, real))
    first = dict(zip(reversed(offsets), reversed(owners), strict=True))
    pieces = sorted(first)
    lengths = list(map(operator.sub, [*pieces[1:], gofunc], pieces))
    piece_owner = list(map(first.__getitem__, pieces))
    by_owner = sorted(range(len(pieces)), key=piece_owner.__getitem__)
    cumulative = list(accumulate(gather(lengths, by_owner), initial=0))
    bounds = list(map(bisect_left, repeat(gather(piece_owner, by_owner)), range(nfunc + 1)))
    sums = gather(cumulative, bounds)
    return list(map(operator.sub, sums[1:], sums))


def _pairs(data: bytes | memoryview, at: int, count: int, fmt: str) -> tuple[list[int], list[int]]:
    """The even and odd fields of ``count`` fields of format fmt (order + code) at ``at``:
    entry PCs (with the end of the last function) and _func offsets."""
    code: Literal["I", "Q"] = "Q" if fmt[1] == "Q" else "I"
    if fmt[0] == _NATIVE and array.array(code).itemsize == struct.calcsize(fmt):
        end = at + count * struct.calcsize(fmt)
        if at < 0 or end > len(data):
            raise PclntabError("function table runs past the end of the pclntab")
        view = memoryview(data)[at:end].cast(code)  # no copy: two strided reads
        return view[0::2].tolist(), view[1::2].tolist()
    fields = struct.unpack_from(f"{fmt[0]}{count}{code}", data, at)
    return list(fields[0::2]), list(fields[1::2])


_NATIVE = "<" if sys.byteorder == "little" else ">"


def u32_at(data: bytes | memoryview, order: str, base: int, offsets: list[int]) -> tuple[int, ...]:
    """The u32 values at ``base + offset`` for each offset: one strided view when aligned."""
    if offsets and (base + max(offsets) + 4 > len(data) or base + min(offsets) < 0):
        raise PclntabError("function table points past the end of the pclntab")
    aligned = base % 4 == 0 and not any(map(operator.and_, offsets, repeat(3)))
    if not aligned or array.array("I").itemsize != 4:
        unpack = struct.Struct(order + "I").unpack_from
        return tuple(unpack(data, base + offset)[0] for offset in offsets)
    usable = base + (len(data) - base) // 4 * 4
    if order == _NATIVE:
        view: memoryview | array.array[int] = memoryview(data)[base:usable].cast("I")  # no copy
    else:
        view = array.array("I")
        view.frombytes(data[base:usable])
        view.byteswap()
    return gather(view, list(map(operator.rshift, offsets, repeat(2))))
