"""The JSON Schemas shipped with buildopt for its machine-readable outputs."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

SCHEMAS = {
    "buildopt.build/1": "build-record.schema.json",
    "buildopt.plan/1": "plan.schema.json",
    "buildopt.inspect/1": "inspect.schema.json",
    "buildopt.compare/1": "compare.schema.json",
    "buildopt.compare-records/2": "compare-records.schema.json",
    "buildopt.diff/1": "diff.schema.json",
    "buildopt.why/1": "why.schema.json",
    "buildopt.gate/1": "gate.schema.json",
    "buildopt.startup/1": "startup.schema.json",
    "buildopt.scan/1": "scan.schema.json",
    "buildopt.image/1": "image.schema.json",
}


def load_schema(schema_id: str) -> dict[str, Any]:
    """The JSON Schema of an output, by the value of its ``schema`` field."""
    text = (resources.files("buildopt") / "schemas" / SCHEMAS[schema_id]).read_text()
    data: dict[str, Any] = json.loads(text)
    return data
