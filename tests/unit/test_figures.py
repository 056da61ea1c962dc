"""A check's actual, limit and headroom are typed figures (a number with its unit, a word, or
nothing measured); buildopt.output.gate writes them, the same text in every output."""

from __future__ import annotations

import pytest

from buildopt.analysis.gate import (
    NOTHING,
    Check,
    Figure,
    byte_figure,
    count_figure,
    word_figure,
)
from buildopt.output.gate import figure_text, gate_report, human, markdown, workflow_commands
from tests.records import record

SIZE = Check(
    "flash",
    "edge@linux-arm64",
    "max_size",
    "fail",
    byte_figure(5_570_722),
    byte_figure(5_242_880),
    byte_figure(-327_842, change=True),
    headroom_bytes=-327_842,
)


@pytest.mark.parametrize(
    ("figure", "limit", "text"),
    [
        (byte_figure(5_570_722), False, "5570722"),  # the JSON's sizes are in bytes
        (byte_figure(-327_842, change=True), False, "-320.16 KiB"),
        (byte_figure(512, change=True), True, "+512 B"),  # an absolute growth limit
        (Figure(0.1, "percent", change=True), False, "+10.00%"),
        (Figure(0.02, "percent", change=True), True, "+2.0%"),  # a limit to one place
        (Figure(-0.08, "percent", change=True), False, "-8.00%"),
        (Figure(80.04, "ms"), False, "80.0ms"),
        (Figure(50.0, "ms"), True, "50ms"),
        (Figure(12.5, "ms"), True, "12.5ms"),
        (Figure(-30.04, "ms", change=True), False, "-30.0 ms"),
        (Figure(3, "blocks"), False, "3"),
        (Figure(-2, "blocks", change=True), False, "-2 blocks"),
        (count_figure(0), True, "0"),
        (word_figure("missing"), False, "missing"),
        (word_figure("libc.so.6,libm.so.6"), True, "libc.so.6,libm.so.6"),
        (NOTHING, False, "-"),
        (None, False, ""),  # no headroom: an empty cell
    ],
)
def test_each_unit_has_one_text(figure: Figure | None, limit: bool, text: str) -> None:
    assert figure_text(figure, limit=limit) == text


def test_a_judged_size_is_shown_for_people_and_its_bytes() -> None:
    assert human(SIZE.actual, SIZE) == "5.31 MiB (5570722 B)"
    assert human(SIZE.limit, SIZE, limit=True) == "5.00 MiB (5242880 B)"


def test_a_skipped_checks_limit_is_shown_as_the_json_has_it() -> None:
    skipped = Check(
        "b", "v@linux-amd64", "max_dwarf_package[x/*]", "skip", NOTHING, SIZE.limit, None
    )
    assert (human(skipped.actual, skipped), human(skipped.limit, skipped)) == ("-", "5242880")


def test_the_json_keeps_strings_and_headroom_in_bytes() -> None:
    (check,) = gate_report([SIZE], record(name="edge"), None).checks
    assert (check.actual, check.limit, check.headroom) == ("5570722", "5242880", -327_842)


def test_markdown_and_annotations_write_the_same_figures() -> None:
    row = next(line for line in markdown([SIZE], "edge").splitlines() if "max_size" in line)
    assert "| 5.31 MiB (5570722 B) | 5.00 MiB (5242880 B) | -320.16 KiB |" in row
    (annotation,) = workflow_commands([SIZE], "profiles/edge.toml")
    assert annotation.endswith("max_size: 5.31 MiB (5570722 B) over 5.00 MiB (5242880 B)")
