"""What `gate` and `image` print for people: the budgets' verdicts and the flash images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from buildopt.config.units import format_size
from buildopt.output.console import short_path, size_text
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Cell, CellLike, Column, Spec, render, tabulate

if TYPE_CHECKING:  # loaded where used: plan and build need neither (~15 ms of start-up)
    from buildopt.analysis.gate import Check, Figure
    from buildopt.record.images import ImageRecord  # (its store: ~5 ms of import)


def show_gate(
    console: DataConsole, checks: Sequence[Check], profile: str, *, exact: bool = False
) -> None:
    """PASS/WARN/FAIL per budget x variant x check (sizes human; ``exact``: in bytes)."""
    from buildopt.output.gate import figure_text, sized  # (the gate's analysis: only here)

    def shown(figure: Figure, c: Check, *, limit: bool = False) -> str:
        size = None if exact else sized(figure, c)  # a size check: bytes for people
        return figure_text(figure, limit=limit) if size is None else format_size(size)

    style = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    spec: Spec[Check] = [
        (Column("verdict", keep=True), lambda c: Cell(c.verdict.upper(), style[c.verdict])),
        # narrow: a heading over its checks
        (Column("budget", keep=True, group=True), lambda c: c.budget),
        (Column("variant", keep=True), lambda c: c.target),
        (Column("check", keep=True), lambda c: c.check),
        # the figures the gate exists for: never dropped (rows become blocks rather)
        (Column("actual", right=True, keep=True), lambda c: shown(c.actual, c)),
        (Column("limit", right=True, keep=True), lambda c: shown(c.limit, c, limit=True)),
        (Column("headroom", right=True, keep=True), lambda c: figure_text(c.headroom)),
        (Column("note", note=True), lambda c: "; ".join(x for x in (c.note, c.message) if x)),
    ]
    counts = {v: sum(c.verdict == v for c in checks) for v in style}
    render(
        console,
        f"buildopt gate: {profile}",
        *tabulate(spec, checks),
        [", ".join(f"{n} {v}" for v, n in counts.items())],
        key=2,  # notes under the table name the variant
    )


def show_images(
    console: DataConsole, images: Sequence[ImageRecord], *, exact: bool = False
) -> None:
    """Per image: each file with what it takes in it, the image's size and erase blocks."""
    columns = [
        Column("file", keep=True),
        Column("from", keep=True),
        Column("size", right=True, drop=2),
        Column("in the image", right=True, keep=True),
        Column("ratio", right=True, drop=1),
        Column("share", right=True, drop=0),
    ]
    for image in images:
        rows: list[list[CellLike]] = [
            [
                f.path,
                f.source,
                size_text(f.size, exact),
                size_text(f.stored_bytes, exact),
                f"{100 * f.stored_bytes / f.size:.1f}%" if f.size else "-",
                f"{100 * f.stored_bytes / image.size:.1f}%",
            ]
            for f in image.files
        ]
        rows += [[link.path, f"link to {link.target}", "", "", "", ""] for link in image.links]
        rows.append(["(metadata)", "", "", size_text(image.metadata_bytes, exact), "", ""])
        sizes = (image.size, image.block_size, image.erase_block)
        size, block, erase = (size_text(n, exact) for n in sizes)
        footer = (
            f"{short_path(image.image)}: {size} ({image.compressor}, {block} blocks) = "
            f"{image.erase_blocks} erase blocks of {erase}; sha256 {image.sha256}"
        )
        render(console, f"image {image.name}", columns, rows, [footer], key=0)
