"""Output options never write through what is there (issue 22, item 1).

`report -o /dev/null` replaced the device with a regular file, `report -o FIFO` the FIFO,
`report -o dist/P/build.json` turned the record into HTML, `gate --junit profiles/P.toml`
overwrote the profile, and `gate --markdown` to GitHub's step summary, appending, waited for
ever on a FIFO. Now every output option writes only to an absent path or over a regular file
that is none of the command's inputs; anything else is one line naming the option and the
path, exit 2, at once, with the target exactly as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.conftest import buildopt
from tests.integration.conftest import hello_project

pytestmark = pytest.mark.integration

PROFILE = """package = "./hello"
[variants.a]
cgo = false
[variants.b]
cgo = false
trimpath = true
[[budget]]
select = "*"
max_size = "100 MiB"
"""


@dataclass(frozen=True)
class Built:
    """The hello project built once: its profile, record, two binaries and a Go source."""

    root: Path

    @property
    def profile(self) -> Path:
        return self.root / "profiles" / "p.toml"

    @property
    def record(self) -> Path:
        return self.root / "dist" / "p" / "build.json"

    def binary(self, variant: str) -> Path:
        return self.root / "dist" / "p" / variant / "linux-amd64" / "hello"

    @property
    def source(self) -> Path:
        return self.root / "hello" / "main.go"

    def inputs(self) -> list[Path]:
        return [self.profile, self.record, self.binary("a"), self.binary("b"), self.source]

    def named(self, name: str) -> Path:
        by_name = {"profile": self.profile, "record": self.record, "Go source": self.source}
        return by_name.get(name) or self.binary("a")


@pytest.fixture(scope="module")
def built_once(tmp_path_factory: pytest.TempPathFactory) -> Built:
    project = hello_project(tmp_path_factory.mktemp("outputs"), PROFILE)
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    return Built(project)


@pytest.fixture
def built(built_once: Built) -> Iterator[Built]:
    """The built project, its inputs put back after the test (a test that fails without the
    fix has replaced one of them)."""
    kept = {p: (p.read_bytes(), p.stat().st_mode) for p in built_once.inputs()}
    yield built_once
    for path, (data, mode) in kept.items():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or not path.is_file() or path.read_bytes() != data:
            path.unlink(missing_ok=True)
        if not path.exists():
            path.write_bytes(data)
            path.chmod(mode)


@dataclass(frozen=True)
class Option:
    """An output option: the argv that writes target, the inputs it must never replace."""

    name: str  # as the error names it
    argv: Callable[[Built, str], list[str]]
    inputs: tuple[str, ...]  # of Built.named
    env: Callable[[str], dict[str, str]] = lambda _target: {}


OPTIONS = {
    "report -o": Option(
        "-o", lambda b, t: ["report", "-p", "p", "-o", t], ("profile", "record", "binary")
    ),
    "gate --junit": Option(
        "--junit", lambda b, t: ["gate", "-p", "p", "--junit", t], ("profile", "record", "binary")
    ),
    "gate --markdown": Option(
        "--markdown", lambda b, t: ["gate", "-p", "p", "--markdown", t], ("profile", "record")
    ),
    "gate --markdown to the step summary (appended to)": Option(
        "--markdown",
        lambda b, t: ["gate", "-p", "p", "--markdown", t],
        ("profile", "record"),
        env=lambda t: {"GITHUB_STEP_SUMMARY": t},
    ),
    "build --record": Option(
        "--record",
        lambda b, t: ["build", "-p", "p", "--record", t],
        ("profile", "Go source", "binary"),
    ),
    "merge -o": Option("-o", lambda b, t: ["merge", str(b.record), "-o", t], ("record", "profile")),
    # scan and diff read no profile or record, and wrote over both: no output replaces one
    "scan --sarif": Option(
        "--sarif",
        lambda b, t: ["scan", "hello", "--sarif", t],
        ("Go source", "profile", "record"),
    ),
    "diff --markdown": Option(
        "--markdown",
        lambda b, t: ["diff", str(b.binary("a")), str(b.binary("b")), "--markdown", t],
        ("binary", "profile", "record"),
    ),
}

TARGETS = ("character device", "FIFO", "directory")
LINKS = ("", "symbolic link to the ", "hard link to the ")
CASES = [
    pytest.param(name, kind, id=f"{name}: {kind}")
    for name, option in OPTIONS.items()
    for kind in (*TARGETS, *(f"{how}{input}" for input in option.inputs for how in LINKS))
]


def _hostile(built: Built, tmp_path: Path, kind: str) -> Path:
    """A target of this kind: a device, a FIFO, a directory, an input, or a link to one."""
    if kind == "character device":
        path = tmp_path / "null"
        try:  # /dev/null's numbers; only root may make a device
            os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("making a character device needs root (CAP_MKNOD)")
        return path
    if kind == "FIFO":
        os.mkfifo(tmp_path / "fifo")
        return tmp_path / "fifo"
    if kind == "directory":
        (tmp_path / "dir").mkdir()
        return tmp_path / "dir"
    how, _, name = kind.rpartition(" to the ")
    named = built.named(name)
    if not how:
        return named
    link = tmp_path / f"link{named.suffix}"
    if how == "symbolic link":
        link.symlink_to(named)
    else:
        os.link(named, link)
    return link


def _state(path: Path) -> tuple[object, ...]:
    """What a path is: its type, inode, device numbers, link target and content."""
    info = path.lstat()
    content = path.read_bytes() if stat.S_ISREG(info.st_mode) else b""
    link = os.readlink(path) if path.is_symlink() else ""
    return (stat.S_IFMT(info.st_mode), info.st_ino, info.st_rdev, link, content)


@pytest.mark.parametrize(("option_name", "kind"), CASES)
def test_an_output_never_writes_through_what_is_there(
    built: Built, tmp_path: Path, option_name: str, kind: str
) -> None:
    option = OPTIONS[option_name]
    target = _hostile(built, tmp_path, kind)
    before = _state(target)
    inputs = {p: _state(p) for p in built.inputs()}
    done = buildopt(
        option.argv(built, str(target)), cwd=built.root, env=option.env(str(target)), timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {option.name} {target}: "), done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "internal error" not in done.stderr
    assert _state(target) == before
    assert {p: _state(p) for p in built.inputs()} == inputs
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".buildopt-tmp-")]


@pytest.mark.parametrize(
    ("argv", "read"),
    [
        (["report", "-p", "p", "-o", "-"], lambda out: out.startswith("<!DOCTYPE html>")),
        (["gate", "-p", "p", "--junit", "-"], lambda out: ET.fromstring(out).tag == "testsuite"),
        (["gate", "-p", "p", "--markdown", "-"], lambda out: out.startswith("### buildopt gate")),
        (["merge", "dist/p/build.json", "-o", "-"], lambda out: json.loads(out)["builds"]),
        (["scan", "hello", "--sarif", "-"], lambda out: json.loads(out)["version"] == "2.1.0"),
        (
            ["diff", "dist/p/a/linux-amd64/hello", "dist/p/b/linux-amd64/hello", "--markdown", "-"],
            lambda out: out.startswith("## buildopt diff"),
        ),
    ],
)
def test_dash_is_stdout(built: Built, argv: list[str], read: Callable[[str], bool]) -> None:
    """`-` wrote a file named "-"; now it is stdout, and the command's table goes to stderr."""
    done = buildopt(argv, cwd=built.root)
    assert done.returncode == 0, done.stderr
    assert read(done.stdout)
    assert not (built.root / "-").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["gate", "-p", "p", "--json", "--junit", "-"], "--junit - and --json: only one of"),
        (["gate", "-p", "p", "--junit", "-", "--markdown", "-"], "--markdown - and --junit -: "),
        (["gate", "-p", "p", "--junit", "x.xml", "--markdown", "x.xml"], "--markdown x.xml and"),
        (["scan", "hello", "--json", "--sarif", "-"], "--sarif - and --json: only one of"),
        (["build", "-p", "p", "--record", "-"], "--record -: this output cannot be stdout"),
    ],
)
def test_stdout_is_given_to_one_output(built: Built, argv: list[str], expected: str) -> None:
    done = buildopt(argv, cwd=built.root)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {expected}") and done.stderr.count("\n") == 1
    assert not (built.root / "-").exists() and not (built.root / "x.xml").exists()


def test_a_regular_file_is_replaced_atomically_and_a_link_followed(
    built: Built, tmp_path: Path
) -> None:
    """A regular file that is no input is replaced by a rename (a new inode, no temporary file
    left); a symbolic link to one stays a link, and the file it leads to is replaced - before,
    the link itself was replaced by a regular file."""
    old = tmp_path / "report.html"
    old.write_text("old")
    inode = old.stat().st_ino
    done = buildopt(["report", "-p", "p", "-o", str(old)], cwd=built.root)
    assert done.returncode == 0, done.stderr
    assert old.read_text().startswith("<!DOCTYPE html>") and old.stat().st_ino != inode
    kept = tmp_path / "kept.xml"
    kept.write_text("old")
    link = tmp_path / "link.xml"
    link.symlink_to(kept)
    done = buildopt(["gate", "-p", "p", "--junit", str(link)], cwd=built.root)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and ET.fromstring(kept.read_text()).tag == "testsuite"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_the_step_summary_is_appended_to(built: Built, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    inode = summary.stat().st_ino
    done = buildopt(
        ["gate", "-p", "p", "--markdown", str(summary)],
        cwd=built.root,
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert done.returncode == 0, done.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n### buildopt gate: p - PASS")
    assert summary.stat().st_ino == inode


def test_a_record_output_replaces_the_record_it_wrote_before(built: Built, tmp_path: Path) -> None:
    """No output replaces a buildopt record - but merge -o run again replaces its own."""
    merged = tmp_path / "merged.json"
    for _ in range(2):
        done = buildopt(["merge", str(built.record), "-o", str(merged)], cwd=built.root)
        assert done.returncode == 0, done.stderr
    refused = buildopt(["report", "-p", "p", "-o", str(merged)], cwd=built.root)
    assert refused.returncode == 2
    assert "that is a buildopt.build document" in refused.stderr


def test_the_default_report_file_is_under_the_rule_and_named_as_such(built: Built) -> None:
    """A FIFO at dist/p/report.html was refused as "-o ...", an option the user never gave."""
    page = built.root / "dist" / "p" / "report.html"
    os.mkfifo(page)
    try:
        done = buildopt(["report", "-p", "p"], cwd=built.root, timeout=60)
        assert done.returncode == 2
        assert done.stderr == f"error: report {page}: a FIFO, not a file to write " + (
            "(an output is a new file or replaces a regular one; - is stdout)\n"
        )
        assert stat.S_ISFIFO(page.lstat().st_mode)
    finally:
        page.unlink()


@pytest.mark.parametrize("kind", ["FIFO", "directory"])
def test_a_baseline_that_is_no_file_is_refused_not_taken_as_absent(
    built: Built, tmp_path: Path, kind: str
) -> None:
    """`gate --baseline FIFO` said "no baseline record ...", as if it were absent, and went
    on: only an absent baseline leaves the growth budgets unjudged."""
    odd = _hostile(built, tmp_path, kind)
    done = buildopt(["gate", "-p", "p", "--baseline", str(odd)], cwd=built.root, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {odd}: not a regular file ("), done.stderr
    absent = buildopt(
        ["gate", "-p", "p", "--baseline", str(tmp_path / "none.json")], cwd=built.root
    )
    assert absent.returncode == 0 and "no baseline record at" in absent.stderr


def test_the_default_record_refused_is_named_as_such(built: Built, tmp_path: Path) -> None:
    """`build --dist FIFO` was refused as "--record ...", an option the user never gave."""
    odd = _hostile(built, tmp_path, "FIFO")
    done = buildopt(["build", "-p", "p", "--dist", str(odd)], cwd=built.root, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: record {odd}/p/build.json: cannot write "), done.stderr
