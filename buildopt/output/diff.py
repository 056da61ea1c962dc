"""A size diff as text: the Linux kernel's bloat-o-meter format, byte for byte, so that scripts
that parse it read buildopt's; and as Markdown for a pull request comment."""

from __future__ import annotations

import re
from collections.abc import Sequence

from buildopt.analysis.diff import FileSizes, SizeDiff
from buildopt.errors import visible


def summary_line(diff: SizeDiff) -> str:
    return diff.summary_line()


def bloat_o_meter(diff: SizeDiff, rows: int | None = None) -> str:
    """The whole block: summary, header, a row per changed name (all of them, or the first
    ``rows`` and a line saying how many more), total."""
    lines = [summary_line(diff), "%-40s %7s %7s %+7s" % (diff.heading, "old", "new", "delta")]  # noqa: UP031 - the kernel's formats
    shown = diff.rows if rows is None else diff.rows[:rows]
    for row in shown:
        name = visible(row.name)  # a symbol name is data: no terminal escape, no line break
        lines.append("%-40s %7s %7s %+7d" % (name, _n(row.old), _n(row.new), row.delta))  # noqa: UP031
    if len(shown) < len(diff.rows):
        lines.append(f"... {len(diff.rows) - len(shown)} more rows (--rows)")
    lines.append(diff.total_line())
    return "\n".join(lines) + "\n"


def markdown(title: str, diff: SizeDiff, rows: int = 20, files: FileSizes | None = None) -> str:
    """A pull request comment: the summary and total lines (and file sizes), the largest changes."""

    def cell(text: str) -> str:  # a name from a binary: no newline, ESC or cell of its own
        return visible(text).replace("|", "\\|")

    out = [
        f"### {cell(title)}",
        "",
        f"`{summary_line(diff)}`  ",
        f"`{diff.total_line()}`" + (f"  \n`{files.line()}`" if files else ""),
        "",
    ]
    if diff.rows:
        out += [f"| {diff.heading} | old | new | delta |", "|---|---:|---:|---:|"]
        by_size = sorted(diff.rows, key=lambda r: (-abs(r.delta), r.name))
        for row in by_size[:rows]:
            old, new = _n(row.old), _n(row.new)
            out.append(f"| {code_span(cell(row.name))} | {old} | {new} | {row.delta:+d} |")
        if len(by_size) > rows:
            out.append(f"| ... {len(by_size) - rows} more | | | |")
    return "\n".join(out) + "\n"


def _n(size: int | None) -> str:
    return "-" if size is None else str(size)


def code_span(text: str) -> str:
    """text as a Markdown code span, whatever backticks it holds (a fence longer than its
    longest run; CommonMark strips one space on each side)."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def one_sided(ids: Sequence[str], side: str) -> list[str]:
    return [f"only in {side}: {i}" for i in ids]
