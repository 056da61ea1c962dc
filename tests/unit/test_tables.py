"""Tables for people at 80, 120 and 200 columns, on a terminal and piped: every variant id,
target, budget name and verdict appears whole on one line; what does not fit is said."""

from __future__ import annotations

import io
import re
from pathlib import Path

import msgspec
import pytest

from buildopt.analysis.compare import compare_variants
from buildopt.analysis.gate import Check, byte_figure
from buildopt.output import compare_tables, gate_tables, inspect_tables, startup_tables
from buildopt.output import console as report
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Column, layout, render
from buildopt.output.tables import _cell as cell
from tests.records import build, inspection, record

IDS = (
    "static-stripped@linux-arm-v7",
    "static-stripped@linux-arm64",
    "external-static@linux-amd64",
    "default@linux-amd64",
)
REASON = (
    "cgo for linux/arm64 needs a C cross compiler: aarch64-linux-gnu-gcc is not on PATH; "
    "install gcc-aarch64-linux-gnu or set env.CC in the variant"
)
BUDGET = "flash partition B (base-station image)"


def screen(width: int, terminal: bool) -> tuple[DataConsole, io.StringIO]:
    out = io.StringIO()
    console = DataConsole(
        file=out,
        width=width,
        force_terminal=terminal,
        color_system=None,
        highlight=False,
        soft_wrap=True,  # as make_console: only what asks for wrapping wraps
    )
    return console, out


def builds() -> list:  # type: ignore[type-arg]
    results = [build(i, inspection(5_570_722 + n, dwarf=2_000_000)) for n, i in enumerate(IDS)]
    skipped = build("default@linux-arm64", None, status="skipped", reason=REASON, size=None)
    return [*results, skipped]


def table_lines(text: str) -> list[str]:
    """The lines of the boxed tables (notes under them may run longer: the terminal wraps
    them; a table line never wraps)."""
    return [line for line in text.splitlines() if set(line) & set("┃│┏┗┡└┌")]


def whole_on_a_line(text: str, names: tuple[str, ...]) -> None:
    for name in names:
        assert any(name in line for line in text.splitlines()), f"{name!r} cut:\n{text}"


@pytest.mark.parametrize("width", [80, 120, 200])
@pytest.mark.parametrize("terminal", [True, False])
def test_build_results_keep_ids_whole(width: int, terminal: bool) -> None:
    console, out = screen(width, terminal)
    report.show_results(console, builds(), None)
    text = out.getvalue()
    whole_on_a_line(text, (*IDS, "default@linux-arm64", "skipped"))
    assert text.count("static-stripped@linux-arm64") == 1  # once: no second list of results
    if terminal:
        assert max(map(len, table_lines(text))) <= width
        assert "─" in text or "━" in text
    else:  # piped: plain, one row per line, the whole reason on its row
        assert "━" not in text and "│" not in text
        assert any(
            line.startswith("default@linux-arm64") and REASON in line for line in text.splitlines()
        )
    assert " ".join(REASON.split()) in " ".join(text.split())  # the reason, whole, somewhere


def test_a_narrow_terminal_says_which_columns_it_left_out() -> None:
    console, out = screen(80, True)
    report.show_results(console, builds(), None)
    text = out.getvalue()
    assert re.search(r"not shown at 80 columns: [a-zA-Z, ]+; a wider terminal shows them", text)
    assert "[1] default@linux-arm64: cgo for linux/arm64" in " ".join(text.split())


@pytest.mark.parametrize("width", [80, 120, 200])
def test_gate_rows_keep_budget_variant_and_verdict_whole(width: int) -> None:
    checks = [
        Check(
            BUDGET,
            vid,
            "max_size",
            "fail",
            byte_figure(5570722),
            byte_figure(5242880),
            byte_figure(-327842, change=True),
            message="Flash partition B holds 6 MiB; the bootloader needs the rest",
            headroom_bytes=-327842,
        )
        for vid in IDS
    ]
    console, out = screen(width, True)
    gate_tables.show_gate(console, checks, "telecom-edge")
    text = out.getvalue()
    whole_on_a_line(text, (*IDS, BUDGET, "FAIL", "max_size"))
    # at 80 and 120 the kept columns alone are wider: each row is a block, never wider
    assert max(map(len, text.splitlines())) <= width, text
    message = "Flash partition B holds 6 MiB; the bootloader needs the rest"
    assert message in " ".join(text.split())
    # every FAIL row says by how much: actual, limit and headroom, sizes for people
    for figure in ("5.31 MiB", "5.00 MiB", "-320.16 KiB"):
        assert text.count(figure) == len(IDS), (figure, text)
    assert "5570722" not in text
    if width == 120:  # the budget heads its checks, and they fit as a table again
        assert text.count(BUDGET) == 1 and "verdict" in text and "━" in text
        assert f"static-stripped@linux-arm-v7: {message}" in " ".join(text.split())
    exact, out = screen(width, False)
    gate_tables.show_gate(exact, checks, "telecom-edge", exact=True)
    assert "5570722" in out.getvalue()
    # the headroom too (it said -320.16 KiB: the fresh-eye review of 2026-12-08)
    assert "-327842" in out.getvalue() and "KiB" not in out.getvalue()


@pytest.mark.parametrize("width", [80, 120, 200])
def test_compare_keeps_ids_and_numbers_whole(width: int) -> None:
    rec = record(*(build(i, inspection(5_000_000 + 1000 * n)) for n, i in enumerate(IDS)))
    console, out = screen(width, True)
    compare_tables.show_variant_comparison(console, rec, compare_variants(rec))
    text = out.getvalue()
    whole_on_a_line(text, IDS)
    assert "4.77 MiB" in text  # a number is never split over lines
    assert max(map(len, table_lines(text))) <= width


def test_identities_alone_wider_than_the_terminal_are_still_whole() -> None:
    long_id = "a-variant-name-that-is-far-too-long-for-any-terminal@linux-arm-v7"
    console, out = screen(40, True)
    render(console, "t", [Column("id", keep=True), Column("size", right=True)], [[long_id, "1"]])
    assert long_id in out.getvalue()


def test_layout_drops_the_least_important_first() -> None:
    columns = [
        Column("id", keep=True),
        Column("a", drop=1),
        Column("b", drop=2),
        Column("note", note=True),
    ]
    rows = [[cell("x" * 20), cell("a" * 20), cell("b" * 20), cell("n" * 200)]]
    fit = layout(columns, rows, 70, boxed=True)
    assert fit.dropped == ("b",) and fit.note_width == 20 and fit.width == 70
    assert layout(columns, rows, None, boxed=False).dropped == ()


@pytest.mark.parametrize("terminal", [True, False])
def test_inspect_header_folds_a_build_id_wider_than_the_screen(terminal: bool) -> None:
    """A Go build id (83 characters) at 80 columns was cut with an ellipsis; now it folds."""
    go_id = "QPjhvknyEAvJvV6Q6-_W/U9AD8Y1KGYbWhUHIC0kO/XhLaOZrVC2r5S764bb97/6JrZ6aBcDeFgHiJkLmNo"
    facts = msgspec.structs.replace(inspection(5_570_722), go_build_id=go_id)
    console, out = screen(80, terminal)
    inspect_tables.show_inspection(console, facts, 0)
    text = out.getvalue()
    assert "…" not in text
    assert go_id in "".join(text.split()), text


def test_a_bar_is_its_share_in_eighths_of_a_block() -> None:
    from buildopt.output.tables import bar

    assert bar(0.5, 10) == "█████     "
    assert bar(1.0, 4) == "████" and bar(0.0, 4) == "    "
    assert bar(1 / 16, 2) == "▏ "  # one eighth of the first block
    assert bar(2.0, 3) == "███"  # never wider than asked
    assert all(len(bar(f / 100, 7)) == 7 for f in range(101))


def test_lines_under_tables_wrap_on_a_terminal_and_stay_whole_in_a_log() -> None:
    """scan's fixes, compare's explanations and the notes under a table ran to 140-340
    columns on an 80-column terminal; in a log each stays one line, for grep."""
    from buildopt.record.model import Finding, ScanReport, StartupResult

    fix = "remove the call; the runtime sizes GOMAXPROCS from the CPUs " * 3
    finding = Finding("init_legacy.go", 15, 2, "gomaxprocs-constant", "error", REASON, fix)
    scanned = ScanReport("buildopt.scan/1", "/src", (), 1, {}, (finding,), ())
    rec = record(
        build("default@linux-amd64", inspection(5_000_000)),
        build("static@linux-amd64", inspection(4_000_000, sections={".text": 9})),
    )
    started = StartupResult(
        name="static-stripped@linux-amd64", binary="x", runs=5, failed_runs=0, errors=(),
        ready="process exit", cold=True, evicted=True, median_ms=30.0, p95_ms=40.0, evict_ms=1.9,
        harness_ms=2.1, traced_runs=1, traced_godebug="gctrace=1,inittrace=1",
    )  # fmt: skip
    for terminal in (True, False):
        console, out = screen(80, terminal)
        startup_tables.show_startup(console, [started], "default")
        startup_tables.show_scan(console, scanned)
        report.show_results(console, builds(), None)
        compare_tables.show_variant_comparison(console, rec, compare_variants(rec))
        lines = out.getvalue().splitlines()
        if terminal:
            assert max(map(len, lines)) <= 80, "\n".join(lines)
        else:
            assert any(
                line.startswith("fix init_legacy.go:15: ") and fix.strip() in line for line in lines
            )


def test_a_wrapped_explanation_keeps_each_figure_with_its_name() -> None:
    """At 80 columns compare's explanation broke "gometa -18.28 KiB" as "gometa" / "-18.28
    KiB" and "dwarf -15.39" / "KiB": a line ended on a name or a bare number."""
    old = {"code": 9_000_000, "rodata": 2_000_000, "data": 400_000, "gometa": 6_000_000}
    new = {"code": 8_977_680, "rodata": 1_993_000, "data": 399_808, "gometa": 5_981_280}
    old |= {"symtab": 1_600_000, "dwarf": 5_700_000, "dynamic": 9_000}
    new |= {"symtab": 1_591_480, "dwarf": 5_684_240, "dynamic": 5_080}
    rec = record(
        build("default@linux-amd64", inspection(sum(old.values()), totals=old)),
        build("static@linux-amd64", inspection(sum(new.values()), totals=new)),
    )
    for width in (60, 80, 120):
        console, out = screen(width, True)
        compare_tables.show_variant_comparison(console, rec, compare_variants(rec))
        lines = [line.rstrip() for line in out.getvalue().splitlines()]
        below = lines[next(i for i, line in enumerate(lines) if line.endswith("amd64:")) + 1 :]
        assert below and max(map(len, below)) <= width
        for line in below:
            assert not re.search(r"(\d|\b(code|rodata|data|gometa|symtab|dwarf|dynamic))$", line), (
                "\n".join(below)
            )
            assert not re.match(r"\s*(B|KiB|MiB)\b", line), "\n".join(below)


def test_plan_s_prose_wraps_at_80_columns_and_argv_stays_whole(project: Path) -> None:
    """plan's 128-column title and the skip reasons were left to the terminal, which broke
    them mid-word; argv, dir and out lines stay whole (to be copied)."""
    from buildopt.config.profile import load_profile
    from buildopt.output.console import show_plan
    from buildopt.pipeline.plan import make_plan
    from tests.conftest import write_profile
    from tests.unit.test_plan import PROFILE, TOOLS

    long = PROFILE.replace(
        "targets = [", 'description = "' + "a long description " * 4 + '"\n    targets = ['
    )
    write_profile(project, "p", long)
    plan = make_plan(load_profile("p", project), TOOLS, {"PATH": ""})
    out = io.StringIO()
    console = DataConsole(
        file=out, width=80, force_terminal=True, color_system=None, soft_wrap=True
    )  # as make_console
    show_plan(console, plan)
    lines = out.getvalue().splitlines()
    prose = [line for line in lines if not line.startswith(("  argv", "  out", "  dir"))]
    assert max(map(len, prose)) <= 80, "\n".join(prose)
    assert all(len(line) > 80 for line in lines if line.startswith("  argv"))


def test_counts_of_one_are_singular() -> None:
    """'1 notes', '1 traced runs' read wrong."""
    from buildopt.record.model import Finding, ScanReport, StartupResult

    note = Finding("a.go", 3, 1, "init-risk", "note", "reads a file at start-up", None)
    scanned = ScanReport("buildopt.scan/1", "/src", (), 1, {}, (note,), ())
    started = StartupResult(
        name="a@linux-amd64", binary="x", runs=5, failed_runs=0, errors=(),
        ready="process exit", cold=True, evicted=True, median_ms=30.0, p95_ms=40.0, evict_ms=1.9,
        harness_ms=2.1, traced_runs=1, traced_godebug="gctrace=1,inittrace=1",
    )  # fmt: skip
    console, out = screen(200, False)
    startup_tables.show_scan(console, scanned)
    startup_tables.show_startup(console, [started], "a")
    text = out.getvalue()
    assert "1 file: 0 errors, 0 warnings, 1 note;" in text, text
    assert "1 traced run with" in text, text
