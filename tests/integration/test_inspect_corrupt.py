"""Property tests: truncated and bit-flipped real binaries give NotElfError or sane facts.

Never another exception, never a hang, and when facts come out they still add up to the file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.binary.elf.reader import NotElfError
from buildopt.binary.inspect import inspect_file
from tests.conftest import REPO
from tests.integration.conftest import buildopt

pytestmark = pytest.mark.integration

SETTINGS = settings(
    max_examples=150, deadline=5000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def originals(go: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    work = tmp_path_factory.mktemp("corrupt")
    shutil.copytree(REPO / "tests" / "go" / "hello", work / "hello")
    out = {}
    for name, env in (("amd64", {}), ("mips", {"GOARCH": "mips"})):
        binary = work / name
        subprocess.run(
            [go, "build", "-o", str(binary), "-ldflags=-s -w", "."],
            cwd=work / "hello",
            check=True,
            capture_output=True,
            env={**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", **env},
        )
        out[name] = binary.read_bytes()
    return out


def check(path: Path) -> None:
    try:
        facts = inspect_file(path)
    except NotElfError as exc:
        message = exc.message
    else:
        assert sum(v for k, v in facts.totals.items() if k != "bss") == facts.size
        return
    assert message.startswith(str(path))
    assert "\n" not in message


@SETTINGS
@given(arch=st.sampled_from(["amd64", "mips"]), fraction=st.floats(0, 1, exclude_max=True))
def test_truncated(originals: dict[str, bytes], tmp_path: Path, arch: str, fraction: float) -> None:
    data = originals[arch]
    path = tmp_path / "truncated"
    path.write_bytes(data[: int(len(data) * fraction)])
    check(path)


@SETTINGS
@given(
    arch=st.sampled_from(["amd64", "mips"]),
    flips=st.lists(st.tuples(st.integers(0, 8191), st.integers(0, 7)), min_size=1, max_size=8),
    tail_flips=st.lists(st.tuples(st.integers(1, 4096), st.integers(0, 7)), max_size=4),
)
def test_bit_flipped(
    originals: dict[str, bytes],
    tmp_path: Path,
    arch: str,
    flips: list[tuple[int, int]],
    tail_flips: list[tuple[int, int]],
) -> None:
    """Flips in the ELF/program headers (start) and the section header table (end)."""
    data = bytearray(originals[arch])
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    for back, bit in tail_flips:
        data[-back] ^= 1 << bit
    path = tmp_path / "flipped"
    path.write_bytes(bytes(data))
    check(path)


def test_truncated_via_cli(originals: dict[str, bytes], tmp_path: Path) -> None:
    path = tmp_path / "half"
    path.write_bytes(originals["amd64"][:5000])
    done = buildopt(["inspect", str(path)])
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: ") and "Traceback" not in done.stderr


FUZZ = REPO / "tests" / "fixtures" / "fuzz"


@pytest.mark.parametrize("name", sorted(p.name for p in FUZZ.glob("*.bin.gz")))
def test_fuzzed_files_are_reported_and_the_next_file_too(name: str, tmp_path: Path) -> None:
    """Found by mutation fuzzing: each once crashed the inspector with exit 3."""
    import gzip
    import json

    bad = tmp_path / name.removesuffix(".gz")
    bad.write_bytes(gzip.decompress((FUZZ / name).read_bytes()))
    good = Path(shutil.which("go") or "/usr/local/go/bin/go").resolve()
    done = buildopt(["inspect", "--json", str(bad), str(good)])
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode in (0, 2)
    first, second = json.loads(done.stdout)["binaries"]
    if done.returncode == 2:
        assert first["error"].startswith(str(bad)) and done.stderr.count("\n") == 1
    else:
        assert any("unreadable" in w for w in first["warnings"]), first["warnings"]
        assert first["packages"] == []
    assert second["path"] == str(good) and second["packages"]


def test_dynamic_section_linked_to_a_non_string_table(tmp_path: Path) -> None:
    """Found by test_bit_flipped: pyelftools asserts that .dynamic links to a string table."""
    import struct

    from elftools.elf.elffile import ELFFile

    gcc = shutil.which("gcc")
    assert gcc is not None, "the inspector tests need gcc"
    binary = tmp_path / "hello"
    subprocess.run([gcc, "-o", str(binary), str(REPO / "tests" / "c" / "hello.c")], check=True)
    data = bytearray(binary.read_bytes())
    with binary.open("rb") as f:
        elf = ELFFile(f)
        dynamic = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".dynamic")
        text = next(i for i, s in enumerate(elf.iter_sections()) if s.name == ".text")
        at = elf.header["e_shoff"] + dynamic * elf.header["e_shentsize"] + 40  # sh_link
    struct.pack_into("<I", data, at, text)
    broken = tmp_path / "broken"
    broken.write_bytes(bytes(data))
    with pytest.raises(NotElfError) as info:
        inspect_file(broken)
    assert info.value.message.startswith(f"{broken}: corrupt or truncated ELF file")
