"""The variants of a sweep (``pipeline/sweep.py``): which tags each end and each row builds
with, for both kinds of tag; a row whose tags are another's is that build, not a second."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildopt.config.profile import Profile, load_profile
from buildopt.config.target import parse_target
from buildopt.errors import ProfileError
from buildopt.pipeline.sweep import sweep_plan

TARGET = parse_target("linux/amd64")


def profile(root: Path, sweep: str) -> Profile:
    (root / "profiles").mkdir()
    (root / "app").mkdir()
    (root / "profiles" / "p.toml").write_text(
        f'package = "./app"\n[variants.v]\ntags = ["base"]\n[sweep]\n{sweep}'
    )
    return load_profile("p", root)


def tags_of(plan_rows: tuple[tuple[str, object], ...]) -> dict[str, tuple[str, ...]]:
    return {tag: variant.tags for tag, variant in plan_rows}  # type: ignore[attr-defined]


def test_omit_tags_full_is_the_variant_and_minimal_has_every_tag(tmp_path: Path) -> None:
    loaded = profile(tmp_path, 'tags = ["noa", "nob", "noc"]\n')
    assert loaded.sweep is not None and loaded.sweep.kind == "omit"
    plan = sweep_plan(loaded, loaded.sweep, loaded.variant("v"), TARGET, ("remove", "add"))
    assert plan.full.name == "v" and plan.full.tags == ("base",)
    assert plan.minimal.tags == ("base", "noa", "nob", "noc")
    assert tags_of(plan.rows["remove"]) == {
        "noa": ("base", "noa"),
        "nob": ("base", "nob"),
        "noc": ("base", "noc"),
    }
    assert tags_of(plan.rows["add"])["nob"] == ("base", "noa", "noc")
    assert len(plan.others()) == 1 + 3 + 3  # minimal, and a row per tag and mode


def test_add_tags_full_has_every_tag_and_minimal_is_the_variant(tmp_path: Path) -> None:
    loaded = profile(tmp_path, 'kind = "add"\ntags = ["a", "b"]\n')
    assert loaded.sweep is not None
    plan = sweep_plan(loaded, loaded.sweep, loaded.variant("v"), TARGET, ("remove", "add"))
    assert (plan.full.tags, plan.minimal.name) == (("base", "a", "b"), "v")
    assert tags_of(plan.rows["remove"]) == {"a": ("base", "b"), "b": ("base", "a")}
    assert tags_of(plan.rows["add"]) == {"a": ("base", "a"), "b": ("base", "b")}
    # with two tags, removing a from the full build is adding b to the minimal one: one build
    assert len(plan.others()) == 1 + 2


def test_tags_and_tags_file_are_swept_together_each_once(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "features.txt").write_text("# omit tags\nnob\nnoc # c\nnoa\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text(
        'package = "./app"\n[variants.v]\n[sweep]\ntags = ["noa"]\ntags_file = "features.txt"\n'
    )
    loaded = load_profile("p", tmp_path)
    assert loaded.sweep is not None
    assert loaded.sweep.tags == ("noa", "nob", "noc")


def test_a_bad_line_of_the_tags_file_names_the_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "features.txt").write_text("noa\nno b\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text(
        'package = "./app"\n[variants.v]\n[sweep]\ntags_file = "features.txt"\n'
    )
    with pytest.raises(ProfileError, match=r"features\.txt:2.*sweep\.tags_file"):
        load_profile("p", tmp_path)


def test_a_variant_with_several_go_releases_is_swept_on_its_last(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text(
        'package = "./app"\n[variants.v]\ntoolchain = ["go1.25.1", "go1.26.0"]\n'
        '[sweep]\ntags = ["noa", "nob"]\n'
    )
    loaded = load_profile("p", tmp_path)
    assert loaded.sweep is not None
    plan = sweep_plan(loaded, loaded.sweep, loaded.variant("v"), TARGET, ("remove", "add"))
    assert plan.base.toolchain == ("go1.26.0",)
    ids = [plan.id(v) for v in (plan.base, *plan.others())]  # as the plan names their builds
    assert ids == [
        "v@linux-amd64@go1.26.0",
        "v+all-tags@linux-amd64@go1.26.0",
        "v+tag-noa@linux-amd64@go1.26.0",
        "v+tag-nob@linux-amd64@go1.26.0",
    ]
