"""Hostile tags files (a variant's ``tags_file``): a FIFO, a directory, a link out of the
project, a huge file, lines of control characters or of any bytes. Each is refused at once in
one line naming the file (and the line, for a line), exit 2 - never a hang, a traceback or a
tag that go build would read otherwise."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.profile import Profile, load_profile
from buildopt.config.tags import MAX_TAGS_FILE_BYTES
from buildopt.config.variant import is_build_tag
from buildopt.errors import EXIT_BAD_INPUT, BuildoptError
from tests.faults.conftest import buildopt

pytestmark = pytest.mark.integration

PROFILE = 'package = "./app"\n[variants.minimal]\ntags_file = "features.txt"\n'


def project_with(root: Path) -> Path:
    """A project whose profile p reads profiles/features.txt (not made here)."""
    (root / "profiles").mkdir()
    (root / "app").mkdir()
    (root / "app" / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (root / "app" / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "profiles" / "p.toml").write_text(PROFILE)
    return root / "profiles" / "features.txt"


def refusal(root: Path) -> str:
    """buildopt plan on the project: its one error line (it must fail at once, exit 2)."""
    started = time.monotonic()
    done = buildopt(["plan", "--profile", "p"], cwd=root, timeout=30)
    assert time.monotonic() - started < 20
    assert done.returncode == 2, done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return done.stderr.removeprefix("error: ").rstrip("\n")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    features = project_with(tmp_path)
    os.mkfifo(features)
    assert refusal(tmp_path) == (
        f"{tmp_path}/profiles/p.toml: variants.minimal.tags_file: {features}: not a regular "
        "file (a FIFO)"
    )


def test_a_directory_is_refused(tmp_path: Path) -> None:
    features = project_with(tmp_path)
    features.mkdir()
    assert refusal(tmp_path).endswith(f"{features}: not a regular file (a directory)")


@pytest.mark.parametrize("target", ["/proc/self/environ", "/etc/passwd", "/dev/zero"])
def test_a_link_out_of_the_project_is_refused_before_it_is_read(
    tmp_path: Path, target: str
) -> None:
    """A link to the environment would have put it in the message of its first line."""
    features = project_with(tmp_path)
    features.symlink_to(target)
    message = refusal(tmp_path)
    assert message.startswith(f"{tmp_path}/profiles/p.toml: variants.minimal.tags_file: ")
    assert "outside the project" in message
    assert "PATH=" not in message and "root:" not in message


def test_a_link_inside_the_project_is_followed(tmp_path: Path) -> None:
    features = project_with(tmp_path)
    (tmp_path / "features.list").write_text("a\nb\n")
    features.symlink_to(tmp_path / "features.list")
    assert load_profile("p", tmp_path).variant("minimal").tags == ("a", "b")


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    features = project_with(tmp_path)
    with features.open("wb") as f:
        f.truncate(4 << 30)  # 4 GiB, sparse: reading it would take the machine's memory
    assert refusal(tmp_path).endswith(
        f"{features}: larger than the {MAX_TAGS_FILE_BYTES:,} bytes allowed"
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("omit\x1b]0;pwned\x07", '"omit\\u001b]0;pwned\\u0007"'),
        ("omit\x00x", '"omit\\u0000x"'),
        ("omit\u202egnp", '"omit\\u202egnp"'),
        ("a,b", "'a,b'"),  # one -tags word of go: two tags
        ("\x0b", '"\\u000b"'),
    ],
)
def test_a_line_of_control_characters_is_shown_not_done(
    tmp_path: Path, line: str, shown: str
) -> None:
    features = project_with(tmp_path)
    features.write_bytes(f"fine\n# comment\n{line}\n".encode())
    message = refusal(tmp_path)
    assert message.startswith(f"{features}:3: {shown} is not one build tag"), message
    assert "\x1b" not in message and "\x00" not in message and "\u202e" not in message


lines = st.one_of(
    st.sampled_from(["netgo", "omit_x", "# c", "", "  a.b  ", "x # y", "\r", "go1.2"]),
    st.text(max_size=8),
    st.binary(max_size=8).map(lambda b: b.decode("latin-1")),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.lists(st.binary(max_size=10) | lines.map(str.encode), max_size=8))
def test_any_tags_file_loads_its_tags_or_is_refused_at_its_line(
    tmp_path_factory: pytest.TempPathFactory, content: list[bytes]
) -> None:
    """Any bytes: the variant gets exactly the file's tags (comments and blanks cut, each
    once) or the profile is refused in one line naming the tags file and a line of it."""
    root = tmp_path_factory.mktemp("tags")
    features = project_with(root)
    features.write_bytes(b"\n".join(content))
    try:
        outcome: Profile | BuildoptError = load_profile("p", root)
    except BuildoptError as exc:
        outcome = exc
    finally:
        shutil.rmtree(root)
    words = [
        line.decode("utf-8", "replace").split("#", 1)[0].strip(" \t\r")
        for line in b"\n".join(content).removeprefix(b"\xef\xbb\xbf").split(b"\n")
    ]
    if isinstance(outcome, BuildoptError):
        assert outcome.exit_code == EXIT_BAD_INPUT and "\n" not in outcome.message
        assert outcome.message.startswith(f"{features}:"), outcome.message
        number = int(outcome.message.removeprefix(f"{features}:").split(":", 1)[0])
        assert not is_build_tag(words[number - 1]) or "UTF-8" in outcome.message
        assert "(read for variants.minimal.tags_file of " in outcome.message
    else:
        assert outcome.variant("minimal").tags == tuple(dict.fromkeys(filter(None, words)))


@pytest.mark.parametrize("named", ["profiles/features.txt", "hard-link.txt"])
def test_no_output_replaces_a_tags_file(tmp_path: Path, named: str) -> None:
    """The tags file is an input of every command that reads the profile: report -o over it
    (or over a hard link to it) is refused before any work, and the file is left as it was."""
    features = project_with(tmp_path)
    features.write_text("a\n")
    (tmp_path / "hard-link.txt").hardlink_to(features)
    done = buildopt(["report", "--profile", "p", "-o", named], cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: -o {named}: ")
    assert f"a tags file of the profile ({features})" in done.stderr
    assert features.read_text() == "a\n"
