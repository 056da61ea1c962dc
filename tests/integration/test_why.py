"""buildopt why: the import chain go list resolves for a variant, and its cost from the
record."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.integration.conftest import buildopt, hello_project

pytestmark = pytest.mark.integration

PROFILE = (
    'package = "./hello"\ntargets = ["linux/amd64"]\nbaseline = "cgo"\n'
    "[variants.cgo]\ncgo = true\n"
    '[variants.pure]\ncgo = false\ntags = ["osusergo"]\n'
)


def test_the_chain_follows_the_variants_tags_and_cgo(tmp_path: Path) -> None:
    """os/user's cgo lookups import runtime/cgo only with cgo on and without osusergo: the
    chain is what that variant's go build compiles."""
    project = hello_project(tmp_path, PROFILE)
    done = buildopt(["why", "runtime/cgo", "--profile", "p", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    (cgo,) = json.loads(done.stdout)["variants"]
    assert cgo["id"] == "cgo@linux-amd64"
    assert cgo["chain"][0] == "example.com/hello" and cgo["chain"][-1] == "runtime/cgo"
    assert cgo["cost"] is None  # nothing built yet
    pure = buildopt(
        ["why", "runtime/cgo", "--profile", "p", "--variant", "pure@*", "--json"], cwd=project
    )
    assert pure.returncode == 1
    assert json.loads(pure.stdout)["variants"][0]["chain"] is None


def test_the_cost_comes_from_the_record(tmp_path: Path) -> None:
    project = hello_project(tmp_path, PROFILE)
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    done = buildopt(["why", "os/user", "--profile", "p", "--variant", "pure@*"], cwd=project)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:3] == [
        "pure@linux-amd64:",
        "  example.com/hello",
        "    imports os/user",
    ]
    assert "costs " in done.stdout and "\n  its module std:" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80  # was ~120, one line
    record = json.loads((project / "dist" / "p" / "build.json").read_text())
    pure = next(b for b in record["builds"] if b["id"] == "pure@linux-amd64")
    share = next(
        p for p in pure["inspect"]["attribution"]["by_package"] if p["package"] == "os/user"
    )
    data = json.loads(
        buildopt(
            ["why", "os/user", "--profile", "p", "--variant", "pure@*", "--json"], cwd=project
        ).stdout
    )
    jsonschema.validate(data, load_schema("buildopt.why/1"))
    assert data["variants"][0]["cost"]["bytes"] == share["file_bytes"]
    assert data["variants"][0]["cost"]["module"]["module"] == "std"


def test_a_typo_is_exit_1_with_the_near_names(tmp_path: Path) -> None:
    project = hello_project(tmp_path, PROFILE)
    done = buildopt(["why", "os/usr", "--profile", "p"], cwd=project)
    assert done.returncode == 1
    assert "os/usr is not in this variant's build; did you mean os/user" in done.stdout
    empty = buildopt(["why", "--profile", "p"], cwd=project)
    assert empty.returncode == 2 and "name the package" in empty.stderr
