"""buildopt.binary.elf.names must spell every ELF constant exactly as the installed pyelftools does.

When pyelftools changes, regenerate the module: python tests/unit/test_elfnames.py > buildopt/elfnames.py
"""

from __future__ import annotations

import pprint
from collections.abc import Mapping

from elftools.elf import enums

from buildopt.binary.elf import names as elfnames

HEADER = '''"""ELF constant names as pyelftools spells them (its enum tables), without importing pyelftools.

Importing elftools.elf.enums costs ~20 ms (it pulls in pyelftools' construct library and pdb),
more than reading a binary's headers. These are its tables, written out by
tests/unit/test_elfnames.py, which also fails when the installed pyelftools spells anything
differently - the two cannot drift apart silently.
"""

from __future__ import annotations

'''
ARCHES = {"EM_X86_64": "AMD64", "EM_ARM": "ARM", "EM_AARCH64": "AARCH64", "EM_MIPS": "MIPS"}
ARCHES["EM_RISCV"] = "RISCV"


def names(table: Mapping[str, int]) -> dict[int, str]:
    return {value: name for name, value in table.items() if not name.startswith("_")}


def pyelftools_tables() -> dict[str, object]:
    return {
        "MACHINES": names(enums.ENUM_E_MACHINE),
        "TYPES": names(enums.ENUM_E_TYPE),
        "SECTION_TYPES": names(enums.ENUM_SH_TYPE_BASE),
        "SEGMENT_TYPES": names(enums.ENUM_P_TYPE_BASE),
        "ARCH_SECTION_TYPES": {
            m: names(getattr(enums, "ENUM_SH_TYPE_" + s)) for m, s in ARCHES.items()
        },
        "ARCH_SEGMENT_TYPES": {
            m: names(getattr(enums, "ENUM_P_TYPE_" + s))
            for m, s in ARCHES.items()
            if m != "EM_X86_64"  # pyelftools has no amd64 segment types
        },
    }


def module_text() -> str:
    parts = []
    for name, table in pyelftools_tables().items():
        kind = "dict[str, dict[int, str]]" if name.startswith("ARCH") else "dict[int, str]"
        parts.append(f"{name}: {kind} = {pprint.pformat(table, width=99)}\n")
    return HEADER + "\n".join(parts)


def test_tables_are_pyelftools_tables() -> None:
    for name, table in pyelftools_tables().items():
        assert getattr(elfnames, name) == table, f"{name} differs: regenerate (see module doc)"


def test_well_known_spellings() -> None:
    assert elfnames.MACHINES[62] == "EM_X86_64"
    assert elfnames.MACHINES[183] == "EM_AARCH64"
    assert elfnames.SECTION_TYPES[8] == "SHT_NOBITS"
    assert elfnames.SEGMENT_TYPES[3] == "PT_INTERP"


if __name__ == "__main__":
    print(module_text(), end="")
