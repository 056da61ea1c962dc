"""Hostile input to ``buildopt advise``: an unknown variant, --write over a variant the profile
has, a profile that is a symbolic link (--write would edit a file another project may share),
tags and releases with control characters. Each is one line, exit 2, at once (nothing built),
and the profile is left byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.variant import is_build_tag
from tests.faults.conftest import buildopt

pytestmark = pytest.mark.integration

PROFILE = 'package = "./app"\n# a comment kept\n[variants.small]\ncgo = false\n'


def project(root: Path) -> Path:
    """A project with profile p (variant small); its path."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (root / "app" / "main.go").write_text("package main\n\nfunc main() {}\n")
    path = root / "profiles" / "p.toml"
    path.write_text(PROFILE)
    return path


def refused(root: Path, *args: str) -> str:
    """advise with args: its one error line (exit 2, nothing built)."""
    done = buildopt(["advise", "--profile", "p", *args], cwd=root, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr
    assert not (root / "dist").exists()  # refused before any build
    return done.stderr


def test_an_unknown_variant_names_the_variants(tmp_path: Path) -> None:
    project(tmp_path)
    line = refused(tmp_path, "--variant", "large")
    assert "no variant 'large' in p.toml (its variants: small)" in line


def test_an_unknown_target_of_the_variant_names_its_targets(tmp_path: Path) -> None:
    project(tmp_path)
    assert "small builds for linux-amd64" in refused(tmp_path, "--variant", "small@linux-s390x")


def test_write_over_an_existing_variant_is_refused_and_the_profile_kept(tmp_path: Path) -> None:
    path = project(tmp_path)
    line = refused(tmp_path, "--variant", "small", "--write", "small", "--lever", "s-w")
    assert "already has a variant 'small'" in line
    assert path.read_text() == PROFILE


def test_write_needs_its_lever_and_a_plain_name(tmp_path: Path) -> None:
    path = project(tmp_path)
    assert "--write NAME and --lever LEVER go together" in refused(tmp_path, "--write", "x")
    assert "may not contain '/'" in refused(tmp_path, "--write", "a/b", "--lever", "s-w")
    assert path.read_text() == PROFILE


def test_write_to_a_profile_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    shared = project(tmp_path / "other")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (tmp_path / "app" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "profiles").mkdir()
    os.symlink(shared, tmp_path / "profiles" / "p.toml")
    line = refused(tmp_path, "--write", "lean", "--lever", "s-w")
    assert "is a symbolic link" in line
    assert shared.read_text() == PROFILE


def test_write_to_a_hard_linked_profile_is_refused(tmp_path: Path) -> None:
    path = project(tmp_path)
    os.link(path, tmp_path / "copy.toml")
    assert "other hard links" in refused(tmp_path, "--write", "lean", "--lever", "s-w")
    assert path.read_text() == PROFILE


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tag=st.text(min_size=1, max_size=12).filter(lambda t: not is_build_tag(t) and "\x00" not in t)
)
def test_a_tag_that_is_no_build_tag_is_refused_in_one_line(tmp_path: Path, tag: str) -> None:
    if not (tmp_path / "profiles").exists():
        project(tmp_path)
    line = refused(tmp_path, "--tag", tag)
    assert line.startswith("error: --tag ") and "not a build tag" in line


def test_a_release_with_control_characters_is_refused(tmp_path: Path) -> None:
    project(tmp_path)
    line = refused(tmp_path, "--toolchain", "go1.27\x1b[31m")
    assert "not a Go release" in line
