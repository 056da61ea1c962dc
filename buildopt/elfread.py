"""The ELF reader: the only module that touches pyelftools.

It reads the headers once and returns frozen facts (header, sections, segments); bulk data
is read by offset from the file, never through per-entry pyelftools objects.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from elftools.common.exceptions import ELFError, ELFParseError
from elftools.elf.elffile import ELFFile

from buildopt.errors import BuildoptError

ELF_MAGIC = b"\x7fELF"
SHT_NOBITS = "SHT_NOBITS"
PT_LOAD = "PT_LOAD"
PF_X, PF_W = 0x1, 0x2


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


@dataclass(frozen=True)
class Segment:
    type: str
    flags: int
    vaddr: int
    offset: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class ElfLayout:
    path: str
    size: int
    elfclass: int
    little_endian: bool
    machine: str
    type: str
    sections: tuple[Section, ...]
    segments: tuple[Segment, ...]

    def section(self, name: str) -> Section | None:
        for s in self.sections:
            if s.name == name:
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
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the caller is done
    except IsADirectoryError as exc:
        raise NotElfError(path, "is a directory, not an ELF file") from exc
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
        elf = ELFFile(f)
        sections = tuple(_sections(elf, size, path))
        segments = tuple(_segments(elf, size, path))
        header = elf.header
        return ElfLayout(
            path=path,
            size=size,
            elfclass=elf.elfclass,
            little_endian=elf.little_endian,
            machine=str(header["e_machine"]),
            type=str(header["e_type"]),
            sections=sections,
            segments=segments,
        )
    except (ELFError, ELFParseError, ValueError, KeyError, OSError, UnicodeDecodeError) as exc:
        raise NotElfError(path, f"corrupt or truncated ELF file: {exc}") from exc
    except Exception as exc:  # pyelftools raises bare errors (struct, construct) on bad input
        raise NotElfError(
            path, f"corrupt or truncated ELF file: {type(exc).__name__}: {exc}"
        ) from exc


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


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


def layout_of(path: Path) -> ElfLayout:
    with open_elf(path) as (_, layout):
        return layout
