"""Dependency lists that are not lists: a FIFO, a folder, a huge file, malformed lines, control
characters, a link out of the project. `deps` and `gate` say so in one line, exit 2, at once,
and write nothing outside deps/."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.analysis.deps import MAX_LIST_BYTES, DepsListError, parse
from tests.faults.conftest import buildopt
from tests.integration.conftest import hello_project

pytestmark = pytest.mark.integration

PROFILE = 'package = "./hello"\ntargets = ["linux/amd64"]\n[variants.a]\ncgo = false\n'
LIST = "a@linux-amd64.txt"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = hello_project(tmp_path, PROFILE)
    (root / "deps" / "p").mkdir(parents=True)
    return root


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()


def _huge(path: Path) -> None:
    with path.open("wb") as f:
        f.truncate(MAX_LIST_BYTES + 1)


def _text(text: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(text)


SECRET = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI"  # noqa: S105 - a fake, to see it never shown


def _link_out(path: Path) -> None:
    """A link to a file outside the project (path: PROJECT/deps/p/LIST)."""
    secret = path.parents[3] / "secret.txt"
    secret.write_text(f"fmt\n{SECRET}\n")
    path.symlink_to(secret)


CASES = {
    "fifo": (_fifo, "not a regular file (a FIFO)"),
    "folder": (_folder, "not a regular file (a directory)"),
    "huge": (_huge, f"larger than the {MAX_LIST_BYTES:,} bytes allowed"),
    "malformed": (_text(b"runtime\nfmt a b c\n"), ":2: expected PACKAGE [MODULE[@VERSION]"),
    "control": (_text(b"fmt\x1b]0;owned\x07\n"), ":1: a control character (U+001B)"),
    "twice": (_text(b"fmt\nfmt\n"), ":2: fmt is listed twice (line 1 too)"),
    "binary": (_text(b"\x00\xff\xfe"), "not UTF-8 text"),
    "conflict": (_text(b"fmt\n<<<<<<< HEAD\nos\n=======\n"), ":2: expected PACKAGE"),
    "no path": (_text(SECRET.encode() + b"\n"), ":1: expected PACKAGE"),
    "link out": (_link_out, "a symbolic link to a file outside deps/: not read"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", [["deps"], ["gate"]])
def test_a_list_that_is_not_one_is_one_line_exit_2(
    project: Path, case: str, command: list[str]
) -> None:
    make, said = CASES[case]
    path = project / "deps" / "p" / LIST
    make(path)
    if command == ["gate"]:
        assert buildopt(["build"], cwd=project).returncode == 0
    done = buildopt(command, cwd=project)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert len(lines) == 1 and f"deps/p/{LIST}" in lines[0] and said in lines[0], done.stderr
    assert "Traceback" not in done.stderr and "\x1b" not in done.stderr + done.stdout
    if case == "link out":  # what the link leads to is never shown
        assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize("case", sorted(set(CASES) - {"link out"}))  # (writing: test below)
def test_update_replaces_a_file_that_is_no_list_and_refuses_what_is_no_file(
    project: Path, case: str
) -> None:
    make, said = CASES[case]
    path = project / "deps" / "p" / LIST
    make(path)
    done = buildopt(["deps", "--update"], cwd=project)
    if case in ("fifo", "folder"):  # the output rule: never written over
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.count("error:") == 1 and f"deps --update deps/p/{LIST}" in done.stderr
        assert not path.is_file()
        return
    assert done.returncode == 0, done.stderr
    assert f"replacing deps/p/{LIST}" in done.stderr and said in done.stderr
    assert "\x1b" not in done.stderr
    assert buildopt(["deps"], cwd=project).returncode == 0  # a list now, and current


def test_no_list_is_written_through_a_link_out_of_deps(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "taken.txt").write_text("runtime\n")
    (project / "deps" / "p" / LIST).symlink_to(outside / "taken.txt")
    done = buildopt(["deps", "--update"], cwd=project)
    assert done.returncode == 2 and "written only in the project's deps/ folder" in done.stderr
    assert (outside / "taken.txt").read_text() == "runtime\n"
    (outside / "taken.txt").unlink()
    (project / "deps" / "p").rename(project / "deps" / "old")
    (project / "deps" / "p").symlink_to(outside)
    done = buildopt(["deps", "--update"], cwd=project)
    assert done.returncode == 2 and "a symbolic link leads outside" in done.stderr
    assert list(outside.iterdir()) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_are_a_list_or_one_line(data: bytes) -> None:
    said = ""
    try:
        deps = parse(data, "x.txt")
    except DepsListError as exc:
        said, deps = exc.message, ()
    assert "\n" not in said and (not said or said.startswith("x.txt"))
    assert all(d.package and "\n" not in d.line() for d in deps)
