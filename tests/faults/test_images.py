"""Images are made only of what the profile may take, from binaries that are still the ones
built, by one process at a time: files outside the project, FIFOs and devices are refused;
a binary changed in dist/ after its build is named, never packed or judged as built; a
``gate`` and an ``image`` at once make the same bytes as one alone."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.config.profile import load_profile
from buildopt.errors import ProfileError
from tests.conftest import write_profile
from tests.faults.conftest import buildopt, start_buildopt
from tests.integration.conftest import hello_project, system_tool_missing

PROFILE = """package = "./hello"
[variants.small]
cgo = false
strip = "all"

[[budget]]
name = "size"
select = "small"
max_size = "64 MiB"

[[image]]
name = "node"
select = "small"
filesystem = "squashfs"
max_size = "64 MiB"
max_share = {{ "small" = "64 MiB" }}
files = {files}
"""


def unsquashfs_listing(image: Path) -> dict[str, str]:
    """squashfs-tools' own listing of the image: path in it -> its mode string."""
    tool = shutil.which("unsquashfs")
    if tool is None:
        system_tool_missing("unsquashfs", "squashfs-tools")
    out = subprocess.run(
        [str(tool), "-lln", str(image)], capture_output=True, text=True, check=True
    ).stdout
    modes = {}
    for line in out.splitlines():
        fields = line.split()
        modes[fields[-1].removeprefix("squashfs-root")] = fields[0]
    return modes


def project_with(tmp_path: Path, files: str) -> Path:
    if shutil.which("mksquashfs") is None:
        system_tool_missing("mksquashfs", "squashfs-tools")
    project = hello_project(tmp_path, PROFILE.format(files=files))
    (project / "conf").mkdir()
    return project


@pytest.fixture
def built(go: str, tmp_path: Path) -> Path:
    """The hello project built, its image taking a project file of mode 0640."""
    project = project_with(tmp_path, '{ "/etc/app.conf" = "conf/app.conf" }')
    (project / "conf" / "app.conf").write_text("x = 1\n")
    (project / "conf" / "app.conf").chmod(0o640)
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    return project


def set_files(project: Path, files: str) -> None:
    (project / "profiles" / "p.toml").write_text(PROFILE.format(files=files))


def last_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


# --- item 2: what an image may take --------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["/etc/shadow", "../../../../etc/passwd", "conf/link", "conf/../../outside.conf"],
)
def test_a_file_outside_the_project_is_refused(built: Path, source: str) -> None:
    """Before, both /etc/shadow and ../../../../etc/passwd went into the image, mode 0644."""
    (built / "conf" / "link").symlink_to("/etc/passwd")  # inside by name, outside really
    (built.parent / "outside.conf").write_text("secret\n")
    set_files(built, f'{{ "/etc/p" = "{source}" }}')
    for command in ("image", "gate"):
        done = buildopt([command, "--profile", "p"], cwd=built)
        assert done.returncode == 2, done.stderr
        line = last_line(done.stderr)
        assert "image[1].files./etc/p: " in line and "outside the project" in line, line
        assert "allow_outside = true" in line
    assert not (built / "dist" / "p" / "images" / "node.squashfs").exists()


def test_modes_are_the_sources_unless_given(built: Path, tmp_path: Path) -> None:
    """A 0640 project file stays 0640, a 0700 script 0700 (never widened to 0644); a file
    outside taken with allow_outside and an explicit mode has that mode."""
    script = built / "conf" / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o700)
    outside = tmp_path / "ca.pem"
    outside.write_text("pem\n")
    outside.chmod(0o600)
    set_files(
        built,
        '{ "/etc/app.conf" = "conf/app.conf", "/sbin/run" = "conf/run.sh", '
        f'"/etc/ca.pem" = {{ source = "{outside}", allow_outside = true, mode = "0644" }} }}',
    )
    done = buildopt(["image", "--profile", "p", "--json"], cwd=built)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["images"]
    modes = unsquashfs_listing(Path(record["image"]))
    assert modes["/etc/app.conf"] == "-rw-r-----"
    assert modes["/sbin/run"] == "-rwx------"
    assert modes["/etc/ca.pem"] == "-rw-r--r--"
    assert modes["/usr/bin/hello"] == "-rwxr-xr-x"
    sources = {f["path"]: f["source"] for f in record["files"]}
    assert sources["/etc/ca.pem"] == str(outside)
    assert sources["/sbin/run"] == "conf/run.sh"


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_are_read(built: Path, kind: str) -> None:
    """A FIFO would hang the image, /dev/zero never ends: one line, exit 2, at once."""
    source = {"fifo": "conf/fifo", "device": "/dev/zero", "folder": "conf"}[kind]
    if kind == "fifo":
        os.mkfifo(built / "conf" / "fifo")
    set_files(built, f'{{ "/etc/p" = {{ source = "{source}", allow_outside = true }} }}')
    done = buildopt(["image", "--profile", "p"], cwd=built, timeout=60)
    assert done.returncode == 2, done.stderr
    line = last_line(done.stderr)
    assert "image[1].files./etc/p: " in line and "not a regular file" in line, line


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ('{ "/etc/p" = { source = "conf/app.conf", mode = "4755" } }', "mode: expected permission"),
        ('{ "/etc/p" = { source = "conf/app.conf", mode = 420 } }', "mode: expected permission"),
        ('{ "/etc/p" = { source = "conf/app.conf", modes = "0644" } }', "did you mean 'mode'"),
        ('{ "/etc/p" = { allow_outside = true } }', "/etc/p.source: expected a file"),
        ('{ "/etc/p" = { source = "x", allow_outside = "yes" } }', "expected true or false"),
    ],
)
def test_bad_file_tables_are_one_line(tmp_path: Path, files: str, expected: str) -> None:
    project = project_with(tmp_path, files)
    done = buildopt(["plan", "--profile", "p"], cwd=project)
    assert done.returncode == 2
    assert expected in last_line(done.stderr) and done.stderr.count("\n") == 1, done.stderr


CONTROL = st.sampled_from([chr(c) for c in (*range(0x20), 0x7F, 0x85, 0x9B)])


@settings(max_examples=60, deadline=None)
@given(
    before=st.text(st.characters(codec="utf-8", exclude_characters="/\\"), max_size=6),
    control=CONTROL,
    in_layout=st.booleans(),
)
def test_a_path_in_the_image_holds_no_control_character(
    before: str, control: str, in_layout: bool
) -> None:
    """ "/etc/a\nb" was put into the image: unsquashfs -lln, which the image's check reads,
    then lists it on two lines. A path in the image is refused with a control character."""
    place = json.dumps(f"/etc/{before}{control}x", ensure_ascii=False)  # TOML: no surrogates
    place = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in place)
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "profiles").mkdir()
        (project / "hello").mkdir()
        (project / "conf").mkdir()
        (project / "conf" / "app.conf").write_text("x = 1\n")
        text = PROFILE.format(files='{ "/etc/app.conf" = "conf/app.conf" }')
        text = (
            text + f'layout = {{ "small" = {place} }}\n'
            if in_layout
            else PROFILE.format(files=f'{{ {place} = "conf/app.conf" }}')
        )
        write_profile(project, "p", text)
        with pytest.raises(ProfileError) as info:
            load_profile("p", project)
    assert any(why in info.value.message for why in ("holds a control character", "a NUL byte"))
    assert "\n" not in info.value.message and "\x1b" not in info.value.message


# --- item 16: a max_share pattern that selects nothing ---------------------------------------


def test_a_max_share_pattern_that_selects_nothing_is_an_error(built: Path) -> None:
    """Before, max_share = { "smal" = ... } passed for ever: it summed no file."""
    profile = built / "profiles" / "p.toml"
    profile.write_text(profile.read_text().replace('{ "small" = "64 MiB" }', '{ "smal" = "1 B" }'))
    for command in ("image", "gate"):
        done = buildopt([command, "--profile", "p"], cwd=built)
        assert done.returncode == 2, done.stderr
        line = last_line(done.stderr)
        assert "image[1].max_share.smal: selects nothing in image 'node'" in line, line
        assert "small@linux-amd64" in line


# --- item 3: a binary changed after its build ------------------------------------------------


def binary_of(project: Path) -> Path:
    record = json.loads((project / "dist" / "p" / "build.json").read_text())
    return Path(record["builds"][0]["output"])


def test_a_byte_appended_after_the_build_is_named(built: Path) -> None:
    """Before, `image` said "unchanged, not made again" and the gate passed."""
    assert buildopt(["image", "--profile", "p"], cwd=built).returncode == 0
    binary = binary_of(built)
    size = binary.stat().st_size
    with binary.open("ab") as f:
        f.write(b"\0")
    image = buildopt(["image", "--profile", "p"], cwd=built)
    assert image.returncode == 1, image.stderr
    line = last_line(image.stderr)
    assert f"{binary}: changed since its build (size {size} -> {size + 1} bytes)" in line
    assert "unchanged, not made again" not in image.stderr
    gate = buildopt(["gate", "--profile", "p", "--json"], cwd=built)
    assert gate.returncode == 1, gate.stderr
    checks = json.loads(gate.stdout)["checks"]
    assert checks and all(c["verdict"] == "fail" for c in checks), checks
    assert {(c["budget"], c["check"]) for c in checks} == {("size", "file"), ("node", "file")}
    assert all(str(binary) in c["note"] for c in checks)
    table = buildopt(["gate", "--profile", "p"], cwd=built, env={"COLUMNS": "300"})
    assert "FAIL" in table.stdout and str(binary) in table.stdout
    compare = buildopt(["compare", "--profile", "p"], cwd=built)
    assert f"warning: small@linux-amd64: {binary}: changed since its build" in compare.stderr
    startup = buildopt(["startup", "--profile", "p", "--runs", "1"], cwd=built)
    assert f"small@linux-amd64: {binary}: changed since its build" in startup.stderr
    assert startup.returncode == 2  # the only binary: nothing left to measure
    assert buildopt(["build", "--profile", "p"], cwd=built).returncode == 0  # built again: fine
    assert buildopt(["gate", "--profile", "p"], cwd=built).returncode == 0


def flip_a_byte_in_place(binary: Path, mtime_moves_by: int) -> bytes:
    """One byte in the middle of binary changed in place, its mtime then set to the old one
    plus mtime_moves_by ns; the bytes it had."""
    before = binary.stat()
    original = binary.read_bytes()
    data = bytearray(original)
    data[len(data) // 2] ^= 0xFF
    with binary.open("r+b") as f:
        f.write(data)
    os.utime(binary, ns=(before.st_atime_ns, before.st_mtime_ns + mtime_moves_by))
    return original


def test_other_bytes_of_the_same_size_are_found_by_their_sha256(built: Path) -> None:
    """Same size, other bytes: the mtime moved, so the file is hashed."""
    binary = binary_of(built)
    original = flip_a_byte_in_place(binary, mtime_moves_by=1_000_000_000)
    assert binary.stat().st_size == len(original)
    gate = buildopt(["gate", "--profile", "p"], cwd=built, env={"COLUMNS": "300"})
    assert gate.returncode == 1, gate.stderr
    assert f"{binary}: changed since its build (same size, other bytes)" in gate.stdout
    image = buildopt(["image", "--profile", "p"], cwd=built)
    assert image.returncode == 1
    assert "same size, other bytes" in last_line(image.stderr)
    # and a build puts the built binary back (its up-to-date check saw the change too)
    assert buildopt(["build", "--profile", "p"], cwd=built).returncode == 0
    assert buildopt(["gate", "--profile", "p"], cwd=built).returncode == 0
    assert binary.read_bytes() == original


def test_a_write_that_puts_the_mtime_back_is_built_again(built: Path) -> None:
    """go would call the stage (the same file) up to date by its build ID: build sees the write
    by the file's ctime and has go build it again."""
    binary = binary_of(built)
    original = flip_a_byte_in_place(binary, mtime_moves_by=0)
    assert binary.read_bytes() != original
    assert buildopt(["build", "--profile", "p"], cwd=built).returncode == 0
    assert binary.read_bytes() == original
    assert buildopt(["gate", "--profile", "p"], cwd=built).returncode == 0


def test_a_touch_is_no_change(built: Path) -> None:
    assert buildopt(["image", "--profile", "p"], cwd=built).returncode == 0
    binary = binary_of(built)
    os.utime(binary, (1, 1))
    binary.chmod(stat.S_IMODE(binary.stat().st_mode))  # ctime moves too
    gate = buildopt(["gate", "--profile", "p"], cwd=built)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    image = buildopt(["image", "--profile", "p"], cwd=built)
    assert image.returncode == 0 and "unchanged, not made again" in image.stderr


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_an_image_is_never_put_over_a_fifo_or_a_folder(built: Path, kind: str) -> None:
    """The image file is made in a work folder and renamed into place: not over a FIFO (a
    reader waiting on it would get nothing, and the FIFO would be gone) or a folder."""
    images = built / "dist" / "p" / "images"
    images.mkdir(parents=True, exist_ok=True)
    target = images / "node.squashfs"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
        (target / "keep").write_text("x")
    before = target.lstat()
    image = buildopt(["image", "--profile", "p"], cwd=built, timeout=120)
    assert image.returncode == 2, image.stderr
    line = last_line(image.stderr)
    assert str(target) in line and "not a regular file" in line, line
    after = target.lstat()
    assert (after.st_ino, stat.S_IFMT(after.st_mode)) == (
        before.st_ino,
        stat.S_IFMT(before.st_mode),
    )
    assert not [p for p in images.iterdir() if p.name.startswith(".buildopt")]


# --- item 7: gate and image at once ----------------------------------------------------------


def test_gate_and_image_at_once_make_the_same_image(built: Path) -> None:
    """Before, all staged in images/.node.root: `image` failed with "cannot go to /usr/bin/st
    in the image" or an unexpected FileExistsError (exit 3) in 2 of 3 rounds here, and each
    made the image again. Now each stages apart and one at a time makes the image: all
    succeed, one makes it, the others find it made, byte for byte what a run alone makes."""
    images = built / "dist" / "p" / "images"
    blob = random.Random(7).randbytes(8 << 20)  # noqa: S311 - test data: a long stage
    (built / "conf" / "blob").write_bytes(blob)
    set_files(built, '{ "/etc/app.conf" = "conf/app.conf", "/var/blob" = "conf/blob" }')
    assert buildopt(["image", "--profile", "p"], cwd=built).returncode == 0
    alone = (images / "node.squashfs").read_bytes()
    waited = 0  # a run that waits for the lock says so (it printed nothing for 25-60 s)
    for _ in range(5):
        shutil.rmtree(images)
        runs = [
            start_buildopt([command, "--profile", "p"], built, {})
            for command in ("gate", "image", "image", "gate", "image")
        ]
        made = 0
        for run in runs:
            _, err = run.communicate(timeout=300)
            assert run.returncode == 0, err
            assert "cannot go to" not in err and "internal error" not in err, err
            made += "node.squashfs (made)" in err
            waited += "image node: waiting for another buildopt making it..." in err
        assert made == 1
        assert (images / "node.squashfs").read_bytes() == alone
        assert sorted(p.name for p in images.iterdir()) == [".locks", "node.json", "node.squashfs"]
    assert waited > 0


def test_what_a_dead_run_left_is_removed_and_a_live_ones_kept(built: Path) -> None:
    """A work folder of a process that is gone (killed during mksquashfs) goes at the next
    run; one of a live process (this test's) stays: by pid, never by age."""
    images = built / "dist" / "p" / "images"
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    dead = images / f".buildopt-image-{pid_max + 1}-x1"  # no process can have that pid
    live = images / f".buildopt-image-{os.getpid()}-x2"
    for folder in (dead, live):
        (folder / "root" / "usr").mkdir(parents=True)
        (folder / "image.squashfs").write_bytes(b"partial")
    done = buildopt(["image", "--profile", "p"], cwd=built)
    assert done.returncode == 0, done.stderr
    assert not dead.exists()
    assert live.exists()


# --- links: whatever the table, each leads where the kernel would take it, or is refused -----

PART = st.sampled_from(["usr", "bin", "a", "etc", "c", "l", "b", "d", "..", "."])
TARGET = st.tuples(st.booleans(), st.lists(PART, min_size=1, max_size=4)).map(
    lambda t: ("/" if t[0] else "") + "/".join(t[1])
)
HELD = ("/usr/bin/a", "/etc/c")  # the image's files; the links go in /l (a place of their own)


@settings(max_examples=150, deadline=None)
@given(links=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), TARGET, max_size=4))
def test_a_link_leads_where_the_kernel_goes_or_is_refused(links: dict[str, str]) -> None:
    """links_of against Linux itself: the same links made in a real folder, each followed by
    the kernel (os.stat, os.path.realpath). A link it accepts leads to what the kernel
    reaches; one it refuses dangles (ENOENT, ENOTDIR) or loops (ELOOP) there too."""
    from buildopt.config.budgets import ImageBudget
    from buildopt.config.links import links_of

    table = {f"/l/{name}": target for name, target in links.items()}
    image = ImageBudget(
        name="node", select=("small",), source=Path("p.toml"), where="image[1]", links=table
    )
    items = dict.fromkeys(HELD, "small@linux-amd64")
    resolved, refusal = {}, ""
    try:
        resolved = {k.path: k.resolved for k in links_of(image, items)}
    except ProfileError as exc:
        refusal = exc.message
    named = re.search(r"image\[1\]\.links\.(/l/[a-d]): [^\n]+$", refusal)
    assert bool(named) == bool(refusal), refusal  # one line naming the link
    refused = named[1] if named else ""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "r"
        for path in HELD:
            (root / path[1:]).parent.mkdir(parents=True, exist_ok=True)
            (root / path[1:]).write_text("x")
        (root / "l").mkdir()
        for path, target in table.items():
            os.symlink(str(root) + target if target.startswith("/") else target, root / path[1:])
        for path in table:
            real = os.path.realpath(root / path[1:])
            if not Path(real).is_relative_to(root):
                continue  # above the root: the kernel's / has no parent, a folder's has
            try:
                os.stat(root / path[1:])
            except OSError:  # ENOENT, ENOTDIR, ELOOP: refused, or another link was first
                assert path not in resolved, (path, table)
                continue
            assert path != refused, (path, table)  # the kernel reaches what it refused
            inside = "/" + str(Path(real).relative_to(root)).removeprefix(".")
            if resolved:  # (a refusal names the first bad link; the others are unchecked)
                assert resolved[path] == inside.rstrip("/") or inside == "/", (path, table)
