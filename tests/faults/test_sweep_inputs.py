"""Hostile input to ``buildopt sweep`` and its ``[sweep]`` table: an unknown key, a tags_file
that is a FIFO or leads outside the project, 10,000 tags, tags with control characters, a
profile without [sweep], a bad --mode, a variant that has a sweep tag already. Each is one
line naming the file and the key, exit 2, at once: nothing built."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from buildopt.config.variant import is_build_tag
from tests.faults.conftest import buildopt

pytestmark = pytest.mark.integration

BASE = 'package = "./app"\n[variants.small]\ncgo = false\n'


def project(root: Path, sweep: str) -> Path:
    """A project whose profile p is BASE and then sweep (TOML text); the profile's path."""
    (root / "profiles").mkdir(parents=True, exist_ok=True)
    (root / "app").mkdir(exist_ok=True)
    (root / "app" / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (root / "app" / "main.go").write_text("package main\n\nfunc main() {}\n")
    path = root / "profiles" / "p.toml"
    path.write_text(BASE + sweep)
    return path


def refused(root: Path, *args: str) -> str:
    """sweep with args: its one error line (exit 2, nothing built)."""
    done = buildopt(["sweep", "--profile", "p", *args], cwd=root, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr
    assert not (root / "dist").exists()  # refused before any build
    return done.stderr


def test_an_unknown_key_says_the_key_it_meant(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntag = ["nofoo"]\n')
    line = refused(tmp_path)
    assert "p.toml" in line and "sweep.tag" in line and "did you mean 'tags'" in line


def test_a_kind_that_is_not_one_says_what_it_takes(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntags = ["nofoo"]\nkind = "remove"\n')
    line = refused(tmp_path)
    assert "sweep.kind" in line and "omit" in line and "add" in line


def test_a_tags_file_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntags_file = "features.txt"\n')
    os.mkfifo(tmp_path / "profiles" / "features.txt")  # nothing ever writes to it
    line = refused(tmp_path)
    assert "sweep.tags_file" in line and "features.txt" in line


def test_a_tags_file_leading_outside_the_project_is_refused(tmp_path: Path) -> None:
    project(tmp_path / "p", '[sweep]\ntags_file = "features.txt"\n')
    (tmp_path / "secret").write_text("nofoo\n")
    (tmp_path / "p" / "profiles" / "features.txt").symlink_to(tmp_path / "secret")
    line = refused(tmp_path / "p")
    assert "sweep.tags_file" in line and "outside the project" in line


def test_ten_thousand_tags_are_refused_not_swept(tmp_path: Path) -> None:
    tags = [f"no{i}" for i in range(10_000)]
    project(tmp_path, f"[sweep]\ntags = {json.dumps(tags)}\n")
    line = refused(tmp_path)
    assert "sweep.tags: 10000 tags, at most 1000" in line


def test_ten_thousand_tags_in_a_file_are_refused_too(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntags_file = "features.txt"\n')
    text = "".join(f"n{i}\n" for i in range(10_000))
    (tmp_path / "profiles" / "features.txt").write_text(text)
    assert "sweep.tags_file: 10000 tags, at most 1000" in refused(tmp_path)


def test_an_empty_sweep_says_what_it_needs(tmp_path: Path) -> None:
    project(tmp_path, "[sweep]\ntags = []\n")
    assert "sweep.tags: no tag to sweep" in refused(tmp_path)


def test_a_profile_without_sweep_says_so(tmp_path: Path) -> None:
    project(tmp_path, "")
    assert "p.toml has no [sweep] table" in refused(tmp_path)


def test_a_bad_mode_says_the_modes(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntags = ["nofoo"]\n')
    assert "--mode 'all': expected remove, add or both" in refused(tmp_path, "--mode", "all")


def test_a_variant_with_a_sweep_tag_already_is_refused(tmp_path: Path) -> None:
    project(tmp_path, '[variants.box]\ntags = ["nofoo"]\n[sweep]\ntags = ["nofoo", "nobar"]\n')
    line = refused(tmp_path, "--variant", "box")
    assert "box builds with nofoo already" in line


def toml_string(text: str) -> str:
    """text as a TOML basic string: every character but printable ASCII escaped."""
    escaped = (c if " " <= c <= "~" and c not in '"\\' else f"\\U{ord(c):08X}" for c in text)
    return '"' + "".join(escaped) + '"'


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@example(tag="\x1b[31mred", in_file=True)
@example(tag="no\x00pe", in_file=False)
@example(tag="\n", in_file=True)  # a blank line: no mistake (assume skips it)
@given(
    tag=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12).filter(
        lambda t: not is_build_tag(t)
    ),
    in_file=st.booleans(),
)
def test_a_tag_that_is_not_one_is_one_line_naming_the_key(
    tmp_path: Path, tag: str, in_file: bool
) -> None:
    root = tmp_path / f"case{abs(hash((tag, in_file)))}"
    if in_file:  # a line that is a comment or blank once cut and trimmed is no mistake
        word = tag.split("#", 1)[0].strip(" \t\r")
        assume("\n" not in tag and bool(word) and not is_build_tag(word))
        project(root, '[sweep]\ntags_file = "features.txt"\n')
        (root / "profiles" / "features.txt").write_bytes(f"nofoo\n{tag}\n".encode())
    else:
        project(root, f"[sweep]\ntags = [{toml_string(tag)}]\n")
    done = buildopt(["sweep", "--profile", "p"], cwd=root, timeout=60)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert not any(c in done.stderr[:-1] for c in "\x1b\r\x00\x07"), done.stderr
    assert ("features.txt:" if in_file else "sweep.tags") in done.stderr
    assert not (root / "dist").exists()


def test_an_unknown_variant_names_where_it_was_given(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntags = ["nofoo"]\nvariant = "large"\n')
    line = refused(tmp_path)
    assert "p.toml: sweep.variant: no variant 'large' in p.toml (its variants: small)" in line
    line = refused(tmp_path, "--variant", "huge")
    assert "--variant huge: no variant 'huge'" in line


def test_a_variant_with_control_characters_is_one_escaped_line(tmp_path: Path) -> None:
    project(tmp_path, '[sweep]\ntags = ["nofoo"]\n')
    line = refused(tmp_path, "--variant", "\x1b[31mx\r")
    assert "no variant '\\x1b[31mx\\r'" in line
    assert "small builds for linux-amd64" in refused(tmp_path, "--variant", "small@\x07")
