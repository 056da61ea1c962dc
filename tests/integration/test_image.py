"""buildopt image: a real squashfs image of the built binaries, checked with squashfs-tools'
own unsquashfs and with 7-Zip, which reads squashfs on its own (its "Packed Size" of a file)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.binary.squashfs import SquashfsError, parse
from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt, hello_project, system_tool_missing

PROFILE = """package = "./hello"
[variants.small]
cgo = false
strip = "all"
[variants.big]
cgo = false

[[image]]
name = "node"
select = ["small", "big"]
filesystem = "squashfs"
compressor = "{compressor}"
block_size = "64 KiB"
erase_block = "128 KiB"
files = {{ "/etc/hello.conf" = "hello/main.go" }}
layout = {{ "small" = "/usr/bin/hello-small", "big" = "/opt/hello/hello" }}
max_size = "64 MiB"
max_erase_blocks = {blocks}
max_share = {{ "small" = "64 MiB" }}
"""


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        system_tool_missing(name, package)
    return str(found)


def packed_sizes(image: Path) -> dict[str, int]:
    """7-Zip's listing: file path -> Packed Size (a fragment's whole size goes to the first file
    in it, 0 to the others)."""
    out = subprocess.run(
        [tool("7z", "p7zip-full"), "l", "-slt", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    sizes, path = {}, None
    for line in out.splitlines():
        if line.startswith("Path = "):
            path = "/" + line.removeprefix("Path = ")
        elif line.startswith("Packed Size = ") and path and line.strip() != "Packed Size =":
            sizes[path] = int(line.removeprefix("Packed Size = "))
    return sizes


@pytest.fixture
def built(go: str, tmp_path: Path) -> Path:
    tool("mksquashfs", "squashfs-tools")
    project = hello_project(tmp_path, PROFILE.format(compressor="xz", blocks=1))
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    return project


def test_the_image_holds_the_binaries_where_the_layout_says(built: Path) -> None:
    done = buildopt(["image", "--profile", "p", "--json"], cwd=built)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["images"]
    jsonschema.validate(record, load_schema("buildopt.image/1"))
    on_disk = json.loads((built / "dist" / "p" / "images" / "node.json").read_text())
    assert on_disk == record
    image = Path(record["image"])
    assert image == built / "dist" / "p" / "images" / "node.squashfs"
    assert record["size"] == image.stat().st_size  # the file mksquashfs wrote
    assert record["bytes_used"] <= record["size"] < record["bytes_used"] + 4096
    assert record["erase_blocks"] == math.ceil(record["size"] / (128 * 1024))
    files = {f["path"]: f for f in record["files"]}
    assert set(files) == {"/etc/hello.conf", "/usr/bin/hello-small", "/opt/hello/hello"}
    assert files["/etc/hello.conf"]["source"] == "hello/main.go"
    assert files["/usr/bin/hello-small"]["source"] == "small@linux-amd64"
    # what each file takes, against 7-Zip: equal per file where a file has its fragment (or
    # none) to itself; the sum over all files equal whatever the fragments hold
    packed = packed_sizes(image)
    assert set(packed) == set(files)
    for path in ("/usr/bin/hello-small", "/opt/hello/hello"):  # no fragment: blocks only
        assert files[path]["stored_bytes"] == packed[path]
    total = sum(f["stored_bytes"] for f in files.values())
    assert abs(total - sum(packed.values())) <= len(files)  # fragment shares are rounded
    assert total + record["metadata_bytes"] == record["bytes_used"]
    # unsquashfs, squashfs-tools' own reader: every file, its size, owned by root, time 0
    listing = subprocess.run(
        [tool("unsquashfs", "squashfs-tools"), "-lln", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for path, entry in files.items():
        (line,) = [row for row in listing.splitlines() if row.endswith("squashfs-root" + path)]
        assert " 0/0 " in line and f" {entry['size']} " in line and "1970-01-01" in line
    table = buildopt(["image", "--profile", "p"], cwd=built)
    assert "unchanged, not made again" in table.stderr  # same inputs: not made again
    assert "mksquashfs" not in table.stderr  # nor said to be
    damaged = bytearray(image.read_bytes())
    damaged[-1] ^= 0xFF  # the same size, other bytes: made again, never judged as recorded
    image.write_bytes(bytes(damaged))
    again = buildopt(["image", "--profile", "p"], cwd=built)
    assert "(made)" in again.stderr and image.read_bytes() != bytes(damaged)
    for path in files:
        assert path in table.stdout
    assert "erase blocks of 128.00 KiB" in table.stdout


def test_the_same_inputs_give_the_same_bytes(built: Path, tmp_path: Path) -> None:
    """Times, owners, umask and the order files were copied in do not reach the image."""
    first = json.loads(buildopt(["image", "--profile", "p", "--json"], cwd=built).stdout)
    image = Path(first["images"][0]["image"])
    before = image.read_bytes()
    for binary in (built / "dist" / "p").rglob("hello"):
        os.utime(binary, (1, 1))
    (built / "dist" / "p" / "images" / "node.json").unlink()  # made again, not reused
    old = os.umask(0o077)
    try:
        again = buildopt(["image", "--profile", "p"], cwd=built)
    finally:
        os.umask(old)
    assert again.returncode == 0, again.stderr
    assert "(made)" in again.stderr
    assert image.read_bytes() == before


def test_a_copied_project_makes_its_own_image(built: Path, tmp_path: Path) -> None:
    """The image record of a copied project names the original's image: judging that file
    (the gate did) would judge another tree's image; the copy makes and judges its own."""
    assert buildopt(["image", "--profile", "p"], cwd=built).returncode == 0
    copy = tmp_path / "copy"
    shutil.copytree(built, copy, symlinks=True)
    again = buildopt(["image", "--profile", "p", "--json"], cwd=copy)
    assert again.returncode == 0, again.stderr
    assert "(made)" in again.stderr
    made = Path(json.loads(again.stdout)["images"][0]["image"])
    assert made == copy / "dist" / "p" / "images" / "node.squashfs"
    assert made.is_file()


def test_the_gate_makes_the_image_and_judges_it(built: Path) -> None:
    """max_erase_blocks = 1 fails (the image takes more); max_size and max_share pass. A
    changed binary makes the image again."""
    gate = buildopt(["gate", "--profile", "p", "--json"], cwd=built)
    assert gate.returncode == 1, gate.stderr
    jsonschema.validate(json.loads(gate.stdout), load_schema("buildopt.gate/1"))
    checks = {c["check"]: c for c in json.loads(gate.stdout)["checks"] if c["budget"] == "node"}
    assert checks["max_size"]["verdict"] == "pass"
    assert checks["max_erase_blocks"]["verdict"] == "fail"
    assert checks["max_share[small]"]["verdict"] == "pass"
    record = json.loads((built / "dist" / "p" / "images" / "node.json").read_text())
    assert checks["max_erase_blocks"]["actual"] == str(record["erase_blocks"])
    main = built / "hello" / "main.go"
    main.write_text(main.read_text().replace("hello", "hello again"))
    assert buildopt(["build", "--profile", "p"], cwd=built).returncode == 0
    again = buildopt(["gate", "--profile", "p"], cwd=built)
    assert "image node: " in again.stderr and "(made)" in again.stderr


def test_without_mksquashfs_one_line_names_the_package(built: Path, go: str) -> None:
    done = buildopt(
        ["image", "--profile", "p"], cwd=built, env={"PATH": "/nonexistent", "BUILDOPT_GO": go}
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "error: mksquashfs not found: building a squashfs image needs squashfs-tools "
        "(Debian/Ubuntu: apt-get install squashfs-tools)"
    )
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('block_size = "64 KiB"', ('block_size = "100 kB"', "block_size: a power of two")),
        ('filesystem = "squashfs"', ('filesystem = "ext4"', 'expected "squashfs"')),
        ('compressor = "xz"', ('compressor = "lz4"', "compressor: expected one of gzip")),
        ('"/etc/hello.conf" =', ('"etc/../x" =', "expected an absolute path in the image")),
        ('name = "node"', ('name = "../../escape"', "names the image file")),
    ],
)
def test_bad_image_keys_are_one_line(tmp_path: Path, change: str, message: tuple[str, str]) -> None:
    text = PROFILE.format(compressor="xz", blocks=1).replace(change, message[0])
    project = hello_project(tmp_path, text)
    done = buildopt(["plan", "--profile", "p"], cwd=project)
    assert done.returncode == 2
    assert message[1] in done.stderr and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("compressor", ["gzip", "zstd"])
def test_other_compressors(go: str, tmp_path: Path, compressor: str) -> None:
    tool("mksquashfs", "squashfs-tools")
    project = hello_project(tmp_path, PROFILE.format(compressor=compressor, blocks=1000))
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    done = buildopt(["image", "--profile", "p", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["images"]
    packed = packed_sizes(Path(record["image"]))
    for f in record["files"]:
        if f["path"] != "/etc/hello.conf":
            assert f["stored_bytes"] == packed[f["path"]]


@pytest.fixture(scope="module")
def small_image(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    mksquashfs = shutil.which("mksquashfs")
    if mksquashfs is None:
        system_tool_missing("mksquashfs", "squashfs-tools")
    root = tmp_path_factory.mktemp("sq")
    (root / "tree" / "d").mkdir(parents=True)
    (root / "tree" / "d" / "a").write_bytes(b"a" * 70000)
    (root / "tree" / "b").write_text("b")
    (root / "tree" / "l").symlink_to("d/a")  # a link inode read too
    subprocess.run(
        [str(mksquashfs), str(root / "tree"), str(root / "i"), "-quiet", "-no-progress"],
        check=True,
        capture_output=True,
    )
    return (root / "i").read_bytes()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_damaged_image_is_a_clear_error(small_image: bytes, data: st.DataObject) -> None:
    """Whatever bytes are changed or cut, reading the image gives its files or SquashfsError -
    never another exception, never a hang."""
    image = bytearray(small_image)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(image) - 1))
        image[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(image)))
    try:
        read = parse(bytes(image[:cut]))
    except SquashfsError:
        return
    assert all(f.size >= 0 for f in read.files)
    assert all(0 < len(k.target) <= 4096 for k in read.links)


def test_the_example_base_station_image(go: str, tmp_path: Path) -> None:
    """The example's image, as the README shows it: the stripped arm64 gateway and the health
    agent with the gateway's config, in 8 MiB of flash."""
    tool("mksquashfs", "squashfs-tools")
    root = tmp_path / "repo"
    for part in ("profiles", "examples"):
        shutil.copytree(REPO / part, root / part)
    missing = buildopt(["image", "--profile", "telecom-edge"], cwd=root)
    assert missing.returncode == 2 and "build first" in missing.stderr
    for profile, variant in (
        ("health-agent", "agent@linux-arm64"),
        ("telecom-edge", "static-stripped@linux-arm64"),
    ):
        done = buildopt(["build", "--profile", profile, "--variant", variant], cwd=root)
        assert done.returncode == 0, done.stderr
    done = buildopt(["image", "--profile", "telecom-edge", "--json"], cwd=root)
    assert done.returncode == 0, done.stderr
    (image,) = json.loads(done.stdout)["images"]
    assert image["name"] == "base-station-arm64"
    assert [(f["path"], f["source"]) for f in image["files"]] == [
        ("/etc/billing-gateway/gateway.conf", "examples/billing-gateway/gateway.conf"),
        ("/usr/bin/billing-gateway", "static-stripped@linux-arm64"),
        ("/usr/sbin/health-agent", "agent@linux-arm64"),
    ]
    gate = buildopt(["gate", "--profile", "telecom-edge", "--json"], cwd=root)
    checks = json.loads(gate.stdout)["checks"]
    mine = {c["check"]: c["verdict"] for c in checks if c["budget"] == "base-station-arm64"}
    assert mine == {
        "max_size": "pass",
        "max_erase_blocks": "pass",
        "max_share[static-stripped]": "pass",
        "max_share[agent]": "pass",
    }
    ram = [c for c in checks if c["budget"] == "gateway RAM"]
    assert [c["verdict"] for c in ram] == ["pass"]


def test_a_place_that_is_another_places_folder_is_one_line(built: Path) -> None:
    """The agent at /usr/bin and the gateway at /usr/bin/x: one line naming the place."""
    profile = built / "profiles" / "p.toml"
    profile.write_text(
        profile.read_text().replace('"small" = "/usr/bin/hello-small"', '"small" = "/opt/hello"')
    )
    done = buildopt(["image", "--profile", "p"], cwd=built)
    assert done.returncode == 2, done.stderr
    # the key and both builds named (it was "... cannot go to /opt/hello/hello: File exists")
    assert "image[1].layout (big@linux-amd64): under /opt/hello, where small@linux-amd64 goes" in (
        done.stderr
    )
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    left = [p.name for p in (built / "dist" / "p" / "images").iterdir()]
    assert not [n for n in left if n.startswith(".buildopt-")], left  # no staging left
