"""Go build info read from the binary itself, as ``go version -m`` shows it.

Format (Go's debug/buildinfo): a 32-byte header ``"\\xff Go buildinf:"``, ptrSize, flags, aligned
to 16 bytes at the start of ``.go.buildinfo`` (or of the first writable, non-executable PT_LOAD).
Since Go 1.18 (flags bit 1) the version and modinfo strings follow inline, each prefixed by a
uvarint length; before, the header holds two pointers to Go string headers. The modinfo text is
framed by 16-byte sentinels and has lines ``path``, ``mod``, ``dep``, ``=>`` and ``build``.
"""

from __future__ import annotations

import ast
import struct
from collections.abc import Callable
from typing import BinaryIO

import msgspec

from buildopt.binary.elf.reader import PF_W, PF_X, PT_LOAD, ElfLayout, read_at

MAGIC = b"\xff Go buildinf:"
HEADER_SIZE = 32
ALIGN = 16
FLAG_BIG_ENDIAN = 0x1
FLAG_INLINE = 0x2
MAX_STRING = 1 << 24
SEARCH_LIMIT = 1 << 22


class Module(msgspec.Struct, frozen=True):
    path: str
    version: str
    sum: str = ""
    replace: Module | None = None


class BuildInfo(msgspec.Struct, frozen=True):
    go_version: str
    path: str
    main: Module | None
    deps: tuple[Module, ...]
    settings: tuple[tuple[str, str], ...]

    def module_paths(self) -> tuple[tuple[str, ...], str]:
        """The paths of the dependencies and the main module (last), and the main module's."""
        main = self.main.path if self.main else ""
        return (*(d.path for d in self.deps), *([main] if main else [])), main

    def setting(self, key: str) -> str | None:
        return next((v for k, v in self.settings if k == key), None)


class BuildInfoError(ValueError):
    """The build info blob is present but malformed."""


ReadAddr = Callable[[int, int], bytes]


def uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a Go uvarint at pos: (value, position after it)."""
    value = shift = 0
    for i in range(pos, min(pos + 10, len(data))):
        byte = data[i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i + 1
        shift += 7
    raise BuildInfoError("bad uvarint length")


def find_blob(data: bytes) -> int:
    """Offset of the 16-byte aligned magic in data, or -1."""
    pos = data.find(MAGIC)
    while pos >= 0:
        if pos % ALIGN == 0:
            return pos if len(data) - pos >= HEADER_SIZE else -1
        pos = data.find(MAGIC, pos + 1)
    return -1


def decode_blob(blob: bytes, read_addr: ReadAddr) -> tuple[str, str]:
    """(Go version, modinfo) from a blob that starts with the header."""
    ptr_size, flags = blob[14], blob[15]
    if flags & FLAG_INLINE:
        length, pos = uvarint(blob, HEADER_SIZE)
        raw_version = blob[pos : pos + length]
        length, pos = uvarint(blob, pos + length)
        raw_modinfo = blob[pos : pos + length]
        if pos + length > len(blob):
            raise BuildInfoError("build info strings run past their section")
        return raw_version.decode(errors="replace"), _unframe(raw_modinfo.decode(errors="replace"))
    order = ">" if flags & FLAG_BIG_ENDIAN else "<"
    if ptr_size not in (4, 8):
        raise BuildInfoError(f"bad pointer size {ptr_size}")
    word = order + ("I" if ptr_size == 4 else "Q")
    vers_ptr, mod_ptr = struct.unpack_from(order + word[1] * 2, blob, 16)
    version = _go_string(read_addr, vers_ptr, word, ptr_size)
    modinfo = _go_string(read_addr, mod_ptr, word, ptr_size)
    return version, _unframe(modinfo)


def _go_string(read_addr: ReadAddr, addr: int, word: str, ptr_size: int) -> str:
    header = read_addr(addr, 2 * ptr_size)
    if len(header) < 2 * ptr_size:
        return ""
    data_addr, length = struct.unpack(word[0] + word[1] * 2, header)
    if length > MAX_STRING:
        raise BuildInfoError("implausible string length in build info")
    return read_addr(data_addr, length).decode(errors="replace")


def _unframe(modinfo: str) -> str:
    """Strip the 16-byte sentinels around modinfo (as debug/buildinfo does)."""
    if len(modinfo) >= 33 and modinfo[-17] == "\n":
        return modinfo[16:-16]
    return ""


def _unquote(text: str) -> str:
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        return str(value)
    return text


def parse_modinfo(go_version: str, text: str) -> BuildInfo:
    """Parse the modinfo lines (runtime/debug.ParseBuildInfo's format)."""
    path = ""
    main: Module | None = None
    deps: list[Module] = []
    settings: list[tuple[str, str]] = []
    for line in text.splitlines():
        word, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if word == "path":
            path = rest
        elif word in ("mod", "dep", "=>") and len(fields) >= 2:
            module = Module(fields[0], fields[1], fields[2] if len(fields) > 2 else "")
            if word == "mod":
                main = module
            elif word == "dep":
                deps.append(module)
            elif deps:
                deps[-1] = msgspec.structs.replace(deps[-1], replace=module)
            elif main:
                main = msgspec.structs.replace(main, replace=module)
        elif word == "build":
            settings.append(_split_setting(rest))
    return BuildInfo(go_version, path, main, tuple(deps), tuple(settings))


def _split_setting(rest: str) -> tuple[str, str]:
    if rest.startswith('"'):
        # A quoted key: find its closing quote (escaped quotes are backslashed).
        i = 1
        while i < len(rest) and rest[i] != '"':
            i += 2 if rest[i] == "\\" else 1
        key, value = rest[: i + 1], rest[i + 2 :]
    else:
        key, _, value = rest.partition("=")
    return _unquote(key), _unquote(value)


def blob_region(layout: ElfLayout) -> tuple[int, int] | None:
    """(address, size) where the blob lives: .go.buildinfo, else the first data PT_LOAD."""
    section = layout.section(".go.buildinfo")
    if section is not None:
        return section.addr, section.size
    for seg in layout.segments:
        if seg.type == PT_LOAD and seg.flags & (PF_X | PF_W) == PF_W:
            return seg.vaddr, seg.memsz
    return None


def read_buildinfo(f: BinaryIO, layout: ElfLayout) -> BuildInfo | None:
    """The Go build info of an ELF file, or None for a file that is not a Go binary."""
    region = blob_region(layout)
    if region is None:
        return None

    def read_addr(addr: int, size: int) -> bytes:
        where = layout.file_range(addr, size)
        return read_at(f, where[0], where[1]) if where else b""

    addr, size = region
    start = (addr + ALIGN - 1) // ALIGN * ALIGN
    data = read_addr(start, min(size - (start - addr), SEARCH_LIMIT))
    pos = find_blob(data)
    if pos < 0:
        return None
    version, modinfo = decode_blob(data[pos:], read_addr)
    if not version:
        return None
    return parse_modinfo(version, modinfo)
