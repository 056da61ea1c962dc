"""Which levers advise offers a variant, and each what-if's exact argv: the variant's with one
change. Pure: no process is started (the builds are in tests/integration/test_advise.py)."""

from __future__ import annotations

from pathlib import Path

import tomllib

from buildopt.config.profile import load_profile
from buildopt.config.target import parse_target
from buildopt.pipeline.advise import (
    base_id_of,
    levers,
    propose_budget,
    variant_table,
    what_if_profile,
)
from buildopt.pipeline.plan import make_plan
from buildopt.record.advice import AdviceReport, Figures, LeverAdvice
from tests.conftest import write_profile
from tests.unit.test_plan import TOOLS

PROFILE = """\
package = "./app"
[variants.plain]
cgo = true
[variants.full]
cgo = false
strip = "all"
trimpath = true
tags = ["lazyinit"]
[variants.pie]
cgo = true
buildmode = "pie"
linkmode = "external"
tags = ["netgo"]
toolchain = ["go1.27.1"]
"""
AMD64 = parse_target("linux/amd64")


def offered(project: Path, name: str, packages: tuple[str, ...] = (), **kw: object) -> dict:
    profile = load_profile("p", project)
    found = levers(profile, profile.variant(name), AMD64, TOOLS, packages, **kw)  # type: ignore[arg-type]
    return {lever.name: lever for lever in found}


def test_the_levers_a_plain_cgo_variant_lacks(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    names = list(offered(project, "plain", ("net", "os/user", "runtime")))
    assert names == [
        "s-w",
        "trimpath",
        "cgo-off",
        "netgo",
        "osusergo",
        "go1.27.1",  # from the profile's toolchain lists: newer than go1.26.8
        "tag-lazyinit",  # the tags of the other variants (netgo has its own row)
    ]


def test_the_sweep_lists_tags_are_levers_too(project: Path) -> None:
    write_profile(project, "p", PROFILE + '[sweep]\ntags = ["nobadger", "lazyinit", "nomysql"]\n')
    names = list(offered(project, "plain", ("runtime",)))
    assert names[-3:] == ["tag-lazyinit", "tag-nobadger", "tag-nomysql"]  # each once


def test_netgo_and_osusergo_only_where_their_packages_are_linked(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    assert "netgo" not in offered(project, "plain", ("runtime",))
    assert "osusergo" not in offered(project, "plain", ("net",))


def test_a_variant_using_every_lever_has_none_but_what_it_was_given(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    assert list(offered(project, "full", ("net",))) == ["go1.27.1"]
    given = offered(project, "full", tags=["nobadger"], releases=["go1.25.0", "go1.26.9"])
    assert list(given) == ["go1.27.1", "go1.26.9", "tag-nobadger"]  # go1.25.0: older


def test_pie_and_external_linking_have_their_levers(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    found = offered(project, "pie", ("net",), startup=True)
    assert {"pie-off", "internal-link", "goamd64-v2", "goamd64-v3"} <= set(found)
    assert "netgo" not in found and "go1.27.1" not in found  # it has them already
    assert found["internal-link"].variant.linkmode == "internal"
    assert found["pie-off"].variant.buildmode == "exe"
    # cgo off cannot keep external linking (go refuses it): the lever links internally too
    assert found["cgo-off"].variant.linkmode == "internal" and not found["cgo-off"].variant.cgo
    assert "-linkmode=internal" in found["cgo-off"].change
    assert "goamd64-v2" not in offered(project, "pie")  # only where start-up is measured


def test_each_what_if_is_the_variants_argv_with_its_one_change(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    profile = load_profile("p", project)
    base = profile.variant("plain")
    found = offered(project, "plain", ("net",))
    what_if = what_if_profile(profile, base, AMD64, [x.variant for x in found.values()])
    plan = make_plan(what_if, TOOLS, {"PATH": ""})
    steps = {s.variant.name: s for s in plan.steps}
    assert plan.dist == project / "dist" / "p" / ".advise"
    assert what_if.record_path() == project / "dist" / "p" / ".advise" / "build.json"
    assert steps["plain"].argv[4:] == (".",)  # the base itself, unchanged
    assert steps["plain+s-w"].argv[4:] == ("-ldflags=-s -w", ".")
    assert steps["plain+trimpath"].argv[4:] == ("-trimpath", ".")
    assert steps["plain+netgo"].argv[4:] == ("-tags=netgo", ".")
    assert steps["plain+cgo-off"].env["CGO_ENABLED"] == "0"
    assert steps["plain+go1.27.1"].env["GOTOOLCHAIN"] == "go1.27.1"
    assert steps["plain+go1.27.1"].id == "plain+go1.27.1@linux-amd64@go1.27.1"
    assert all(s.target == AMD64 for s in plan.steps)  # one target: the one advised on


def test_a_written_variant_extends_the_base_and_builds_as_the_what_if(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    path = project / "profiles" / "p.toml"
    found = offered(project, "pie", ("net", "os/user"), startup=True)
    text = "".join(
        "\n" + variant_table(f"w-{name}", "pie", lever.layer, "advised")
        for name, lever in found.items()
    )
    path.write_text(PROFILE + text)
    profile = load_profile("p", project)
    what_ifs = what_if_profile(profile, profile.variant("pie"), AMD64, [])
    for name, lever in found.items():
        written = make_plan(profile, TOOLS, {"PATH": ""}, [f"w-{name}@linux-amd64*"]).steps[0]
        (what_if,) = make_plan(
            what_if_profile(profile, profile.variant("pie"), AMD64, [lever.variant]),
            TOOLS,
            {"PATH": ""},
            [f"pie+{name}@*"],
        ).steps
        assert written.argv[4:] == what_if.argv[4:], name  # all but -o OUT
        assert dict(written.env) == dict(what_if.env), name
    assert what_ifs.variants[0].name == "pie"


def test_a_tag_is_appended_inline() -> None:
    text = variant_table("lean", "default", {"tags": {"append": ["lazyinit"]}}, "d")
    assert 'tags = {append = ["lazyinit"]}' in text
    assert tomllib.loads(text)["variants"]["lean"]["extends"] == "default"


def test_the_proposed_budget_has_headroom_and_loads() -> None:
    figures = Figures(size=6_086_921, sha256="0" * 64, ram_static=39_915_520)
    row = LeverAdvice(
        lever="s-w", id="d+s-w@linux-amd64", change="", caveat="", status="ok", error="",
        argv=(), env={}, build_seconds=0.0, figures=figures,
    )  # fmt: skip
    report = AdviceReport(
        schema="buildopt.advice/1", profile="p", variant="d", target="linux/amd64",
        base_id="d@linux-amd64", base=figures, budgets=(), levers=(row,), seconds=0.0,
    )  # fmt: skip
    (budget,) = tomllib.loads(propose_budget("lean", report, row))["budget"]
    assert budget == {
        "name": "lean size",
        "select": "lean@linux-amd64",
        "max_size": "6272 KiB",  # 6,086,921 x 1.05 = 6,391,267, up to 98 x 64 KiB
        "max_ram_static": "40960 KiB",
    }


def test_only_newer_releases_are_offered_a_candidate_before_its_release(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.v]\ncgo = false\n')
    given = ["go1.26.8", "go1.26.10", "go1.27rc1", "go1.26.8rc1", "go1.9"]
    assert list(offered(project, "v", releases=given)) == [
        "s-w",
        "trimpath",
        "go1.26.10",  # 10 > 8 as numbers, not as text
        "go1.27rc1",
    ]


def test_a_release_candidate_is_older_than_its_release(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.v]\ntoolchain = ["go1.27"]\n')
    assert "go1.27rc1" not in offered(project, "v", releases=["go1.27rc1"])
    assert "go1.27.1" in offered(project, "v", releases=["go1.27.1"])


def test_a_variant_built_with_several_releases_is_advised_on_its_last(project: Path) -> None:
    write_profile(
        project, "p", 'package = "./app"\n[variants.v]\ntoolchain = ["go1.25.3", "go1.26.8"]\n'
    )
    profile = load_profile("p", project)
    base = profile.variant("v")
    found = offered(project, "v")
    plan = make_plan(
        what_if_profile(profile, base, AMD64, [x.variant for x in found.values()]),
        TOOLS,
        {"PATH": ""},
    )
    assert [s.id for s in plan.steps] == [
        "v@linux-amd64@go1.26.8",
        "v+s-w@linux-amd64@go1.26.8",
        "v+trimpath@linux-amd64@go1.26.8",
        "v+cgo-off@linux-amd64@go1.26.8",
    ]
    assert base_id_of(base, AMD64) == "v@linux-amd64@go1.26.8"
