"""Names that config and binary both need, defined once.

config reads them in profiles (a budget's ``max_compressed`` and ``max_category``, an image's
``compressor``), binary measures by them; the layers forbid either importing the other
(pyproject.toml's contracts), so the names live here, shared by all stages as errors.py and
inputs.py are. Every other list of them is derived from these.
"""

from __future__ import annotations

from typing import Literal, get_args

# The compression formats a file is measured in: each size is the exact output of the command
# (buildopt.binary.compressed says how).
Format = Literal["gzip", "xz", "zstd"]
FORMATS: tuple[Format, ...] = get_args(Format)
FORMAT_COMMANDS: dict[str, str] = {"gzip": "gzip -9 -n", "xz": "xz -9e", "zstd": "zstd -19"}

# What an ELF file's bytes are counted as (buildopt.binary.inspect.totals, in this order, the
# order of a record's totals); all but bss add up to the file size.
CATEGORIES = (
    "code",
    "rodata",
    "data",
    "gometa",
    "symtab",
    "dwarf",
    "dynamic",
    "other",
    "headers",
    "padding",
    "bss",
)
