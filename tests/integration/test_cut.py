"""What cutting a dependency saves, against real rebuilds: the example built with a heavy
dependency behind a build tag and without it, on amd64, arm64 and arm/v7; the estimate of
``why`` (and the record's cuttable list) against the measured difference of the file sizes.

docs/figures.md gives the figures and why the estimate misses where it does: the graph is of
packages and the linker keeps functions, and segments are aligned to pages (64 KiB on arm64
and arm), so a file grows in steps. The bytes no package owns are no longer a cause: the
build's twin link gives the strings and type descriptors to their packages.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt, hello_project, readelf

pytestmark = pytest.mark.integration

TARGETS = ("linux/amd64", "linux/arm64", "linux/arm/v7")
MAIN = "example.com/billing-gateway"
# A file of the example's main package that only the tag compiles: one import, used.
HEAVY = """//go:build {tag}

package main

import (
\t"os"

\t"{package}"
)

func init() {{
\tif len(os.Args) > 5 {{
\t\t_, _ = {call}(os.Args[1])
\t}}
}}
"""
DEPENDENCIES = {"parser": ("go/parser", "parser.ParseExpr"), "elf": ("debug/elf", "elf.Open")}
PROFILE = f"""schema = 1
package = "./billing-gateway"
binary = "billing-gateway"
targets = {json.dumps(list(TARGETS))}
baseline = "light"
[defaults]
cgo = false
strip = "all"
trimpath = true
[variants.light]
[variants.parser]
tags = ["parser"]
[variants.elf]
tags = ["elf"]
"""


@pytest.fixture(scope="module")
def project(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cut")
    shutil.copytree(REPO / "examples" / "billing-gateway", root / "billing-gateway")
    for tag, (package, call) in DEPENDENCIES.items():
        text = HEAVY.format(tag=tag, package=package, call=call)
        (root / "billing-gateway" / f"heavy_{tag}.go").write_text(text)
    (root / "profiles").mkdir()
    (root / "profiles" / "p.toml").write_text(PROFILE)
    done = buildopt(["build", "--profile", "p"], cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def record(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "dist" / "p" / "build.json").read_text())
    return {b["id"]: b for b in data["builds"]}


def estimates(project: Path, variant: str, package: str) -> dict[str, dict[str, Any]]:
    """why's cut of package in each target's build of variant, by build id."""
    done = buildopt(
        ["why", package, "--profile", "p", "--variant", f"{variant}@*", "--json"], cwd=project
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, load_schema("buildopt.why/1"))
    return {v["id"]: v["cut"] for v in data["variants"]}


def measured(builds: dict[str, dict[str, Any]], variant: str, target: str) -> int:
    point = target.replace("/", "-")
    return int(builds[f"{variant}@{point}"]["size"] - builds[f"light@{point}"]["size"])


SECTION = re.compile(
    r"^\s*\[\s*\d+\]\s+\S+\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([A-Z]*)\s"
)


def loaded(builds: dict[str, dict[str, Any]], variant: str, target: str) -> int:
    """The difference of the two files' loaded sections (readelf: SHF_ALLOC, not NOBITS): the
    file's size moves in pages (64 KiB on arm), these do not (docs/figures.md, "loaded")."""
    point = target.replace("/", "-")

    def total(vid: str) -> int:
        rows = (SECTION.match(line) for line in readelf("-S", builds[vid]["output"]).splitlines())
        return sum(int(m[2], 16) for m in rows if m and "A" in m[3] and m[1] != "NOBITS")

    return total(f"{variant}@{point}") - total(f"light@{point}")


def test_go_parser_estimate_is_within_10_percent_of_the_rebuild(project: Path) -> None:
    """go/parser and the 5 packages only it brings in: the estimate is within 10% of the
    rebuild's saving on every architecture - its loaded sections' (docs/figures.md: 0.99 to
    1.00 of it; the file's size moves in 64 KiB pages on arm: 0.92 to 1.23 of the file's
    difference as the example's size shifts) - and the bytes no package owns add at most 5%
    (the linker's owners: 1.01 to 1.03; 1.25 without)."""
    builds = record(project)
    cuts = estimates(project, "parser", "go/parser")
    for target in TARGETS:
        cut = cuts[f"parser@{target.replace('/', '-')}"]
        saved = loaded(builds, "parser", target)
        assert cut["importers"] == [MAIN]
        assert cut["packages"] == 6
        assert cut["attributed_bytes"] < cut["bytes"] <= 1.05 * cut["attributed_bytes"], target
        assert abs(cut["bytes"] - saved) <= 0.10 * saved, (target, cut["bytes"], saved)


def test_debug_elf_estimate_falls_short_by_functions_of_packages_that_stay(project: Path) -> None:
    """debug/elf reaches functions of packages that stay (compress/flate's, encoding/binary's):
    they leave with it but the package graph cannot see them. The estimate is below the
    rebuild's saving on every architecture, by no more than half, and what it misses is what
    the packages that stay lost plus the section alignment (64 KiB pages on arm), within 5%:
    not the bytes no package owns (docs/figures.md)."""
    builds = record(project)
    cuts = estimates(project, "elf", "debug/elf")
    for target in TARGETS:
        point = target.replace("/", "-")
        cut = cuts[f"elf@{point}"]
        saved = measured(builds, "elf", target)
        assert 0.5 * saved <= cut["bytes"] < saved, (target, cut["bytes"], saved)
        heavy, light = (builds[f"{v}@{point}"]["inspect"]["attribution"] for v in ("elf", "light"))
        lost = _owned(heavy, light) + _aligned(heavy) - _aligned(light)
        missed = saved - cut["bytes"]
        assert abs(lost - missed) <= 0.05 * missed, (target, lost, missed)


def _owned(heavy: dict[str, Any], light: dict[str, Any]) -> int:
    """What the packages linked into both files own more in heavy."""
    before = {p["package"]: p["file_bytes"] for p in light["by_package"]}
    return sum(
        p["file_bytes"] - before[p["package"]]
        for p in heavy["by_package"]
        if p["package"] in before
    )


def _aligned(whole: dict[str, Any]) -> int:
    return sum(b["file_bytes"] for b in whole["buckets"] if b["name"] == "section alignment")


def test_the_record_lists_the_cut_and_compare_shows_it(project: Path) -> None:
    """The build step recorded each build's heaviest cuttable dependencies, the same figure
    as why; a build without the tag does not list it; compare --json carries the lists."""
    builds = record(project)
    cuts = estimates(project, "parser", "go/parser")
    for build_id, cut in cuts.items():
        listed = {c["package"]: c for c in builds[build_id]["cuttable"]}
        assert listed["go/parser"] == cut
        assert listed["net/http"]["importers"] == [MAIN]
        light = build_id.replace("parser@", "light@")
        assert "go/parser" not in {c["package"] for c in builds[light]["cuttable"]}
    done = buildopt(["compare", "--profile", "p", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, load_schema("buildopt.compare/1"))
    shown = {v["id"]: v["cuttable"] for v in data["variants"]}
    assert shown == {i: b["cuttable"] for i, b in builds.items()}
    table = buildopt(["compare", "--profile", "p"], cwd=project).stdout
    assert "parser@linux-arm-v7: the 6 heaviest cuttable dependencies" in table


def test_inspect_modules_finds_the_record_above_the_binary(project: Path, tmp_path: Path) -> None:
    """inspect --modules of a binary in dist/ lists what its record holds (the same sha256);
    a copy elsewhere has no sources and no record: it says so."""
    builds = record(project)
    binary = Path(builds["parser@linux-arm64"]["output"])
    shown = buildopt(["inspect", "--modules", str(project / binary)], cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "parser@linux-arm64: the 6 heaviest cuttable dependencies" in shown.stdout
    assert "\ngo/parser " in shown.stdout
    copy = tmp_path / "billing-gateway"
    shutil.copy(project / binary, copy)
    bare = buildopt(["inspect", "--modules", str(copy)], cwd=project)
    assert bare.returncode == 0, bare.stderr
    assert "cuttable dependencies: not known for this file" in bare.stdout


def test_why_says_who_must_drop_the_import(project: Path) -> None:
    """One importer: that import; several: removing one saves nothing; the runtime's own
    imports: no cut saves them."""

    def why(package: str) -> str:
        done = buildopt(
            ["why", package, "--profile", "p", "--variant", "parser@linux-amd64"], cwd=project
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    one = why("go/parser")
    assert f"  removing the import of go/parser from {MAIN}\n  saves about " in one
    assert "6 packages only it brings in, 1 owning no bytes," in one
    several = why("os")
    assert "packages: removing one import saves nothing\n" in several
    assert "\n    net/http\n" in several and "imports\n  saves about " in several
    assert "no cut saves it" in why("internal/abi")


def test_an_unchanged_rebuild_keeps_the_recorded_list(tmp_path: Path) -> None:
    """The same binary links the same packages: its list is not computed again (no go list
    on an unchanged rebuild); a changed binary gets a list of its own."""
    project = hello_project(
        tmp_path, 'package = "./hello"\n[variants.small]\ncgo = false\nstrip = "all"\n'
    )
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    path = project / "dist" / "p" / "build.json"
    data = json.loads(path.read_text())
    (entry,) = data["builds"]
    assert [c["package"] for c in entry["cuttable"]] == ["os/user"]  # fmt: os/user has it too
    entry["cuttable"][0]["bytes"] = 1  # what a computation would not give
    path.write_text(json.dumps(data))
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    assert json.loads(path.read_text())["builds"][0]["cuttable"][0]["bytes"] == 1
    main = project / "hello" / "main.go"
    main.write_text(main.read_text().replace('"unset"', '"changed"'))
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    assert json.loads(path.read_text())["builds"][0]["cuttable"][0]["bytes"] > 1
