"""A record entry's binary, changed in every way a file can change after its build: whatever
was done to it, ``record.integrity.changed`` names it exactly when its bytes are no longer
the ones recorded (a touch, a chmod, the same bytes written anew are no change)."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.budgets import ImageBudget, ImageFile
from buildopt.errors import ProfileError
from buildopt.pipeline.image import inputs
from buildopt.record.integrity import changed, stamp_of
from buildopt.record.model import Record
from tests.records import build, inspection, record

OLD = 1_000_000_000_000_000_000  # an mtime long past: any write now sets another

EDITS = st.one_of(
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("truncate"), st.integers(1, 64)),
    st.tuples(st.just("flip"), st.integers(0, 4095)),
    st.tuples(st.just("same bytes"), st.integers(0, 4095)),  # rewritten in place, unchanged
    st.tuples(st.just("replaced"), st.booleans()),  # a new file renamed over it
    st.tuples(st.just("touch"), st.integers(0, 2**40)),
    st.tuples(st.just("chmod"), st.sampled_from([0o700, 0o644, 0o600])),
)


def apply(path: Path, edit: tuple[str, object]) -> None:
    kind, arg = edit
    data = path.read_bytes()
    if kind == "append":
        with path.open("ab") as f:
            f.write(arg)  # type: ignore[arg-type]
    elif kind == "truncate":
        os.truncate(path, max(0, len(data) - int(arg)))  # type: ignore[call-overload]
    elif kind in ("flip", "same bytes") and data:
        at = int(arg) % len(data)  # type: ignore[call-overload]
        byte = data[at] ^ 0xFF if kind == "flip" else data[at]
        with path.open("r+b") as f:
            f.seek(at)
            f.write(bytes([byte]))
    elif kind == "replaced":
        new = path.with_name("new")
        new.write_bytes(data if arg else data[::-1])
        os.replace(new, path)
    elif kind == "touch":
        os.utime(path, ns=(int(arg), int(arg)))  # type: ignore[call-overload]
    elif kind == "chmod":
        path.chmod(int(arg))  # type: ignore[call-overload]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.binary(min_size=1, max_size=4096),
    edits=st.lists(EDITS, max_size=3),
)
def test_changed_exactly_when_the_bytes_differ(
    tmp_path_factory: object, content: bytes, edits: list[tuple[str, object]]
) -> None:
    folder = Path(os.path.realpath(tmp_path_factory.mktemp("bin")))  # type: ignore[attr-defined]
    binary = folder / "hello"
    binary.write_bytes(content)
    os.utime(binary, ns=(OLD, OLD))
    entry = build("a@linux-amd64", inspection(len(content)), output=str(binary))
    entry = msgspec.structs.replace(
        entry, sha256=hashlib.sha256(content).hexdigest(), stamp=stamp_of(binary)
    )
    assert changed(entry) is None
    for edit in edits:
        apply(binary, edit)
    now = binary.read_bytes()
    problem = changed(entry)
    if now == content:
        assert problem is None, (edits, problem)
    else:
        assert problem is not None, edits
        assert problem.startswith(f"{binary}: changed since its build (")
        if len(now) != len(content):
            assert f"(size {len(content)} -> {len(now)} bytes)" in problem
        else:
            assert "(same size, other bytes)" in problem


def test_a_binary_not_there_is_no_mismatch_and_a_folder_is(tmp_path: Path) -> None:
    """A record merged from CI jobs is judged from its facts (the binaries stayed on the
    runners); a folder where the binary was is named."""
    gone = build("a@linux-amd64", inspection(3), output=str(tmp_path / "gone"), sha256="0" * 64)
    assert changed(gone) is None
    (tmp_path / "gone").mkdir()
    assert changed(gone) == f"{tmp_path / 'gone'}: no longer a regular file since its build"


# --- [[image]].files: whatever the source path, nothing from outside the project -----------

SEGMENTS = st.sampled_from(["..", ".", "conf", "app.conf", "out", "in", "missing", "/etc"])


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Record]:
    """A project (with a link out of it and one within it) and a record of one binary."""
    base = Path(os.path.realpath(tmp_path_factory.mktemp("tree")))
    root = base / "project"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "app.conf").write_text("x\n")
    (base / "secret").write_text("secret\n")
    (root / "conf" / "out").symlink_to(base / "secret")
    (root / "conf" / "in").symlink_to(root / "conf" / "app.conf")
    (root / "out").symlink_to(base)
    binary = root / "hello"
    binary.write_bytes(b"\x7fELF binary")
    entry = build(
        "a@linux-amd64",
        inspection(11),
        output=str(binary),
        sha256=hashlib.sha256(binary.read_bytes()).hexdigest(),
    )
    return root, record(entry)


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(SEGMENTS, min_size=1, max_size=6), allow=st.booleans())
def test_no_source_path_reaches_outside_the_project(
    tree: tuple[Path, Record], parts: list[str], allow: bool
) -> None:
    root, built = tree
    given = "/".join(parts).replace("//", "/")
    image = ImageBudget(
        name="node",
        source=root / "profiles" / "p.toml",
        where="image[1]",
        select=("a",),
        records=(),
        filesystem="squashfs",
        files={"/etc/x": ImageFile(given=given, path=root / given, allow_outside=allow)},
    )
    refused: ProfileError | None = None
    try:
        items = inputs(image, [built], root)
    except ProfileError as exc:
        refused = exc
    if refused is not None:
        assert refused.message.startswith(f"{image.source}: image[1].files./etc/x: ")
        assert "\n" not in refused.message
        return
    (extra,) = [i for i in items if i.path == "/etc/x"]
    real = Path(os.path.realpath(root / given))
    assert extra.file == real and real.is_file()
    assert allow or real.is_relative_to(root)
    assert extra.mode == stat.S_IMODE(real.stat().st_mode)
