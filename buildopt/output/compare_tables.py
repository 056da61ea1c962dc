"""What `compare` prints for people: variants side by side with each delta explained, two
records per variant, and what a Go upgrade costs."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.padding import Padding

from buildopt.config.units import format_size
from buildopt.output.console import size_text
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Cell, CellLike, Column, Spec, bar, data, render, say, tabulate
from buildopt.record.model import Record

if TYPE_CHECKING:  # loaded where used: plan and build need neither (~15 ms of start-up)
    from buildopt.analysis.compare import ItemDelta, RecordComparison, Upgrade, VariantRow


def show_variant_comparison(
    console: DataConsole, record: Record, rows: Sequence[VariantRow], *, exact: bool = False
) -> None:
    """Variants side by side, deltas against the baseline of the same target, explained."""
    metrics = ("size", "code", "rodata", "data", "bss", "gometa", "symtab", "dwarf")
    drops = {"code": 1, "gometa": 2, "dwarf": 3, "symtab": 4}
    columns = [
        Column("variant@target", keep=True),
        Column("", drop=7),  # the size as a bar, against the largest file
        # the size and its delta (the row under it) are what compare is for: never dropped
        *(Column(m, right=True, keep=m == "size", drop=drops.get(m, 5)) for m in metrics),
        Column("linking", drop=6),
    ]

    largest = max((r.built.metrics["size"] for r in rows), default=0) or 1
    table: list[list[CellLike]] = []
    for r in rows:
        link = "static" if r.built.static else "dynamic " + ",".join(r.built.needed)
        drawn = Cell(bar(r.built.metrics["size"] / largest), "cyan")
        sizes = [size_text(r.built.metrics[m], exact) for m in metrics]
        table.append([r.built.id, drawn, *sizes, link + (" pie" if r.built.pie else "")])
        if r.deltas and r.baseline is not None:
            base = r.baseline.metrics
            cells = [_delta_cell(r.deltas[m], base[m], exact) for m in metrics]
            table.append([f"  vs {r.baseline.variant}", "", *cells, ""])
    title = f"{record.profile.name}: variants against {record.profile.baseline}"
    render(console, title, columns, table)
    from buildopt.analysis.compare import not_inspected, uninspected

    for b in uninspected(record):
        say(console, f"{b.id}: {format_size(b.size)} on disk, {not_inspected(b)}")
    for r in rows:
        if r.explanation and r.baseline is not None:
            size = format_size(r.deltas["size"], signed=True)
            say(console, (r.built.id, "bold"), f" {size} vs {r.baseline.id}:")
            for line in r.summary:
                _explained(console, line)
    _show_cuttable(console, record, [r.built.id for r in rows], exact=exact)
    _show_upgrades(console, record, exact=exact)


def _show_cuttable(
    console: DataConsole, record: Record, ids: Sequence[str], *, exact: bool
) -> None:
    """Each variant's heaviest cuttable dependencies, as the build recorded them."""
    from buildopt.output.cut_tables import NOTE, show_cuttable

    builds = {b.id: b for b in record.builds}
    shown = [(i, cuts) for i in ids if (cuts := builds[i].cuttable)]
    for build_id, cuts in shown:
        show_cuttable(console, build_id, cuts, exact=exact)
    if shown:
        say(console, NOTE)


def _explained(console: DataConsole, line: str) -> None:
    """One cause of a delta, indented: on a terminal wrapped to its width under the indent,
    in a log whole on one line (for grep)."""
    if console.is_terminal:
        for part in _keeping_figures(line, console.width - 2):
            console.print(Padding(data(part), (0, 0, 0, 2), expand=False), soft_wrap=False)
    else:
        console.print(data(f"  {line}"), soft_wrap=True)


FIGURE = re.compile(r"(?:(?<=[\s,(])(?:=|[A-Za-z./_-]+) )?[+-]?\d[\d.,]* (?:B|KiB|MiB|GiB)\b")
GLUE = "\u00a0"  # a space textwrap does not break at


def _keeping_figures(line: str, width: int) -> list[str]:
    """line wrapped to width, never between a figure's name, number and unit ("gometa
    -18.28 KiB" broke as "gometa" / "-18.28 KiB", "dwarf -15.39" / "KiB")."""
    glued = FIGURE.sub(lambda m: m.group(0).replace(" ", GLUE), line)
    parts = textwrap.wrap(glued, max(width, 20), break_long_words=False, break_on_hyphens=False)
    return [part.replace(GLUE, " ") for part in parts] or [line]


def _show_upgrades(console: DataConsole, record: Record, *, exact: bool, top: int = 5) -> None:
    """What each Go release costs against the first one listed: per variant x target, the
    size, and the packages that changed most (``buildopt diff`` gives all)."""
    from buildopt.analysis.compare import compare_releases
    from buildopt.config.ids import release_of

    upgrades = compare_releases(record)
    if not upgrades:
        return
    outputs = {b.id: b.output for b in record.builds}

    spec: Spec[Upgrade] = [
        (Column("variant@target", keep=True), lambda u: u.new.id),
        (Column("from", keep=True), lambda u: release_of(u.old.id) or ""),
        (
            Column("size before", right=True, drop=1),
            lambda u: size_text(u.old.metrics["size"], exact),
        ),
        (
            Column("size after", right=True, drop=2),
            lambda u: size_text(u.new.metrics["size"], exact),
        ),
        (
            Column("delta", right=True, keep=True),
            lambda u: _delta_cell(u.deltas["size"], u.old.metrics["size"], exact),
        ),
    ]
    render(console, "Go releases: what the upgrade costs", *tabulate(spec, upgrades))
    for u in upgrades:
        console.print(data((u.new.id, "bold"), f" vs {release_of(u.old.id) or ''}:"))
        for name, old, new in u.packages[:top]:
            console.print(data(f"  {name} {format_size(new - old, signed=True)}"))
        if len(u.packages) > top:
            files = " ".join(outputs.get(b.id) or b.id for b in (u.old, u.new))
            more = f"{len(u.packages) - top} more packages (buildopt diff {files} --by package)"
            console.print(data(f"  ... {more}"), soft_wrap=True)


def _delta_cell(delta: int, base: int, exact: bool = False) -> Cell:
    if not delta:
        return Cell("0", "dim")
    pct = f" {100 * delta / base:+.1f}%" if base else ""
    amount = f"{delta:+d}" if exact else format_size(delta, signed=True)
    return Cell(f"{amount}{pct}", "red" if delta > 0 else "green")


def show_record_comparison(
    console: DataConsole, result: RecordComparison, rows: int, *, exact: bool = False
) -> None:
    """Two records: per variant, section and package, largest change first; then per variant
    the bloat-o-meter summary over its packages, and the variants of one record alone."""
    items = result.items

    def amount(n: int | None) -> str:
        return "-" if n is None else size_text(n, exact)

    for kind in ("variant", "section", "package"):
        chosen = sorted((i for i in items if i.kind == kind), key=lambda i: (-abs(i.delta), i.id))
        if not chosen:
            continue
        named: Spec[ItemDelta] = [(Column(kind, keep=True), lambda i: i.name)]
        spec: Spec[ItemDelta] = [
            (Column("variant@target", keep=True), lambda i: i.id),
            *(named if kind != "variant" else []),
            (Column("old", right=True, drop=1), lambda i: amount(i.old)),
            (Column("new", right=True, drop=2), lambda i: amount(i.new)),
            (Column("delta", right=True), lambda i: _delta_cell(i.delta, i.old or 0, exact)),
        ]
        left = len(chosen) - rows
        more = [Cell(f"... {left} more (--rows)", "dim")] if left > 0 else []
        title = f"{kind}s ({len(chosen)} changed)"
        render(console, title, *tabulate(spec, chosen[:rows]), more)
    for vid, diff in result.summaries:
        console.print(data(f"{vid}: {diff.summary_line()}"))
        console.print(data(f"{vid}: {diff.total_line()}"))
    for side, ids in (("old", result.only_old), ("new", result.only_new)):
        for vid in ids:
            console.print(data(f"only in the {side} record: {vid}"))
