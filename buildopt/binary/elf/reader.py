"""The ELF reader: headers and small tables, decoded with struct in one pass.

It returns frozen facts: the ELF header, the section and program header tables, the dynamic
section's tags and the GNU version requirements. Names of e_machine, e_type, sh_type and p_type
are pyelftools' (its enum tables, copied in buildopt.binary.elf.names), so that they read
as pyelftools and the JSON contract spell them; pyelftools' parser is not used - a Python
object per header field costs more than the whole decoding here. Bulk data (.symtab,
.gopclntab) is read by offset by the modules that decode it. Anything out of bounds is a
NotElfError that names the file.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO

from buildopt.binary.elf.names import (
    ARCH_SECTION_TYPES,
    ARCH_SEGMENT_TYPES,
    MACHINES,
    SECTION_TYPES,
    SEGMENT_TYPES,
    TYPES,
)
from buildopt.errors import BuildoptError

ELF_MAGIC = b"\x7fELF"
SHT_NOBITS = "SHT_NOBITS"
PT_LOAD = "PT_LOAD"
PF_X, PF_W = 0x1, 0x2
SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHF_COMPRESSED = 0x2, 0x4, 0x1, 0x800
MAX_SECTIONS = 65536
MAX_SEGMENTS = 65536
SHN_XINDEX = 0xFFFF
SHT_DYNAMIC, SHT_GNU_VERNEED = 6, 0x6FFFFFFE
DT_NULL, DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_BIND_NOW = 0, 1, 5, 14, 15, 24
DT_RUNPATH, DT_FLAGS, DT_FLAGS_1 = 29, 30, 0x6FFFFFFB
DF_BIND_NOW = 0x8
DF_1_NOW, DF_1_PIE = 0x1, 0x08000000

# (ELF header, section header, program header, dynamic entry) layouts by class.
LAYOUTS = {
    32: ("16sHHIIIIIHHHHHH", "IIIIIIIIII", "IIIIIIII", "iI"),
    64: ("16sHHIQQQIHHHHHH", "IIQQQQIIQQ", "IIQQQQQQ", "qQ"),
}


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


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    f.seek(offset)
    return f.read(size)


_scratch = threading.local()


def scratch(size: int) -> memoryview:
    """A buffer of at least ``size`` bytes, reused from call to call (one per thread): valid
    only until this thread's next call - copy what must last.

    It is anonymous memory (mmap): the kernel fills its pages during a read, outside the GIL,
    and they fault once. A fresh multi-megabyte bytes object or bytearray costs its page faults
    each time (~1 ms a MB on some virtual machines), and a bytearray is zeroed holding the GIL.
    """
    buffer: mmap.mmap | None = getattr(_scratch, "buffer", None)
    if buffer is None or len(buffer) < size:
        buffer = _scratch.buffer = mmap.mmap(-1, max(size, 1 << 20))
    return memoryview(buffer)[:size]


def read_transient(f: BinaryIO, offset: int, size: int) -> memoryview:
    """read_at into this thread's scratch buffer: for bulk tables decoded at once and dropped."""
    view = scratch(size)
    f.seek(offset)
    got = f.readinto(view)  # type: ignore[attr-defined]
    return view[:got]


def section_bytes(f: BinaryIO, section: Section) -> bytes:
    return read_at(f, section.offset, section.file_size)


def read_layout(f: BinaryIO, path: str) -> ElfLayout:
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise NotElfError(path, "is empty, not an ELF file")
    ident = read_at(f, 0, 16)
    if ident[:4] != ELF_MAGIC:
        raise NotElfError(path, "not an ELF file (no \\x7fELF magic)")
    if len(ident) < 16 or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        raise NotElfError(path, "corrupt ELF identification (class or data encoding)")
    try:
        return _Reader(f, path, size, 32 if ident[4] == 1 else 64, ident[5] == 1).layout()
    except struct.error as exc:
        raise NotElfError(path, f"corrupt or truncated ELF file: {exc}") from exc


class _Reader:
    """One pass over one file's headers."""

    def __init__(self, f: BinaryIO, path: str, size: int, elfclass: int, little: bool) -> None:
        self.f, self.path, self.size, self.elfclass, self.little = f, path, size, elfclass, little
        order = "<" if little else ">"
        self.formats = [struct.Struct(order + fmt) for fmt in LAYOUTS[elfclass]]
        self.order = order

    def fail(self, problem: str) -> NotElfError:
        return NotElfError(self.path, f"corrupt or truncated ELF file: {problem}")

    def read(self, offset: int, size: int, what: str) -> bytes:
        if offset < 0 or size < 0 or offset + size > self.size:
            raise self.fail(f"{what} extends past the end of the file")
        return read_at(self.f, offset, size)

    def layout(self) -> ElfLayout:
        ehdr = self.formats[0]
        fields = ehdr.unpack(self.read(0, ehdr.size, "ELF header"))
        e_type, e_machine, _, _, phoff, shoff, _, ehsize, phentsize, phnum = fields[1:11]
        shentsize, shnum, shstrndx = fields[11:14]
        machine = MACHINES.get(e_machine, str(e_machine))
        raw_sections = self._section_headers(shoff, shentsize, shnum, shstrndx)
        sections = tuple(self._sections(raw_sections, machine))
        segments = tuple(self._segments(phoff, phentsize, phnum, machine))
        return ElfLayout(
            path=self.path,
            size=self.size,
            elfclass=self.elfclass,
            little_endian=self.little,
            machine=machine,
            type=TYPES.get(e_type, str(e_type)),
            header_bytes=ehsize,
            program_headers=(phoff, phentsize * phnum if phoff else 0),
            section_headers=(shoff, shentsize * len(raw_sections) if shoff else 0),
            sections=sections,
            segments=segments,
            dynamic=self._dynamic(raw_sections, sections, segments),
            version_needs=self._version_needs(raw_sections, sections),
        )

    def _section_headers(
        self, shoff: int, entsize: int, count: int, strndx: int
    ) -> list[tuple[int, ...]]:
        shdr = self.formats[1]
        if not shoff:
            return []
        if entsize < shdr.size:
            raise self.fail(f"section header size {entsize} is too small")
        first = shdr.unpack(self.read(shoff, shdr.size, "section header table"))
        count = count or first[5]  # more than 0xff00 sections: the count is in section 0
        if count > MAX_SECTIONS:
            raise self.fail(f"absurd number of sections ({count})")
        table = self.read(shoff, entsize * count, "section header table")
        headers = [shdr.unpack_from(table, i * entsize) for i in range(count)]
        self.strndx = first[6] if strndx == SHN_XINDEX else strndx
        if count and self.strndx >= count:
            raise self.fail(f"section name table index {self.strndx} is out of range")
        return headers

    def _sections(self, headers: list[tuple[int, ...]], machine: str) -> Iterator[Section]:
        if not headers:
            return
        names = headers[self.strndx]
        strtab = self.read(names[4], names[5], "section name table") if names[1] != 8 else b""
        types = {**SECTION_TYPES, **ARCH_SECTION_TYPES.get(machine, {})}
        for h in headers:  # index 0, the null section, too: indices stay the ELF ones
            name_off, kind, flags, addr, offset, size, link, _, _, entsize = h
            if name_off > len(strtab):
                raise self.fail(f"a section name offset ({name_off}) is out of range")
            end = strtab.find(b"\0", name_off)
            name = strtab[name_off : end if end >= 0 else None].decode("utf-8", "replace")
            type_name = types.get(kind, str(kind))
            if type_name != SHT_NOBITS and offset + size > self.size:
                raise self.fail(f"section {name!r} extends past the end of the file")
            yield Section(name, type_name, flags, addr, offset, size, link, entsize)

    def _segments(self, phoff: int, entsize: int, count: int, machine: str) -> Iterator[Segment]:
        phdr = self.formats[2]
        if not phoff or not count:
            return
        if count > MAX_SEGMENTS or entsize < phdr.size:
            raise self.fail("corrupt program header table (count or entry size)")
        table = self.read(phoff, entsize * count, "program header table")
        types = {**SEGMENT_TYPES, **ARCH_SEGMENT_TYPES.get(machine, {})}
        for i in range(count):
            h = phdr.unpack_from(table, i * entsize)
            if self.elfclass == 64:
                kind, flags, offset, vaddr, _, filesz, memsz, _ = h
            else:
                kind, offset, vaddr, _, filesz, memsz, flags, _ = h
            type_name = types.get(kind, str(kind))
            if offset + filesz > self.size:
                raise self.fail(f"segment {type_name} extends past the end of the file")
            yield Segment(type_name, flags, vaddr, offset, filesz, memsz)

    def _strings(self, headers: list[tuple[int, ...]], index: int) -> bytes:
        if not 0 < index < len(headers):
            raise self.fail(f"a string table index ({index}) is out of range")
        return self.read(headers[index][4], headers[index][5], "string table")

    def _dynamic(
        self,
        headers: list[tuple[int, ...]],
        sections: tuple[Section, ...],
        segments: tuple[Segment, ...],
    ) -> Dynamic:
        index = next((i for i, h in enumerate(headers) if h[1] == SHT_DYNAMIC), None)
        if index is None:
            return Dynamic()
        raw = self.read(headers[index][4], headers[index][5], "dynamic section")
        strings = self._strings(headers, headers[index][6])
        entry = self.formats[3]
        tags: dict[int, list[int]] = {}
        for tag, value in entry.iter_unpack(raw[: len(raw) - len(raw) % entry.size]):
            if tag == DT_NULL:
                break
            tags.setdefault(tag, []).append(value)

        def text(offset: int) -> str:
            end = strings.find(b"\0", offset)
            return strings[offset : end if end >= 0 else None].decode("utf-8", "replace")

        def one(tag: int) -> str | None:
            return text(tags[tag][0]) if tag in tags else None

        flags = tags.get(DT_FLAGS, [0])[0]
        flags_1 = tags.get(DT_FLAGS_1, [0])[0]
        return Dynamic(
            needed=tuple(text(v) for v in tags.get(DT_NEEDED, [])),
            soname=one(DT_SONAME),
            rpath=one(DT_RPATH),
            runpath=one(DT_RUNPATH),
            bind_now=DT_BIND_NOW in tags or bool(flags & DF_BIND_NOW) or bool(flags_1 & DF_1_NOW),
            pie_flag=bool(flags_1 & DF_1_PIE),
        )

    def _version_needs(
        self, headers: list[tuple[int, ...]], sections: tuple[Section, ...]
    ) -> tuple[tuple[str, str], ...]:
        index = next((i for i, h in enumerate(headers) if h[1] == SHT_GNU_VERNEED), None)
        if index is None:
            return ()
        data = self.read(headers[index][4], headers[index][5], "version requirements")
        strings = self._strings(headers, headers[index][6])
        need, aux = struct.Struct(self.order + "HHIII"), struct.Struct(self.order + "IHHII")

        def text(offset: int) -> str:
            end = strings.find(b"\0", offset)
            return strings[offset : end if end >= 0 else None].decode("utf-8", "replace")

        out: list[tuple[str, str]] = []
        pos, guard = 0, 0
        while pos + need.size <= len(data) and guard < MAX_SECTIONS:
            _, count, file_off, aux_off, next_off = need.unpack_from(data, pos)
            apos = pos + aux_off
            for _ in range(min(count, MAX_SECTIONS)):
                if apos + aux.size > len(data):
                    break
                _, _, _, name_off, anext = aux.unpack_from(data, apos)
                out.append((text(file_off), text(name_off)))
                if not anext:
                    break
                apos += anext
            guard += 1
            if not next_off:
                break
            pos += next_off
        return tuple(out)
