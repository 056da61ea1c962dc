"""The Go release as an axis: toolchain = [...] builds each variant with each release
(GOTOOLCHAIN), ids gain the release, and compare says what the upgrade costs per package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt

OLD = "go1.20.14"  # fetched through the module proxy the first time (test_inspect does too)


def local_release(go: str) -> str:
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def project(tmp_path: Path, releases: list[str], extra: str = "") -> Path:
    root = tmp_path / "project"
    (root / "profiles").mkdir(parents=True)
    shutil.copytree(REPO / "tests" / "go" / "hello", root / "hello")
    # go 1.18: old enough for every release used here
    (root / "hello" / "go.mod").write_text("module example.com/hello\n\ngo 1.18\n")
    (root / "profiles" / "p.toml").write_text(
        'package = "./hello"\n[variants.default]\ncgo = false\n'
        '[variants.small]\ncgo = false\nstrip = "all"\n'
        f"[matrix]\ntoolchain = {json.dumps(releases)}\n{extra}"
    )
    return root


def test_each_variant_is_built_by_each_release(go: str, tmp_path: Path) -> None:
    new = local_release(go)
    root = project(tmp_path, [OLD, new])
    plan = json.loads(buildopt(["plan", "--profile", "p", "--json"], cwd=root).stdout)
    ids = [s["id"] for s in plan["steps"]]
    assert ids == [
        f"default@linux-amd64@{OLD}",
        f"default@linux-amd64@{new}",
        f"small@linux-amd64@{OLD}",
        f"small@linux-amd64@{new}",
    ]
    assert {s["env"]["GOTOOLCHAIN"] for s in plan["steps"]} == {OLD, new}
    done = buildopt(["build", "--profile", "p", "--json"], cwd=root)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    jsonschema.validate(record, load_schema("buildopt.build/1"))
    for build in record["builds"]:
        release = build["id"].rsplit("@", 1)[1]
        # go version, the independent reference: the binary was built by that release
        said = subprocess.run(
            [go, "version", build["output"]], capture_output=True, text=True, check=True
        ).stdout
        assert said.split(": ", 1)[1].strip() == release, said
        assert build["output"].endswith(f"/linux-amd64@{release}/hello")
        assert "go" in build["verification"]["checked"]
    compared = buildopt(["compare", "--profile", "p", "--json"], cwd=root)
    result = json.loads(compared.stdout)
    jsonschema.validate(result, load_schema("buildopt.compare/1"))
    # within a release, variants against the baseline of that release
    rows = {r["id"]: r for r in result["variants"]}
    assert rows[f"small@linux-amd64@{OLD}"]["baseline"] == f"default@linux-amd64@{OLD}"
    # across releases, each variant against the first release listed
    upgrades = {u["to"]: u for u in result["upgrades"]}
    assert set(upgrades) == {f"default@linux-amd64@{new}", f"small@linux-amd64@{new}"}
    up = upgrades[f"default@linux-amd64@{new}"]
    sizes = {b["id"]: os.stat(b["output"]).st_size for b in record["builds"]}
    assert up["delta"]["size"] == sizes[up["to"]] - sizes[up["from"]]
    runtime = next(p for p in up["packages"] if p["package"] == "runtime")
    assert runtime["delta"] == runtime["new"] - runtime["old"] != 0
    table = buildopt(["compare", "--profile", "p"], cwd=root)
    assert "Go releases: what the upgrade costs" in table.stdout
    assert f"default@linux-amd64@{new}" in table.stdout


def test_a_release_go_cannot_fetch_is_said_before_the_builds(go: str, tmp_path: Path) -> None:
    root = project(tmp_path, ["go1.99.99"])
    done = buildopt(["build", "--profile", "p"], cwd=root)
    assert done.returncode == 1
    assert "fetching go1.99.99 through the Go module proxy (once)..." in done.stderr
    assert "warning: go1.99.99: go cannot download it: " in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("releases", "extra", "message"),
    [
        (["1.24"], "", "matrix.toolchain: '1.24' is not a Go release like 'go1.24.13'"),
        ([OLD, OLD], "", "toolchain: expected distinct Go releases"),
        (
            [OLD],
            'cgo = [true, false]\nexclude = [{ toolchain = "go1.20.14" }]\n',
            "matrix.exclude: toolchain applies to every variant",
        ),
    ],
)
def test_bad_releases_are_one_line(
    tmp_path: Path, releases: list[str], extra: str, message: str
) -> None:
    root = project(tmp_path, releases, extra)
    done = buildopt(["plan", "--profile", "p"], cwd=root)
    assert done.returncode == 2
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_advise_builds_a_newer_release_for_real(go: str, tmp_path: Path) -> None:
    """A variant built with an older Go is offered the newer release as a lever, built for
    real: its figures are those of the same go build by hand with GOTOOLCHAIN set so."""
    import hashlib

    new = local_release(go)
    root = project(tmp_path, [OLD])
    done = buildopt(
        ["advise", "-p", "p", "--variant", "small", "--toolchain", new, "--json"], cwd=root
    )
    assert done.returncode == 0, done.stderr
    advice = json.loads(done.stdout)
    assert advice["base_id"] == f"small@linux-amd64@{OLD}"
    row = next(r for r in advice["levers"] if r["lever"] == new)
    assert row["status"] == "ok" and row["env"]["GOTOOLCHAIN"] == new, row
    out = tmp_path / "by-hand"
    argv = list(row["argv"])
    argv[argv.index("-o") + 1] = str(out)
    subprocess.run(argv, cwd=root / "hello", env={**os.environ, **row["env"]}, check=True)
    blob = out.read_bytes()
    assert row["figures"]["size"] == len(blob)
    assert row["figures"]["sha256"] == hashlib.sha256(blob).hexdigest()
    said = subprocess.run([go, "version", str(out)], capture_output=True, text=True, check=True)
    assert said.stdout.split()[-1] == new  # go version: built by the newer release
    assert row["saved_bytes"] == advice["base"]["size"] - len(blob)
