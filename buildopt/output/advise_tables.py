"""``buildopt advise``: the levers of a variant as a table ranked by savings, with what each
changes in behaviour and the budget verdicts it would change; the proposed budget."""

from __future__ import annotations

from buildopt.config.units import format_size
from buildopt.output.console import STATUS_STYLE, size_text
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Cell, CellLike, Column, render
from buildopt.record.advice import AdviceReport, Figures, LeverAdvice


def _startup_text(figures: Figures | None) -> str:
    """``41.2 ms (0.93x, 95% CI 0.90-0.96)``: time to ready and its ratio to the base's."""
    if figures is None or figures.startup_median_ms is None:
        return "-"
    text = f"{figures.startup_median_ms:.1f} ms"
    ratio = figures.vs_base
    if ratio is not None:
        low, high = ratio.ci95
        text += f" ({ratio.ratio_of_medians:.2f}x, CI {low:.2f}-{high:.2f})"
    return text


def _saved(row: LeverAdvice, exact: bool) -> str:
    if row.saved_bytes is None:
        return "-"
    sign = "-" if row.saved_bytes < 0 else ""
    return sign + size_text(abs(row.saved_bytes), exact)


def _verdicts(row: LeverAdvice) -> str:
    return "; ".join(f"{v.budget} {v.check}: {v.before}->{v.after}" for v in row.verdicts)


def _compressed(figures: Figures | None, exact: bool) -> str:
    sizes = figures.compressed if figures else None
    if sizes is None:
        return "-"
    found = [(n, getattr(sizes, n)) for n in ("gzip", "xz", "zstd") if getattr(sizes, n)]
    return ", ".join(f"{n} {size_text(s, exact)}" for n, s in found) or "-"


def _blocks(figures: Figures | None) -> str:
    """``base-station-arm64 60``: the erase blocks of each image made with the binary."""
    blocks = figures.erase_blocks if figures else None
    return ", ".join(f"{name} {n}" for name, n in blocks.items()) if blocks else "-"


def _scan_errors(figures: Figures | None) -> str:
    return "-" if figures is None or figures.scan_errors is None else str(figures.scan_errors)


def _note(row: LeverAdvice) -> str:
    same = f"the same binary as {row.same_as} in the record; " if row.same_as else ""
    return same + row.caveat


def show_advice(console: DataConsole, report: AdviceReport, *, exact: bool = False) -> None:
    """The table: a row per lever, the most bytes saved first, failed builds last."""
    base = report.base
    startup = base.startup_median_ms is not None
    compressed = base.compressed is not None
    columns = [
        Column("lever", keep=True),
        Column("status", keep=True),
        Column("saves", right=True, keep=True),
        Column("size", right=True, drop=2),
        *([Column("compressed", drop=4)] if compressed else []),
        Column("RAM static", right=True, drop=5),
        *([Column("erase blocks", drop=4)] if base.erase_blocks else []),
        *([Column("scan errors", right=True, drop=5)] if base.scan_errors is not None else []),
        *([Column("time to ready", drop=1)] if startup else []),
        Column("change", drop=3),
        Column("budget verdicts", drop=6),
        Column("note", note=True),
    ]
    rows: list[list[CellLike]] = []
    for row in report.levers:
        got = row.figures
        ram = format_size(got.ram_static) if got and got.ram_static is not None else "-"
        cells: list[CellLike] = [
            row.lever,
            Cell(row.status, STATUS_STYLE[row.status]),
            _saved(row, exact),
            size_text(got.size, exact) if got else "-",
            *([_compressed(got, exact)] if compressed else []),
            ram,
            *([_blocks(got)] if base.erase_blocks else []),
            *([_scan_errors(got)] if base.scan_errors is not None else []),
            *([_startup_text(got)] if startup else []),
            row.change,
            _verdicts(row) or "-",
            row.error or _note(row),
        ]
        rows.append(cells)
    ram = format_size(base.ram_static) if base.ram_static is not None else "-"
    summary = [
        f"{report.base_id}: {size_text(base.size, exact)}, RAM static {ram}"
        + (f", erase blocks {_blocks(base)}" if base.erase_blocks else "")
        + (f", scan errors {base.scan_errors}" if base.scan_errors is not None else "")
        + (f", ready in {_startup_text(base)}" if startup else "")
        + f"; budgets selecting it: {', '.join(report.budgets) or 'none'}",
        f"{len(report.levers)} what-if{'' if len(report.levers) == 1 else 's'} in "
        f"{report.seconds:.1f}s; each is "
        f"{report.base_id} with one change (note: what it changes in what the program does)",
    ]
    if not rows:
        summary.insert(1, "no lever left: it uses every one advise knows (docs/commands.md)")
    render(console, f"advice for {report.base_id}", columns, rows, summary)
