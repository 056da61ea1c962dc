"""The ELF reader: pyelftools' object model of a file, as frozen facts for the inspector.

``elftools.elf.elffile.ELFFile`` parses the ELF header, the section and program header tables,
the dynamic section's tags and the GNU version requirements; their names (``EM_X86_64``,
``SHT_PROGBITS``, ``PT_LOAD``, ``DT_NEEDED``) are pyelftools' own. This module turns them into
an ``ElfLayout`` checked against the file's size, so that the modules that decode bulk tables
(.symtab, .gopclntab) by offset never read past the end. Every error pyelftools (or the checks
here) raise on a damaged file is one NotElfError naming the file: "corrupt or truncated ELF
file: ...".
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

import msgspec
from elftools.common.exceptions import ELFError
from elftools.construct.core import ConstructError
from elftools.elf.constants import P_FLAGS, SH_FLAGS
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_DT_FLAGS, ENUM_DT_FLAGS_1
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import Section as ElfSection

from buildopt.binary.bulk import scratch
from buildopt.errors import BuildoptError
from buildopt.inputs import NotRegularFile, open_regular

ELF_MAGIC = b"\x7fELF"
SHT_NOBITS = "SHT_NOBITS"
PT_LOAD = "PT_LOAD"
PF_X, PF_W = P_FLAGS.PF_X, P_FLAGS.PF_W
SHF_ALLOC, SHF_EXECINSTR = SH_FLAGS.SHF_ALLOC, SH_FLAGS.SHF_EXECINSTR
SHF_WRITE, SHF_COMPRESSED = SH_FLAGS.SHF_WRITE, SH_FLAGS.SHF_COMPRESSED
MAX_HEADERS = 65536  # sections or segments: more is a damaged header, refused, not iterated
MAX_DYNAMIC_TAGS = 1 << 16
MAX_VERSION_NEEDS = 1 << 12
DF_BIND_NOW = ENUM_DT_FLAGS["DF_BIND_NOW"]
DF_1_NOW, DF_1_PIE = ENUM_DT_FLAGS_1["DF_1_NOW"], ENUM_DT_FLAGS_1["DF_1_PIE"]
# What pyelftools (and its construct parser) raise on a damaged file: its own errors, and the
# plain ones of unchecked values (Lookup: Index, Key; Arithmetic: Overflow, ZeroDivision) - it
# validates some fields with assert (a dynamic section linked to a section that is not a
# string table), so AssertionError too.
DAMAGE: tuple[type[Exception], ...] = (ELFError, ConstructError, struct.error, EOFError)
DAMAGE += (ValueError, LookupError, AssertionError, ArithmeticError, TypeError)


class NotElfError(BuildoptError):
    """A file that is not a readable ELF file (missing, not ELF, truncated, corrupt)."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"{path}: {problem}")


class Section(msgspec.Struct, frozen=True):
    name: str
    type: str
    flags: int
    addr: int
    offset: int
    size: int
    link: int = 0
    # ch_size of an SHF_COMPRESSED section's header (pyelftools reads it), else size
    data_size: int = 0

    @property
    def file_size(self) -> int:
        """Bytes the section occupies in the file (NOBITS sections occupy none)."""
        return 0 if self.type == SHT_NOBITS else self.size

    @property
    def end(self) -> int:
        return self.offset + self.file_size


class Segment(msgspec.Struct, frozen=True):
    type: str
    flags: int
    vaddr: int
    offset: int
    filesz: int
    memsz: int


class Dynamic(msgspec.Struct, frozen=True):
    """What the dynamic section says; all empty for a static file."""

    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: str | None = None
    runpath: str | None = None
    bind_now: bool = False
    pie_flag: bool = False


class ElfLayout(msgspec.Struct, frozen=True):
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
        return next((s for s in self.sections if s.name == name), None)

    def segment(self, kind: str) -> Segment | None:
        return next((s for s in self.segments if s.type == kind), None)

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
        f = open_regular(path)
    except NotRegularFile as exc:
        raise NotElfError(path, f"{exc}, not an ELF file") from exc
    except OSError as exc:
        raise NotElfError(path, exc.strerror or str(exc)) from exc
    try:
        yield f, read_layout(f, str(path))
    finally:
        f.close()


def _seek(f: BinaryIO, offset: int, size: int) -> bool:
    """Seek to offset; False for an offset or size that no file has (a damaged header's word:
    negative, or past what a file offset can hold)."""
    if offset < 0 or size <= 0:
        return False
    try:
        f.seek(offset)
    except (OverflowError, ValueError):
        return False
    return True


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    """size bytes at offset, fewer at the end of the file, none where _seek cannot go."""
    return f.read(size) if _seek(f, offset, size) else b""


def read_transient(f: BinaryIO, offset: int, size: int) -> memoryview:
    """read_at into this thread's scratch buffer: for bulk tables decoded at once and dropped."""
    if not _seek(f, offset, size):
        return memoryview(b"")
    view = scratch(size)
    return view[: f.readinto(view)]  # type: ignore[attr-defined]


def section_bytes(f: BinaryIO, section: Section) -> bytes:
    return read_at(f, section.offset, section.file_size)


def read_layout(f: BinaryIO, path: str) -> ElfLayout:
    """The layout of the open file f; NotElfError names path and the problem."""
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise NotElfError(path, "is empty, not an ELF file")
    ident = read_at(f, 0, 16)
    if ident[:4] != ELF_MAGIC:
        raise NotElfError(path, "not an ELF file (no \\x7fELF magic)")
    if len(ident) < 16 or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise NotElfError(path, "corrupt ELF identification (class or data encoding)")
    try:
        return _Reader(ELFFile(f), path, size).layout()
    except NotElfError:
        raise
    except DAMAGE as exc:
        raise NotElfError(path, f"corrupt or truncated ELF file: {exc}") from exc
    except OSError as exc:  # a seek to where no file reaches
        raise NotElfError(path, f"corrupt or truncated ELF file: {exc.strerror or exc}") from exc


class _Reader:
    """One file's headers, from pyelftools, checked against the file's size."""

    def __init__(self, elf: ELFFile, path: str, size: int) -> None:
        self.elf, self.path, self.size = elf, path, size

    def fail(self, problem: str) -> NotElfError:
        return NotElfError(self.path, f"corrupt or truncated ELF file: {problem}")

    def layout(self) -> ElfLayout:
        elf = self.elf
        header = elf.header
        # pyelftools parses a section's header on every visit: walk them once, and find the
        # dynamic section and the version requirements among the objects of that walk.
        parsed = self._parsed_sections()
        sections = tuple(self._section(s) for s in parsed)
        segments = self._segments()
        shoff, phoff = header["e_shoff"], header["e_phoff"]
        return ElfLayout(
            size=self.size,
            elfclass=elf.elfclass,
            little_endian=elf.little_endian,
            machine=str(header["e_machine"]),
            type=str(header["e_type"]),
            header_bytes=header["e_ehsize"],
            program_headers=(phoff, header["e_phentsize"] * len(segments) if phoff else 0),
            section_headers=(shoff, header["e_shentsize"] * len(sections) if shoff else 0),
            sections=sections,
            segments=segments,
            dynamic=self._dynamic(parsed),
            version_needs=self._version_needs(parsed),
        )

    def _parsed_sections(self) -> list[ElfSection]:
        elf = self.elf
        if not elf.header["e_shoff"]:
            return []
        self._check_table("section", "e_shoff", elf.num_sections(), "e_shentsize")
        return list(elf.iter_sections())  # index 0, the null section, too: indices stay ELF's

    def _check_table(self, kind: str, offset: str, count: int, entry_size: str) -> None:
        """A header table of count entries, where e_shoff/e_phoff says, is within the file."""
        if count > MAX_HEADERS:
            raise self.fail(f"absurd number of {kind}s ({count})")
        if self.elf.header[offset] + count * self.elf.header[entry_size] > self.size:
            table = "section header" if kind == "section" else "program header"
            raise self.fail(f"the {table} table extends past the end of the file")

    def _section(self, s: ElfSection) -> Section:
        h = s.header
        kind = str(h["sh_type"])
        if kind != SHT_NOBITS and h["sh_offset"] + h["sh_size"] > self.size:
            raise self.fail(f"section {s.name!r} extends past the end of the file")
        fields = (h["sh_flags"], h["sh_addr"], h["sh_offset"], h["sh_size"], h["sh_link"])
        return Section(s.name, kind, *fields, s.data_size if kind != SHT_NOBITS else h["sh_size"])

    def _segments(self) -> tuple[Segment, ...]:
        elf = self.elf
        count = elf.num_segments()
        if not elf.header["e_phoff"] or not count:
            return ()
        self._check_table("segment", "e_phoff", count, "e_phentsize")
        out = []
        for seg in elf.iter_segments():
            h = seg.header
            kind = str(h["p_type"])
            if h["p_offset"] + h["p_filesz"] > self.size:
                raise self.fail(f"segment {kind} extends past the end of the file")
            flags, vaddr, offset = h["p_flags"], h["p_vaddr"], h["p_offset"]
            out.append(Segment(kind, flags, vaddr, offset, h["p_filesz"], h["p_memsz"]))
        return tuple(out)

    def _dynamic(self, parsed: list[ElfSection]) -> Dynamic:
        section = next((s for s in parsed if isinstance(s, DynamicSection)), None)
        if section is None:
            return Dynamic()
        values: dict[str, list[object]] = {}
        for i, tag in enumerate(section.iter_tags()):
            if i >= MAX_DYNAMIC_TAGS:
                raise self.fail("the dynamic section has no end")
            name = str(tag.entry.d_tag)
            value = getattr(tag, name[3:].lower(), None) if name in _NAMED else tag["d_val"]
            values.setdefault(name, []).append(value)

        def one(name: str) -> str | None:
            found = values.get(name)
            return str(found[0]) if found else None

        flags = int(values.get("DT_FLAGS", [0])[0])  # type: ignore[call-overload]
        flags_1 = int(values.get("DT_FLAGS_1", [0])[0])  # type: ignore[call-overload]
        return Dynamic(
            needed=tuple(str(v) for v in values.get("DT_NEEDED", [])),
            soname=one("DT_SONAME"),
            rpath=one("DT_RPATH"),
            runpath=one("DT_RUNPATH"),
            bind_now="DT_BIND_NOW" in values
            or bool(flags & DF_BIND_NOW)
            or bool(flags_1 & DF_1_NOW),
            pie_flag=bool(flags_1 & DF_1_PIE),
        )

    def _version_needs(self, parsed: list[ElfSection]) -> tuple[tuple[str, str], ...]:
        section = next((s for s in parsed if isinstance(s, GNUVerNeedSection)), None)
        if section is None:
            return ()
        out: list[tuple[str, str]] = []
        for verneed, auxiliaries in section.iter_versions():
            for aux in auxiliaries:
                out.append((str(verneed.name), str(aux.name)))
                if len(out) > MAX_VERSION_NEEDS:
                    raise self.fail("the version requirements have no end")
        return tuple(out)


_NAMED = frozenset({"DT_NEEDED", "DT_SONAME", "DT_RPATH", "DT_RUNPATH"})
