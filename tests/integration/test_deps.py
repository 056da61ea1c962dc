"""buildopt deps and the gate's dependency lists, on real builds for amd64, arm64 and arm/v7:
each list agrees with go list -deps run here with the same GOOS, GOARCH, GOARM, CGO_ENABLED
and tags, and its module versions with `go version -m` of the built binary."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.integration.conftest import buildopt

pytestmark = pytest.mark.integration

TARGETS = {  # id's target -> the environment go build gets for it
    "linux-amd64": {"GOOS": "linux", "GOARCH": "amd64"},
    "linux-arm64": {"GOOS": "linux", "GOARCH": "arm64"},
    "linux-arm-v7": {"GOOS": "linux", "GOARCH": "arm", "GOARM": "7"},
}
PROFILE = """package = "./app"
targets = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
baseline = "lean"
[variants.lean]
cgo = false
strip = "all"
"""
MAIN = """package main

import (
\t"fmt"

\t"golang.org/x/sys/cpu"
)

func main() { fmt.Println("ready", cpu.CacheLinePad{}) }
"""
EXTRA = 'package main\n\nimport "encoding/json"\n\nvar _, _ = json.Marshal(1)\n'
SYS = "golang.org/x/sys"
SYS_VERSION = "v0.42.0"  # in the module cache of this machine (and the CI image)


def _project(tmp_path: Path, go: str) -> Path:
    """A module that needs golang.org/x/sys, with profile p: three targets, nothing built."""
    project = tmp_path / "project"
    app = project / "app"
    app.mkdir(parents=True)
    (project / "profiles").mkdir()
    (project / "profiles" / "p.toml").write_text(PROFILE)
    (app / "go.mod").write_text(
        f"module example.com/depsapp\n\ngo 1.22\n\nrequire {SYS} {SYS_VERSION}\n"
    )
    (app / "main.go").write_text(MAIN)
    offline = {**os.environ, "GOPROXY": "off", "GOSUMDB": "off", "GOFLAGS": "-mod=mod"}
    done = subprocess.run(
        [go, "mod", "tidy"], cwd=app, env=offline, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"{SYS}@{SYS_VERSION} not in the module cache: {done.stderr}")
    return project


def _go_list(go: str, app: Path, env: dict[str, str]) -> set[str]:
    """The independent answer: go list -deps with the target's environment, cgo off."""
    out = subprocess.run(
        [go, "list", "-deps", "-f", "{{.ImportPath}}", "."],
        cwd=app,
        env={**os.environ, **env, "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def _version_m(go: str, binary: Path) -> tuple[str, set[tuple[str, str]]]:
    """`go version -m`: the main module's path, and the (path, version) of each dependency."""
    out = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.strip().split("\t") for line in out.splitlines()[1:]]
    main = next(r[1] for r in rows if r[0] == "mod")
    return main, {(r[1], r[2]) for r in rows if r[0] == "dep"}


def _lines(path: Path) -> list[str]:
    return [x for x in path.read_text().splitlines() if x and not x.startswith("#")]


def test_each_list_is_what_go_list_and_go_version_m_say_on_three_architectures(
    tmp_path: Path, go: str
) -> None:
    project = _project(tmp_path, go)
    app = project / "app"
    written = buildopt(["deps", "--update"], cwd=app)  # from a folder below the root
    assert written.returncode == 0, written.stderr
    assert buildopt(["build"], cwd=project).returncode == 0
    for target, env in TARGETS.items():
        vid = f"lean@{target}"
        listed = project / "deps" / "p" / f"{vid}.txt"
        assert f"wrote   deps/p/{vid}.txt" in written.stdout
        lines = _lines(listed)
        assert lines == sorted(lines)
        packages = {line.split(" ")[0] for line in lines}
        assert packages == _go_list(go, app, env), target
        main, modules = _version_m(go, project / "dist" / "p" / "lean" / target / "app")
        versioned = {tuple(x.split(" ")[1].split("@")) for x in lines if "@" in x}
        assert versioned == modules == {(SYS, SYS_VERSION)}, target
        assert f"{main} {main}" in lines  # the main module: its path, no version
        assert "runtime" in lines and "golang.org/x/sys/cpu" in packages  # std: the path alone
    done = buildopt(["deps"], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("current deps/p/") == 3


def test_deps_exits_1_while_a_list_is_missing_stale_or_left_over(tmp_path: Path, go: str) -> None:
    project = _project(tmp_path, go)
    missing = buildopt(["deps"], cwd=project)
    assert missing.returncode == 1
    assert "missing deps/p/lean@linux-arm-v7.txt" in missing.stdout
    assert buildopt(["deps", "--update"], cwd=project).returncode == 0
    (project / "app" / "extra.go").write_text(EXTRA)
    left = project / "deps" / "p" / "gone@linux-amd64.txt"
    left.write_text("runtime\n")
    stale = buildopt(["deps", "--variant", "*@linux-arm64"], cwd=project)
    assert stale.returncode == 1
    assert "stale   deps/p/lean@linux-arm64.txt: 5 new, 0 left, 0 changed" in stale.stdout
    assert "  + encoding/json\n" in stale.stdout and "left over" not in stale.stdout
    whole = buildopt(["deps"], cwd=project)
    assert whole.returncode == 1 and "left over deps/p/gone@linux-amd64.txt" in whole.stdout
    assert buildopt(["deps", "--update"], cwd=project).returncode == 0
    assert not left.exists()
    assert buildopt(["deps"], cwd=project).returncode == 0


def test_the_gate_fails_on_a_new_package_with_its_chain_and_cost(tmp_path: Path, go: str) -> None:
    """The cost of a new package is what removing it saves, as why estimates it (the packages
    only it brings in): more than what the new packages own, less than the real growth (the
    functions it reaches in packages already linked: docs/budgets.md)."""
    project = _project(tmp_path, go)
    assert buildopt(["deps", "--update"], cwd=project).returncode == 0
    arm = ["--variant", "*@linux-arm*"]
    assert buildopt(["build", *arm], cwd=project).returncode == 0
    record_path = project / "dist" / "p" / "build.json"
    before = {b["id"]: b["size"] for b in json.loads(record_path.read_text())["builds"]}
    (project / "app" / "extra.go").write_text(EXTRA)
    stale = buildopt(["gate", "--json"], cwd=project)  # the binaries are older than the import
    assert stale.returncode == 1, stale.stderr
    for row in json.loads(stale.stdout)["checks"]:
        assert (row["check"], row["actual"]) == ("new_package[encoding/json]", "-")
        assert "not in the record's binary, built before the import?" in row["note"]
    assert buildopt(["build", *arm], cwd=project).returncode == 0
    done = buildopt(["gate", "--json"], cwd=project)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, load_schema("buildopt.gate/1"))
    record = json.loads(record_path.read_text())
    why = buildopt(["why", "encoding/json", *arm, "--json"], cwd=project)
    assert why.returncode == 0, why.stderr
    cuts = {v["id"]: v["cut"] for v in json.loads(why.stdout)["variants"]}
    new = {"bytes", "encoding", "encoding/base64", "encoding/json", "unicode/utf16"}
    from buildopt.analysis.gate import Figure
    from buildopt.output.gate import figure_text

    for build in record["builds"]:
        (row,) = [c for c in report["checks"] if c["target"] == build["id"]]
        assert row["check"] == "new_package[encoding/json]" and row["verdict"] == "fail"
        assert row["chain"] == ["example.com/depsapp", "encoding/json"]
        assert row["note"].startswith("example.com/depsapp -> encoding/json; brings 4 more")
        cut = cuts[build["id"]]  # the same figure as why's, from the same code
        assert cut["packages"] == len(new)
        assert row["actual"] == figure_text(Figure(cut["bytes"], "bytes", change=True))
        assert f"; about {row['actual']}: what removing it saves, 5 packages only" in row["note"]
        by_package = build["inspect"]["attribution"]["by_package"]
        owned = sum(p["file_bytes"] for p in by_package if p["package"] in new)
        grew = build["size"] - before[build["id"]]
        assert 0 < owned < cut["bytes"] < grew, (build["id"], owned, cut["bytes"], grew)
    shown = buildopt(["gate"], cwd=project).stdout
    assert "new_package[encoding/json]" in shown and "example.com/depsapp -> encoding/json" in shown


def test_a_package_that_left_is_a_warning(tmp_path: Path, go: str) -> None:
    project = _project(tmp_path, go)
    (project / "app" / "extra.go").write_text(EXTRA)
    assert buildopt(["deps", "--update"], cwd=project).returncode == 0
    (project / "app" / "extra.go").unlink()
    assert buildopt(["build", "--variant", "*@linux-amd64"], cwd=project).returncode == 0
    done = buildopt(["gate", "--json"], cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = json.loads(done.stdout)["checks"]
    assert (row["check"], row["verdict"], row["actual"]) == ("left_packages", "warn", "5")
    assert "no longer linked: bytes, encoding, encoding/base64, encoding/json" in row["note"]


def test_a_source_go_list_cannot_load_is_a_failed_row_not_a_silent_gate(
    tmp_path: Path, go: str
) -> None:
    """The other checks still speak: the gate judges the record, exit 1, not 2."""
    project = _project(tmp_path, go)
    assert buildopt(["deps", "--update"], cwd=project).returncode == 0
    assert buildopt(["build", "--variant", "*@linux-amd64"], cwd=project).returncode == 0
    (project / "app" / "zz_gone.go").write_text('package main\n\nimport _ "example.com/gone/x"\n')
    done = buildopt(["gate", "--json"], cwd=project)
    assert done.returncode == 1, done.stderr
    (row,) = json.loads(done.stdout)["checks"]
    assert (row["check"], row["verdict"]) == ("deps", "fail")
    assert "go list failed, so the list was not checked" in row["note"]
    assert "no required module provides package example.com/gone/x" in row["note"]
