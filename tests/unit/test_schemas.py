"""The shipped JSON Schemas are what the models generate, and they check what they should."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import msgspec
import pytest

from buildopt.binary.facts import InspectFailure, InspectReport
from buildopt.names import CATEGORIES
from buildopt.output import schemas
from tests.conftest import REPO
from tests.records import build, inspection, record

SHIPPED = REPO / "buildopt" / "schemas"


@pytest.mark.parametrize("schema_id", sorted(schemas.DOCUMENTS))
def test_the_shipped_schema_is_what_the_models_generate(schema_id: str) -> None:
    shipped = (SHIPPED / schemas.SCHEMAS[schema_id]).read_text()
    assert shipped == schemas.text(schema_id), (
        f"{schemas.SCHEMAS[schema_id]} is not what the models generate: run `invoke schemas`"
    )


def test_every_shipped_schema_has_a_model() -> None:
    assert {p.name for p in SHIPPED.glob("*.json")} == set(schemas.SCHEMAS.values())


@pytest.mark.parametrize("schema_id", sorted(schemas.DOCUMENTS))
def test_a_schema_names_its_document_and_version(schema_id: str) -> None:
    schema = schemas.load_schema(schema_id)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"-{schema_id.rsplit('/', 1)[1]}.json")
    assert schema["properties"]["schema"] == {"const": schema_id}
    assert "schema" in schema["required"]


def test_write_regenerates_a_changed_schema(tmp_path: object) -> None:
    from pathlib import Path

    directory = Path(str(tmp_path))
    assert len(schemas.write(directory)) == len(schemas.DOCUMENTS)
    (directory / "gate.schema.json").write_text("{}\n")
    assert schemas.write(directory) == [directory / "gate.schema.json"]
    assert schemas.write(directory) == []


def _errors(schema_id: str, document: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(schemas.load_schema(schema_id))
    return [error.message for error in validator.iter_errors(document)]


def _built() -> dict[str, object]:
    facts = inspection(1000, totals=dict.fromkeys(CATEGORIES, 0))
    plain: dict[str, object] = json.loads(
        msgspec.json.encode(record(build("static@linux-amd64", facts, sha256="a" * 64)))
    )
    return plain


def test_the_record_schema_checks_what_the_model_constrains() -> None:
    good: Any = _built()
    assert _errors("buildopt.build/1", good) == []
    good["builds"][0]["sha256"] = "not a digest"
    good["builds"][0]["inspect"]["size"] = -1
    assert len(_errors("buildopt.build/1", good)) == 2


def test_an_inspect_entry_is_facts_or_a_failure_not_both() -> None:
    facts = _built()["builds"][0]["inspect"]  # type: ignore[index]
    failure = json.loads(msgspec.json.encode(InspectFailure(path="x", error="x: not ELF")))
    document = {"schema": "buildopt.inspect/1", "binaries": [facts, failure]}
    assert _errors("buildopt.inspect/1", document) == []
    assert _errors("buildopt.inspect/1", {**document, "binaries": [{"path": "x"}]})
    report = InspectReport(
        schema="buildopt.inspect/1", binaries=(msgspec.Raw(msgspec.json.encode(failure)),)
    )
    assert json.loads(msgspec.json.encode(report))["binaries"] == [failure]


def test_a_record_of_a_development_toolchain_is_read() -> None:
    """The schema's "^go" is for published releases; GOVERSION of a toolchain built from
    source is "devel go1.27-..." - its records are read all the same."""
    from buildopt.record import store

    data: Any = _built()
    data["go"]["version"] = "devel go1.27-4f7a3b2 Mon Dec 7 2026"
    assert store.decode(json.dumps(data).encode(), "build.json").go.version.startswith("devel")
