"""Names that config and binary both need, defined once.

config reads them in profiles (a budget's ``max_compressed`` and ``max_category``, an image's
``compressor``), binary measures by them; the layers forbid either importing the other
(pyproject.toml's contracts), so the names live here, shared by all stages as errors.py and
inputs.py are. Every other list of them is derived from these.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args


class Compressor(NamedTuple):
    """A compression format: the command each of its sizes equals, as people read it; the
    installed tool's argv writing the same bytes to stdout (``--compressor-cli``); and its CPU
    cost relative to the others (the slowest start first, so that the workers end together)."""

    command: str
    argv: tuple[str, ...]
    cost: int


# The compression formats a file is measured in: each size is the exact output of the command
# (buildopt.binary.compressed computes it with the library the tool is built on). xz 5.6
# compresses in threads by default, which changes its output: -T1 as before.
Format = Literal["gzip", "xz", "zstd"]
COMPRESSORS: dict[str, Compressor] = {
    "gzip": Compressor("gzip -9 -n", ("gzip", "-9", "-n", "-c"), cost=1),
    "xz": Compressor("xz -9e", ("xz", "-9e", "-T1", "-c"), cost=3),
    "zstd": Compressor("zstd -19", ("zstd", "-19", "-q", "-c"), cost=2),
}
FORMATS: tuple[Format, ...] = get_args(Format)
FORMAT_COMMANDS: dict[str, str] = {name: c.command for name, c in COMPRESSORS.items()}

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
