"""Symbolic links in a squashfs image (``[[image]] links``): made by mksquashfs, read back by
buildopt, checked with squashfs-tools' unsquashfs and with 7-Zip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from buildopt.binary.squashfs import read_image
from buildopt.output.schemas import load_schema
from tests.integration.conftest import buildopt, hello_project
from tests.integration.test_image import tool

PROFILE = """package = "./hello"
[variants.small]
cgo = false
strip = "all"

[[image]]
name = "node"
select = "small"
filesystem = "squashfs"
files = {{ "/etc/hello.conf" = "hello/main.go" }}
layout = {{ "small" = "/usr/sbin/hello" }}
links = {links}
max_size = "64 MiB"
"""
LINKS = (
    '{ "/usr/bin/hello-cli" = "/usr/sbin/hello", "/usr/bin/hi" = "../sbin/hello", '
    '"/bin" = "usr/bin", "/etc/hello/conf" = "/etc/hello.conf", "/sbin/hi" = "/bin/hi" }'
)


@pytest.fixture(scope="module")
def shared(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One built project whose profile each bad-link case rewrites."""
    return project(tmp_path_factory.mktemp("links"), '{ "/usr/bin/ok" = "/usr/sbin/hello" }')


def project(tmp_path: Path, links: str = LINKS) -> Path:
    tool("mksquashfs", "squashfs-tools")
    root = hello_project(tmp_path, PROFILE.format(links=links))
    done = buildopt(["build", "--profile", "p"], cwd=root)
    assert done.returncode == 0, done.stderr
    return root


def unsquashfs_links(image: Path) -> dict[str, str]:
    """unsquashfs -lls: each symbolic link's path and target (``lrwxrwxrwx ... PATH -> T``)."""
    listing = subprocess.run(
        [tool("unsquashfs", "squashfs-tools"), "-lls", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = {}
    for line in listing.splitlines():
        got = re.match(r"^l\S+ \S+ +\d+ \S+ \S+ squashfs-root(\S+) -> (\S+)$", line)
        if got:
            found[got[1]] = got[2]
    return found


def test_links_are_symlinks_in_the_image(go: str, tmp_path: Path) -> None:
    root = project(tmp_path)
    done = buildopt(["image", "--profile", "p", "--json"], cwd=root)
    assert done.returncode == 0, done.stderr
    (record,) = json.loads(done.stdout)["images"]
    jsonschema.validate(record, load_schema("buildopt.image/1"))
    image = Path(record["image"])
    wanted = {
        "/bin": "usr/bin",
        "/etc/hello/conf": "/etc/hello.conf",
        "/sbin/hi": "/bin/hi",
        "/usr/bin/hello-cli": "/usr/sbin/hello",
        "/usr/bin/hi": "../sbin/hello",
    }
    assert unsquashfs_links(image) == wanted  # squashfs-tools' own reading
    assert {k["path"]: k["target"] for k in record["links"]} == wanted
    resolved = {k["path"]: k["resolved"] for k in record["links"]}
    assert resolved == {
        "/bin": "/usr/bin",
        "/etc/hello/conf": "/etc/hello.conf",
        "/sbin/hi": "/usr/sbin/hello",  # through /bin, a link to a folder
        "/usr/bin/hello-cli": "/usr/sbin/hello",
        "/usr/bin/hi": "/usr/sbin/hello",
    }
    read = read_image(image)  # buildopt's own reading counts them, and only as links
    assert {k.path: k.target for k in read.links} == wanted
    assert {f.path for f in read.files} == {"/etc/hello.conf", "/usr/sbin/hello"}
    assert record["size"] == image.stat().st_size
    # 7-Zip reads squashfs on its own: each link an entry of mode l, its size its target's
    listing = subprocess.run(
        [tool("7z", "p7zip-full"), "l", "-slt", str(image)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for path, target in wanted.items():
        entry = listing.split(f"Path = {path[1:]}\n", 1)[1].split("\n\n", 1)[0]
        assert "Mode = lrwxrwxrwx" in entry and f"Size = {len(target)}\n" in entry, entry
    files = {f["path"]: f for f in record["files"]}
    assert (
        sum(f["stored_bytes"] for f in files.values()) + record["metadata_bytes"]
        == (record["bytes_used"])
    )
    table = buildopt(["image", "--profile", "p", "--bytes"], cwd=root)
    assert table.returncode == 0, table.stderr
    assert "/usr/bin/hello-cli" in table.stdout and "link to /usr/sbin/hello" in table.stdout
    assert f"node.squashfs: {image.stat().st_size} (xz" in table.stdout  # the file's bytes
    assert "unchanged, not made again" in table.stderr
    page = buildopt(["report", "--profile", "p", "--output", "r.html"], cwd=root)
    assert page.returncode == 0, page.stderr
    html = (root / "r.html").read_text()
    assert '/usr/bin/hello-cli</td><td class="id">link to /usr/sbin/hello' in html


def test_a_changed_link_makes_the_image_again(go: str, tmp_path: Path) -> None:
    root = project(tmp_path, '{ "/usr/bin/a" = "/usr/sbin/hello" }')
    first = json.loads(buildopt(["image", "--profile", "p", "--json"], cwd=root).stdout)
    profile = root / "profiles" / "p.toml"
    profile.write_text(profile.read_text().replace('"/usr/bin/a"', '"/usr/bin/b"'))
    again = buildopt(["image", "--profile", "p", "--json"], cwd=root)
    assert again.returncode == 0, again.stderr
    (record,) = json.loads(again.stdout)["images"]
    assert record["key"] != first["images"][0]["key"]
    assert unsquashfs_links(Path(record["image"])) == {"/usr/bin/b": "/usr/sbin/hello"}


@pytest.mark.parametrize(
    ("links", "message"),
    [
        ('{ "/usr/bin/a" = "/usr/bin/nothing" }', "image[1].links./usr/bin/a: '/usr/bin/nothing' "),
        (
            '{ "/usr/bin/a" = "../bin/gone" }',
            "'../bin/gone' leads to /usr/bin/gone, which the image does not hold",
        ),
        ('{ "/a" = "/b", "/b" = "/a" }', "image[1].links./a: '/b' goes round a loop of links"),
        ('{ "/a" = "a" }', "goes round a loop"),
        ('{ "/usr/sbin/hello" = "/etc/hello.conf" }', "links./usr/sbin/hello: small@"),
        ('{ "/usr/sbin" = "/etc" }', "links./usr/sbin: a folder of other paths"),
        ('{ "/etc/hello.conf/x" = "/etc" }', "links./etc/hello.conf/x: under /etc/hello.conf"),
        ('{ "/l" = "/usr", "/l/x" = "/etc" }', "links./l: a folder of other paths"),
        ('{ "/etc/hello.conf" = "/usr/sbin/hello" }', "links./etc/hello.conf: also in image[1]"),
        ('{ "/a" = "" }', "image[1].links./a"),
        ('{ "usr/a" = "/etc" }', "image[1].links"),
        ('{ "/a" = "x//y" }', "image[1].links./a"),
        ('{ "/a" = "' + "x/" * 2048 + 'y" }', "image[1].links./a: a link target of 4097 bytes"),
        ('{ "/a" = "usr/nothing/.." }', "leads to /usr/nothing, which the image does not"),
        ('{ "/a" = "../etc/hello.conf/x" }', "goes through /etc/hello.conf, a file, as if"),
    ],
)
def test_a_bad_link_is_one_line(shared: Path, links: str, message: str) -> None:
    """A link that dangles, loops, or takes another entry's place: exit 2, its key named,
    nothing staged left behind (the profile's other checks pass: it is built first)."""
    root = shared
    shutil.rmtree(root / "dist" / "p" / "images", ignore_errors=True)  # (an earlier case's)
    (root / "profiles" / "p.toml").write_text(PROFILE.format(links=links))
    done = buildopt(["image", "--profile", "p"], cwd=root)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) <= 3
    images = root / "dist" / "p" / "images"
    left = [p.name for p in images.iterdir()] if images.exists() else []
    assert not [n for n in left if n.startswith(".buildopt-") or n.endswith(".squashfs")], left
