"""Decode .symtab with struct: how many symbols, and the file bytes they hold per Go package."""

from __future__ import annotations

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
    sizes: dict[str, int] = defaultdict(int)
    for sym in struct.iter_unpack(fmt, data):
        shndx, size = sym[shndx_i], sym[size_i]
        if not size or shndx == 0 or shndx >= SHN_LORESERVE or shndx >= len(file_backed):
            continue
        if not file_backed[shndx]:
            continue
        start = sym[name_i]
        end = strings.find(b"\0", start)
        name = strings[start : end if end >= 0 else None].decode("utf-8", "replace")
        sizes[package_of(name, old_prefixes)] += size
    ranked = tuple(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))
    return Symbols(len(data) // entry, symtab.size, strtab.size if strtab else 0, ranked)
