"""Decode .symtab with struct: how many symbols, and the file bytes they hold per Go package."""

from __future__ import annotations

import itertools
import struct
from collections import defaultdict
from dataclasses import dataclass
from typing import BinaryIO

from buildopt.elfread import ElfLayout, section_bytes
from buildopt.goname import package_of

SHN_LORESERVE = 0xFF00


@dataclass(frozen=True)
class Symbols:
    count: int  # entries in .symtab, the null entry included (as readelf counts)
    symtab_bytes: int
    strtab_bytes: int
    by_package: tuple[tuple[str, int], ...]  # (package, bytes), largest first


NO_SYMBOLS = Symbols(0, 0, 0, ())


def string_table(strings: bytes) -> dict[int, bytes]:
    """Every string of a NUL-separated table by its offset, built with C-level loops."""
    parts = strings.split(b"\0")
    lengths = map(len, parts)
    offsets = itertools.accumulate(map((1).__add__, lengths), initial=0)
    return dict(zip(offsets, parts, strict=False))  # offsets has one more element


def read_symbols(f: BinaryIO, layout: ElfLayout, old_prefixes: bool) -> Symbols:
    """Symbol facts of .symtab; symbols in NOBITS sections (.bss) hold no file bytes."""
    index = next((i for i, s in enumerate(layout.sections) if s.type == "SHT_SYMTAB"), None)
    if index is None:
        return NO_SYMBOLS
    symtab = layout.sections[index]
    strtab = layout.sections[symtab.link] if symtab.link < len(layout.sections) else None
    strings = section_bytes(f, strtab) if strtab else b""
    order = "<" if layout.little_endian else ">"
    if layout.elfclass == 64:
        fmt, name_i, shndx_i, size_i = order + "IBBHQQ", 0, 3, 5
    else:
        fmt, name_i, shndx_i, size_i = order + "IIIBBH", 0, 5, 2
    entry = struct.calcsize(fmt)
    data = section_bytes(f, symtab)
    data = data[: len(data) - len(data) % entry]
    file_backed = [s.type != "SHT_NOBITS" for s in layout.sections]
    limit = len(file_backed)
    wanted = [
        (sym[name_i], sym[size_i])
        for sym in struct.iter_unpack(fmt, data)
        if sym[size_i] and 0 < sym[shndx_i] < limit and file_backed[sym[shndx_i]]
    ]
    names = string_table(strings)
    find = strings.find
    sizes: dict[bytes, int] = defaultdict(int)
    for start, size in wanted:
        name = names.get(start)
        if name is None:  # a name that shares the tail of another string
            end = find(b"\0", start)
            name = strings[start : end if end >= 0 else None]
        sizes[package_of(name, old_prefixes)] += size
    by_package = {p.decode("utf-8", "replace"): n for p, n in sizes.items()}
    ranked = tuple(sorted(by_package.items(), key=lambda kv: (-kv[1], kv[0])))
    return Symbols(len(data) // entry, symtab.size, strtab.size if strtab else 0, ranked)
