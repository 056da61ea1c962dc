"""Build the example service with the shipped profile and check every fact independently."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.integration.conftest import buildopt, go_version_m, readelf, system_tool_missing

pytestmark = pytest.mark.integration

SELECTED = [
    "default@linux-amd64",
    "static@linux-amd64",
    "static-stripped@linux-amd64",
    "external-static@linux-amd64",
    "static-stripped@linux-arm64",
    "static@linux-arm-v7",
    "*@linux-arm64",  # pulls in the cgo variants for arm64: skipped without a cross compiler
]


@pytest.fixture(scope="module")
def built(go: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dist = tmp_path_factory.mktemp("dist")
    args = ["build", "--profile", "telecom-edge", "--dist", str(dist), "--json"]
    for pattern in SELECTED:
        args += ["--variant", pattern]
    done = buildopt(args)
    assert done.returncode == 0, done.stderr
    record: dict[str, Any] = json.loads(done.stdout)
    record["_stderr"] = done.stderr
    record["_file"] = dist / "telecom-edge" / "build.json"
    return record


def by_id(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in record["builds"]}


def test_record_is_valid_and_written(built: dict[str, Any]) -> None:
    on_disk = json.loads(built["_file"].read_text())
    assert on_disk["builds"] == built["builds"]
    jsonschema.validate(on_disk, load_schema("buildopt.build/1"))
    assert on_disk["profile"]["name"] == "telecom-edge"
    assert on_disk["profile"]["baseline"] == "default"


def test_selected_variants_built_and_ordered(built: dict[str, Any]) -> None:
    ids = [b["id"] for b in built["builds"]]
    assert ids[:2] == ["default@linux-amd64", "default@linux-arm64"]  # profile order
    builds = by_id(built)
    for sid in SELECTED[:-1]:
        assert builds[sid]["status"] == "ok", builds[sid]
    assert builds["static@linux-arm64"]["status"] == "ok"
    for sid in ("default@linux-arm64", "external-static@linux-arm64"):
        b = builds[sid]
        if shutil.which("aarch64-linux-gnu-gcc"):
            assert b["status"] == "ok"
        else:
            assert b["status"] == "skipped"
            assert "aarch64-linux-gnu-gcc is not on PATH" in b["reason"]
    if not shutil.which("aarch64-linux-gnu-gcc") and os.environ.get("CI") == "true":
        system_tool_missing("aarch64-linux-gnu-gcc, to cross-compile cgo", "gcc-aarch64-linux-gnu")


def test_sizes_and_hashes_match_the_files(built: dict[str, Any]) -> None:
    for b in built["builds"]:
        if b["status"] != "ok":
            continue
        data = Path(b["output"]).read_bytes()
        assert b["size"] == len(data)
        assert b["sha256"] == hashlib.sha256(data).hexdigest()
        assert Path(b["output"]).parent.name == b["id"].split("@")[1]


def test_settings_agree_with_go_version_m(go: str, built: dict[str, Any]) -> None:
    for b in built["builds"]:
        if b["status"] != "ok":
            continue
        reference = go_version_m(go, Path(b["output"]))
        assert b["go_settings"] == reference, b["id"]
        assert b["verification"]["ok"] and not b["verification"]["problems"]


def test_binaries_carry_the_variant_flags(go: str, built: dict[str, Any]) -> None:
    builds = by_id(built)
    stripped = go_version_m(go, Path(builds["static-stripped@linux-amd64"]["output"]))
    assert stripped["-tags"] == "lazyinit" and stripped["CGO_ENABLED"] == "0"
    assert stripped["-trimpath"] == "true"
    ext = go_version_m(go, Path(builds["external-static@linux-amd64"]["output"]))
    assert ext["-tags"] == "netgo,osusergo" and ext["CGO_ENABLED"] == "1"
    arm = go_version_m(go, Path(builds["static@linux-arm-v7"]["output"]))
    assert (arm["GOARCH"], arm["GOARM"]) == ("arm", "7")


def test_linking_and_stripping_per_readelf(built: dict[str, Any]) -> None:
    builds = by_id(built)

    def out(sid: str) -> str:
        return str(builds[sid]["output"])

    dynamic = readelf("-l", "-d", out("default@linux-amd64"))
    assert "Requesting program interpreter" in dynamic and "libc.so.6" in dynamic
    for sid in ("static@linux-amd64", "external-static@linux-amd64"):
        assert "Requesting program interpreter" not in readelf("-l", out(sid)), sid
    assert ".symtab" in readelf("-S", out("static@linux-amd64"))
    sections = readelf("-S", out("static-stripped@linux-amd64"))
    assert ".symtab" not in sections and ".debug_" not in sections
    assert "AArch64" in readelf("-h", out("static-stripped@linux-arm64"))
    if builds["default@linux-arm64"]["status"] == "ok":  # cross cgo with aarch64-linux-gnu-gcc
        cross = readelf("-l", "-d", out("default@linux-arm64"))
        assert "/lib/ld-linux-aarch64.so.1" in cross and "libc.so.6" in cross
        assert builds["default@linux-arm64"]["env"]["CC"] == "aarch64-linux-gnu-gcc"
    header = readelf("-h", out("static@linux-arm-v7"))
    assert "ARM" in header and "ELF32" in header


def test_amd64_binaries_run_with_the_x_value(built: dict[str, Any]) -> None:
    builds = by_id(built)
    for sid, mode in (
        ("default@linux-amd64", "init=eager"),
        ("static-stripped@linux-amd64", "init=lazy"),
    ):
        line = subprocess.run(
            [builds[sid]["output"], "--check"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
        assert line.startswith("ready version=1.4.2 mode=check"), line
        assert mode in line
    eager = subprocess.run(
        [builds["default@linux-amd64"]["output"], "--check"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "gomaxprocs=64" in eager  # the legacy init() really pins GOMAXPROCS


def test_no_temporary_files_left(built: dict[str, Any]) -> None:
    dist = built["_file"].parent
    assert not [p for p in dist.rglob("*") if ".buildopt-tmp-" in p.name]


def test_plan_json_is_valid_and_matches_the_build(built: dict[str, Any]) -> None:
    done = buildopt(
        ["plan", "--profile", "telecom-edge", "--json", "--dist", str(built["_file"].parent.parent)]
    )
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    jsonschema.validate(plan, load_schema("buildopt.plan/1"))
    steps = {s["id"]: s for s in plan["steps"]}
    for b in built["builds"]:
        if b["status"] == "ok":
            assert steps[b["id"]]["argv"] == b["argv"]
            assert steps[b["id"]]["env"] == b["env"]
    assert len(plan["steps"]) + len(plan["skipped"]) == 12


def test_scan_results_per_variant_tags(built: dict[str, Any]) -> None:
    """[scan] enabled: the legacy variants carry the GOMAXPROCS finding, lazyinit ones do not."""
    builds = by_id(built)
    legacy = builds["default@linux-amd64"]["scan"]
    assert legacy["counts"]["error"] == 1
    (error,) = [f for f in legacy["findings"] if f["severity"] == "error"]
    assert (error["file"], error["line"], error["rule"]) == (
        "init_legacy.go",
        15,
        "gomaxprocs-constant",
    )
    assert builds["static-stripped@linux-amd64"]["scan"]["findings"] == []


def test_compare_explains_each_variant(built: dict[str, Any]) -> None:
    done = buildopt(["compare", str(built["_file"]), "--json"])
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    jsonschema.validate(result, load_schema("buildopt.compare/1"))
    rows = {v["id"]: v for v in result["variants"]}
    stripped = rows["static-stripped@linux-amd64"]
    assert stripped["baseline"] == "default@linux-amd64"
    builds = by_id(built)
    assert stripped["delta"]["size"] == (
        builds["static-stripped@linux-amd64"]["size"] - builds["default@linux-amd64"]["size"]
    )
    lines = stripped["explanation"]
    assert any(line.startswith("-w: DWARF -") for line in lines)
    assert any(line.startswith("-s: .symtab .strtab -") for line in lines)
    assert any("now static, libc.so.6 dropped" in line for line in lines)
    people = buildopt(["compare", str(built["_file"])])
    assert "-s: .symtab .strtab" in people.stdout and "variants against default" in people.stdout


def test_the_scan_findings_of_a_build_are_shown(built: dict[str, Any]) -> None:
    """A scan error found during build (runtime.GOMAXPROCS(64)) was stored in the record and
    never shown. With --json the table and the findings go to stderr, after the results."""
    out = built["_stderr"]
    assert "runtime.GOMAXPROCS(64) in init()" in out
    assert out.index("build results") < out.index("scan of default@linux-amd64")
