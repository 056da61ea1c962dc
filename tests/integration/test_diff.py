"""buildopt diff on real binaries and records: symbol deltas as `go tool nm -size` gives them,
the kernel's format, one-sided variants listed and never counted."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from buildopt.analysis.diff import diff_sizes
from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt, hello_project, readelf

pytestmark = pytest.mark.integration

EXTRA = """package main

import "strings"

var table = strings.Repeat("x", 3)

// Extra is kept by being called from an init: it adds a function and data to the binary.
//
//go:noinline
func Extra(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		s += table
	}
	return s
}

func init() { _ = Extra(len(v)) }
"""


@pytest.fixture(scope="module")
def twins(go: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """hello, and hello with one more file; each unstripped and stripped."""
    out = tmp_path_factory.mktemp("diff")
    built = {}
    for name, extra in (("a", False), ("b", True)):
        source = out / f"src-{name}"
        shutil.copytree(REPO / "tests" / "go" / "hello", source)
        if extra:
            (source / "extra.go").write_text(EXTRA)
        for suffix, flags in (("", []), ("-stripped", ["-ldflags=-s -w"])):
            binary = out / f"{name}{suffix}"
            subprocess.run(
                [go, "build", "-o", str(binary), *flags, "."],
                cwd=source,
                env={**os.environ, "CGO_ENABLED": "0"},
                check=True,
                capture_output=True,
            )
            built[name + suffix] = binary
    return built


def nm_sizes(go: str, binary: Path) -> dict[str, int]:
    """`go tool nm -size`: every symbol holding file bytes. go tool nm prints a .bss object
    as "D", as if it took file bytes: those (named by readelf's section index) are left out."""
    in_bss = set()
    nobits = {
        m.group(1)
        for m in re.finditer(r"^\s*\[\s*(\d+)\]\s+\S+\s+NOBITS", readelf("-SW", str(binary)), re.M)
    }
    for line in readelf("-sW", str(binary)).splitlines():
        fields = line.split(None, 7)
        if len(fields) == 8 and fields[6] in nobits:
            in_bss.add(fields[7])
    out = subprocess.run(
        [go, "tool", "nm", "-size", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        fields = line.split(None, 3)
        wanted = len(fields) == 4 and fields[2] in "TtRrDd" and fields[3] not in in_bss
        if wanted and int(fields[1]):
            sizes[fields[3]] = sizes.get(fields[3], 0) + int(fields[1])
    return sizes


def diff_json(*args: str) -> dict:  # type: ignore[type-arg]
    done = buildopt(["diff", "--json", *args])
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    jsonschema.validate(data, load_schema("buildopt.diff/1"))
    return data  # type: ignore[no-any-return]


def test_symbol_deltas_are_go_tool_nms(go: str, twins: dict[str, Path]) -> None:
    (entry,) = diff_json(str(twins["a"]), str(twins["b"]))["diffs"]
    assert entry["source"] == "symtab" and entry["by"] == "function"
    expected = diff_sizes(nm_sizes(go, twins["a"]), nm_sizes(go, twins["b"]), "function")
    assert [(r["name"], r["old"], r["new"]) for r in entry["rows"]] == [
        (r.name, r.old, r.new) for r in expected.rows
    ]
    assert (entry["added"], entry["removed"], entry["up"], entry["down"]) == (
        expected.added,
        expected.removed,
        expected.up,
        expected.down,
    )
    assert "main.Extra" in {r["name"] for r in entry["rows"] if r["old"] is None}


def test_the_text_is_the_kernels(twins: dict[str, Path]) -> None:
    done = buildopt(["diff", str(twins["a"]), str(twins["b"])])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("add/remove: ") and " up/down: " in lines[0]
    assert lines[1] == "Function                                     old     new   delta"
    assert lines[-2].startswith("Total: Before=") and ", chg " in lines[-2]
    rows = lines[2:-2]
    ups = sum(int(r.split()[-1]) for r in rows if int(r.split()[-1]) > 0)
    downs = sum(int(r.split()[-1]) for r in rows if int(r.split()[-1]) < 0)
    summary = lines[0].split("up/down: ")[1]
    assert summary == f"{ups}/{downs} ({ups + downs})"


def file_line(old: Path, new: Path) -> str:
    before, after = old.stat().st_size, new.stat().st_size
    return f"File: Before={before}, After={after}, chg {(after - before) * 100 / before:+.2f}%"


def test_the_files_sizes_follow_the_total(twins: dict[str, Path]) -> None:
    """The Total line sums the table (as the kernel's script does): a stripped file shrank
    by a third while Total said -22%. One more line says what the files did."""
    old, new = twins["a"], twins["b-stripped"]
    lines = buildopt(["diff", str(old), str(new)]).stdout.splitlines()
    assert lines[-1] == file_line(old, new) and lines[-2].startswith("Total: ")
    total = int(lines[-2].split("After=")[1].split(",")[0])
    assert total < new.stat().st_size  # the table is not the file
    (entry,) = diff_json(str(old), str(new))["diffs"]
    assert (entry["file_before"], entry["file_after"]) == (old.stat().st_size, new.stat().st_size)
    assert entry["file"] == file_line(old, new) and entry["table"] == "Function"


def nm_tables(binary: Path) -> dict[str, dict[str, int]]:
    """What the kernel's bloat-o-meter reads (`nm --size-sort`, GNU binutils) split as its -c
    does: Function tT, Data dD, RO Data rR. Its Data also counts bss objects (b, B): those
    take no file bytes, and buildopt leaves them out."""
    out = subprocess.run(
        ["nm", "--size-sort", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    tables: dict[str, dict[str, int]] = {"Function": {}, "Data": {}, "RO Data": {}}
    letters = {"t": "Function", "T": "Function", "d": "Data", "D": "Data"}
    for line in out.splitlines():
        size, kind, name = line.split(None, 2)  # Go names hold spaces
        table = tables[letters.get(kind, "RO Data")] if kind in "tTdDrR" else None
        if table is not None:
            table[name] = table.get(name, 0) + int(size, 16)
    return tables


def test_categories_are_the_kernels_three_tables(twins: dict[str, Path]) -> None:
    old, new = twins["a"], twins["b"]
    done = buildopt(["diff", "-c", str(old), str(new)])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    headers = [line for line in lines if line.endswith("     old     new   delta")]
    assert headers == [
        "Function                                     old     new   delta",
        "Data                                         old     new   delta",
        "RO Data                                      old     new   delta",
    ]
    assert sum(line.startswith("Total: ") for line in lines) == 3
    assert lines[-1] == file_line(old, new)
    entries = diff_json("-c", str(old), str(new))["diffs"]
    assert [e["table"] for e in entries] == ["Function", "Data", "RO Data"]
    nm_old, nm_new = nm_tables(old), nm_tables(new)
    for entry in entries:
        expected = diff_sizes(nm_old[entry["table"]], nm_new[entry["table"]], "function")
        assert [(r["name"], r["old"], r["new"]) for r in entry["rows"]] == [
            (r.name, r.old, r.new) for r in expected.rows
        ]
        assert (entry["before"], entry["after"]) == (expected.before, expected.after)
    assert "main.Extra" in {r["name"] for r in entries[0]["rows"]}
    done = buildopt(["diff", "-c", "--by", "package", str(old), str(new)])
    assert done.returncode == 2 and "needs --by function" in done.stderr


def test_a_stripped_side_compares_functions_from_the_pclntab(twins: dict[str, Path]) -> None:
    (entry,) = diff_json(str(twins["a"]), str(twins["b-stripped"]))["diffs"]
    assert entry["source"] == "pclntab" and "stripped" in entry["note"]
    assert "main.Extra" in {r["name"] for r in entry["rows"]}
    by_package = diff_json("--by", "package", str(twins["a-stripped"]), str(twins["b-stripped"]))
    rows = {r["name"]: r for r in by_package["diffs"][0]["rows"]}
    assert rows["main"]["delta"] > 0 and by_package["diffs"][0]["source"] == "attribution"


def test_records_pair_by_variant_and_list_one_sided_ones(tmp_path: Path) -> None:
    """compare OLD NEW with one variant in NEW reported the others as -100% and their bytes
    as removed; diff lists them as only in one record."""
    project = hello_project(
        tmp_path,
        'package = "./hello"\ntargets = ["linux/amd64"]\n'
        '[variants.plain]\ncgo = false\n[variants.small]\ncgo = false\nstrip = "all"\n',
    )
    both = buildopt(["build", "--profile", "p", "--record", "both.json"], cwd=project)
    assert both.returncode == 0, both.stderr
    shutil.copy(project / "both.json", project / "old.json")
    one = buildopt(
        ["build", "--profile", "p", "--variant", "small@*", "--record", "one.json"], cwd=project
    )
    assert one.returncode == 0, one.stderr
    data = diff_json("--by", "package", str(project / "old.json"), str(project / "one.json"))
    assert [d["id"] for d in data["diffs"]] == ["small@linux-amd64"]
    assert data["only_old"] == ["plain@linux-amd64"] and data["only_new"] == []
    assert data["diffs"][0]["removed"] == 0  # nothing of plain counts as removed
    text = buildopt(["diff", "--by", "package", "old.json", "one.json"], cwd=project).stdout
    assert "== small@linux-amd64 ==" in text and "only in old.json: plain@linux-amd64" in text
    # the binaries are in place: symbols too
    symbols = diff_json(str(project / "old.json"), str(project / "both.json"))
    assert {d["id"] for d in symbols["diffs"]} == {"plain@linux-amd64", "small@linux-amd64"}


def test_markdown_for_a_pull_request(twins: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "comment.md"
    done = buildopt(["diff", "--markdown", str(out), str(twins["a"]), str(twins["b"])])
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert text.startswith("## buildopt diff (by function)") and "| `main.Extra` | - |" in text


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: (d / "t.txt").write_text("hello") and d / "t.txt", "neither an ELF file"),
        (lambda d: d, "not a regular file (a directory)"),
        (lambda d: d / "missing", "cannot read"),
        (  # json.loads raised RecursionError: exit 3 (the fresh-eye review)
            lambda d: (d / "deep.json").write_text("[" * 100_000) and d / "deep.json",
            "build record (nested too deeply)",
        ),
        (  # a record refused: the file named once, not again in the record's own message
            lambda d: (d / "r.json").write_text('{"schema": "x"}') and d / "r.json",
            "nor a build record: not a buildopt build record (schema 'x'",
        ),
    ],
)
def test_bad_inputs_are_one_line(twins: dict[str, Path], tmp_path: Path, make, message) -> None:  # type: ignore[no-untyped-def]
    bad = make(tmp_path)
    done = buildopt(["diff", str(twins["a"]), str(bad)])
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    inspected = tmp_path / "a.json"
    inspected.write_text(buildopt(["inspect", "--json", str(twins["a"])]).stdout)
    done = buildopt(["diff", str(inspected), str(twins["b"])])
    assert done.returncode == 2 and "use --by package, module or section" in done.stderr


@pytest.mark.parametrize("by", ["function", "package", "module"])
def test_a_damaged_function_table_is_one_line_not_every_function_removed(
    twins: dict[str, Path], tmp_path: Path, by: str
) -> None:
    """A stripped Go file whose .gopclntab cannot be read was compared as a file with no
    functions ("add/remove: 0/1800", exit 0); now it is bad input, and by section still works."""
    from buildopt.binary.elf.reader import open_elf

    with open_elf(twins["b-stripped"]) as (_, layout):
        section = layout.section(".gopclntab")
        assert section is not None
    blob = bytearray(twins["b-stripped"].read_bytes())
    blob[section.offset + 8 : section.offset + 16] = (0x7FFFFFFF).to_bytes(8, "little")  # nfunc
    damaged = tmp_path / "damaged"
    damaged.write_bytes(blob)
    done = buildopt(["diff", "--by", by, str(twins["a-stripped"]), str(damaged)])
    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith(f"error: {damaged}: the Go function table (.gopclntab) is")
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout
    diff_json("--by", "section", str(twins["a-stripped"]), str(damaged))
