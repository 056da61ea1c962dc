"""The compression formats and size categories are named once (buildopt.names); what is kept
per name elsewhere - a field of the fact, the tool's argv, the cost, the schema - covers exactly
those."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec

import buildopt
from buildopt.binary.compressed import SIZERS
from buildopt.binary.facts import CompressedSizes
from buildopt.config.budgets import ImageBudget
from buildopt.names import CATEGORIES, COMPRESSORS, FORMAT_COMMANDS, FORMATS


def test_every_table_kept_per_format_covers_the_formats() -> None:
    assert set(FORMATS) == {"gzip", "xz", "zstd"}
    assert set(FORMAT_COMMANDS) == set(COMPRESSORS) == set(SIZERS) == set(FORMATS)
    assert set(FORMATS) <= set(CompressedSizes.__struct_fields__)
    assert all(FORMAT_COMMANDS[f].split()[0] == COMPRESSORS[f].argv[0] == f for f in FORMATS)


def test_an_image_compressor_is_one_of_the_formats() -> None:
    (field,) = [f for f in msgspec.structs.fields(ImageBudget) if f.name == "compressor"]
    assert field.default in FORMATS


def test_the_inspect_schema_requires_every_category() -> None:
    schema = json.loads(
        (Path(buildopt.__file__).parent / "schemas/inspect.schema.json").read_text()
    )
    assert _find(schema, "totals")["required"] == list(CATEGORIES)


def _find(node: object, key: str) -> dict[str, object]:
    """The first object under key anywhere in node."""
    if isinstance(node, dict):
        if key in node and isinstance(node[key], dict) and "required" in node[key]:
            return node[key]
        for value in node.values():
            found = _find(value, key)
            if found:
                return found
    if isinstance(node, list):
        for value in node:
            found = _find(value, key)
            if found:
                return found
    return {}
