"""A record whose values break the models' constraints (the same the JSON Schemas state) is
refused with one line naming the file and the JSON path, exit 2 - not read as if it were true."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from buildopt.names import CATEGORIES
from tests.faults.conftest import buildopt
from tests.records import build, inspection, record


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        (("size",), -1, "builds[0].size: expected an integer >= 0"),
        (
            ("inspect", "totals", "code"),
            -5,
            "builds[0].inspect.totals[...]: expected an integer >= 0",
        ),
        (("wall_seconds",), -0.5, "builds[0].wall_seconds: expected a number >= 0"),
    ],
)
def test_a_value_the_model_forbids_is_one_line(
    tmp_path: Path, path: tuple[str, ...], value: object, said: str
) -> None:
    facts = inspection(1000, totals=dict.fromkeys(CATEGORIES, 0))
    data: Any = json.loads(msgspec.json.encode(record(build("s@linux-amd64", facts))))
    entry = data["builds"][0]
    for key in path[:-1]:
        entry = entry[key]
    entry[path[-1]] = value
    file = tmp_path / "build.json"
    file.write_text(json.dumps(data))
    done = buildopt(["compare", str(file), "--json"], cwd=tmp_path)
    assert done.returncode == 2, done.stdout
    assert done.stderr == f"error: {file}: {said}" + done.stderr.split(said, 1)[1]
    assert done.stderr.count("\n") == 1 and not done.stdout
