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
from tests.faults.conftest import buildopt, go

__all__ = ["go"]

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


@pytest.mark.parametrize("lever", ["nosuch", "tag-", "tag-a b", "goamd64-v9", "s-w\x1b[31m"])
def test_a_lever_no_lever_has_is_refused_before_any_build(tmp_path: Path, lever: str) -> None:
    path = project(tmp_path)
    line = refused(tmp_path, "--write", "x", "--lever", lever)
    assert "not a lever's name" in line
    assert path.read_text() == PROFILE


def test_every_lever_offered_has_a_lever_name() -> None:
    from buildopt.pipeline.levers import CAVEATS, is_lever_name

    names = [*CAVEATS.keys() - {"go", "goamd64", "goarm", "tag"}, "goamd64-v3", "goarm-7"]
    assert all(map(is_lever_name, [*names, "tag-lazyinit", "go1.26.8", "go1.27rc1"]))


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


def test_ctrl_c_keeps_the_what_ifs_that_finished(go: str, tmp_path: Path) -> None:
    """Ctrl-C while one what-if builds: exit 130, the what-ifs that finished are in advise's
    own record, which matches its folder; the profile's record holds none of them."""
    import signal
    import time
    import uuid

    from tests.faults.conftest import record_matches_dist, start_buildopt

    root = tmp_path / "project"
    project(root)
    fake = tmp_path / "fake-go"  # the trimpath what-if's go build never ends
    fake.write_text(f'#!/bin/sh\ncase "$*" in *+trimpath*) exec sleep 300;; esac\nexec {go} "$@"\n')
    fake.chmod(0o755)
    mark = uuid.uuid4().hex
    running = start_buildopt(
        ["advise", "--profile", "p"],
        root,
        {"BUILDOPT_GO": str(fake), "BUILDOPT_TEST_MARK": mark},
    )
    record = root / "dist" / "p" / ".advise" / "build.json"
    deadline = time.monotonic() + 120
    while "small+s-w@" not in (record.read_text() if record.exists() else ""):
        assert time.monotonic() < deadline, "the -s -w what-if never landed"
        time.sleep(0.1)
    running.send_signal(signal.SIGINT)
    _out, err = running.communicate(timeout=60)
    assert running.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted"), err
    kept = record_matches_dist(record)
    assert {i.split("@")[0] for i in kept} == {"small", "small+s-w"}
    assert not (root / "dist" / "p" / "build.json").exists()
