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
    from buildopt.analysis.layouts import Layout, LayoutsReport
    from buildopt.record.images import ImageRecord  # (its store: ~5 ms of import)


def show_gate(
    console: DataConsole, checks: Sequence[Check], profile: str, *, exact: bool = False
) -> None:
    """PASS/WARN/FAIL per budget x variant x check (sizes human; ``exact``: in bytes)."""
    from buildopt.output.gate import figure_text, sized  # (only here: analysis)

    def shown(figure: Figure, c: Check, *, limit: bool = False) -> str:
        size = None if exact else sized(figure, c)  # a size check: bytes for people
        return figure_text(figure, limit=limit) if size is None else format_size(size)

    def margin(c: Check) -> str:  # with --bytes, a size's headroom in bytes too: +4718592
        room = c.headroom
        if exact and room is not None and room.unit == "bytes" and isinstance(room.value, int):
            return f"{room.value:+d}"
        return figure_text(room)

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
        (Column("headroom", right=True, keep=True), margin),
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
    from buildopt.output.gate import image_source

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
                image_source(f),
                size_text(f.size, exact),
                size_text(f.stored_bytes, exact),
                f"{100 * f.stored_bytes / f.size:.1f}%" if f.size and not f.same_as else "-",
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


def show_layouts(console: DataConsole, report: LayoutsReport, *, exact: bool = False) -> None:
    """Two layouts side by side: what each holds, then flash, erase blocks, Go runtimes and
    static RAM, with the combined layout's difference."""
    separate, combined = report.separate, report.combined
    names = [Column("path", keep=True), Column(separate.name), Column(combined.name)]
    paths = sorted({*_held(separate), *_held(combined)})
    rows: list[list[CellLike]] = [
        [path, _held(separate).get(path, "-"), _held(combined).get(path, "-")] for path in paths
    ]
    render(console, "layouts: what each image holds", names, rows)

    def signed(n: int, *, size: bool = True) -> str:
        text = size_text(abs(n), exact) if size else str(abs(n))
        return ("+" if n > 0 else "-" if n < 0 else "") + text

    def line(label: str, a: int, b: int, *, size: bool = True) -> list[CellLike]:
        shown = (size_text(a, exact), size_text(b, exact)) if size else (str(a), str(b))
        return [label, *shown, signed(b - a, size=size)]

    columns = [
        Column("", keep=True),
        Column(separate.name, right=True, keep=True),
        Column(combined.name, right=True, keep=True),
        Column("combined - separate", right=True, keep=True),
    ]
    figures = [
        line("flash (the image file)", separate.flash_bytes, combined.flash_bytes),
        line("erase blocks", separate.erase_blocks, combined.erase_blocks, size=False),
        line("Go runtimes", separate.go_runtimes, combined.go_runtimes, size=False),
        line(
            "programs run",
            *(sum(p.runs for p in x.programs) for x in (separate, combined)),
            size=False,
        ),
        line("mapped: code and read-only, once", separate.shared_bytes, combined.shared_bytes),
        line("mapped: data, per program", separate.data_bytes, combined.data_bytes),
        line("mapped: .bss, per program", separate.bss_bytes, combined.bss_bytes),
        line("static RAM mapped (at most)", separate.ram_static_bytes, combined.ram_static_bytes),
    ]
    erase = f"erase blocks of {size_text(separate.erase_block, exact)}"
    if combined.erase_block != separate.erase_block:
        erase += f" and {size_text(combined.erase_block, exact)}"
    render(
        console,
        f"layouts: {separate.name} (separate) against {combined.name} (combined)",
        columns,
        figures,
        [
            f"{erase}; static RAM: {', '.join(report.workload)} each running once - each "
            "program's data and .bss, plus each binary's code and read-only pages once "
            f"({size_text(separate.page_size, exact)} pages), as the loader maps them: at "
            "most what is resident (a page takes RAM once touched, .bss once written); heap "
            "and stacks not counted (buildopt startup measures peak RSS)",
            *(
                [
                    f"note: {combined.name} holds more Go binaries than {separate.name}: "
                    "--compare takes SEPARATE first, then COMBINED"
                ]
                if combined.go_runtimes > separate.go_runtimes
                else []
            ),
        ],
    )


def _held(layout: Layout) -> dict[str, str]:
    """Each path of a layout: the binary's build id (and the programs run from it), a link's
    target, or "file"."""
    held = dict.fromkeys(layout.files, "file")
    for binary in layout.binaries:
        runs = f"runs {binary.runs} program{'' if binary.runs == 1 else 's'}"
        held[binary.path] = f"{binary.source} ({runs})"
    for link in layout.links:
        held[link.path] = f"link to {link.target}"
    return held
