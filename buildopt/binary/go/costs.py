"""What each function of a Go binary costs in its file: its code, its share of the function
table (.gopclntab: its functab entry, _func record, pc-value tables and func data, as
pclntab.shares_of splits them) and its name in the name table; the data symbols the .symtab
sizes; and the bytes of the type descriptors' region (``type:*``).

Most of a Go binary's read-only data is in carrier symbols the .symtab does not split
(``type:*``, ``go:string.*``): a string's size is in its symbol's name (string_bytes), as is
a type name's (name_bytes); a type descriptor's is not.

Read from an unstripped twin of a binary (the same layout: see pipeline/twin.py), whose
function table is the shipped binary's byte for byte.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

import msgspec

from buildopt.binary.elf.reader import ElfLayout, NotElfError, open_elf, section_bytes
from buildopt.binary.elf.symtab import read_columns
from buildopt.binary.go.functab import function_table
from buildopt.binary.symbols import symtab_sizes


class SymbolCosts(msgspec.Struct, frozen=True):
    """name -> file bytes; ``table`` says whether function table shares are in it (Go
    1.18+), else functions count their code only."""

    bytes: Mapping[str, int]
    table: bool
    types: int = 0  # the type descriptors' region: type:* to the next symbol (0: unknown)


def symbol_costs(path: Path) -> SymbolCosts:
    """The file bytes of each function and sized data symbol of the Go binary at path
    (NotElfError when it or its function table cannot be read)."""
    with open_elf(path) as (f, layout):
        table, problem = function_table(f, layout, shares=True)
        costs: dict[str, int] = {}
        data: dict[str, int] = {}
        symtab_sizes(f, layout, {}, data, costs)
        types = _type_region(f, layout)
    if table is None:
        raise NotElfError(path, problem or "no Go function table")
    costs.update(data)
    shares = table.layout.shares if table.layout is not None else (0,) * len(table.sizes)
    for name, size, share in zip(table.names(), table.sizes, shares, strict=True):
        key = name.decode("utf-8", "replace")
        costs[key] = costs.get(key, 0) + size + share + len(name) + 1
    return SymbolCosts(costs, table.layout is not None, types)


TYPES = b"type:*"


def _type_region(f: BinaryIO, layout: ElfLayout) -> int:
    """The bytes from the ``type:*`` carrier to the next symbol of its section: the type
    descriptors, type names and import paths (cmd/link's STYPE symbols), sorted by size."""
    symtab = next((s for s in layout.sections if s.type == "SHT_SYMTAB"), None)
    table = read_columns(f, layout)
    if symtab is None or table is None:
        return 0
    at = table.strings.find(b"\0" + TYPES + b"\0")
    if at < 0 or (at + 1) not in table.names:
        return 0
    index = table.names.index(at + 1)
    values = _values(section_bytes(f, symtab), layout.elfclass, layout.little_endian)
    start, section = values[index], table.shndx[index]
    after = [v for v, n in zip(values, table.shndx, strict=False) if n == section and v > start]
    return min(after) - start if after else 0


def _values(data: bytes, elfclass: int, little: bool) -> list[int]:
    """st_value of every .symtab entry."""
    entry, at, code = (24, 8, "Q") if elfclass == 64 else (16, 4, "I")
    order = "<" if little else ">"
    return [v for (v,) in struct.iter_unpack(order + code, _column(data, entry, at, code))]


def _column(data: bytes, entry: int, at: int, code: str) -> bytes:
    width = struct.calcsize(code)
    view = memoryview(data)[: len(data) - len(data) % entry]
    return b"".join(view[i + at : i + at + width] for i in range(0, len(view), entry))


_STRING = 'go:string."'
_HASHED = re.compile(r"go:string\.\.gostring\.(\d+)\.")
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)


def string_bytes(symbol: str) -> int | None:
    """The bytes of a string symbol of the linker's, told by its name (cmd/compile's
    staticdata.StringSym): ``go:string."..."`` holds its contents as strconv.Quote writes
    them, ``go:string..gostring.LEN.HASH`` (over 100 bytes) its length; None for any other
    symbol."""
    if symbol.startswith(_STRING) and symbol.endswith('"') and len(symbol) > len(_STRING):
        return _unquoted_size(symbol[len(_STRING) : -1])
    if found := _HASHED.match(symbol):
        return int(found[1])
    return None


def _unquoted_size(quoted: str) -> int:
    """The UTF-8 length of a Go quoted string's contents (without its quotes)."""
    size = 0
    last = 0
    for escape in _ESCAPE.finditer(quoted):
        size += len(quoted[last : escape.start()].encode("utf-8", "surrogateescape"))
        last = escape.end()
        code = escape[1]
        if code[0] in "uU":
            size += len(chr(min(int(code[1:], 16), 0x10FFFF)).encode("utf-8", "surrogatepass"))
        else:  # \xNN (a byte that is not UTF-8) and \n, \t, \\ ... are one byte
            size += 1
    return size + len(quoted[last:].encode("utf-8", "surrogateescape"))


_NAMEDATA = "type:.namedata."
_IMPORTPATH = "type:.importpath."


def name_bytes(symbol: str) -> int | None:
    """About the bytes of a type's name or import path symbol (reflectdata.dname: a flag
    byte, the length as a varint, the name, a tag), told by its name to within a byte or two
    (``type:.namedata.NAME.TAG``: name and tag are not told apart); None for other symbols."""
    for prefix in (_NAMEDATA, _IMPORTPATH):
        if symbol.startswith(prefix):
            text = len(symbol.removesuffix(".embedded").encode()) - len(prefix)
            return 1 + (1 if text < 128 else 2) + text
    return None
