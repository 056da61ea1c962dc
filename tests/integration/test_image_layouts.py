"""buildopt image --compare: two real layouts of one module's two programs - separate binaries
against one combined binary that dispatches on argv[0], with links - each figure checked
against the image file, unsquashfs and readelf."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt, readelf
from tests.integration.test_image import tool
from tests.integration.test_image_links import unsquashfs_links

SHARED = """package shared

import "fmt"

var Counts = map[string]int{"start": 1} // data
var Scratch [40000]byte                  // .bss

func Say(who string, args []string) {
	Scratch[0]++
	fmt.Println(who, len(args), Counts["start"])
}
"""
ALPHA = """package alpha

import (
	"encoding/json"
	"os"

	"example.com/layouts/internal/shared"
)

func Main(args []string) {
	shared.Say("alpha", args)
	_ = json.NewEncoder(os.Stdout).Encode(args)
}
"""
BETA = """package beta

import (
	"net/url"

	"example.com/layouts/internal/shared"
)

func Main(args []string) {
	shared.Say("beta", args)
	u, _ := url.Parse("https://example.com/" + args[0])
	println(u.Path)
}
"""
MAIN = """package main

import (
	"os"
{imports}
)

func main() {{
{body}
}}
"""
COMBINED_BODY = """	switch filepath.Base(os.Args[0]) {
	case "beta":
		beta.Main(os.Args)
	default:
		alpha.Main(os.Args)
	}"""
PROFILE = """package = "./cmd/{name}"
binary = "{name}"
[variants.{name}]
cgo = false
strip = "all"
"""
DEVICE = """
[[image]]
name = "separate"
select = ["alpha", "beta"]
records = ["dist/alpha/build.json", "dist/beta/build.json"]
filesystem = "squashfs"
erase_block = "64 KiB"
max_size = "64 MiB"

[[image]]
name = "combined"
select = "combined"
filesystem = "squashfs"
layout = { "combined" = "/usr/bin/alpha" }
links = { "/usr/bin/beta" = "alpha" }
erase_block = "64 KiB"
max_size = "64 MiB"
"""


def module(root: Path) -> None:
    """Two mains sharing a package, and the combined main that dispatches on argv[0]."""
    files = {
        "go.mod": "module example.com/layouts\n\ngo 1.22\n",
        "internal/shared/shared.go": SHARED,
        "internal/alpha/alpha.go": ALPHA,
        "internal/beta/beta.go": BETA,
        "cmd/alpha/main.go": MAIN.format(
            imports='\t"example.com/layouts/internal/alpha"', body="\talpha.Main(os.Args)"
        ),
        "cmd/beta/main.go": MAIN.format(
            imports='\t"example.com/layouts/internal/beta"', body="\tbeta.Main(os.Args)"
        ),
        "cmd/combined/main.go": MAIN.format(
            imports='\t"path/filepath"\n\n\t"example.com/layouts/internal/alpha"\n'
            '\t"example.com/layouts/internal/beta"',
            body=COMBINED_BODY,
        ),
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for name in ("alpha", "beta", "combined"):
        extra = DEVICE if name == "combined" else ""
        (root / "profiles" / f"{name}.toml").write_text(PROFILE.format(name=name) + extra)


@pytest.fixture(scope="module")
def project(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tool("mksquashfs", "squashfs-tools")
    root = tmp_path_factory.mktemp("layouts") / "project"
    (root / "profiles").mkdir(parents=True)
    module(root)
    for name in ("alpha", "beta", "combined"):
        done = buildopt(["build", "--profile", name], cwd=root)
        assert done.returncode == 0, done.stderr
    return root


def pages(binary: Path) -> tuple[int, int, int]:
    """(shared, data, bss) bytes of the binary's PT_LOAD segments in 4 KiB pages, from
    readelf: read-only and executable segments shared; a writable one's pages its file bytes
    reach are data, the rest .bss."""
    shared = data = bss = 0
    for line in readelf("-l", str(binary)).splitlines():
        fields = line.split()
        if not fields or fields[0] != "LOAD":
            continue
        vaddr, filesz, memsz = (int(fields[i], 16) for i in (2, 4, 5))
        start, end = vaddr // 4096 * 4096, -(-(vaddr + memsz) // 4096) * 4096
        if "W" not in "".join(fields[6:-1]):
            shared += end - start
            continue
        file_pages = min(end, -(-(vaddr + filesz) // 4096) * 4096) - start
        data, bss = data + file_pages, bss + end - start - file_pages
    return shared, data, bss


def test_separate_against_combined(project: Path) -> None:
    done = buildopt(
        ["image", "--profile", "combined", "--compare", "separate", "combined", "--json"],
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    jsonschema.validate(report, load_schema("buildopt.layouts/1"))
    separate, combined = report["separate"], report["combined"]
    assert report["workload"] == ["alpha", "beta"]
    # what each holds, as unsquashfs reads the images
    assert separate["files"] == ["/usr/bin/alpha", "/usr/bin/beta"]
    assert combined["files"] == ["/usr/bin/alpha"]
    assert unsquashfs_links(Path(combined["image"])) == {"/usr/bin/beta": "alpha"}
    assert unsquashfs_links(Path(separate["image"])) == {}
    # flash: the image file's bytes, its erase blocks
    for layout in (separate, combined):
        size = Path(layout["image"]).stat().st_size
        assert layout["flash_bytes"] == size
        assert layout["erase_blocks"] == math.ceil(size / (64 * 1024))
    assert report["flash_delta"] == combined["flash_bytes"] - separate["flash_bytes"]
    assert report["flash_delta"] < 0  # one runtime, one fmt, one shared package: less flash
    assert (separate["go_runtimes"], combined["go_runtimes"]) == (2, 1)
    # RAM: from readelf's program headers of the very binaries in the images
    dist = project / "dist"
    alpha, beta = (pages(dist / n / n / "linux-amd64" / n) for n in ("alpha", "beta"))
    both = pages(dist / "combined" / "combined" / "linux-amd64" / "combined")
    assert separate["shared_bytes"] == alpha[0] + beta[0]  # each file's code once
    assert separate["data_bytes"] == alpha[1] + beta[1]
    assert separate["bss_bytes"] == alpha[2] + beta[2]
    assert combined["shared_bytes"] == both[0]  # one file: its code once for two programs
    assert combined["data_bytes"] == 2 * both[1]  # its data and bss in each process
    assert combined["bss_bytes"] == 2 * both[2]
    for layout in (separate, combined):
        assert layout["private_bytes"] == layout["data_bytes"] + layout["bss_bytes"]
        assert layout["ram_static_bytes"] == layout["shared_bytes"] + layout["private_bytes"]
        assert {p["name"]: p["runs"] for p in layout["programs"]} == {"alpha": True, "beta": True}
    (program,) = [p for p in combined["programs"] if p["name"] == "beta"]
    assert program["paths"] == ["/usr/bin/beta"] and program["binary"] == "/usr/bin/alpha"
    table = buildopt(
        ["image", "--profile", "combined", "--compare", "separate", "combined", "--bytes"],
        cwd=project,
    )
    assert table.returncode == 0, table.stderr
    text = re.sub(r"\s+", " ", table.stdout)
    assert f"flash (the image file) {separate['flash_bytes']} {combined['flash_bytes']} " in text
    assert "Go runtimes 2 1 -1" in text
    assert f"static RAM mapped (at most) {separate['ram_static_bytes']} " in text
    assert "link to alpha" in text and "combined@linux-amd64 (runs 2 programs)" in text


def test_the_combined_binary_dispatches_on_argv0(project: Path) -> None:
    """The fixture is what it claims: one binary, two programs by the name it is run as."""
    binary = project / "dist" / "combined" / "combined" / "linux-amd64" / "combined"
    link = project / "beta"
    link.symlink_to(binary)
    as_beta = subprocess.run([str(link), "x"], capture_output=True, text=True, check=True)
    assert as_beta.stdout.startswith("beta 2 1")
    as_alpha = subprocess.run([str(binary)], capture_output=True, text=True, check=True)
    assert as_alpha.stdout.startswith("alpha 1 1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--compare", "separate"], "takes two image names"),
        (["--compare", "separate", "nothing"], "--compare nothing: no squashfs [[image]]"),
        (["--compare", "separate", "separate"], "'separate' twice"),
    ],
)
def test_bad_compare_is_one_line(project: Path, args: list[str], message: str) -> None:
    done = buildopt(["image", "--profile", "combined", *args], cwd=project)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_example_node_separate_against_combined(go: str, tmp_path: Path) -> None:
    """profiles/edge-suite.toml's two images: the gateway and billing-ctl as two arm64
    binaries, or the gateway alone with billing-ctl a link to it."""
    tool("mksquashfs", "squashfs-tools")
    root = tmp_path / "repo"
    shutil.copytree(REPO / "examples" / "billing-gateway", root / "examples" / "billing-gateway")
    (root / "profiles").mkdir()
    for name in ("base", "edge-suite"):
        shutil.copy(REPO / "profiles" / f"{name}.toml", root / "profiles")
    points = ("--variant", "static-stripped@linux-arm64", "--variant", "combined@linux-arm64")
    done = buildopt(["build", "--profile", "edge-suite", *points], cwd=root)
    assert done.returncode == 0, done.stderr
    args = ["image", "--profile", "edge-suite", "--compare", "node-separate", "node-combined"]
    done = buildopt([*args, "--json"], cwd=root)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    separate, combined = report["separate"], report["combined"]
    conf, gateway, ctl = (
        "/etc/billing-gateway/gateway.conf",
        "/usr/bin/billing-gateway",
        "/usr/bin/billing-ctl",
    )
    assert separate["files"] == [conf, ctl, gateway]
    assert combined["files"] == [conf, gateway]
    sbin = {"/usr/sbin/billing-gateway": "../bin/billing-gateway"}  # the init scripts' path
    assert unsquashfs_links(Path(separate["image"])) == sbin
    assert unsquashfs_links(Path(combined["image"])) == {ctl: "billing-gateway", **sbin}
    assert report["workload"] == ["billing-ctl", "billing-gateway"]
    assert (separate["go_runtimes"], combined["go_runtimes"]) == (2, 1)
    for layout in (separate, combined):
        assert layout["flash_bytes"] == Path(layout["image"]).stat().st_size
    assert report["flash_delta"] < 0
    folder = root / "dist" / "edge-suite" / "static-stripped" / "linux-arm64"
    one, two = pages(folder / "billing-gateway"), pages(folder / "billing-ctl")
    assert separate["shared_bytes"] == one[0] + two[0]
    assert separate["data_bytes"] == one[1] + two[1]
    # the combined variant's gateway is static-stripped's, byte for byte (only programs differ)
    combined_gateway = root / "dist" / "edge-suite" / "combined" / "linux-arm64" / "billing-gateway"
    assert combined_gateway.read_bytes() == (folder / "billing-gateway").read_bytes()
    assert combined["shared_bytes"] == one[0]
    assert combined["bss_bytes"] == 2 * one[2]  # the gateway's .bss in both processes
    # the two named the other way round: figures as asked, and a note on the order
    swapped = ["image", "--profile", "edge-suite", "--compare", "node-combined", "node-separate"]
    done = buildopt(swapped, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "note: node-separate holds more Go binaries than node-combined" in done.stdout
    assert "holds more Go binaries" not in buildopt(args, cwd=root).stdout
