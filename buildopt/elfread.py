"""The ELF reader: the only module that touches pyelftools.

One pass over the headers returns frozen facts: the ELF header, the section and program header
tables, the dynamic section's tags and the GNU version requirements - all small tables. Bulk data
(.symtab, .gopclntab) is read by offset from the file by the modules that decode it with struct,
never through per-entry pyelftools objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerNeedSection

from buildopt.errors import BuildoptError

ELF_MAGIC = b"\x7fELF"
SHT_NOBITS = "SHT_NOBITS"
PT_LOAD = "PT_LOAD"
PF_X, PF_W = 0x1, 0x2
SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHF_COMPRESSED = 0x2, 0x4, 0x1, 0x800
MAX_SECTIONS = 65536
MAX_SEGMENTS = 65536


class NotElfError(BuildoptError):
    """A file that is not a readable ELF file (missing, not ELF, truncated, corrupt)."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Section:
    name: str
    type: str
    flags: int
    addr: int
    offset: int
    size: int
    link: int = 0
    entsize: int = 0

    @property
    def file_size(self) -> int:
        """Bytes the section occupies in the file (NOBITS sections occupy none)."""
        return 0 if self.type == SHT_NOBITS else self.size

    @property
    def end(self) -> int:
        return self.offset + self.file_size


@dataclass(frozen=True)
class Segment:
    type: str
    flags: int
    vaddr: int
    offset: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class Dynamic:
    """What the dynamic section says; all empty for a static file."""

    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: str | None = None
    runpath: str | None = None
    bind_now: bool = False
    pie_flag: bool = False


@dataclass(frozen=True)
class ElfLayout:
    path: str
    size: int
    elfclass: int
    little_endian: bool
    machine: str
    type: str
    header_bytes: int
    program_headers: tuple[int, int]  # (offset, bytes)
    section_headers: tuple[int, int]
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]
    dynamic: Dynamic
    version_needs: tuple[tuple[str, str], ...]  # (library, version name)

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
                return s
        return None

    def segment(self, kind: str) -> Segment | None:
        for s in self.segments:
            if s.type == kind:
                return s
        return None

    def file_range(self, addr: int, size: int) -> tuple[int, int] | None:
        """(file offset, bytes available up to size) of a virtual address, from PT_LOAD."""
        for seg in self.segments:
            if seg.type == PT_LOAD and seg.vaddr <= addr < seg.vaddr + seg.filesz:
                delta = addr - seg.vaddr
                return seg.offset + delta, min(size, seg.filesz - delta)
        return None


@contextmanager
def open_elf(path: str | os.PathLike[str]) -> Iterator[tuple[BinaryIO, ElfLayout]]:
    """Open path and read its layout; NotElfError names the file and the problem."""
    if os.path.isdir(path):
        raise NotElfError(path, "is a directory, not an ELF file")
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the caller is done
    except OSError as exc:
        raise NotElfError(path, exc.strerror or str(exc)) from exc
    try:
        yield f, read_layout(f, str(path))
    finally:
        f.close()


def read_layout(f: BinaryIO, path: str) -> ElfLayout:
    size = os.fstat(f.fileno()).st_size
    magic = f.read(4)
    f.seek(0)
    if size == 0:
        raise NotElfError(path, "is empty, not an ELF file")
    if magic != ELF_MAGIC:
        raise NotElfError(path, "not an ELF file (no \\x7fELF magic)")
    try:
        return _read(ELFFile(f), size, path)
    except NotElfError:
        raise
    except Exception as exc:  # pyelftools raises many kinds (struct, construct, ELFError)
        raise NotElfError(path, f"corrupt or truncated ELF file: {_describe(exc)}") from exc


def _describe(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read(elf: ELFFile, size: int, path: str) -> ElfLayout:
    h = elf.header
    _check_header(h, size, path)
    sections = tuple(_sections(elf, size, path))
    segments = tuple(_segments(elf, size, path))
    return ElfLayout(
        path=path,
        size=size,
        elfclass=elf.elfclass,
        little_endian=elf.little_endian,
        machine=str(h["e_machine"]),
        type=str(h["e_type"]),
        header_bytes=int(h["e_ehsize"]),
        program_headers=(int(h["e_phoff"]), int(h["e_phentsize"]) * int(h["e_phnum"])),
        section_headers=(int(h["e_shoff"]), int(h["e_shentsize"]) * elf.num_sections()),
        sections=sections,
        segments=segments,
        dynamic=_dynamic(elf),
        version_needs=_version_needs(elf),
    )


def _check_header(h: Any, size: int, path: str) -> None:
    phoff, phnum, phentsize = int(h["e_phoff"]), int(h["e_phnum"]), int(h["e_phentsize"])
    shoff, shnum, shentsize = int(h["e_shoff"]), int(h["e_shnum"]), int(h["e_shentsize"])
    if phnum and phoff + phnum * phentsize > size:
        raise NotElfError(path, "program header table extends past the end of the file")
    if shoff and shoff + shnum * shentsize > size:
        raise NotElfError(path, "section header table extends past the end of the file")
    if shnum > MAX_SECTIONS or phnum > MAX_SEGMENTS:
        raise NotElfError(path, "absurd number of sections or segments")
    if shnum and int(h["e_shstrndx"]) >= shnum:
        raise NotElfError(path, f"section name table index {h['e_shstrndx']} is out of range")


def _sections(elf: ELFFile, size: int, path: str) -> Iterator[Section]:
    for sec in elf.iter_sections():
        h = sec.header
        if h["sh_type"] != SHT_NOBITS and h["sh_offset"] + h["sh_size"] > size:
            raise NotElfError(path, f"section {sec.name!r} extends past the end of the file")
        yield Section(
            sec.name,
            str(h["sh_type"]),
            int(h["sh_flags"]),
            int(h["sh_addr"]),
            int(h["sh_offset"]),
            int(h["sh_size"]),
            int(h["sh_link"]),
            int(h["sh_entsize"]),
        )


def _segments(elf: ELFFile, size: int, path: str) -> Iterator[Segment]:
    for seg in elf.iter_segments():
        h = seg.header
        if h["p_offset"] + h["p_filesz"] > size:
            raise NotElfError(path, f"segment {h['p_type']} extends past the end of the file")
        yield Segment(
            str(h["p_type"]),
            int(h["p_flags"]),
            int(h["p_vaddr"]),
            int(h["p_offset"]),
            int(h["p_filesz"]),
            int(h["p_memsz"]),
        )


DF_BIND_NOW = 0x8
DF_1_NOW, DF_1_PIE = 0x1, 0x08000000


def _dynamic(elf: ELFFile) -> Dynamic:
    section = next((s for s in elf.iter_sections() if isinstance(s, DynamicSection)), None)
    if section is None:
        return Dynamic()
    needed: list[str] = []
    found: dict[str, Any] = {}
    for tag in section.iter_tags():
        kind = tag.entry.d_tag
        if kind == "DT_NULL":
            break
        if kind == "DT_NEEDED":
            needed.append(str(getattr(tag, "needed", "")))
        elif kind in ("DT_SONAME", "DT_RPATH", "DT_RUNPATH"):
            found[kind] = getattr(tag, kind[3:].lower())
        else:
            found[kind] = tag.entry.d_val
    flags, flags_1 = int(found.get("DT_FLAGS", 0)), int(found.get("DT_FLAGS_1", 0))
    return Dynamic(
        needed=tuple(needed),
        soname=found.get("DT_SONAME"),
        rpath=found.get("DT_RPATH"),
        runpath=found.get("DT_RUNPATH"),
        bind_now="DT_BIND_NOW" in found or bool(flags & DF_BIND_NOW) or bool(flags_1 & DF_1_NOW),
        pie_flag=bool(flags_1 & DF_1_PIE),
    )


def _version_needs(elf: ELFFile) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for section in elf.iter_sections():
        if isinstance(section, GNUVerNeedSection):
            for verneed, auxiliaries in section.iter_versions():
                out += [(str(verneed.name), str(aux.name)) for aux in auxiliaries]
    return tuple(out)


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def section_bytes(f: BinaryIO, section: Section) -> bytes:
    return read_at(f, section.offset, section.file_size)


def layout_of(path: Path) -> ElfLayout:
    with open_elf(path) as (_, layout):
        return layout
