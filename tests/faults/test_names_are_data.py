"""Names are data: text from a user, a profile, a binary or Go sources is printed as itself.

Rich reads ``[bold]`` as markup and ``:100:`` as an emoji code, and a terminal runs what an ESC
starts: ``scan`` printed ``main.go:100:2`` as ``main.go💯2``. Every table, title, footer and
message now shows such a name literally, control characters as their escapes (``\\x1b``,
``\\n``), and a newline never forges a line of its own.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from buildopt.analysis.compare import compare_records, compare_variants
from buildopt.analysis.gate import Check, byte_figure
from buildopt.output import compare_tables, gate_tables, inspect_tables, startup_tables
from buildopt.output import console as report
from buildopt.output.tables import Column, render
from buildopt.record.images import ImageEntry, ImageRecord
from buildopt.record.model import CutSaving, Finding, InitSite, ScanReport, StartupResult
from tests.integration.conftest import buildopt, hello_project
from tests.records import build, inspection, record


def visible(text: str) -> str:
    """The expected form, written here independently of buildopt's: each C0/C1 control as
    \\n, \\r, \\t or \\xHH (the bidirectional overrides as \\uHHHH)."""
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(
        named.get(c)
        or (f"\\x{ord(c):02x}" if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F else None)
        or (f"\\u{ord(c):04x}" if c in BIDI else c)
        for c in text
    )


BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
HOSTILE = (":100:", ":smile:", "[bold]x[/]", "\x1b[31m", "line\nforged")
NAME = " ".join(HOSTILE)  # every hostile piece in one name
SHOWN = visible(NAME)  # ":100: :smile: [bold]x[/] \\x1b[31m line\\nforged"
EMOJI = ("💯", "😄")
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # any control but the line feed


def screens() -> list[tuple[Console, io.StringIO]]:
    """A terminal and a log, both with rich's defaults (emoji codes on): what is shown must not
    depend on the console it is given."""
    out = []
    for terminal in (True, False):
        text = io.StringIO()
        console = Console(file=text, width=200, force_terminal=terminal, color_system=None)
        out.append((console, text))
    return out


def assert_literal(text: str, shown: str = SHOWN) -> None:
    assert shown in text, text
    assert not any(e in text for e in EMOJI), text
    assert not CONTROL.search(text), repr(text)
    assert not any(line.startswith("forged") for line in text.splitlines()), text


def hostile_id(n: int = 0) -> str:
    return f"v{n} {NAME}@linux-amd64"


def test_build_results_and_compare_show_names_literally() -> None:
    ids = [hostile_id(0), hostile_id(1)]
    builds = [build(i, inspection(1_000_000 + n)) for n, i in enumerate(ids)]
    failed = build(hostile_id(2), None, status="failed", reason=NAME, size=None)
    for console, out in screens():
        report.show_results(console, [*builds, failed], Path(NAME))
        rec = record(*builds)
        compare_tables.show_variant_comparison(console, rec, compare_variants(rec))
        other = record(*(build(i, inspection(2_000_000)) for i in ids))
        compare_tables.show_record_comparison(console, compare_records(rec, other), 10)
        assert_literal(out.getvalue(), visible(hostile_id(2)))


def test_cuttable_dependencies_show_packages_and_importers_literally() -> None:
    """compare's cuttable tables: a package and its importers from a record are data."""
    cut = CutSaving(
        package=NAME, importers=(NAME, "b"), bytes=9, attributed_bytes=8, packages=1, unattributed=0
    )
    entry = msgspec.structs.replace(build(hostile_id(0), inspection(1_000_000)), cuttable=(cut,))
    for console, out in screens():
        rec = record(entry)
        compare_tables.show_variant_comparison(console, rec, compare_variants(rec))
        assert_literal(out.getvalue())
        assert f"{SHOWN}, b" in out.getvalue()


def test_inspection_shows_paths_packages_and_warnings_literally() -> None:
    facts = msgspec.structs.replace(
        inspection(1_000_000, packages={NAME: 1000, "main": 10}, sections={NAME: 100}),
        path=NAME,
        warnings=(NAME,),
    )
    for console, out in screens():
        inspect_tables.show_inspection(console, facts, 10)
        assert_literal(out.getvalue())


# actual, limit and headroom of a size check over its limit by a byte, and of one under it
SIZES = [
    (byte_figure(2), byte_figure(1), byte_figure(-1, change=True)),
    (byte_figure(1), byte_figure(2), byte_figure(1, change=True)),
]


def test_gate_shows_budget_variant_and_message_literally() -> None:
    checks = [
        Check(NAME, hostile_id(), "max_size", "fail", *SIZES[0], note=NAME, message=NAME),
        Check(NAME, NAME, f"max_share[{NAME}]", "pass", *SIZES[1]),
    ]
    for width in (80, 120, 200):
        for terminal in (True, False):
            out = io.StringIO()
            console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
            gate_tables.show_gate(console, checks, NAME)
            assert_literal(out.getvalue())


def test_images_scan_and_startup_show_names_literally() -> None:
    entry = ImageEntry(
        path=f"/usr/bin/{NAME}", source=NAME, sha256="0" * 64, size=10, stored_bytes=5
    )
    image = ImageRecord(
        schema="buildopt.image/1",
        name=NAME,
        image=f"/dist/{NAME}.squashfs",
        filesystem="squashfs",
        compressor="xz",
        block_size=131072,
        key="k",
        created="2026-01-01",
        size=4096,
        bytes_used=100,
        metadata_bytes=50,
        erase_block=131072,
        erase_blocks=1,
        sha256="0" * 64,
        files=(entry,),
        tool="mksquashfs",
    )
    scanned = ScanReport(
        schema="buildopt.scan/1",
        root=NAME,
        tags=(NAME,),
        files=1,
        counts={},
        findings=(Finding(f"{NAME}.go", 100, 2, NAME, "error", NAME, NAME),),
        inventory=(InitSite(NAME, NAME, 1, "init", NAME, (NAME,)),),
    )
    started = StartupResult(
        name=NAME, binary=NAME, runs=0, failed_runs=1, errors=(NAME,), ready=NAME, cold=False,
        evicted=False,
    )  # fmt: skip
    for console, out in screens():
        gate_tables.show_images(console, [image])
        startup_tables.show_scan(console, scanned)
        startup_tables.show_startup(console, [started], NAME)
        assert_literal(out.getvalue())
        assert visible(f"{NAME}.go:100:2") in out.getvalue()


def test_diff_prints_symbol_names_from_a_binary_literally() -> None:
    """diff writes the kernel's plain format (no rich): a symbol name with ESC or a newline
    must not reach the terminal as one, nor break its row in two."""
    from buildopt.analysis.diff import diff_sizes
    from buildopt.output.diff import bloat_o_meter

    text = bloat_o_meter(diff_sizes({NAME: 10, "main.main": 5}, {NAME: 20}, "function"))
    assert_literal(text)
    assert len(text.splitlines()) == 5  # summary, header, two rows, total


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=12)),
        min_size=1,
        max_size=4,
    ).map("".join)
)
def test_any_name_is_one_row_shown_as_itself(name: str) -> None:
    """Whatever a name holds, its row is one line (piped) with the name as visible() shows it,
    and nothing in it reaches the terminal as a control character or an emoji."""
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False, color_system=None)
    render(console, name, [Column("id", keep=True), Column("size", right=True)], [[name, "1"]])
    text = out.getvalue()
    lines = text.splitlines()
    assert len(lines) == 3, text  # the title, the header, the row
    assert visible(name).strip() in lines[0]
    assert visible(name).strip() in lines[2]
    assert not CONTROL.search(text)


# --- the real command line ----------------------------------------------------------------


def toml_string(text: str) -> str:
    """text as a TOML basic string (control characters as \\uXXXX escapes)."""
    body = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 else c for c in text
    )
    return f'"{body}"'


PROFILE = f"""
package = "./hello"
description = {toml_string(NAME)}
[variants.a]
cgo = false
[[budget]]
name = {toml_string(NAME)}
select = "a@*"
max_size = "100 MiB"
message = {toml_string(NAME)}
[[budget]]
name = {toml_string("too small " + NAME)}
select = "a@*"
max_size = "1 KiB"
"""

TERMINAL_80 = {"TTY_COMPATIBLE": "1", "COLUMNS": "80"}


def assert_shown(done_stdout: str, done_stderr: str, terminal: bool) -> None:
    both = done_stdout + done_stderr
    assert SHOWN in both or SHOWN in " ".join(both.split()), both
    assert not any(e in both for e in EMOJI), both
    assert "\x1b[31m" not in both  # NO_COLOR: no colour of buildopt's own, so none at all
    if not terminal:
        assert "\x1b" not in both
    assert not any(line.startswith("forged") for line in both.splitlines()), both


@pytest.mark.parametrize("env", [{}, TERMINAL_80], ids=["piped", "terminal-80"])
def test_profile_names_are_shown_literally(tmp_path: Path, env: dict[str, str]) -> None:
    project = hello_project(tmp_path, PROFILE)
    built = buildopt(["build", "--profile", "p"], cwd=project, env=env)
    assert built.returncode == 0, built.stderr
    planned = buildopt(["plan", "--profile", "p"], cwd=project, env=env)
    assert planned.returncode == 0, planned.stderr
    assert_shown(planned.stdout, planned.stderr, bool(env))
    gated = buildopt(["gate", "--profile", "p"], cwd=project, env=env)
    assert gated.returncode == 1, gated.stderr  # the 1 KiB budget fails
    assert_shown(gated.stdout, gated.stderr, bool(env))
    assert visible("too small " + NAME) in gated.stdout


@pytest.mark.parametrize("env", [{}, TERMINAL_80], ids=["piped", "terminal-80"])
def test_scan_prints_file_line_and_column_literally(tmp_path: Path, env: dict[str, str]) -> None:
    """main.go:100:2 was printed as main.go💯2; a file named with markup and an emoji code
    (Go accepts both) is shown as named."""
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.24\n")
    filler = "".join(f"// line {n}\n" for n in range(5, 99))
    body = 'package main\n\nimport "runtime"\n\n' + filler + "func init() {\n"
    (tmp_path / "main.go").write_text(body + "\truntime.GOMAXPROCS(64)\n}\n\nfunc main() {}\n")
    odd = ":smile:[bold]x:100:.go"  # (a file name holds no "/")
    (tmp_path / odd).write_text(
        'package main\n\nimport "runtime"\n\nfunc init() {\n\truntime.GOMAXPROCS(2)\n}\n'
    )
    done = buildopt(["scan"], cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr  # GOMAXPROCS(64) is an error-level finding
    text = " ".join((done.stdout + done.stderr).split())
    assert "main.go:100:2" in text, text
    assert f"{odd}:6:2" in text, text
    assert not any(e in text for e in EMOJI), text


def test_an_image_name_with_a_newline_is_refused_at_load(tmp_path: Path) -> None:
    image = (
        '[[image]]\nname = "base\\nstation"\nselect = "a@*"\nfilesystem = "squashfs"\n'
        'max_size = "8 MiB"\n'
    )
    project = hello_project(tmp_path, 'package = "./hello"\n[variants.a]\ncgo = false\n' + image)
    done = buildopt(["plan", "--profile", "p"], cwd=project)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "[[image]]" in done.stderr or "image" in done.stderr
    assert "name" in done.stderr and "control character" in done.stderr


@settings(max_examples=200, deadline=None)
@given(
    budget=st.one_of(st.sampled_from([NAME]), st.text(max_size=20)),
    message=st.one_of(st.sampled_from([NAME, "x\n::add-mask::secret"]), st.text(max_size=20)),
)
def test_gate_files_hold_names_as_data(budget: str, message: str) -> None:
    """gate's JUnit, Markdown and GitHub workflow commands took a budget's name and message
    raw: ESC made the JUnit file unparsable, a newline ended the Markdown row (and ESC reached
    the terminal of `--markdown -`), and a newline in the message began a workflow command of
    its own (`::add-mask::`). Each is now one parsable line or element per check."""
    import xml.etree.ElementTree as ET

    from buildopt.output import gate as gate_output

    checks = [
        Check(budget, "a@linux-amd64", "max_size", "fail", *SIZES[0], message=message),
        Check(budget, "b@linux-amd64", "max_size", "pass", *SIZES[1], note=message),
    ]
    suite = ET.fromstring(gate_output.junit(checks, budget))
    assert [case.get("name") for case in suite] == ["a@linux-amd64", "b@linux-amd64"]
    markdown = gate_output.markdown(checks, budget)
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 4 and all(row.endswith(" |") for row in rows), markdown
    assert not CONTROL.search(markdown) and ":smile:" not in markdown
    commands = gate_output.workflow_commands(checks, "profiles/p.toml")
    assert len(commands) == 1 and "\n" not in commands[0] and "\r" not in commands[0]
    assert not CONTROL.search(commands[0])


@settings(max_examples=200, deadline=None)
@given(symbol=st.one_of(st.sampled_from([NAME, "a|b", "`x``y`", "`"]), st.text(min_size=1)))
def test_diff_markdown_rows_hold_symbol_names_as_data(symbol: str) -> None:
    """diff --markdown put a symbol name from a binary raw into a code span: a newline ended
    the row, ESC reached the terminal of `--markdown -`, a backtick ended the span."""
    from buildopt.analysis.diff import diff_sizes
    from buildopt.output.diff import markdown

    text = markdown("a -> b", diff_sizes({symbol: 10, "main.main": 5}, {symbol: 20}, "function"))
    rows = [line for line in text.split("\n") if line.startswith("| ") and "delta" not in line]
    assert len(rows) == 2 and not CONTROL.search(text), text
    shown = next(row for row in rows if row.endswith("| +10 |"))
    assert re.fullmatch(r"\| (`+) ?.*? ?\1 \| 10 \| 20 \| \+10 \|", shown), shown


WHY_PROFILE = 'package = "./hello"\ntargets = ["linux/amd64"]\n[variants.pure]\ncgo = false\n'


def test_the_package_asked_for_is_shown_as_data(tmp_path: Path) -> None:
    """why printed the package as typed: ESC reached the terminal (an OSC set its title) and a
    newline forged a line of its own."""
    project = hello_project(tmp_path, WHY_PROFILE)
    asked = "\x1b]0;title\x07x:smile:\nforged"
    done = buildopt(["why", asked, "--profile", "p", "--variant", "pure@*"], cwd=project)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        "pure@linux-amd64:",
        "  \\x1b]0;title\\x07x:smile:\\nforged is not in this variant's build",
    ]


def test_inspect_json_names_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    """JSON text is UTF-8: a file named with the byte 0xff is its entry with the byte as
    ``\\xff``, read or not (the encoder used to refuse the name's surrogate and stop)."""
    elf = tmp_path / "elf-\udcff"
    shutil.copy(Path(sys.executable).resolve(), elf)
    done = buildopt(["inspect", "--json", str(elf), str(tmp_path / "gone-\udcff")], cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    read, gone = msgspec.json.decode(done.stdout)["binaries"]
    assert (read["path"], read["size"]) == (f"{tmp_path}/elf-\\xff", elf.stat().st_size)
    assert gone["path"] == f"{tmp_path}/gone-\\xff"
    assert gone["error"].startswith(gone["path"] + ": ")
