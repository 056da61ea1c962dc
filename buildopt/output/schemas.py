"""The JSON Schemas of buildopt's machine-readable outputs, generated from their models.

The models (msgspec Structs, their ``Meta`` annotations) are the source; ``buildopt/schemas/``
ships what they generate, for users to read and validate with. Regenerate after changing a
model: ``invoke schemas`` (or ``python -m buildopt.output.schemas --write``); a test fails
while a shipped file differs from what the models generate."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from buildopt.analysis.compare import CompareReport, RecordsReport
from buildopt.analysis.layouts import LayoutsReport
from buildopt.binary.facts import InspectFailure, Inspection, InspectReport
from buildopt.output.gate import GateReport
from buildopt.pipeline.plan import PlanReport
from buildopt.record.advice import AdviceReport
from buildopt.record.images import ImageRecord
from buildopt.record.model import DiffReport, Record, ScanReport, StartupReport, WhyReport
from buildopt.record.sweep import SweepReport

DRAFT = "https://json-schema.org/draft/2020-12/schema"
WIDTH = 100  # the shipped files' lines, as the code's


class Document(msgspec.Struct, frozen=True):
    """A JSON document buildopt writes: its model and the file its schema ships in."""

    model: type[msgspec.Struct]
    file: str
    title: str
    also: tuple[type[msgspec.Struct], ...] = ()  # models its schema names beyond its fields

    def url(self, schema_id: str) -> str:
        """``$id``: the file's name and the document's version (``gate-1.json``)."""
        name, version = self.file.removesuffix(".schema.json"), schema_id.rsplit("/", 1)[1]
        return f"https://buildopt.dev/schemas/{name}-{version}.json"


# By the value of the documents' ``schema`` field.
DOCUMENTS = {
    "buildopt.build/1": Document(Record, "build-record.schema.json", "buildopt build record"),
    "buildopt.plan/1": Document(PlanReport, "plan.schema.json", "buildopt plan"),
    "buildopt.inspect/1": Document(
        InspectReport, "inspect.schema.json", "buildopt inspect", (Inspection, InspectFailure)
    ),
    "buildopt.compare/1": Document(
        CompareReport, "compare.schema.json", "buildopt compare (variants against the baseline)"
    ),
    "buildopt.compare-records/2": Document(
        RecordsReport, "compare-records.schema.json", "buildopt compare OLD.json NEW.json"
    ),
    "buildopt.diff/1": Document(DiffReport, "diff.schema.json", "buildopt diff"),
    "buildopt.why/1": Document(WhyReport, "why.schema.json", "buildopt why"),
    "buildopt.gate/1": Document(GateReport, "gate.schema.json", "buildopt gate"),
    "buildopt.startup/1": Document(StartupReport, "startup.schema.json", "buildopt startup"),
    "buildopt.scan/1": Document(ScanReport, "scan.schema.json", "buildopt scan"),
    "buildopt.image/1": Document(ImageRecord, "image.schema.json", "buildopt image record"),
    "buildopt.layouts/1": Document(
        LayoutsReport, "layouts.schema.json", "buildopt image --compare SEPARATE COMBINED"
    ),
    "buildopt.advice/1": Document(AdviceReport, "advice.schema.json", "buildopt advise"),
    "buildopt.sweep/1": Document(SweepReport, "sweep.schema.json", "buildopt sweep"),
}
SCHEMAS = {schema_id: document.file for schema_id, document in DOCUMENTS.items()}


def generate(schema_id: str) -> dict[str, Any]:
    """The JSON Schema of a document from its model: its object on top, what it holds in $defs."""
    document = DOCUMENTS[schema_id]
    (_, *_), components = msgspec.json.schema_components(
        (document.model, *document.also), ref_template="#/$defs/{name}"
    )
    top = components.pop(document.model.__name__)
    top["title"] = document.title
    top["properties"]["schema"] = {"const": schema_id}
    head = {"$schema": DRAFT, "$id": document.url(schema_id)}
    return {**head, **top, **({"$defs": components} if components else {})}


def text(schema_id: str) -> str:
    """The shipped file's text: indented, but what fits in a line on one line, for reading."""
    return _folded(generate(schema_id), "") + "\n"


def _folded(value: object, indent: str, key: str = "") -> str:
    """value as JSON after indent and key: on one line when it fits, else one item a line."""
    flat = key + json.dumps(value, ensure_ascii=False)
    if len(indent) + len(flat) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, list):
        items = [inner + _folded(v, inner) for v in value]
    else:
        items = [inner + _folded(v, inner, f"{json.dumps(k)}: ") for k, v in value.items()]
    ends = "[]" if isinstance(value, list) else "{}"
    return key + ends[0] + "\n" + ",\n".join(items) + f"\n{indent}{ends[1]}"


def load_schema(schema_id: str) -> dict[str, Any]:
    """The JSON Schema of an output, by the value of its ``schema`` field."""
    shipped = (resources.files("buildopt") / "schemas" / SCHEMAS[schema_id]).read_text()
    data: dict[str, Any] = json.loads(shipped)
    return data


def write(directory: Path) -> list[Path]:
    """Write every schema into directory; returns the files whose text changed."""
    changed = []
    for schema_id, document in DOCUMENTS.items():
        path = directory / document.file
        new = text(schema_id)
        if not path.is_file() or path.read_text() != new:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str]) -> int:
    """``python -m buildopt.output.schemas --write``: regenerate the shipped schemas."""
    if argv != ["--write"]:
        print("usage: python -m buildopt.output.schemas --write", file=sys.stderr)
        return 2
    for path in write(Path(__file__).parent.parent / "schemas"):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
