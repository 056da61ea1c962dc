"""Every symbol of an ELF file with its size, for ``buildopt diff`` (bloat-o-meter's input).

Functions and data objects come from ``.symtab`` when the file has one: sizes as the linker
wrote them, the same as ``go tool nm -size`` and ``nm -S`` (functions without the alignment
padding after them). A stripped Go file has no ``.symtab``: its functions come from
``.gopclntab``, each as long as the distance to the next (padding included), and it has no
data symbols. Symbols of NOBITS sections (.bss) take no file bytes and are left out, as are
undefined, absolute and zero-sized ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, BinaryIO, Literal

import msgspec

from buildopt.binary.bulk import gather
from buildopt.binary.elf.reader import (
    SHF_EXECINSTR,
    SHF_WRITE,
    ElfLayout,
    NotElfError,
    open_elf,
)
from buildopt.binary.elf.strings import strings_at
from buildopt.binary.elf.symtab import SHN_LORESERVE, read_columns
from buildopt.binary.go.names import package_of, package_path

if TYPE_CHECKING:
    from pathlib import Path  # inspect loads no pathlib (~4 ms with urllib.parse)

Source = Literal["symtab", "pclntab", "none"]


class SymbolSizes(msgspec.Struct, frozen=True):
    """name -> bytes of the file's functions, writable data and read-only data symbols (a
    name that occurs more than once - C statics of several files - is summed), and where they
    came from. The three are bloat-o-meter's ``-c`` tables: Function, Data and RO Data."""

    path: str
    size: int
    functions: Mapping[str, int]
    data: Mapping[str, int]
    source: Source
    ro_data: Mapping[str, int] = msgspec.field(default_factory=dict)

    def package_of(self, name: str) -> str:
        """debug/gosym's package rule on a symbol name, as an import path."""
        return package_path(package_of(name.encode(), False))


def read_symbol_sizes(path: str | Path, *, functions_from: Source | None = None) -> SymbolSizes:
    """The symbols of the ELF file at path (NotElfError when it, or the Go function table it
    needs, cannot be read). With ``functions_from="pclntab"`` functions come from .gopclntab
    even when .symtab is there (to compare a file with a stripped one on the same terms)."""
    from buildopt.binary.go.functab import function_table

    with open_elf(path) as (f, layout):
        symtab = next((s for s in layout.sections if s.type == "SHT_SYMTAB"), None)
        use_symtab = symtab is not None and functions_from != "pclntab"
        functions: dict[str, int] = {}
        data: dict[str, int] = {}
        ro_data: dict[str, int] = {}
        symtab_sizes(f, layout, functions, data, ro_data)
        if use_symtab:
            return SymbolSizes(str(path), layout.size, functions, data, "symtab", ro_data)
        table, problem = function_table(f, layout)
        if problem:  # a damaged Go file: not "no functions"
            raise NotElfError(path, problem)
        if table is None:
            return SymbolSizes(str(path), layout.size, {}, data, "none", ro_data)
        functions = {}
        for name, size in zip(table.names(), table.sizes, strict=True):
            key = name.decode("utf-8", "replace")
            functions[key] = functions.get(key, 0) + size
        return SymbolSizes(str(path), layout.size, functions, data, "pclntab", ro_data)


def symtab_sizes(
    f: BinaryIO,
    layout: ElfLayout,
    functions: dict[str, int],
    data: dict[str, int],
    ro_data: dict[str, int] | None = None,
) -> None:
    """Functions (symbols in executable sections) and data (the others holding file bytes);
    with ``ro_data``, the data of sections that are not writable go there (nm's r, as
    bloat-o-meter -c splits them)."""
    table = read_columns(f, layout)
    if table is None:
        return
    strings, names, shndx, sizes = table[2:]
    kinds = bytearray(65536)  # per section: 1 code, 2 data, 3 read-only data, 0 none
    for i, section in enumerate(layout.sections[1:SHN_LORESERVE], 1):
        if section.type != "SHT_NOBITS":
            writable = section.flags & SHF_WRITE
            kinds[i] = 1 if section.flags & SHF_EXECINSTR else 2 if writable else 3
    wanted = [
        (k, n, s) for k, n, s in zip(gather(kinds, shndx), names, sizes, strict=True) if k and s
    ]
    try:
        texts = strings_at(strings, [n for _, n, _ in wanted])
    except ValueError:
        texts = [f"?{n}".encode() for _, n, _ in wanted]
    targets = {1: functions, 2: data, 3: data if ro_data is None else ro_data}
    for (kind, _, size), text in zip(wanted, texts, strict=True):
        name = text.decode("utf-8", "replace")
        target = targets[kind]
        target[name] = target.get(name, 0) + size
