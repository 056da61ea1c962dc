"""The inspector against readelf, objcopy and go version -m, on real binaries of many kinds.

Go binaries are built from tests/go/hello in the variants and architectures a base station may
run (little- and big-endian, 32- and 64-bit), C binaries with gcc; every fact buildopt reports
is compared with the independent tool that knows it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import msgspec
import pytest

from buildopt.binary.attribution import assembly_units
from buildopt.binary.elf.reader import open_elf, read_at
from buildopt.binary.facts import Inspection
from buildopt.binary.go.functab import funcdata_outside, function_table
from buildopt.binary.go.names import package_of, package_path
from buildopt.binary.inspect import inspect_file
from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import (
    buildopt,
    go_version_m,
    processes_with_env,
    readelf,
    system_tool_missing,
)

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Spec:
    name: str
    env: dict[str, str]
    flags: tuple[str, ...] = ()


GO_SPECS = [
    Spec("cgo", {"CGO_ENABLED": "1"}),
    Spec("nocgo", {"CGO_ENABLED": "0"}),
    Spec("stripped", {"CGO_ENABLED": "0"}, ("-ldflags=-s -w",)),
    Spec("trimpath", {"CGO_ENABLED": "0"}, ("-trimpath",)),
    Spec("external", {"CGO_ENABLED": "1"}, ("-ldflags=-linkmode=external",)),
    Spec(
        "external-static",
        {"CGO_ENABLED": "1"},
        ("-tags=netgo,osusergo", "-ldflags=-linkmode=external -extldflags=-static"),
    ),
    Spec("pie", {"CGO_ENABLED": "1"}, ("-buildmode=pie",)),
    Spec("pie-bindnow", {"CGO_ENABLED": "1"}, ("-buildmode=pie", "-ldflags=-bindnow")),
    Spec("netgo", {"CGO_ENABLED": "1"}, ("-tags=netgo,osusergo",)),
    Spec("nodwarfcompress", {"CGO_ENABLED": "0"}, ("-ldflags=-compressdwarf=false",)),
    Spec("arm64", {"CGO_ENABLED": "0", "GOARCH": "arm64"}),
    Spec("arm64-stripped", {"CGO_ENABLED": "0", "GOARCH": "arm64"}, ("-ldflags=-s -w",)),
    Spec("armv7", {"CGO_ENABLED": "0", "GOARCH": "arm", "GOARM": "7"}),
    Spec("386", {"CGO_ENABLED": "0", "GOARCH": "386"}),
    Spec("riscv64", {"CGO_ENABLED": "0", "GOARCH": "riscv64"}),
    Spec("mips", {"CGO_ENABLED": "0", "GOARCH": "mips"}, ("-ldflags=-s -w",)),
    Spec("ppc64", {"CGO_ENABLED": "0", "GOARCH": "ppc64"}),
]
OLD_GO = ["go1.20.14", "go1.18.10"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inspect")
    shutil.copytree(REPO / "tests" / "go" / "hello", path / "hello")
    return path


def go_build(
    go: str,
    workdir: Path,
    out: str,
    env: dict[str, str],
    flags: tuple[str, ...],
    source: str = "hello",
) -> Path:
    binary = workdir / out
    subprocess.run(
        [go, "build", "-o", str(binary), *flags, "."],
        cwd=workdir / source,
        env={**os.environ, "GOOS": "linux", **env},
        check=True,
        capture_output=True,
    )
    return binary


@pytest.fixture(scope="module")
def go_binaries(go: str, workdir: Path) -> dict[str, Path]:
    return {s.name: go_build(go, workdir, s.name, s.env, s.flags) for s in GO_SPECS}


@pytest.fixture(scope="module")
def old_go_binaries(go: str, workdir: Path) -> dict[str, Path]:
    """Binaries from older Go releases, fetched by the toolchain through the module proxy."""
    old = workdir / "hello-old"
    shutil.copytree(workdir / "hello", old)
    (old / "go.mod").write_text("module example.com/hello\n\ngo 1.18\n")
    built = {}
    for version in OLD_GO:
        env = {**os.environ, "GOTOOLCHAIN": version}
        fetched = subprocess.run(
            [go, "version"], cwd=old, env=env, capture_output=True, text=True, check=False
        )
        if fetched.returncode != 0:
            pytest.skip(f"{version} could not be fetched here: {fetched.stderr.strip()[-200:]}")
        for suffix, flags in (("", ()), ("-stripped", ("-ldflags=-s -w",))):
            built[version + suffix] = go_build(
                go,
                workdir,
                version + suffix,
                {"GOTOOLCHAIN": version, "CGO_ENABLED": "0"},
                flags,
                source="hello-old",
            )
    return built


@pytest.fixture(scope="module")
def c_binaries(workdir: Path) -> dict[str, Path]:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("the inspector tests need gcc")
    src = REPO / "tests" / "c"
    specs = {
        "c-dynamic": ["-O2", str(src / "hello.c")],
        "c-static": ["-O2", "-static", str(src / "hello.c")],
        "c-debug": ["-g", str(src / "hello.c")],
        "c-debug-zlib": ["-g", "-gz=zlib", str(src / "hello.c")],
        "c-shared.so": ["-shared", "-fPIC", "-Wl,-soname,libanswer.so.1", str(src / "lib.c")],
    }
    out = {}
    for name, args in specs.items():
        out[name] = workdir / name
        subprocess.run([gcc, "-o", str(out[name]), *args], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def all_binaries(go_binaries: dict[str, Path], c_binaries: dict[str, Path]) -> dict[str, Path]:
    return {**go_binaries, **c_binaries}


# --- independent readings ---------------------------------------------------------------------

SECTION_LINE = re.compile(
    r"^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)"
)


def readelf_sections(path: Path) -> list[tuple[str, int, bool]]:
    """(name, sh_size, compressed) of every section but the null one, per readelf -S.

    Compressed: the C flag (SHF_COMPRESSED), or a legacy .zdebug_ section (Go 1.11-1.18).
    """
    rows = []
    for line in readelf("-S", str(path)).splitlines():
        m = SECTION_LINE.match(line)
        if m and m.group(1) != "0":
            name = m.group(2)
            compressed = "C" in m.group(7) or name.startswith(".zdebug_")
            rows.append((name, int(m.group(6), 16), compressed))
    return rows


def symtab_file_bytes(path: Path, symbols_text: str) -> int:
    """Sizes of .symtab symbols defined in file-backed sections, per readelf -s and -S."""
    nobits = {
        int(m.group(1))
        for m in map(SECTION_LINE.match, readelf("-S", str(path)).splitlines())
        if m and m.group(3) == "NOBITS"
    }
    table = symbols_text.split("Symbol table '.symtab'", 1)
    if len(table) < 2:
        return 0
    total = 0
    for line in table[1].splitlines()[2:]:
        fields = line.split()
        if len(fields) < 7 or not fields[0].endswith(":"):
            break
        size, ndx = fields[2], fields[6]
        value = int(size, 16) if size.startswith("0x") else int(size)
        if ndx.isdigit() and int(ndx) not in nobits:
            total += value
    return total


def objcopy_dwarf_size(path: Path, tmp: Path) -> int:
    """Logical DWARF bytes: decompress with objcopy, then sum the .debug_* sizes."""
    out = tmp / (path.name + ".decompressed")
    if shutil.which("objcopy") is None:
        system_tool_missing("objcopy", "binutils")
    done = subprocess.run(
        ["objcopy", "--decompress-debug-sections", str(path), str(out)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode and "format" in done.stderr:  # this objcopy knows only its own machine
        system_tool_missing(
            f"an objcopy that reads {path.name}'s architecture", "binutils-multiarch"
        )
    done.check_returncode()
    return sum(size for name, size, _ in readelf_sections(out) if name.startswith(".debug_"))


def check_against_readelf(path: Path, facts: Inspection, tmp: Path) -> None:
    data = path.read_bytes()
    assert facts.size == len(data)
    assert facts.sha256 == hashlib.sha256(data).hexdigest()
    ours = [(s.name, s.size, s.compressed) for s in facts.sections]
    assert ours == readelf_sections(path)
    assert sum(v for k, v in facts.totals.items() if k != "bss") == facts.size
    dwarf_disk = sum(
        size for name, size, _ in readelf_sections(path) if name.startswith((".debug_", ".zdebug_"))
    )
    assert facts.dwarf.file_bytes == dwarf_disk
    if dwarf_disk:
        assert facts.dwarf.uncompressed_bytes == objcopy_dwarf_size(path, tmp)
    symbols_text = readelf("-s", str(path))
    syms = re.search(r"Symbol table '\.symtab' contains (\d+) entries", symbols_text)
    assert facts.symbols.count == (int(syms.group(1)) if syms else 0)
    assert facts.linking.stripped == (syms is None)
    assert sum(p.size for p in facts.symbols.by_package) == symtab_file_bytes(path, symbols_text)
    strtab = [size for name, size, _ in readelf_sections(path) if name == ".strtab"]
    assert facts.symbols.strtab_bytes == (strtab[0] if strtab and syms else 0)
    header = readelf("-h", "-l", "-d", "-n", str(path))
    interp = re.search(r"Requesting program interpreter: ([^\]]+)\]", header)
    assert facts.linking.interpreter == (interp.group(1) if interp else None)
    assert list(facts.linking.needed) == re.findall(
        r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", header
    )
    soname = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", header)
    assert facts.linking.soname == (soname.group(1) if soname else None)
    build_id = re.search(r"Build ID: ([0-9a-f]+)", header)
    assert facts.gnu_build_id == (build_id.group(1) if build_id else None)
    relro = "GNU_RELRO" in header
    bind_now = bool(re.search(r"\((BIND_NOW|FLAGS)\).*\bBIND_NOW\b|\(FLAGS_1\).*\bNOW\b", header))
    assert facts.linking.relro == ("none" if not relro else "full" if bind_now else "partial")
    stack = re.search(r"GNU_STACK\s+(?:0x[0-9a-f]+\s+){5}(\S+(?: E)?)", header)
    assert facts.linking.nx == (stack is not None and "E" not in stack.group(1))
    is_dyn = "DYN (" in header
    assert facts.linking.pie == (is_dyn and (interp is not None or "PIE" in header))
    versions = re.findall(r"Name: GLIBC_([0-9.]+)", readelf("-V", str(path)))
    expected = max(versions, key=lambda v: tuple(map(int, v.split(".")))) if versions else None
    assert facts.linking.glibc_min == expected


def check_against_go_version_m(go: str, path: Path, facts: Inspection) -> None:
    assert facts.go is not None
    out = subprocess.run(
        [go, "version", "-m", str(path)], capture_output=True, text=True, check=True
    ).stdout
    assert out.split("\n", 1)[0].endswith(": " + facts.go.version)
    assert facts.go.settings == go_version_m(go, path)
    assert f"\tpath\t{facts.go.path}\n" in out


def check_packages(facts: Inspection) -> None:
    text = next(s for s in facts.sections if s.name == ".text")
    total = sum(p.text_bytes for p in facts.packages)
    assert 0 < total <= text.size
    names = {p.package for p in facts.packages}
    assert {"runtime", "main", "fmt"} <= names
    main = next(p for p in facts.packages if p.package == "main")
    assert main.module == "example.com/hello"
    assert next(p for p in facts.packages if p.package == "fmt").init_bytes >= 0
    assert facts.packages == tuple(sorted(facts.packages, key=lambda p: (-p.text_bytes, p.package)))


# --- the tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [s.name for s in GO_SPECS])
def test_go_binary_facts(go: str, go_binaries: dict[str, Path], name: str, tmp_path: Path) -> None:
    path = go_binaries[name]
    facts = inspect_file(path)
    check_against_readelf(path, facts, tmp_path)
    check_against_go_version_m(go, path, facts)
    check_packages(facts)
    goarch = go_version_m(go, path)["GOARCH"]
    assert facts.elf.goarch == goarch
    assert facts.go_build_id  # every Go binary has one, stripped or not


def test_internal_linking_text_is_all_go(go_binaries: dict[str, Path]) -> None:
    for name in ("nocgo", "stripped", "arm64", "armv7", "386", "riscv64", "mips", "ppc64"):
        facts = inspect_file(go_binaries[name])
        text = next(s for s in facts.sections if s.name == ".text")
        assert text.size - sum(p.text_bytes for p in facts.packages) < 64, name


def nm_functions(go: str, binary: Path) -> list[str]:
    """Go function names of a binary's symbol table, in address order, as `go tool nm` (Go's
    own debug/elf) reads them - minus the .abi0 suffix of assembly functions and the
    runtime.text/etext markers, which have no function table entry."""
    out = subprocess.run(
        [go, "tool", "nm", "-sort", "address", "-size", str(binary)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = []
    for line in out.splitlines():
        fields = line.split(None, 3)
        if len(fields) == 4 and fields[2] in "Tt":
            names.append(fields[3].removesuffix(".abi0"))
    return [n for n in names if n not in ("runtime.text", "runtime.etext")]


@pytest.mark.parametrize("name", ["nocgo", "arm64", "armv7", "386", "riscv64", "ppc64"])
def test_function_table_against_go_tool_nm(
    go: str, go_binaries: dict[str, Path], name: str
) -> None:
    """The pclntab's function names, in order, are the symbol table's; and the functions per
    package are what debug/gosym's rule gives on go tool nm's names."""
    path = go_binaries[name]
    with open_elf(path) as (f, layout):
        table = function_table(f, layout)[0]
    assert table is not None
    ours = [
        n.decode().replace("\u00b7", ".") for n in table.names()
    ]  # nm prints the middle dot as "."
    theirs = nm_functions(go, path)
    assert ours == theirs
    expected = Counter(package_path(package_of(n.encode())) for n in theirs)
    facts = inspect_file(path)
    assert {p.package: p.functions for p in facts.packages} == dict(expected)


def readelf_symbol_bytes(binary: Path) -> dict[str, int]:
    """Bytes of the symbols holding file bytes, by debug/gosym's package rule, from readelf."""
    nobits = set()
    for line in readelf("-SW", str(binary)).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)", line)
        if m and m.group(3) == "NOBITS":
            nobits.add(m.group(1))
    sizes: Counter[str] = Counter()
    listing = readelf("-sW", str(binary))  # .dynsym first, when there is one: only .symtab
    for line in listing[listing.find("Symbol table '.symtab'") :].splitlines():
        fields = line.split(None, 7)  # the name, last, may hold spaces (generic shapes)
        if len(fields) == 8 and fields[0].endswith(":") and fields[6].isdigit():
            size = int(fields[2], 16) if fields[2].startswith("0x") else int(fields[2])
            if size and fields[6] != "0" and fields[6] not in nobits:
                sizes[package_path(package_of(fields[7].encode()))] += size
    return dict(sizes)


@pytest.mark.parametrize("name", ["nocgo", "cgo", "external", "external-static", "pie", "386"])
def test_symbol_bytes_by_package_against_readelf(go_binaries: dict[str, Path], name: str) -> None:
    """The .symtab attribution (including GNU ld's tables, whose names may share tails) gives
    what the rule gives on the names readelf prints."""
    facts = inspect_file(go_binaries[name])
    assert {p.package: p.size for p in facts.symbols.by_package} == readelf_symbol_bytes(
        go_binaries[name]
    )


def test_packages_survive_stripping(go_binaries: dict[str, Path]) -> None:
    plain, stripped = inspect_file(go_binaries["nocgo"]), inspect_file(go_binaries["stripped"])
    assert stripped.linking.stripped and stripped.symbols.count == 0
    assert stripped.dwarf.file_bytes == 0
    assert {p.package: p.text_bytes for p in plain.packages} == {
        p.package: p.text_bytes for p in stripped.packages
    }
    arm, arm_stripped = (
        inspect_file(go_binaries["arm64"]),
        inspect_file(go_binaries["arm64-stripped"]),
    )
    assert [(p.package, p.text_bytes) for p in arm.packages] == [
        (p.package, p.text_bytes) for p in arm_stripped.packages
    ]


def test_architectures_and_endianness(go_binaries: dict[str, Path]) -> None:
    expected = {
        "cgo": (64, True, "EM_X86_64"),
        "arm64": (64, True, "EM_AARCH64"),
        "armv7": (32, True, "EM_ARM"),
        "386": (32, True, "EM_386"),
        "riscv64": (64, True, "EM_RISCV"),
        "mips": (32, False, "EM_MIPS"),
        "ppc64": (64, False, "EM_PPC64"),
    }
    for name, (bits, little, machine) in expected.items():
        elf = inspect_file(go_binaries[name]).elf
        assert (elf.elfclass, elf.endian == "little", elf.machine) == (bits, little, machine)


def test_linking_variants(go_binaries: dict[str, Path]) -> None:
    def link(name: str) -> object:
        return inspect_file(go_binaries[name]).linking

    cgo, static = link("cgo"), link("external-static")
    assert not cgo.static and "libc.so.6" in cgo.needed and cgo.glibc_min  # type: ignore[attr-defined]
    assert static.static and static.needed == ()  # type: ignore[attr-defined]
    assert link("pie").pie and link("pie").relro == "partial"  # type: ignore[attr-defined]
    assert link("pie-bindnow").relro == "full"  # type: ignore[attr-defined]
    assert link("nocgo").static and not link("nocgo").pie  # type: ignore[attr-defined]


def test_compressed_and_plain_dwarf(go_binaries: dict[str, Path]) -> None:
    packed = inspect_file(go_binaries["nocgo"])
    plain = inspect_file(go_binaries["nodwarfcompress"])
    assert any(s.compressed for s in packed.sections if s.category == "dwarf")
    assert not any(s.compressed for s in plain.sections)
    assert packed.dwarf.file_bytes < packed.dwarf.uncompressed_bytes
    assert plain.dwarf.file_bytes == plain.dwarf.uncompressed_bytes


def test_deploy_warnings(go_binaries: dict[str, Path]) -> None:
    # tests/go/hello says go 1.22 in go.mod: the container-aware GOMAXPROCS default is off.
    facts = inspect_file(go_binaries["nocgo"])
    assert any("containermaxprocs=0" in w for w in facts.warnings)
    assert any("-trimpath" in w for w in facts.warnings)
    assert not any("-trimpath" in w for w in inspect_file(go_binaries["trimpath"]).warnings)


@pytest.mark.parametrize(
    "name", ["c-dynamic", "c-static", "c-debug", "c-debug-zlib", "c-shared.so"]
)
def test_c_binary_facts(c_binaries: dict[str, Path], name: str, tmp_path: Path) -> None:
    facts = inspect_file(c_binaries[name])
    check_against_readelf(c_binaries[name], facts, tmp_path)
    assert facts.go is None and facts.packages == () and facts.pclntab is None
    if name == "c-shared.so":
        assert facts.linking.soname == "libanswer.so.1" and not facts.linking.pie
    if name == "c-debug-zlib":
        assert facts.dwarf.uncompressed_bytes > facts.dwarf.file_bytes > 0


@pytest.mark.parametrize("version", OLD_GO)
def test_older_go_releases(
    go: str, old_go_binaries: dict[str, Path], version: str, tmp_path: Path
) -> None:
    for name in (version, version + "-stripped"):
        path = old_go_binaries[name]
        facts = inspect_file(path)
        check_against_readelf(path, facts, tmp_path)
        check_against_go_version_m(go, path, facts)
        check_packages(facts)
        assert facts.go is not None and facts.go.version == version
        assert facts.pclntab == ("1.18" if version.startswith("go1.18") else "1.20")
        assert "(generated)" in {p.package for p in facts.packages}


def test_cli_json_many_files_with_one_bad(go_binaries: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "not-elf"
    bad.write_text("hello\n")
    files = [str(go_binaries["stripped"]), str(bad), str(go_binaries["mips"])]
    done = buildopt(["inspect", "--json", *files])
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"error: {bad}: not an ELF file" in done.stderr
    document = json.loads(done.stdout)
    jsonschema.validate(document, load_schema("buildopt.inspect/1"))
    assert [b["path"] for b in document["binaries"]] == files
    assert document["binaries"][1] == {
        "path": str(bad),
        "error": f"{bad}: not an ELF file (no \\x7fELF magic)",
    }
    mips = document["binaries"][2]
    assert mips["elf"] == {
        "class": 32,
        "endian": "big",
        "machine": "EM_MIPS",
        "type": "ET_EXEC",
        "goarch": "mips",
    }
    assert mips == json.loads(json.dumps(msgspec.to_builtins(inspect_file(go_binaries["mips"]))))


def test_cli_jobs_give_the_same_document(go_binaries: dict[str, Path], tmp_path: Path) -> None:
    """--jobs 1 and --jobs 3 print the same bytes, errors in argument order, and every
    digest (hashed in a child process) is what sha256sum says."""
    bad = tmp_path / "empty"
    bad.write_bytes(b"")
    names = ["nocgo", "stripped", "arm64", "mips", "cgo"]
    files = [str(go_binaries[n]) for n in names[:2]] + [str(bad)]
    files += [str(go_binaries[n]) for n in names[2:]]
    serial = buildopt(["inspect", "--json", "--jobs", "1", *files])
    spread = buildopt(["inspect", "--json", "--jobs", "3", *files])
    assert serial.returncode == spread.returncode == 2
    assert serial.stdout == spread.stdout
    assert serial.stderr == spread.stderr == f"error: {bad}: is empty, not an ELF file\n"
    sums = subprocess.run(
        ["sha256sum", *(f for f in files if f != str(bad))],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    expected = dict(zip(sums[1::2], sums[0::2], strict=True))
    for binary in json.loads(spread.stdout)["binaries"]:
        if "error" not in binary:
            assert binary["sha256"] == expected[binary["path"]]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_interrupted_inspect_leaves_no_process(
    go_binaries: dict[str, Path], tmp_path: Path, jobs: str
) -> None:
    """Ctrl-C while files are hashed and decoded: exit 130, one line, no process left."""
    marker = f"BUILDOPT_TEST_MARK={tmp_path.name}-{jobs}"
    files = [str(go_binaries["nocgo"])] * 2000  # seconds of work, hashing included
    proc = subprocess.Popen(
        [sys.executable, "-m", "buildopt", "inspect", "--json", "--jobs", jobs, *files],
        cwd=REPO,
        env={**os.environ, marker.split("=", maxsplit=1)[0]: marker.split("=")[1]},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while not processes_with_env(marker):
        assert time.monotonic() < deadline, "buildopt never ran"
        assert proc.poll() is None, "finished before it could be interrupted"
        time.sleep(0.05)
    # In the middle of the work, not in the first milliseconds of the start-up (module
    # imports: see _load_decoder for a Ctrl-C lost in msgspec's module init)
    time.sleep(1.0)
    assert proc.poll() is None, "finished before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err == "error: interrupted\n"
    deadline = time.monotonic() + 10
    while processes_with_env(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_with_env(marker) == []


def test_cli_rejects_zero_jobs(go_binaries: dict[str, Path]) -> None:
    done = buildopt(["inspect", "--json", "--jobs", "0", str(go_binaries["nocgo"])])
    assert done.returncode == 2
    assert done.stderr == "error: --jobs 0: expected 1 or more\n"


def test_cli_tables(go_binaries: dict[str, Path]) -> None:
    done = buildopt(["inspect", str(go_binaries["cgo"]), "--packages", "5"])
    assert done.returncode == 0, done.stderr
    assert "bytes by category" in done.stdout and "Go code by package" in done.stdout
    assert "dynamic (/lib64/ld-linux-x86-64.so.2)" in done.stdout
    assert done.stderr == ""  # results for people are on stdout too


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.mkdir(), "not a regular file (a directory)"),
        (lambda p: None, "No such file"),
        (lambda p: p.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(9)), "corrupt or truncated"),
    ],
)
def test_cli_bad_files(tmp_path: Path, make: object, message: str) -> None:
    target = tmp_path / "f"
    make(target)  # type: ignore[operator]
    done = buildopt(["inspect", str(target)])
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_build_record_carries_inspection(tmp_path: Path) -> None:
    done = buildopt(
        [
            "build",
            "--profile",
            "telecom-edge",
            "--variant",
            "static-stripped@linux-amd64",
            "--dist",
            str(tmp_path),
            "--json",
        ]
    )
    assert done.returncode == 0, done.stderr
    (b,) = json.loads(done.stdout)["builds"]
    facts = inspect_file(b["output"], attribution=True)  # budgets judge the whole-file figures
    recorded = dict(b["inspect"])
    # the build's attribution adds the linker's owners (a twin link): more to packages
    whole = recorded.pop("attribution")
    assert recorded == json.loads(
        json.dumps(msgspec.to_builtins(msgspec.structs.replace(facts, attribution=None)))
    )
    assert whole["method"] == "linker" and whole["file_bytes"] == facts.size
    assert facts.attribution is not None
    own = facts.attribution.file_bytes_attributed_to_packages
    assert whole["file_bytes_attributed_to_packages"] > own
    assert "static" in done.stderr  # the table's linking column


def readelf_units(path: Path) -> tuple[dict[str, tuple[int, int]], int]:
    """(units, .debug_info bytes) per compilation unit name, and the .debug_line bytes of all
    line programs, as readelf prints them."""
    info = readelf("--debug-dump=info", str(path))
    units: dict[str, tuple[int, int]] = {}
    for block in re.split(r"\n  Compilation Unit @ offset ", info)[1:]:
        length = re.search(r"Length:\s+(0x[0-9a-f]+|\d+) \((32|64)-bit\)", block)
        # -W adds the form: "(string) runtime", "(indirect line string, offset: 0x2a): a.c"
        name = re.search(r"DW_AT_name\s*:\s*(?:\([^)]*\):?\s*)?(.*)", block)
        assert length is not None
        size = int(length.group(1), 0) + (4 if length.group(2) == "32" else 12)
        key = name.group(1).strip() if name else "?"
        count, total = units.get(key, (0, 0))
        units[key] = (count + 1, total + size)
    lines = readelf("--debug-dump=rawline", str(path))
    line_bytes = sum(
        int(m.group(1), 0) + 4
        for m in re.finditer(r"^\s+Length:\s+(0x[0-9a-f]+|\d+)$", lines, re.M)
    )
    return units, line_bytes


@pytest.mark.parametrize("name", ["nocgo", "cgo", "nodwarfcompress", "386", "ppc64", "arm64"])
def test_dwarf_by_package_against_readelf(go_binaries: dict[str, Path], name: str) -> None:
    """Each Go package's compilation units, their .debug_info bytes as readelf counts them,
    and the line programs' bytes, on 32/64-bit, big/little-endian, compressed and not."""
    facts = inspect_file(go_binaries[name], dwarf=True)
    assert facts.dwarf.by_package, facts.warnings
    units, line_bytes = readelf_units(go_binaries[name])
    ours = {u.package: (u.units, u.info_bytes) for u in facts.dwarf.by_package}
    assert ours == units
    assert sum(u.line_bytes for u in facts.dwarf.by_package) == line_bytes
    assert {"main", "runtime"} <= set(ours)
    plain = inspect_file(go_binaries[name])
    assert plain.dwarf.by_package is None  # the default inspection does not walk the DWARF


def test_dwarf_by_package_in_json_only_when_asked(go_binaries: dict[str, Path]) -> None:
    path = str(go_binaries["nocgo"])
    plain = json.loads(buildopt(["inspect", "--json", path]).stdout)["binaries"][0]
    assert "by_package" not in plain["dwarf"]
    done = buildopt(["inspect", "--json", "--dwarf", path])
    document = json.loads(done.stdout)
    jsonschema.validate(document, load_schema("buildopt.inspect/1"))
    rows = document["binaries"][0]["dwarf"]["by_package"]
    assert rows[0]["info_bytes"] + rows[0]["line_bytes"] >= rows[-1]["info_bytes"]
    assert not inspect_file(go_binaries["stripped"], dwarf=True).dwarf.by_package


def test_package_paths_are_shown_as_imported(go: str, tmp_path: Path) -> None:
    """Symbol names escape a '.' in a path's last element: buildopt showed
    crypto/internal/entropy/v1%2e0%2e0 and put it in no module its build info names. Package
    names from the function table, the symbol table and DWARF are now the import paths that
    `go list -deps` gives, with no escape left."""
    source = tmp_path / "src"
    source.mkdir()
    (source / "go.mod").write_text("module example.com/randprobe\n\ngo 1.22\n")
    (source / "main.go").write_text(
        'package main\n\nimport (\n\t"crypto/rand"\n\t"fmt"\n)\n\n'
        "func main() {\n\tb := make([]byte, 8)\n\t_, _ = rand.Read(b)\n\tfmt.Println(b)\n}\n"
    )
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": ""}
    binary = tmp_path / "randprobe"
    subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=source, env=env, check=True, capture_output=True
    )
    deps = subprocess.run(
        [go, "list", "-deps", "."], cwd=source, env=env, check=True, capture_output=True, text=True
    ).stdout.split()
    dotted = {p for p in deps if "." in p.rsplit("/", 1)[-1] and "/" in p}
    facts = inspect_file(binary, dwarf=True)
    names = {p.package for p in facts.packages}
    by_symbols = {p.package for p in facts.symbols.by_package}
    by_dwarf = {u.package for u in facts.dwarf.by_package or ()}
    assert dotted & names, "the program links no package with a dot in its last element"
    assert dotted & names <= by_symbols
    assert dotted & names <= by_dwarf
    assert not any("%" in n for n in names | by_symbols)
    assert {p.module for p in facts.packages if p.package in dotted} == {"std"}


# --- whole-file attribution (inspect --attribution) -------------------------------------------


def check_attribution(facts: Inspection, pclntab_size: int | None) -> None:
    """Every byte once: packages and buckets add up to the file; nothing negative; the
    .gopclntab section is split into package shares and its buckets exactly."""
    whole = facts.attribution
    assert whole is not None
    packages = sum(p.file_bytes for p in whole.by_package)
    assert packages == whole.file_bytes_attributed_to_packages
    assert packages + sum(b.file_bytes for b in whole.buckets) == whole.file_bytes == facts.size
    for p in whole.by_package:
        parts = (p.code_bytes, p.pclntab_bytes, p.rodata_bytes, p.data_bytes, p.bss_bytes)
        assert min(parts) >= 0 and p.file_bytes == sum(parts[:4]), p
        assert "%" not in p.package and p.package != "(generated)"
    buckets = {b.name: b.file_bytes for b in whole.buckets}
    assert all(n > 0 for n in buckets.values())
    if pclntab_size is not None and "pclntab (not split)" not in buckets:
        split = sum(p.pclntab_bytes for p in whole.by_package) + sum(
            n for name, n in buckets.items() if name.startswith("pclntab")
        )
        # C functions' shares are in the C bucket, the generated functions' in "generated"
        assert split <= pclntab_size
        assert pclntab_size - split <= buckets.get("C and other non-Go code", 0) + buckets.get(
            "generated", 0
        )


def section_size(path: Path, name: str) -> int | None:
    return next((size for n, size, _ in readelf_sections(path) if n == name), None)


@pytest.mark.parametrize("name", [s.name for s in GO_SPECS])
def test_every_byte_has_one_owner(go_binaries: dict[str, Path], name: str) -> None:
    """On every reference binary (seven architectures, big-endian mips and ppc64, cgo,
    external linking, PIE, stripped): the owners' bytes add up to the file size."""
    path = go_binaries[name]
    facts = inspect_file(path, attribution=True)
    check_attribution(facts, section_size(path, ".gopclntab"))
    assert not [w for w in facts.warnings if "not attributed" in w or "not split" in w]
    whole = facts.attribution
    assert whole is not None
    # the code of a package is what the function table says it is (C functions apart), with
    # its assembly functions that have no package prefix (see the objdump test below)
    code = {p.package: p.code_bytes for p in whole.by_package if p.code_bytes}
    named = {p.package: p.text_bytes for p in facts.packages if p.package in code}
    with open_elf(path) as (f, layout):
        table = function_table(f, layout, shares=True)[0]
    assert table is not None
    for i, package in assembly_units(table, [True] * len(table.sizes)).items():
        named[package] = named.get(package, 0) + table.sizes[i]
    assert code == named
    if facts.linking.stripped:  # no symbols: the data sections are buckets
        assert all(p.rodata_bytes == p.data_bytes == 0 for p in whole.by_package)


def test_old_go_releases_are_split_too(old_go_binaries: dict[str, Path]) -> None:
    """Go 1.18 (a _func of 40 bytes) and 1.20 (44, with startLine) lay the table out
    differently; both are split exactly."""
    for name, path in old_go_binaries.items():
        facts = inspect_file(path, attribution=True)
        check_attribution(facts, section_size(path, ".gopclntab"))
        assert facts.attribution is not None
        buckets = {b.name for b in facts.attribution.buckets}
        assert "pclntab (not split)" not in buckets, name


def test_c_files_are_all_buckets(c_binaries: dict[str, Path]) -> None:
    for name, path in c_binaries.items():
        facts = inspect_file(path, attribution=True)
        check_attribution(facts, None)
        assert facts.attribution is not None
        assert facts.attribution.by_package == (), name


def test_c_code_of_a_cgo_build_is_its_own_owner(go_binaries: dict[str, Path]) -> None:
    """The C functions of a cgo build have no Go compilation unit: they were packages named
    after the C function (x_cgo_munmap.cold in module std) or "(generated)"."""
    for name in ("cgo", "external", "pie"):
        whole = inspect_file(go_binaries[name], attribution=True).attribution
        assert whole is not None
        buckets = {b.name: b.file_bytes for b in whole.buckets}
        assert buckets["C and other non-Go code"] > 1000, name
        assert not [p.package for p in whole.by_package if p.package.startswith(("x_cgo", "_cgo"))]


def readelf_symbols_by_class(path: Path, categories: dict[str, str]) -> dict[str, list[int]]:
    """{package: [rodata, data, bss]} from readelf -sW: each sized symbol by its section's
    category (the inspector's, by section name) and debug/gosym's package rule."""
    names = {}
    for line in readelf("-SW", str(path)).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)", line)
        if m:
            names[m.group(1)] = m.group(2)
    column = {"rodata": 0, "data": 1, "bss": 2}
    sums: dict[str, list[int]] = {}
    listing = readelf("-sW", str(path))
    for line in listing[listing.find("Symbol table '.symtab'") :].splitlines():
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[0].endswith(":") and fields[6].isdigit():
            size = int(fields[2], 16) if fields[2].startswith("0x") else int(fields[2])
            k = column.get(categories.get(names.get(fields[6], ""), ""))
            # a C compiler's static ("completed.0") has no Go package
            static = re.fullmatch(r"[^/.]+\.[0-9]+", fields[7])
            if size and k is not None and not static:
                package = package_path(package_of(fields[7].encode()))
                if package.startswith("$"):  # the compiler's constants: $f64.3ff0...
                    package = "(generated)"
                sums.setdefault(package, [0, 0, 0])[k] += size
    return sums


@pytest.mark.parametrize("name", ["nocgo", "cgo", "arm64", "386", "ppc64"])
def test_data_by_package_agrees_with_readelf(go_binaries: dict[str, Path], name: str) -> None:
    path = go_binaries[name]
    facts = inspect_file(path, attribution=True)
    assert facts.attribution is not None
    categories = {s.name: s.category for s in facts.sections}
    expected = readelf_symbols_by_class(path, categories)
    expected.pop("(generated)", None)
    ours = {
        p.package: [p.rodata_bytes, p.data_bytes, p.bss_bytes]
        for p in facts.attribution.by_package
        if p.rodata_bytes or p.data_bytes or p.bss_bytes
    }
    assert ours == {p: v for p, v in expected.items() if any(v)}


def test_attribution_in_the_json(go_binaries: dict[str, Path]) -> None:
    done = buildopt(["inspect", "--json", "--attribution", str(go_binaries["stripped"])])
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, load_schema("buildopt.inspect/1"))
    whole = data["binaries"][0]["attribution"]
    assert whole["file_bytes"] == go_binaries["stripped"].stat().st_size
    assert whole["file_bytes_attributed_to_packages"] > 0.7 * whole["file_bytes"]
    plain = json.loads(buildopt(["inspect", "--json", str(go_binaries["stripped"])]).stdout)
    assert "attribution" not in plain["binaries"][0]  # only when asked: it costs ~5 us a function
    people = buildopt(
        ["inspect", "--attribution", str(go_binaries["stripped"])], env={"COLUMNS": "200"}
    )
    assert "every byte of the file:" in people.stdout and "[pclntab source files]" in people.stdout


def test_modules_sum_their_packages_with_the_build_infos_versions(go: str, tmp_path: Path) -> None:
    """`inspect --modules`: each module of the build info with its packages' file bytes; the
    versions are `go version -m`'s."""
    done = buildopt(
        [
            "build",
            "--profile",
            "telecom-edge",
            "--variant",
            "static@linux-amd64",
            "--dist",
            str(tmp_path),
            "--json",
        ]
    )
    assert done.returncode == 0, done.stderr
    binary = Path(json.loads(done.stdout)["builds"][0]["output"])
    whole = inspect_file(binary, attribution=True).attribution
    assert whole is not None
    by_module: dict[str, int] = {}
    for p in whole.by_package:
        by_module[p.module] = by_module.get(p.module, 0) + p.file_bytes
    assert {m.module: m.file_bytes for m in whole.by_module} == by_module
    assert sum(m.file_bytes for m in whole.by_module) == whole.file_bytes_attributed_to_packages
    listed = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    deps = dict(line.split("\t")[2:4] for line in listed.splitlines() if line.startswith("\tdep\t"))
    for m in whole.by_module:
        assert m.version == deps.get(m.module), m
    people = buildopt(["inspect", "--modules", str(binary)], env={"COLUMNS": "200"})
    assert people.returncode == 0 and "modules (" in people.stdout and "std" in people.stdout


@pytest.mark.parametrize("name", ["nocgo", "arm64", "386", "ppc64"])
def test_assembly_without_a_package_prefix_goes_to_its_source_files_package(
    go: str, go_binaries: dict[str, Path], name: str
) -> None:
    """cmpbody, aeshashbody, _expand_key_128...: hand-written assembly named without a package
    landed in "(generated)". Their compilation unit says the package; `go tool objdump` says
    the source file, whose directory under GOROOT/src is the same package."""
    path = go_binaries[name]
    with open_elf(path) as (f, layout):
        table = function_table(f, layout, shares=True)[0]
    assert table is not None
    found = assembly_units(table, [True] * len(table.sizes))
    names = table.names()
    ours = {names[i].decode(): package for i, package in found.items()}
    if name == "nocgo":
        assert ours["cmpbody"] == "internal/bytealg"
    if not ours:
        return
    pattern = "^(" + "|".join(re.escape(n) for n in ours) + ")$"
    listing = subprocess.run(
        [go, "tool", "objdump", "-s", pattern, str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    goroot = subprocess.run(
        [go, "env", "GOROOT"], capture_output=True, text=True, check=True
    ).stdout.strip()
    theirs = {}
    for line in listing.splitlines():
        if line.startswith("TEXT "):
            _, symbol, source = line.split(None, 2)
            directory = os.path.dirname(source)
            theirs[symbol.removesuffix("(SB)")] = os.path.relpath(directory, f"{goroot}/src")
    assert ours == {n: p for n, p in theirs.items() if n in ours}


@pytest.mark.parametrize("name", ["nocgo", "arm64", "386", "ppc64"])
def test_code_less_padding_is_go_tool_nms_function_sizes(
    go: str, go_binaries: dict[str, Path], name: str
) -> None:
    """A package's code runs from each function to the next, so it includes the alignment
    padding after them; code_bytes - padding_bytes is what `go tool nm -size` gives its
    functions (assembly without a package prefix counted with its source file's package)."""
    path = go_binaries[name]
    facts = inspect_file(path, attribution=True)
    assert facts.attribution is not None
    with open_elf(path) as (f, layout):
        table = function_table(f, layout, shares=True)[0]
    assert table is not None
    names = table.names()
    assembly = {names[i].decode(): p for i, p in assembly_units(table, [True] * len(names)).items()}
    listing = subprocess.run(
        [go, "tool", "nm", "-size", str(path)], capture_output=True, text=True, check=True
    ).stdout
    expected: dict[str, int] = {}
    for line in listing.splitlines():
        fields = line.split(None, 3)
        if len(fields) == 4 and fields[2] in "Tt" and int(fields[1]):
            symbol = fields[3].removesuffix(".abi0")
            package = assembly.get(symbol) or package_path(package_of(symbol.encode()))
            expected[package] = expected.get(package, 0) + int(fields[1])
    expected.pop("(generated)", None)
    ours = {
        p.package: p.code_bytes - (p.padding_bytes or 0)
        for p in facts.attribution.by_package
        if p.code_bytes
    }
    assert ours == {p: n for p, n in expected.items() if p in ours}
    assert all(p.padding_bytes is not None for p in facts.attribution.by_package)
    padding = sum(p.padding_bytes or 0 for p in facts.attribution.by_package)
    code = sum(p.code_bytes for p in facts.attribution.by_package)
    assert 0 <= padding < code * 0.1


def test_the_largest_symbols_work_stripped(go: str, go_binaries: dict[str, Path]) -> None:
    """--symbols N: the largest functions from .gopclntab (a stripped file too) and the
    largest data objects from .symtab, whose sizes are go tool nm's."""
    done = buildopt(["inspect", "--json", "--symbols", "5", str(go_binaries["stripped"])])
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, load_schema("buildopt.inspect/1"))
    largest = data["binaries"][0]["largest"]
    assert len(largest["functions"]) == 5 and largest["data"] == []
    sizes = [f["bytes"] for f in largest["functions"]]
    assert sizes == sorted(sizes, reverse=True)
    facts = inspect_file(go_binaries["nocgo"], symbols=3)
    assert facts.largest is not None
    listing = subprocess.run(
        [go, "tool", "nm", "-size", "-sort", "size", str(go_binaries["nocgo"])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    nm_data = [
        (f[3], int(f[1]))
        for f in (line.split(None, 3) for line in listing.splitlines())
        if len(f) == 4 and f[2] in "RrDd"
    ]
    assert facts.largest.data[0].bytes == max(size for _, size in nm_data)
    assert {d.name for d in facts.largest.data} <= {name for name, _ in nm_data}


def test_dwarf_bytes_beside_each_packages_file_bytes(go_binaries: dict[str, Path]) -> None:
    """With --dwarf, each package of the attribution has its compilation units' DWARF
    (uncompressed, as dwarf.by_package counts them; DWARF per unit is checked against readelf
    above), beside its file bytes - the DWARF sections themselves stay a bucket."""
    facts = inspect_file(go_binaries["nocgo"], attribution=True, dwarf=True)
    assert facts.attribution is not None and facts.dwarf.by_package is not None
    units = {u.package: u.info_bytes + u.line_bytes for u in facts.dwarf.by_package}
    shares = {p.package: p.dwarf_bytes for p in facts.attribution.by_package}
    assert shares["runtime"] == units["runtime"] > 0
    assert all(shares[p] == units.get(p, 0) for p in shares)
    assert (
        inspect_file(go_binaries["nocgo"], attribution=True).attribution.by_package[0].dwarf_bytes
        is None
    )  # type: ignore[union-attr]


def test_func_data_in_rodata_is_found_through_the_module_data(
    old_go_binaries: dict[str, Path],
) -> None:
    """Before Go 1.22 the func data (go:func.*, stack maps and inline trees: ~7% of cmd/go) is
    in .rodata, without symbols. The module data's gofunc and findfunctab words bound it: they
    are the symbol table's go:func.* (go.func.* before 1.20) and runtime.findfunctab."""
    for name, path in old_go_binaries.items():
        with open_elf(path) as (f, layout):
            table = function_table(f, layout, shares=True)[0]
            assert table is not None
            size = funcdata_outside(f, layout, table)
        assert size > 0, name
        if not name.endswith("-stripped"):
            symbols = {}
            for line in readelf("-sW", str(path)).splitlines():
                fields = line.split()
                if len(fields) == 8 and fields[7] in (
                    "go:func.*",
                    "go.func.*",
                    "runtime.findfunctab",
                ):
                    symbols[fields[7].replace(".func", ":func")] = int(fields[1], 16)
            assert size == symbols["runtime.findfunctab"] - symbols["go:func.*"], name
        whole = inspect_file(path, attribution=True).attribution
        assert whole is not None
        check_attribution(inspect_file(path, attribution=True), section_size(path, ".gopclntab"))
        assert sum(p.rodata_bytes for p in whole.by_package) >= size * 0.9, name


def test_a_damaged_function_table_is_one_warning_with_shares(
    go_binaries: dict[str, Path],
) -> None:
    """Decoding every function's share reads many more fields (pc-data counts and offsets,
    func data, source files) than the names and sizes: damage anywhere in them is a
    PclntabError (a warning in inspect), never another exception."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from buildopt.binary.go.pclntab import PclntabError, decode

    with open_elf(go_binaries["nocgo"]) as (f, layout):
        section = layout.section(".gopclntab")
        assert section is not None
        data = read_at(f, section.offset, section.size)
    words = struct.unpack_from("<8Q", data, 8)
    functab = words[7]

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        st.lists(
            st.tuples(st.integers(0, len(data) - 1), st.integers(0, 255)), min_size=1, max_size=8
        ),
        st.booleans(),
    )
    def damaged(changes: list[tuple[int, int]], in_records: bool) -> None:
        blob = bytearray(data)
        for at, value in changes:
            # half of the time in the function table and _func records, the densest part
            where = functab + at % (len(data) - functab) if in_records else at
            blob[where] = value
        try:
            table = decode(bytes(blob), shares=True)
        except PclntabError:
            return
        assert table.layout is None or len(table.layout.shares) == len(table.sizes)

    damaged()
