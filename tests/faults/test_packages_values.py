"""Hostile ``packages`` values: whatever a profile lists, it loads with one program per entry,
each named after its directory and no two alike, or it is refused in one line that starts with
the file and names ``packages`` - never a traceback (issue 26 part 1)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.profile import Profile, load_profile
from buildopt.errors import EXIT_BAD_INPUT, BuildoptError
from tests.faults.test_profile_values import toml
from tests.integration.conftest import buildopt

# directories the project holds (two named ctl, one named with an @), and others it does not
FOLDERS = ["app", "app/cmd/ctl", "other/ctl", "we@ird", "sp ace", "ünï"]
entries = st.one_of(
    st.sampled_from([f"./{f}" for f in FOLDERS]),
    st.sampled_from(["", ".", "..", "/", "./app/", "./nope", "app/../app", "./app/cmd"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=6),
)
values = st.one_of(
    st.lists(entries, max_size=4),
    st.integers(),
    st.text(max_size=4),
    st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2),
)


def project(root: Path) -> Path:
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "profiles").mkdir()
    return root / "profiles" / "p.toml"


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values)
def test_any_packages_value_loads_or_is_refused_in_one_line(
    tmp_path_factory: object, value: object
) -> None:
    root = Path(tmp_path_factory.mktemp("packages"))  # type: ignore[attr-defined]
    path = project(root)
    path.write_text(f"packages = {toml(value)}\n[variants.a]\n")
    outcome = loaded(path, root)
    if isinstance(outcome, BuildoptError):
        assert outcome.exit_code == EXIT_BAD_INPUT
        assert "\n" not in outcome.message and outcome.message.startswith(str(path))
        assert "packages" in outcome.message, outcome.message
        return
    assert isinstance(value, list) and len(outcome.builds) == len(value)
    names = [p.name for p in outcome.builds]
    assert len(set(names)) == len(names) and all("@" not in n and "/" not in n for n in names)
    assert all(p.name == p.package.name for p in outcome.builds)


def loaded(path: Path, root: Path) -> Profile | BuildoptError:
    """The profile at path, or the error that refused it; its project removed afterwards."""
    try:
        return load_profile(str(path), root)
    except BuildoptError as exc:
        return exc
    finally:
        shutil.rmtree(root)


def test_the_command_line_refuses_two_programs_of_one_name(tmp_path: Path) -> None:
    path = project(tmp_path)
    path.write_text(
        f"packages = {json.dumps(['./app/cmd/ctl', './other/ctl'])}\n[variants.a]\n", "utf-8"
    )
    done = buildopt(["plan", "--profile", "p"], cwd=tmp_path)
    assert done.returncode == EXIT_BAD_INPUT
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "packages[2]: './other/ctl' and './app/cmd/ctl' are both programs named 'ctl'" in (
        done.stderr
    )


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('packages = ["./app/cmd/ctl", " "]', "packages[2]: empty (a main package's directory)"),
        ('package = ""', "package: empty (the main package's directory; '.' for the root)"),
    ],
)
def test_an_empty_entry_is_refused(tmp_path: Path, text: str, said: str) -> None:
    """packages = ["", "./app/cmd/ctl"] read "" as the root, a program named after its folder;
    package = "" planned `dir .` and failed in go build (no Go files)."""
    path = project(tmp_path)
    path.write_text(f"{text}\n[variants.a]\n", "utf-8")
    done = buildopt(["plan", "--profile", "p"], cwd=tmp_path)
    assert done.returncode == EXIT_BAD_INPUT, done.stderr
    assert said in done.stderr


def test_a_package_that_is_not_main_is_named(go: str, tmp_path: Path) -> None:
    """packages = ["./cmd/ctl", "./lib"] failed with 'cannot read the binary: ... not an ELF
    file (no \\x7fELF magic)': go build -o writes a package archive for ./lib."""
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "cmd" / "ctl").mkdir(parents=True)
    (tmp_path / "cmd" / "ctl" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "lib.go").write_text("package lib\n\nfunc F() int { return 1 }\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text(
        'packages = ["./cmd/ctl", "./lib"]\n[variants.a]\ncgo = false\n'
    )
    done = buildopt(["build", "--profile", "p"], cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "./lib is not a main package: go build wrote its package archive" in (
        done.stdout + done.stderr
    ), done.stdout + done.stderr
