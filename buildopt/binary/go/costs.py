"""What each function of a Go binary costs in its file: its code, its share of the function
table (.gopclntab: its functab entry, _func record, pc-value tables and func data, as
pclntab.shares_of splits them) and its name in the name table; and the data symbols the
.symtab sizes (most of a Go binary's data is in carrier symbols it does not split).

Read from an unstripped twin of a binary (the same layout: see pipeline/twin.py), whose
function table is the shipped binary's byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from buildopt.binary.elf.reader import NotElfError, open_elf
from buildopt.binary.go.functab import function_table
from buildopt.binary.symbols import symtab_sizes


@dataclass(frozen=True)
class SymbolCosts:
    """name -> file bytes; ``table`` says whether function table shares are in it (Go
    1.18+), else functions count their code only."""

    bytes: Mapping[str, int] = field(hash=False)
    table: bool


def symbol_costs(path: Path) -> SymbolCosts:
    """The file bytes of each function and sized data symbol of the Go binary at path
    (NotElfError when it or its function table cannot be read)."""
    with open_elf(path) as (f, layout):
        table, problem = function_table(f, layout, shares=True)
        costs: dict[str, int] = {}
        data: dict[str, int] = {}
        symtab_sizes(f, layout, {}, data, costs)
    if table is None:
        raise NotElfError(path, problem or "no Go function table")
    costs.update(data)
    shares = table.layout.shares if table.layout is not None else (0,) * len(table.sizes)
    for name, size, share in zip(table.names(), table.sizes, shares, strict=True):
        key = name.decode("utf-8", "replace")
        costs[key] = costs.get(key, 0) + size + share + len(name) + 1
    return SymbolCosts(costs, table.layout is not None)


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
