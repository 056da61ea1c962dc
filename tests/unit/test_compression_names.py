"""The compression formats are named once (buildopt.compression); what is kept per format
elsewhere - a field of the fact, the tool's argv, the cost - covers exactly those."""

from __future__ import annotations

from buildopt.binary.facts import CompressedSizes
from buildopt.compression import COMMANDS, FORMATS
from buildopt.config.budgets import ImageBudget
from buildopt.pipeline.compress import CLI_ARGV, COST


def test_every_table_kept_per_format_covers_the_formats() -> None:
    assert set(FORMATS) == {"gzip", "xz", "zstd"}
    assert set(COMMANDS) == set(CLI_ARGV) == set(COST) == set(FORMATS)
    assert set(FORMATS) <= set(CompressedSizes.__struct_fields__)
    assert all(COMMANDS[f].split()[0] == CLI_ARGV[f][0] == f for f in FORMATS)


def test_an_image_compressor_is_one_of_the_formats() -> None:
    assert ImageBudget.__dataclass_fields__["compressor"].default in FORMATS
