"""Where a Go binary keeps its function table: .gopclntab found by its section (or, without
section headers, searched for in the read-only segments), decoded by buildopt.binary.go.pclntab;
and the size of the functions' func data where Go 1.18-1.21 put it in .rodata.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from buildopt.binary.elf.reader import (
    SHF_WRITE,
    SHT_NOBITS,
    ElfLayout,
    read_at,
    read_transient,
)
from buildopt.binary.go import pclntab

PCLNTAB_SECTIONS = (".gopclntab", ".data.rel.ro.gopclntab")


def function_table(
    f: BinaryIO, layout: ElfLayout, *, shares: bool = False, outside: int = 0
) -> tuple[pclntab.FuncTable | None, str | None]:
    """The Go function table (None when there is none), and why a .gopclntab section that is
    there cannot be read (a damaged file: reported as a warning, not as zero packages)."""
    section = next(filter(None, map(layout.section, PCLNTAB_SECTIONS)), None)
    try:
        if section is not None and section.file_size:
            start, size = section.offset, min(section.file_size, layout.size - section.offset)
            return pclntab.decode_from(
                lambda o, n: read_at(f, start + o, max(0, min(n, size - o))),
                size,
                lambda o, n: read_transient(f, start + o, max(0, min(n, size - o))),
                shares=shares,
                outside=outside,
            ), None
        data = _search_pclntab(f, layout)
        return (pclntab.decode(data) if data else None), None
    except pclntab.PclntabError as exc:
        if section is None:
            return None, None
        return None, f"the Go function table (.gopclntab) is unreadable: {exc}"


def funcdata_outside(f: BinaryIO, layout: ElfLayout, table: pclntab.FuncTable) -> int:
    """The size of go:func.* (the functions' func data) where the linker put it in .rodata
    (Go 1.18-1.21), or 0 when it cannot be told for sure.

    Its start is runtime.firstmoduledata's ``gofunc``: the module data is the data word that
    points at .gopclntab (its pcHeader), and ``gofunc`` is its word 38 (Go 1.18-1.19) or 40
    (1.20 on, which added covctrs) - checked by its ``text`` word, which must be .text's
    address. Its end is ``findfunctab`` (word 19), which the linker puts right after it, in
    the same section."""
    pcln = next(filter(None, map(layout.section, PCLNTAB_SECTIONS)), None)
    text = layout.section(".text")
    if pcln is None or text is None or table.format not in ("1.18", "1.20"):
        return 0
    word = 8 if layout.elfclass == 64 else 4
    order = "<" if layout.little_endian else ">"
    needle = pcln.addr.to_bytes(word, "little" if layout.little_endian else "big")
    index = 38 if table.format == "1.18" else 40
    for section in layout.sections:
        if section.type == SHT_NOBITS or not section.flags & SHF_WRITE or not section.size:
            continue
        data = read_at(f, section.offset, section.size)
        at = data.find(needle)
        while at >= 0:
            if at % word == 0 and at + (index + 1) * word <= len(data):
                words = struct.unpack_from(
                    f"{order}{index + 1}{'Q' if word == 8 else 'I'}", data, at
                )
                if words[22] == text.addr:
                    return _gofunc_size(layout, words[index], words[19])
            at = data.find(needle, at + 1)
    return 0


def _gofunc_size(layout: ElfLayout, start: int, lookup: int) -> int:
    """From go:func.*'s address to runtime.findfunctab's, both in one read-only section."""
    holder = next(
        (s for s in layout.sections if s.type != SHT_NOBITS and s.addr <= start < s.addr + s.size),
        None,
    )
    if holder is None or holder.flags & SHF_WRITE or lookup > holder.addr + holder.size:
        return 0
    return max(0, lookup - start)


def _search_pclntab(f: BinaryIO, layout: ElfLayout) -> bytes:
    """Without section headers: look for the table in the read-only, non-code segments."""
    for seg in layout.segments:
        if seg.type == "PT_LOAD" and not seg.flags & 0x1 and seg.filesz:
            data = read_at(f, seg.offset, seg.filesz)
            pos = pclntab.find(data)
            if pos >= 0:
                return data[pos:]
    return b""
