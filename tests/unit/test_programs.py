"""Several programs per profile (``packages``): ids, selectors, plans, records and pairing,
without starting any process (issue 26 part 1)."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from buildopt.analysis.compare import compare_variants
from buildopt.analysis.gate import evaluate
from buildopt.config.budgets import selects
from buildopt.config.ids import point_of, program_of, release_of, variant_of, with_variant
from buildopt.config.profile import load_profile, one_program
from buildopt.errors import ProfileError, UsageError
from buildopt.pipeline.plan import make_plan, plan_report
from buildopt.pipeline.startup_runs import baselines
from buildopt.pipeline.sweep import sweep_plan
from buildopt.record.store import load, save
from tests.conftest import write_profile
from tests.records import build, inspection, record
from tests.unit.test_plan import TOOLS

TWO = """
    packages = ["./app", "./app/cmd/ctl"]
    targets = ["linux/amd64", "linux/arm64"]
    baseline = "plain"
    [variants.plain]
    [variants.small]
    strip = "all"
"""


@pytest.fixture
def two(project: Path) -> Path:
    """The project's app module with a second main package, app/cmd/ctl."""
    ctl = project / "app" / "cmd" / "ctl"
    ctl.mkdir(parents=True)
    (ctl / "main.go").write_text("package main\n\nfunc main() {}\n")
    return project


# --- ids and selectors --------------------------------------------------------------------------


def test_the_parts_of_an_id() -> None:
    full = "static@linux-arm64@go1.24.13/billing-ctl"
    assert point_of(full) == "static@linux-arm64@go1.24.13"
    assert program_of(full) == "billing-ctl" and program_of("static@linux-arm64") is None
    assert variant_of(full) == "static"
    assert release_of(full) == "go1.24.13" and release_of("static@linux-arm64/x") is None
    assert with_variant(full, "default") == "default@linux-arm64@go1.24.13/billing-ctl"


@pytest.mark.parametrize(
    ("pattern", "picked"),
    [
        ("*/billing-ctl", {"static@linux-arm64/billing-ctl", "lean@linux-amd64/billing-ctl"}),
        ("static@*/billing-ctl", {"static@linux-arm64/billing-ctl"}),
        ("static@linux-arm64", {"static@linux-arm64/billing-ctl", "static@linux-arm64/gw"}),
        ("*@linux-amd64", {"lean@linux-amd64/billing-ctl"}),
        ("static", {"static@linux-arm64/billing-ctl", "static@linux-arm64/gw"}),
        ("*/gw", {"static@linux-arm64/gw"}),
        ("gw", set()),  # without @ or /: a variant's name, never a program's
    ],
)
def test_selectors_with_a_slash_match_the_whole_id_else_the_point_or_variant(
    pattern: str, picked: set[str]
) -> None:
    ids = [
        "static@linux-arm64/billing-ctl",
        "static@linux-arm64/gw",
        "lean@linux-amd64/billing-ctl",
    ]
    assert {i for i in ids if selects(pattern, i)} == picked


def test_selectors_of_one_program_ids_are_unchanged() -> None:
    assert selects("*@linux-arm64", "static@linux-arm64")
    assert selects("static", "static@linux-arm64@go1.24.13")
    assert not selects("*/x", "static@linux-arm64")


# --- the profile ---------------------------------------------------------------------------------


def test_packages_name_each_program_after_its_directory(two: Path) -> None:
    write_profile(two, "p", TWO)
    profile = load_profile("p", two)
    assert [(p.name, p.package) for p in profile.builds] == [
        ("app", two / "app"),
        ("ctl", two / "app" / "cmd" / "ctl"),
    ]
    assert profile.binary == "app" and profile.package == two / "app"


def test_a_child_with_packages_replaces_its_parents_package_and_binary(two: Path) -> None:
    write_profile(two, "base", 'package = "./app"\nbinary = "gateway"\n[variants.plain]\n')
    write_profile(two, "p", 'extends = "base"\npackages = ["./app", "./app/cmd/ctl"]\n')
    assert [p.name for p in load_profile("p", two).builds] == ["app", "ctl"]


@pytest.mark.parametrize(
    ("top", "message"),
    [
        (
            'package = "./app"\npackages = ["./app"]',
            "packages: give package (one program) or packages (several), not both; package",
        ),
        (
            'packages = ["./app"]\nbinary = "x"',
            "packages: give package (one program) or packages (several), not both; binary",
        ),
        ('packages = ["./app", "./nope"]', "packages[2]: './nope': no directory "),
        (
            'packages = ["./app/cmd/ctl", "./other/ctl"]',
            "packages[2]: './other/ctl' and './app/cmd/ctl' are both programs named 'ctl'",
        ),
        ("packages = []", "packages: "),
        ('packages = "./app"', "packages: "),
        ('packages = ["./app", "./we@ird"]', "packages[2]: './we@ird': a program is named after"),
    ],
)
def test_bad_packages_are_one_line_naming_the_key(two: Path, top: str, message: str) -> None:
    (two / "other" / "ctl").mkdir(parents=True)
    (two / "we@ird").mkdir()
    write_profile(two, "p", f"{top}\n[variants.plain]\n")
    with pytest.raises(ProfileError) as raised:
        load_profile("p", two)
    line = raised.value.message
    assert "\n" not in line and line.startswith(str(two / "profiles" / "p.toml"))
    assert message in line


def test_a_variant_output_is_refused_with_packages(two: Path) -> None:
    write_profile(two, "p", TWO + 'output = "one-name"\n')
    with pytest.raises(ProfileError, match=r"variants\.small\.output: the profile builds several"):
        load_profile("p", two)


def test_one_program_of_a_profile_for_advise_and_sweep(two: Path) -> None:
    write_profile(two, "p", TWO)
    profile = load_profile("p", two)
    alone, spec = one_program(profile, "small@linux-arm64/ctl")
    assert ([p.name for p in alone.programs], alone.binary, spec) == (
        ["ctl"],
        "ctl",
        "small@linux-arm64",
    )
    assert one_program(profile, "small")[0].binary == "app"  # the first program
    with pytest.raises(UsageError, match=r"no program 'nope' in p\.toml \(its programs: app, ctl"):
        one_program(profile, "small/nope")


# --- the plan ------------------------------------------------------------------------------------


def test_one_step_per_program_with_its_id_package_and_output(two: Path) -> None:
    write_profile(two, "p", TWO)
    plan = make_plan(load_profile("p", two), TOOLS, {"PATH": ""})
    assert [s.id for s in plan.steps] == [
        "plain@linux-amd64/app",
        "plain@linux-amd64/ctl",
        "plain@linux-arm64/app",
        "plain@linux-arm64/ctl",
        "small@linux-amd64/app",
        "small@linux-amd64/ctl",
        "small@linux-arm64/app",
        "small@linux-arm64/ctl",
    ]
    ctl = plan.steps[3]
    assert (ctl.program, ctl.package, ctl.dir) == ("ctl", "./cmd/ctl", two / "app")
    assert ctl.output == two / "dist" / "p" / "plain" / "linux-arm64" / "ctl"
    assert ctl.argv[-1] == "./cmd/ctl" and plan.steps[2].argv[-1] == "."
    shown = json.loads(msgspec.json.encode(plan_report(plan)))["steps"][3]
    assert (shown["program"], shown["package"]) == ("ctl", "./cmd/ctl")


def test_a_point_pattern_plans_every_program_of_it(two: Path) -> None:
    write_profile(two, "p", TWO)
    profile = load_profile("p", two)
    plan = make_plan(profile, TOOLS, {"PATH": ""}, ["small@linux-arm64"])
    assert [s.id for s in plan.steps] == ["small@linux-arm64/app", "small@linux-arm64/ctl"]
    one = make_plan(profile, TOOLS, {"PATH": ""}, ["*/ctl"])
    assert {s.program for s in one.steps} == {"ctl"} and len(one.steps) == 4


def test_a_skip_is_one_per_program(two: Path) -> None:
    write_profile(two, "p", TWO + "[variants.c]\ncgo = true\n")
    plan = make_plan(load_profile("p", two), TOOLS, {"PATH": ""})
    skipped = [(k.id, k.program, k.package) for k in plan.skipped]
    assert skipped == [("c@linux-arm64/app", "app", "."), ("c@linux-arm64/ctl", "ctl", "./cmd/ctl")]


def test_a_variant_builds_only_the_programs_it_chooses(two: Path) -> None:
    write_profile(two, "p", TWO + '[variants.combined]\nprograms = ["app"]\ntags = ["cli"]\n')
    ids = [s.id for s in make_plan(load_profile("p", two), TOOLS, {"PATH": ""}).steps]
    assert [i for i in ids if i.startswith("combined@")] == [
        "combined@linux-amd64/app",
        "combined@linux-arm64/app",
    ]
    assert "small@linux-arm64/ctl" in ids  # the others build every program


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('programs = ["apq"]', r"variants\.c\.programs: no program 'apq' in packages.*'app'"),
        ("programs = []", r"variants\.c\.programs: expected a non-empty list"),
        ('programs = "app"', r"variants\.c\.programs: expected"),
        ('programs = ["app", "app"]', r"variants\.c\.programs: 'app' twice"),
    ],
)
def test_a_variants_programs_name_programs_of_packages(two: Path, text: str, message: str) -> None:
    write_profile(two, "p", TWO + f"[variants.c]\n{text}\n")
    with pytest.raises(ProfileError, match=message):
        load_profile("p", two)


def test_programs_is_refused_in_a_profile_of_one_package(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.c]\nprograms = ["app"]\n')
    with pytest.raises(ProfileError, match=r"variants\.c\.programs: the profile builds one"):
        load_profile("p", project)


def test_a_budget_selecting_no_program_id_is_refused(two: Path) -> None:
    write_profile(two, "p", TWO + '[[budget]]\nselect = "*/gateway"\nmax_size = "1 MiB"\n')
    with pytest.raises(ProfileError, match=r"budget\[1\]\.select: '\*/gateway' matches no"):
        make_plan(load_profile("p", two), TOOLS, {"PATH": ""})


# --- records -----------------------------------------------------------------------------------


def test_an_older_record_without_programs_loads_with_the_profiles_binary(tmp_path: Path) -> None:
    old = record(build("default@linux-amd64", inspection(100), argv=("go", "build", "./cmd/x")))
    raw = json.loads(msgspec.json.encode(old))
    for entry in raw["builds"]:
        del entry["program"], entry["package"]
    (tmp_path / "build.json").write_text(json.dumps(raw))
    (loaded,) = load(tmp_path / "build.json").builds
    assert (loaded.program, loaded.package) == ("app", "./cmd/x")


def test_a_record_keeps_each_builds_program(tmp_path: Path) -> None:
    made = record(build("a@linux-amd64/ctl", inspection(100), program="ctl", package="./cmd/ctl"))
    save(tmp_path / "build.json", made)
    (loaded,) = load(tmp_path / "build.json").builds
    assert (loaded.program, loaded.package) == ("ctl", "./cmd/ctl")


def test_compare_pairs_each_program_with_the_baselines_build_of_it() -> None:
    made = record(
        build("default@linux-amd64/gw", inspection(8000)),
        build("default@linux-amd64/ctl", inspection(2000)),
        build("lean@linux-amd64/gw", inspection(5000)),
        build("lean@linux-amd64/ctl", inspection(1500)),
    )
    pairs = {r.built.id: (r.baseline.id if r.baseline else None) for r in compare_variants(made)}
    assert pairs["lean@linux-amd64/gw"] == "default@linux-amd64/gw"
    assert pairs["lean@linux-amd64/ctl"] == "default@linux-amd64/ctl"
    deltas = {r.built.id: r.deltas.get("size") for r in compare_variants(made)}
    assert deltas["lean@linux-amd64/ctl"] == -500 and deltas["lean@linux-amd64/gw"] == -3000


@pytest.mark.parametrize(("limit", "verdict"), [("1600 B", "pass"), ("1400 B", "fail")])
def test_a_budget_of_one_program_judges_that_program_alone(
    two: Path, limit: str, verdict: str
) -> None:
    write_profile(two, "p", TWO + f'[[budget]]\nselect = "*/ctl"\nmax_size = "{limit}"\n')
    made = record(
        build("small@linux-amd64/app", inspection(5000)),
        build("small@linux-amd64/ctl", inspection(1500)),
    )
    checks = evaluate(load_profile("p", two).budgets, [], made, None)
    assert [(c.target, c.verdict) for c in checks] == [("small@linux-amd64/ctl", verdict)]


def test_a_sweep_of_one_program_names_it_in_its_ids(two: Path) -> None:
    write_profile(two, "p", TWO + '[sweep]\ntags = ["lean"]\n')
    alone, spec = one_program(load_profile("p", two), "plain@linux-amd64/ctl")
    assert alone.sweep is not None
    base, target = alone.variant("plain"), alone.targets[0]
    plan = sweep_plan(alone, alone.sweep, base, target, ("remove", "add"))
    ids = [plan.id(v) for v in (plan.base, *plan.others())]
    assert ids[0] == "plain@linux-amd64/ctl" and spec == "plain@linux-amd64"
    assert len(ids) > 1 and all(i.endswith("@linux-amd64/ctl") for i in ids)


@pytest.mark.parametrize(
    ("names", "baseline", "bases"),
    [
        (["d@l-amd64", "s@l-amd64"], "d@l-amd64", ["d@l-amd64", "d@l-amd64"]),
        (["d@l@go1.1", "d@l@go1.2", "s@l@go1.1"], "d@l@go1.1", ["d@l@go1.1"] * 3),
        (
            ["s@l/gw", "s@l/ctl", "t@l/gw", "t@l/ctl"],
            "s@l/gw",
            ["s@l/gw", "s@l/ctl", "s@l/gw", "s@l/ctl"],
        ),
        (["t@l/gw", "t@l/ctl"], "s@l/gw", [None, None]),  # the baseline was not measured
    ],
)
def test_start_up_compares_each_program_with_the_baselines_run_of_it(
    names: list[str], baseline: str, bases: list[str | None]
) -> None:
    found = baselines(names, baseline)
    assert [found.get(n) for n in names] == bases
