"""DWARF bytes per Go package, from pyelftools' DWARF reader.

The Go linker writes one compilation unit per package, named by its import path
(``DW_AT_name``); a cgo binary adds the C compiler's units, named by their source files. For
each unit this counts its ``.debug_info`` bytes (the unit length plus its initial length field,
as ``readelf --debug-dump=info`` shows them) and the bytes of the ``.debug_line`` program it
points at (``DW_AT_stmt_list``). The sizes are logical: pyelftools decompresses the sections
to walk them, which is why this runs only when asked (``inspect --dwarf``, or a budget on
DWARF per package), never for the default inspection.
"""

from __future__ import annotations

from collections import defaultdict
from typing import BinaryIO

from elftools.elf.elffile import ELFFile

from buildopt.binary.facts import DwarfUnits

MAX_UNITS = 1 << 20  # more is a damaged .debug_info: refused rather than walked


class DwarfError(ValueError):
    """DWARF that pyelftools cannot read (damaged, or compressed with zstd)."""


def units_by_package(f: BinaryIO) -> tuple[DwarfUnits, ...]:
    """DWARF bytes of every compilation unit, summed per unit name, largest first; () when
    the file has no DWARF. Raises DwarfError when the DWARF cannot be read."""
    elf = ELFFile(f)
    if not elf.has_dwarf_info():
        return ()
    try:
        dwarf = elf.get_dwarf_info()
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for count, unit in enumerate(dwarf.iter_CUs()):
            if count >= MAX_UNITS:
                raise DwarfError(f"more than {MAX_UNITS} compilation units")
            name = unit.get_top_DIE().attributes.get("DW_AT_name")
            value = "?" if name is None else name.value
            row = totals[value.decode(errors="replace") if isinstance(value, bytes) else str(value)]
            row[0] += 1
            row[1] += unit["unit_length"] + unit.structs.initial_length_field_size()
            program = dwarf.line_program_for_CU(unit)
            if program is not None:
                row[2] += (
                    program.header["unit_length"] + program.structs.initial_length_field_size()
                )
    except DwarfError:
        raise
    except Exception as exc:
        raise DwarfError(f"{type(exc).__name__}: {exc}") from exc
    rows = (
        DwarfUnits(package=name, units=n, info_bytes=info, line_bytes=line)
        for name, (n, info, line) in totals.items()
    )
    return tuple(sorted(rows, key=lambda r: (-(r.info_bytes + r.line_bytes), r.package)))
