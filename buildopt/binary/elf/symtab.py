"""Decode .symtab in bulk: how many symbols, and the file bytes they hold per Go package.

The table is read, into a reused buffer, as arrays of its columns (st_name, st_shndx, st_size)
with C-level slicing and filtered with itertools.compress; the names stay in .strtab, which
goname.attribute reads as a whole - no Python object per symbol.
"""

from __future__ import annotations

import array
import itertools
import operator
import re
import sys
from typing import BinaryIO, Literal, NamedTuple

import msgspec

from buildopt.binary.bulk import gather
from buildopt.binary.elf.reader import ElfLayout, read_transient, section_bytes
from buildopt.binary.elf.strings import strings_at
from buildopt.binary.go.names import attribute, package_path

SHN_LORESERVE = 0xFF00
ENTRY = {64: 24, 32: 16}


class Symbols(msgspec.Struct, frozen=True):
    count: int  # entries in .symtab, the null entry included (as readelf counts)
    symtab_bytes: int
    strtab_bytes: int
    by_package: tuple[tuple[str, int], ...]  # (package, bytes), largest first
    # with classes: {package: (rodata, data, bss, text bytes)} (GENERATED: type:, go: symbols)
    by_class: dict[str, tuple[int, int, int, int]] | None = None
    # with classes: each function symbol's size by name (as go tool nm -size gives it)
    text_sizes: dict[bytes, int] | None = None


# A C static in .strtab: one name part without a slash, a dot and digits ("completed.0").
C_STATIC = re.compile(rb"(?<=\0)[^\0/.]+\.[0-9]+(?=\0)")
_start = operator.methodcaller("start")

# Section classes for read_symbols(classes=...): which column a symbol in it counts in.
NONE, RODATA, DATA, BSS, TEXT = 0, 1, 2, 3, 4


NO_SYMBOLS = Symbols(0, 0, 0, ())


def columns(
    data: bytes | memoryview, elfclass: int, little: bool
) -> tuple[list[int], list[int], list[int]]:
    """(st_name, st_shndx, st_size) of every entry of a symbol table, as strided views of its
    words (array's I, H and Q are 4, 2 and 8 bytes wherever CPython runs on Linux)."""
    swap = little != (sys.byteorder == "little")

    def field(code: Literal["I", "H", "Q"], start: int, step: int) -> list[int]:
        if not swap:
            return memoryview(data).cast(code)[start::step].tolist()  # no copy but the list
        values = array.array(code)
        values.frombytes(data)
        values.byteswap()
        return values[start::step].tolist()

    if elfclass == 64:  # name u32 @0, info, other, shndx u16 @6, value u64 @8, size u64 @16
        return field("I", 0, 6), field("H", 3, 12), field("Q", 2, 3)
    # 32-bit: name u32 @0, value u32 @4, size u32 @8, info, other, shndx u16 @14
    return field("I", 0, 4), field("H", 7, 8), field("I", 2, 4)


class SymtabColumns(NamedTuple):
    """.symtab as read: its header's size, its string table and its columns, one per entry."""

    size: int
    strtab_size: int
    strings: bytes
    names: list[int]  # st_name
    shndx: list[int]  # st_shndx
    sizes: list[int]  # st_size


def read_columns(f: BinaryIO, layout: ElfLayout) -> SymtabColumns | None:
    """The file's .symtab (None: it has none), read into a reused buffer and copied out."""
    symtab = next((s for s in layout.sections if s.type == "SHT_SYMTAB"), None)
    if symtab is None:
        return None
    strtab = layout.sections[symtab.link] if 0 < symtab.link < len(layout.sections) else None
    entry = ENTRY[layout.elfclass]
    data = read_transient(f, symtab.offset, symtab.file_size)
    data = data[: len(data) - len(data) % entry]
    return SymtabColumns(
        symtab.size,
        strtab.size if strtab else 0,
        section_bytes(f, strtab) if strtab else b"",
        *columns(data, layout.elfclass, layout.little_endian),
    )


class SymbolTable(msgspec.Struct, frozen=True):
    """The decoded table: every symbol holding file bytes, as parallel name/size lists."""

    count: int
    symtab_bytes: int
    strtab_bytes: int
    strtab: bytes
    name_offsets: list[int]  # where each kept symbol's name starts in strtab
    sizes: list[int]  # file bytes (0 for a symbol in a NOBITS section)
    # rodata, data, bss and text sizes
    by_class: tuple[list[int], list[int], list[int], list[int]] = ([], [], [], [])


def decode_symbols(
    f: BinaryIO, layout: ElfLayout, classes: bytes | None = None
) -> SymbolTable | None:
    """Names and sizes of the .symtab symbols that hold file bytes (not in .bss, not UND/ABS);
    with ``classes`` (a class per section index: NONE, RODATA, DATA, BSS), also those of
    the BSS sections, and each symbol's size in the column of its section's class."""
    table = read_columns(f, layout)
    if table is None:
        return None
    symtab_bytes, strtab_bytes, strings, names, shndx, sizes = table
    # 1 for the sections whose symbols hold file bytes; special indices (UND, ABS, COMMON) 0.
    holds_bytes = bytearray(65536)
    for i, section in enumerate(layout.sections[:SHN_LORESERVE]):
        holds_bytes[i] = i > 0 and section.type != "SHT_NOBITS"
    in_file = gather(holds_bytes, shndx)
    count = len(names)
    if classes is None:
        kept = list(map(operator.mul, in_file, sizes))  # the size where kept, else 0
        kept_names = list(itertools.compress(names, kept))
        kept_sizes = list(filter(None, kept))
        return SymbolTable(count, symtab_bytes, strtab_bytes, strings, kept_names, kept_sizes)
    every_kind = gather(classes, shndx)
    counted = list(map(operator.or_, in_file, every_kind))
    wanted = list(map(operator.and_, map(bool, counted), map(bool, sizes)))
    if strings:  # a C compiler's static ("completed.0"): no Go name ends in ".<digits>"
        statics = set(map(_start, C_STATIC.finditer(strings)))
        if statics:
            not_static = map(operator.not_, map(statics.__contains__, names))
            wanted = list(map(operator.and_, wanted, not_static))
    kinds = list(itertools.compress(every_kind, wanted))
    kept_sizes = list(itertools.compress(sizes, wanted))

    def column(kind: int) -> list[int]:
        return list(map(operator.mul, kept_sizes, map(operator.eq, kinds, itertools.repeat(kind))))

    columns_of = (column(RODATA), column(DATA), column(BSS), column(TEXT))
    return SymbolTable(
        count,
        symtab_bytes,
        strtab_bytes,
        strings,
        list(itertools.compress(names, wanted)),
        list(map(operator.mul, kept_sizes, itertools.compress(in_file, wanted))),
        columns_of,
    )


def read_symbols(
    f: BinaryIO, layout: ElfLayout, old_prefixes: bool, classes: bytes | None = None
) -> Symbols:
    """Symbol facts of .symtab, with the file bytes of its symbols per Go package; with
    ``classes`` (see decode_symbols), also their rodata, data and bss bytes per package."""
    table = decode_symbols(f, layout, classes)
    if table is None:
        return NO_SYMBOLS
    extra = table.by_class if classes is not None else ()
    try:
        totals = attribute(
            table.strtab, table.name_offsets, table.sizes, old_prefixes, False, extra=extra
        )
    except ValueError:  # a corrupt name offset: the sizes still count
        totals = {b"?": [sum(table.sizes), len(table.sizes), 0, *map(sum, extra)]}
    by_package = {package_path(p): row[0] for p, row in totals.items() if row[0]}
    ranked = tuple(sorted(by_package.items(), key=lambda kv: (-kv[1], kv[0])))
    by_class: dict[str, tuple[int, int, int, int]] | None = None
    text_sizes: dict[bytes, int] | None = None
    if classes is not None:
        by_class = {package_path(p): (row[3], row[4], row[5], row[6]) for p, row in totals.items()}
        texts = table.by_class[3]
        offsets = list(itertools.compress(table.name_offsets, texts))
        try:
            names = strings_at(table.strtab, offsets)
        except ValueError:  # a corrupt name offset: no function sizes by name
            names = []
        text_sizes = {}
        for name, size in zip(names, filter(None, texts), strict=False):
            key = name.removesuffix(b".abi0")  # assembly's ABI0 symbol: the pclntab's name
            text_sizes[key] = text_sizes.get(key, 0) + size
    return Symbols(
        table.count, table.symtab_bytes, table.strtab_bytes, ranked, by_class, text_sizes
    )
