"""Two programs of one module (profiles/edge-suite.toml: the billing gateway and billing-ctl),
built with the real Go toolchain and checked with go version -m, the binaries themselves and
unsquashfs (issue 26 part 1)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt, system_tool_missing

pytestmark = pytest.mark.integration

MODULE = "example.com/billing-gateway"
PROGRAMS = {"billing-gateway": ".", "billing-ctl": "./cmd/billing-ctl"}
IDS = [
    f"{variant}@{target}/{program}"
    for variant in ("static", "static-stripped")
    for target in ("linux-amd64", "linux-arm64")
    for program in PROGRAMS
] + ["combined@linux-amd64/billing-gateway", "combined@linux-arm64/billing-gateway"]


@pytest.fixture(scope="module")
def built(go: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    dist = tmp_path_factory.mktemp("dist")
    done = buildopt(["build", "--profile", "edge-suite", "--dist", str(dist), "--json"])
    assert done.returncode == 0, done.stderr
    record: dict[str, Any] = json.loads(done.stdout)
    record["_dist"] = dist
    return record


def by_id(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["id"]: b for b in record["builds"]}


def go_version_m(go: str, binary: Path) -> dict[str, str]:
    """go version -m's path and build settings (GOOS, GOARCH ...)."""
    out = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    found = {}
    for line in out.splitlines():
        fields = line.strip().split("\t")
        if fields[0] == "path":
            found["path"] = fields[1]
        elif fields[0] == "build":
            key, _, value = fields[1].partition("=")
            found[key] = value
    return found


def test_one_build_per_program_with_its_id_and_folder(built: dict[str, Any]) -> None:
    assert [b["id"] for b in built["builds"]] == IDS
    jsonschema.validate(built, load_schema("buildopt.build/1"))
    for build in built["builds"]:
        variant, rest = build["id"].split("@")
        target, program = rest.split("/")
        assert build["status"] == "ok"
        assert Path(build["output"]) == built["_dist"] / "edge-suite" / variant / target / program


def test_program_and_package_agree_with_go_version_m(go: str, built: dict[str, Any]) -> None:
    for build in built["builds"]:
        program = build["id"].rsplit("/", 1)[1]
        assert (build["program"], build["package"]) == (program, PROGRAMS[program])
        assert build["argv"][-1] == build["package"]
        facts = go_version_m(go, Path(build["output"]))
        assert facts["path"] == MODULE + build["package"].removeprefix(".")
        assert f"{facts['GOOS']}/{facts['GOARCH']}" == build["target"]


def test_each_binary_is_its_program(built: dict[str, Any], tmp_path: Path) -> None:
    builds = by_id(built)
    ctl = Path(builds["static@linux-amd64/billing-ctl"]["output"])
    gateway = Path(builds["static@linux-amd64/billing-gateway"]["output"])
    said = subprocess.run([ctl, "tariff", "home"], capture_output=True, text=True, check=True)
    assert said.stdout == "tariff home setup=100 per_min=1200\n"
    version = subprocess.run([ctl, "version"], capture_output=True, text=True, check=True)
    assert version.stdout == "billing-ctl 1.4.2\n"  # base.toml's -X main.version
    # the gateway started as billing-ctl is billing-ctl (the combined binary)
    (tmp_path / "billing-ctl").symlink_to(gateway)
    combined = subprocess.run(
        [tmp_path / "billing-ctl", "tariff", "home"], capture_output=True, text=True, check=True
    )
    assert combined.stdout == said.stdout
    check = subprocess.run([gateway, "--check"], capture_output=True, text=True, check=True)
    assert check.stdout.startswith("ready version=1.4.2 mode=check")


def test_compare_pairs_each_program_with_the_baselines_build_of_it(built: dict[str, Any]) -> None:
    done = buildopt(["compare", "--profile", "edge-suite", "--dist", str(built["_dist"]), "--json"])
    assert done.returncode == 0, done.stderr
    rows = {v["id"]: v for v in json.loads(done.stdout)["variants"]}
    sizes = {b["id"]: b["size"] for b in built["builds"]}
    for sid in IDS:
        if sid.startswith("static-stripped@"):
            base = sid.replace("static-stripped@", "static@")
            assert rows[sid]["baseline"] == base
            assert rows[sid]["delta"]["size"] == sizes[sid] - sizes[base]


def test_diff_of_two_records_pairs_by_program(built: dict[str, Any]) -> None:
    record = str(built["_dist"] / "edge-suite" / "build.json")
    done = buildopt(["diff", record, record, "--by", "section", "--json"])
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    sizes = {b["id"]: b["size"] for b in built["builds"]}
    assert sorted(d["id"] for d in report["diffs"]) == sorted(IDS)
    for entry in report["diffs"]:
        assert entry["file_before"] == entry["file_after"] == sizes[entry["id"]]


def _child(tmp_path: Path, extra: str) -> Path:
    """A profile named edge-suite (so it reads the built record) over the shipped one."""
    profiles = tmp_path / "profiles"
    profiles.mkdir(exist_ok=True)
    path = profiles / "edge-suite.toml"
    path.write_text(
        f'extends = "{REPO / "profiles" / "edge-suite.toml"}"\nroot = "{REPO}"\n{extra}'
    )
    return path


@pytest.mark.parametrize(("limit", "code"), [("3 MiB", 0), ("1 MiB", 1)])
def test_a_budget_of_one_program_passes_and_fails(
    built: dict[str, Any], tmp_path: Path, limit: str, code: int
) -> None:
    profile = _child(
        tmp_path,
        f'[[budget]]\nname = "ctl"\nselect = "static@linux-amd64/billing-ctl"\n'
        f'max_size = "{limit}"\n',
    )
    done = buildopt(["gate", "--profile", str(profile), "--dist", str(built["_dist"]), "--json"])
    assert done.returncode == code, done.stderr
    checks = [c for c in json.loads(done.stdout)["checks"] if c["budget"] == "ctl"]
    assert [(c["target"], c["verdict"]) for c in checks] == [
        ("static@linux-amd64/billing-ctl", "pass" if code == 0 else "fail")
    ]


def test_an_image_places_each_program_in_usr_bin(built: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("mksquashfs") is None or shutil.which("unsquashfs") is None:
        system_tool_missing("mksquashfs and unsquashfs", "squashfs-tools")
    profile = _child(
        tmp_path,
        '[[image]]\nname = "suite"\nselect = "static-stripped@linux-arm64"\n'
        'filesystem = "squashfs"\nmax_size = "64 MiB"\n',
    )
    done = buildopt(["image", "--profile", str(profile), "--dist", str(built["_dist"])])
    assert done.returncode == 0, done.stderr
    image = next((built["_dist"] / "edge-suite" / "images").glob("suite*.squashfs"))
    listing = subprocess.run(
        ["unsquashfs", "-lln", str(image)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "LC_ALL": "C"},
    ).stdout
    sizes = {b["id"]: b["size"] for b in built["builds"]}
    for program in PROGRAMS:
        size = sizes[f"static-stripped@linux-arm64/{program}"]
        line = next(x for x in listing.splitlines() if x.endswith(f"/usr/bin/{program}"))
        assert f" {size} " in line


def test_a_matrix_job_is_a_point_and_builds_all_its_programs(
    built: dict[str, Any], tmp_path: Path
) -> None:
    done = buildopt(["matrix", "--profile", "edge-suite"])
    assert done.returncode == 0, done.stderr
    jobs = json.loads(done.stdout)["include"]
    points = [
        f"{v}@{t}"
        for v in ("static", "static-stripped", "combined")
        for t in ("linux-amd64", "linux-arm64")
    ]
    assert [j["id"] for j in jobs] == points
    (tmp_path / "matrix.json").write_text(done.stdout)
    job = tmp_path / "job.json"
    one = buildopt(
        [
            *("build", "--profile", "edge-suite", "--dist", str(tmp_path / "dist")),
            *("--variant", points[0], "--record", str(job)),
        ]
    )
    assert one.returncode == 0, one.stderr
    merged = tmp_path / "merged.json"
    joined = buildopt(
        ["merge", str(job), "--expect-matrix", str(tmp_path / "matrix.json"), "-o", str(merged)]
    )
    assert joined.returncode == 0, joined.stderr
    record = json.loads(merged.read_text())
    assert [b["id"] for b in record["builds"]] == [f"{points[0]}/{p}" for p in PROGRAMS]
    assert [m["id"] for m in record["missing"]] == points[1:]


def test_each_program_scans_its_own_package(built: dict[str, Any]) -> None:
    for build in built["builds"]:
        program = build["program"]
        packages = {site["package"] for site in build["scan"]["inventory"]}
        assert packages == {MODULE + PROGRAMS[program].removeprefix(".")}


def _suite(tmp_path: Path) -> Path:
    """A project of the example module and the edge-suite profile (with its base)."""
    project = tmp_path / "suite"
    shutil.copytree(REPO / "examples" / "billing-gateway", project / "examples" / "billing-gateway")
    (project / "profiles").mkdir()
    for name in ("base", "edge-suite"):
        shutil.copy(REPO / "profiles" / f"{name}.toml", project / "profiles")
    return project


def test_dependency_lists_are_a_folder_per_point_and_a_list_per_program(
    tmp_path: Path, go: str
) -> None:
    project = _suite(tmp_path)
    wrote = buildopt(["deps", "--profile", "edge-suite", "--update"], cwd=project)
    assert wrote.returncode == 0, wrote.stderr
    folder = project / "deps" / "edge-suite"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.txt")) == sorted(
        f"{sid}.txt" for sid in IDS
    )
    ctl = folder / "static@linux-amd64" / "billing-ctl.txt"
    line = "example.com/billing-gateway/ctl example.com/billing-gateway\n"  # package module
    assert line in ctl.read_text()
    assert buildopt(["deps", "--profile", "edge-suite"], cwd=project).returncode == 0

    built = buildopt(
        ["build", "--profile", "edge-suite", "--variant", "*@linux-amd64"], cwd=project
    )
    assert built.returncode == 0, built.stderr
    ctl.write_text(ctl.read_text().replace(line, ""))
    stale = buildopt(["deps", "--profile", "edge-suite"], cwd=project)
    assert stale.returncode == 1
    assert "stale   deps/edge-suite/static@linux-amd64/billing-ctl.txt: 1 new" in stale.stdout
    gate = buildopt(["gate", "--profile", "edge-suite", "--json"], cwd=project)
    assert gate.returncode == 1, gate.stderr
    failed = [c for c in json.loads(gate.stdout)["checks"] if c["verdict"] == "fail"]
    assert [(c["target"], c["check"]) for c in failed] == [
        ("static@linux-amd64/billing-ctl", "new_package[example.com/billing-gateway/ctl]")
    ]

    profile = project / "profiles" / "edge-suite.toml"
    profile.write_text(profile.read_text().replace('"static-stripped@*/billing-ctl"', '"static"'))
    profile.write_text(profile.read_text().split("[variants.static-stripped]")[0])
    left = buildopt(["deps", "--profile", "edge-suite", "--update"], cwd=project)
    assert left.returncode == 0, left.stderr
    assert "removed deps/edge-suite/static-stripped@linux-arm64/billing-ctl.txt" in left.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["static@linux-amd64", "static@linux-arm64"]


def test_advise_changes_one_program_and_its_ids_name_it(built: dict[str, Any]) -> None:
    done = buildopt(
        [
            *("advise", "--profile", "edge-suite", "--dist", str(built["_dist"])),
            *("--variant", "static@linux-amd64/billing-ctl", "--json"),
        ]
    )
    assert done.returncode == 0, done.stderr
    advice = json.loads(done.stdout)
    assert advice["base_id"] == "static@linux-amd64/billing-ctl"
    (strip,) = [lever for lever in advice["levers"] if lever["lever"] == "s-w"]
    assert strip["id"] == "static+s-w@linux-amd64/billing-ctl"
    assert strip["argv"][-1] == "./cmd/billing-ctl"
    # -s -w of static is static-stripped: the same binary as the profile's own build of it
    own = by_id(built)["static-stripped@linux-amd64/billing-ctl"]
    assert strip["figures"]["sha256"] == own["sha256"]


def test_start_up_runs_each_build_as_its_each_table_says(built: dict[str, Any]) -> None:
    """[[startup.each]]: billing-ctl runs `version` and is ready at exit, the gateway serves
    until its ready line, and the combined binary (the gateway alone) started as billing-ctl
    is timed as the CLI - beside the baseline's billing-ctl, never beside the gateway."""
    done = buildopt(
        [
            *("startup", "--profile", "edge-suite", "--dist", str(built["_dist"]), "--json"),
            *("--variant", "static@linux-amd64", "--variant", "combined@linux-amd64"),
            *("--runs", "2", "--warmup", "0", "--trace-runs", "0"),
        ]
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, load_schema("buildopt.startup/1"))
    found = {r["name"]: r for r in report["variants"]}
    assert set(found) == {
        "static@linux-amd64/billing-gateway",
        "static@linux-amd64/billing-ctl",
        "combined@linux-amd64/billing-gateway",
    }
    gateway, ctl = (
        found["static@linux-amd64/billing-gateway"],
        found["static@linux-amd64/billing-ctl"],
    )
    combined = found["combined@linux-amd64/billing-gateway"]
    assert (gateway["ready"], ctl["ready"]) == ("stdout line matching '^ready'", "process exit")
    assert combined["ready"] == "process exit" and combined["argv0"] == "billing-ctl"
    assert all(r["runs"] == 2 for r in found.values())
    assert combined["vs_baseline"]["baseline"] == "static@linux-amd64/billing-ctl"
    assert "combined@linux-amd64/billing-gateway vs static@linux-amd64/billing-ctl" in done.stderr


def test_start_up_variant_patterns_that_select_nothing_are_refused(built: dict[str, Any]) -> None:
    done = buildopt(
        ["startup", "--profile", "edge-suite", "--dist", str(built["_dist"]), "--variant", "nope*"]
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error: --variant nope*: selects no build of the record")


def test_a_program_taken_out_of_a_variant_leaves_the_record(go: str, tmp_path: Path) -> None:
    """After `programs = [...]` took billing-ctl out of a variant, its entry stayed (its binary
    was still in place): the gate failed it, startup timed it and compare listed it."""
    dist = tmp_path / "dist"
    point = ["--variant", "static@linux-amd64", "--dist", str(dist)]
    done = buildopt(["build", "--profile", "edge-suite", *point, "--json"])
    assert done.returncode == 0, done.stderr
    assert [b["id"] for b in json.loads(done.stdout)["builds"]] == [
        "static@linux-amd64/billing-gateway",
        "static@linux-amd64/billing-ctl",
    ]
    profile = _child(
        tmp_path,
        '[variants.static]\nprograms = ["billing-gateway"]\n'
        '[[budget]]\nname = "ctl"\nselect = "*/billing-ctl"\nmax_size = "1 B"\n',
    )
    done = buildopt(["build", "--profile", str(profile), *point, "--json"])
    assert done.returncode == 0, done.stderr
    assert [b["id"] for b in json.loads(done.stdout)["builds"]] == [
        "static@linux-amd64/billing-gateway"
    ]
    gate = buildopt(["gate", "--profile", str(profile), "--dist", str(dist), "--json"])
    judged = [c["target"] for c in json.loads(gate.stdout)["checks"] if c["budget"] == "ctl"]
    assert "static@linux-amd64/billing-ctl" not in judged, gate.stdout
