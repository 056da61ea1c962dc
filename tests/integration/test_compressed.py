"""Compressed sizes (inspect --compressed, max_compressed budgets) against Debian's tools.

Each size must be the size of what the command-line tool writes with the same settings:
xz -9e byte for byte; zstd -19 byte for byte when the zstandard package bundles the libzstd
release of the machine's CLI, else it must be the library's own frame with the CLI's settings
(decompressed by the CLI, content size and checksum in it) and near the CLI's - whatever
zstandard wheel the runner has; gzip -9 -n is deflate by zlib, checked byte for byte against
zlib-flate (qpdf, on the same zlib) in gzip's frame, and within 0.5% of GNU gzip, whose
deflate is its own. With --compressor-cli every size is the installed tool's, byte for byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import (
    buildopt,
    hello_project,
    processes_with_env,
    system_tool_missing,
)

TOOLS = {
    "gzip": "gzip",
    "xz": "xz-utils",
    "zstd": "zstd",
    "zlib-flate": "qpdf",
}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        system_tool_missing(name, TOOLS[name])
    return str(found)


def output_size(argv: list[str], binary: Path) -> int:
    """Bytes the tool writes compressing the file named on its command line (zstd writes the
    content size only when it knows it: not from a pipe)."""
    done = subprocess.run([*argv, str(binary)], capture_output=True, check=True)
    return len(done.stdout)


def zlib_stream_size(binary: Path) -> int:
    """Bytes of zlib-flate -compress=9 (it reads stdin only)."""
    with binary.open("rb") as source:
        done = subprocess.run(
            [tool("zlib-flate"), "-compress=9"], stdin=source, capture_output=True, check=True
        )
    return len(done.stdout)


@pytest.fixture(scope="module")
def binaries(go: str, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two real Go binaries of different sizes and contents (amd64, stripped arm64)."""
    work = tmp_path_factory.mktemp("compressed")
    shutil.copytree(REPO / "tests" / "go" / "hello", work / "hello")
    out = []
    for name, env, flags in (
        ("hello-amd64", {"GOARCH": "amd64"}, []),
        ("hello-arm64-stripped", {"GOARCH": "arm64"}, ["-ldflags=-s -w"]),
    ):
        subprocess.run(
            [go, "build", "-o", str(work / name), *flags, "."],
            cwd=work / "hello",
            env={**os.environ, "GOOS": "linux", "CGO_ENABLED": "0", **env},
            check=True,
            capture_output=True,
        )
        out.append(work / name)
    return out


def zstd_cli_version() -> str:
    text = subprocess.run(
        [tool("zstd"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return text.split(" v", 1)[1].split(",", 1)[0].strip()


def library_zstd_frame(data: bytes) -> bytes:
    """zstandard's own frame with the CLI's settings: -19, content size, checksum, -T1."""
    import zstandard

    return zstandard.ZstdCompressor(
        level=19, write_checksum=True, write_content_size=True, threads=1
    ).compress(data)


def assert_zstd_size(size: int, binary: Path, tmp_path: Path) -> None:
    """The zstd -19 size of binary: the CLI's byte for byte when the zstandard package bundles
    the CLI's libzstd release; else the library's own frame, which the CLI decompresses to the
    file and which holds the content size and a checksum as the CLI writes them, near the
    CLI's size (another libzstd release differs by a fraction of a percent)."""
    import zstandard

    cli = output_size([tool("zstd"), "-19", "-q", "-c"], binary)
    library = ".".join(map(str, zstandard.ZSTD_VERSION))
    if library == zstd_cli_version():
        assert size == cli
        return
    data = binary.read_bytes()
    frame = library_zstd_frame(data)
    assert size == len(frame)
    params = zstandard.get_frame_parameters(frame)
    assert params.content_size == len(data) and params.has_checksum
    (tmp_path / "frame.zst").write_bytes(frame)
    back = subprocess.run(
        [tool("zstd"), "-d", "-q", "-c", str(tmp_path / "frame.zst")],
        capture_output=True,
        check=False,
    )
    assert back.returncode == 0 and back.stdout == data
    assert abs(size - cli) <= cli * 0.01, (size, cli, library, zstd_cli_version())


def test_sizes_are_the_command_line_tools_output_sizes(
    binaries: list[Path], tmp_path: Path
) -> None:
    import zlib

    import zstandard

    done = buildopt(["inspect", "--compressed", "--json", *map(str, binaries)])
    assert done.returncode == 0, done.stderr
    jsonschema.validate(json.loads(done.stdout), load_schema("buildopt.inspect/1"))
    found = {b["path"]: b["compressed"] for b in json.loads(done.stdout)["binaries"]}
    libzstd = ".".join(map(str, zstandard.ZSTD_VERSION))
    for binary in binaries:
        sizes = found[str(binary)]
        assert sizes["xz"] == output_size([tool("xz"), "-9e", "-c"], binary)
        # zlib's deflate in gzip's frame: a zlib stream has a 2-byte header and a 4-byte
        # Adler-32, gzip -n a 10-byte header and an 8-byte trailer
        zlib_stream = zlib_stream_size(binary)
        assert sizes["gzip"] == zlib_stream - 6 + 18
        gnu = output_size([tool("gzip"), "-9", "-n", "-c"], binary)
        assert abs(sizes["gzip"] - gnu) <= gnu * 0.005, (sizes["gzip"], gnu)
        assert_zstd_size(sizes["zstd"], binary, tmp_path)
        assert sizes["made_by"] == {
            "gzip": f"zlib {zlib.ZLIB_RUNTIME_VERSION}",
            "xz": f"liblzma {xz_cli_liblzma()}",
            "zstd": f"libzstd {libzstd}, python zstandard {zstandard.__version__}",
        }


def cli_version(name: str) -> str:
    text = subprocess.run(
        [tool(name), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return re.search(r"\bv?(\d+\.\d+(?:\.\d+)?)\b", text).group(1)  # type: ignore[union-attr]


def xz_cli_liblzma() -> str:
    """The liblzma release xz runs on (its --version says): Python's lzma loads the same."""
    text = subprocess.run(
        [tool("xz"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return text.split("liblzma ", 1)[1].split()[0]


def test_compressor_cli_sizes_are_the_tools_own(binaries: list[Path]) -> None:
    """--compressor-cli: each size is what the installed tool writes, labelled with it."""
    done = buildopt(["inspect", "--compressor-cli", "--json", *map(str, binaries)])
    assert done.returncode == 0, done.stderr
    jsonschema.validate(json.loads(done.stdout), load_schema("buildopt.inspect/1"))
    found = {b["path"]: b["compressed"] for b in json.loads(done.stdout)["binaries"]}
    for binary in binaries:
        sizes = found[str(binary)]
        assert sizes["gzip"] == output_size([tool("gzip"), "-9", "-n", "-c"], binary)
        assert sizes["xz"] == output_size([tool("xz"), "-9e", "-c"], binary)
        assert sizes["zstd"] == output_size([tool("zstd"), "-19", "-q", "-c"], binary)
        assert sizes["made_by"] == {
            "gzip": f"gzip CLI {cli_version('gzip')}",
            "xz": f"xz CLI {cli_version('xz')}",
            "zstd": f"zstd CLI {zstd_cli_version()}",
        }
    table = buildopt(["inspect", "--compressor-cli", "--packages", "0", str(binaries[0])])
    assert f"zstd CLI {zstd_cli_version()}" in " ".join(table.stdout.split())


def test_zstd_of_a_file_over_32_mib_is_the_clis_too(tmp_path: Path) -> None:
    """zstd -19 cuts an input over 32 MiB into jobs (its -T1 default is libzstd's threaded API
    with one worker): the size must follow. 40 MiB of one random MiB repeated compresses in
    well under a second, and differed by 5 bytes before."""
    from buildopt.binary.compressed import compressed_size

    big = tmp_path / "big"
    big.write_bytes(os.urandom(1 << 20) * 40)
    assert_zstd_size(compressed_size(big, "zstd"), big, tmp_path)


def test_the_table_shows_each_size_and_its_share(binaries: list[Path]) -> None:
    done = buildopt(["inspect", "--compressed", "--packages", "0", str(binaries[0])])
    assert done.returncode == 0, done.stderr
    rows = done.stdout.split("\ncompressed ", 1)[1].split("\nGo ", 1)[0]  # wrapped to 80
    line = " ".join(rows.split())
    assert "gzip -9 -n" in line and "xz -9e" in line and "zstd -19" in line
    assert "zlib " in line and "liblzma " in line and "python zstandard " in line
    assert "compressing 1 file(s)" in done.stderr  # progress on stderr, results on stdout
    assert "[3/3]" in done.stderr
    plain = buildopt(["inspect", "--json", str(binaries[0])])
    assert "compressed" not in json.loads(plain.stdout)["binaries"][0]  # opt-in only


def test_a_file_that_cannot_be_read_is_reported_once(binaries: list[Path], tmp_path: Path) -> None:
    done = buildopt(["inspect", "--compressed", "--json", str(tmp_path), str(binaries[0])])
    assert done.returncode == 2
    assert done.stderr.count(f"error: {tmp_path}") == 1, done.stderr
    assert "Traceback" not in done.stderr
    (ok,) = [b for b in json.loads(done.stdout)["binaries"] if "compressed" in b]
    assert ok["path"] == str(binaries[0])


def test_ctrl_c_stops_the_compressors_at_once(tmp_path: Path) -> None:
    """xz -9e of a big file runs for many seconds, in C calls of other threads: Ctrl-C ends
    the command (exit 130) instead of waiting for them to return."""
    big = tmp_path / "big"
    big.write_bytes(os.urandom(1 << 20) * 48)  # 48 MiB: xz -9e takes well over 10 s
    mark = f"BUILDOPT_TEST_MARK={time.monotonic_ns()}"
    name, value = mark.split("=", 1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildopt", "inspect", "--compressed", str(big)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, name: value},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith(b"compressing 1 file(s)")
    time.sleep(1.0)  # in the compressors' C calls
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert time.monotonic() - started < 3
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    deadline = time.monotonic() + 5
    while processes_with_env(mark) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_with_env(mark), "a compressor outlived the interrupt"


def test_a_budget_compresses_what_it_selects_once(go: str, tmp_path: Path) -> None:
    """A max_compressed budget makes build compute the sizes it needs, for the variants it
    selects only; an unchanged rebuild keeps them; gate judges them."""
    project = hello_project(
        tmp_path,
        'package = "./hello"\n[variants.small]\ncgo = false\nstrip = "all"\n'
        "[variants.big]\ncgo = false\n"
        '[[budget]]\nname = "flash"\nselect = "small"\nmax_compressed = { xz = "64 MiB" }\n'
        '[[budget]]\nname = "tight"\nselect = "small"\nmax_compressed = { gzip = "1 kB" }\n'
        'level = "warn"\n',
    )
    first = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert first.returncode == 0, first.stderr
    assert "compressing 1 binaries for max_compressed budgets (gzip -9 -n, xz -9e)" in (
        first.stderr
    )
    jsonschema.validate(json.loads(first.stdout), load_schema("buildopt.build/1"))
    entries = {b["id"]: b for b in json.loads(first.stdout)["builds"]}
    small = entries["small@linux-amd64"]["inspect"]
    assert "compressed" not in entries["big@linux-amd64"]["inspect"]
    binary = Path(entries["small@linux-amd64"]["output"])
    assert small["compressed"]["xz"] == output_size([tool("xz"), "-9e", "-c"], binary)
    assert set(small["compressed"]) == {"gzip", "xz", "libraries", "made_by"}
    again = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert "compressing" not in again.stderr  # the same binary: its sizes hold
    gate = buildopt(["gate", "--profile", "p", "--json"], cwd=project)
    checks = {(c["budget"], c["check"]): c for c in json.loads(gate.stdout)["checks"]}
    assert checks["flash", "max_compressed[xz]"]["verdict"] == "pass"
    assert checks["tight", "max_compressed[gzip]"]["verdict"] == "warn"
    assert gate.returncode == 0


def test_an_unknown_compressor_is_one_line(tmp_path: Path) -> None:
    project = hello_project(
        tmp_path,
        'package = "./hello"\n[variants.a]\n[[budget]]\nmax_compressed = { brotli = "1 MiB" }\n',
    )
    done = buildopt(["plan", "--profile", "p"], cwd=project)
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "budget[1].max_compressed.brotli: not a compressor (gzip, xz, zstd)"
    )
    assert done.stderr.count("\n") == 1


def test_a_profile_can_budget_the_installed_tools_sizes(go: str, tmp_path: Path) -> None:
    """compressor = "cli": max_compressed sizes are the installed tools' own; changing the
    key computes them again with the other kind of compressor."""
    budget = '[[budget]]\nname = "flash"\nselect = "a"\nmax_compressed = { zstd = "64 MiB" }\n'
    profile = 'package = "./hello"\n[variants.a]\ncgo = false\nstrip = "all"\n' + budget
    project = hello_project(tmp_path, 'compressor = "cli"\n' + profile)
    first = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert first.returncode == 0, first.stderr
    (entry,) = json.loads(first.stdout)["builds"]
    binary = Path(entry["output"])
    sizes = entry["inspect"]["compressed"]
    assert sizes["zstd"] == output_size([tool("zstd"), "-19", "-q", "-c"], binary)
    assert sizes["made_by"] == {"zstd": f"zstd CLI {zstd_cli_version()}"}
    (project / "profiles" / "p.toml").write_text(profile)
    again = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert "compressing 1 binaries" in again.stderr
    (entry,) = json.loads(again.stdout)["builds"]
    assert entry["inspect"]["compressed"]["made_by"]["zstd"].startswith("libzstd ")
    bad = hello_project(tmp_path / "bad", 'compressor = "gnu"\n' + profile)
    done = buildopt(["plan", "--profile", "p"], cwd=bad)
    assert done.returncode == 2 and 'compressor: expected one of "library", "cli"' in done.stderr
