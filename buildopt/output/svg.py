"""Hand-written SVG for the report (buildopt.output.report): a treemap, stacked bars, a strip
plot, a bar chart and a line chart - each a string of SVG that shows without JavaScript.

By hand: smaller and clearer than a charting library (the page must stay one self-contained
file). The treemap's layout is ``squarify``'s (Bruls, Huizing and van Wijk's algorithm), so
that every rectangle's area is exactly proportional to its bytes."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape as html_escape

import msgspec
import squarify

from buildopt.config.units import format_size
from buildopt.errors import visible


def escape(text: str) -> str:
    """A name as SVG text: markup escaped, control characters shown as escapes (ESC was
    written raw into the page, invisible)."""
    return html_escape(visible(text))


# Colours that also read in greyscale (their lightness differs), and patterns for verdicts.
CATEGORY_COLOURS = {
    "code": "#3b6fb6",
    "rodata": "#7fb3e0",
    "data": "#e0a13b",
    "gometa": "#5aa469",
    "symtab": "#b65c9e",
    "dwarf": "#8c6d5a",
    "other": "#b0b0b0",
}
CATEGORY_NAMES = {c: c for c in CATEGORY_COLOURS} | {
    "gometa": "Go metadata",
    "symtab": "symbol tables",
    "dwarf": "DWARF",
}
PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


class Node(msgspec.Struct, frozen=True):
    """A treemap node: a leaf (its bytes) or a group (the sum of its children's)."""

    name: str
    size: int
    children: tuple[Node, ...] = msgspec.field(default=())
    note: str = ""
    colour: str = ""  # its fill (its children's too, unless they have their own)


class Placed(msgspec.Struct, frozen=True):
    node: Node
    depth: int
    x: float
    y: float
    w: float
    h: float
    colour: str


def layout(root: Node, width: float, height: float) -> list[Placed]:
    """Every node placed (groups, then their children inside), areas proportional to size."""
    out: list[Placed] = []

    def place(  # noqa: PLR0917 - a node and its box
        node: Node, depth: int, x: float, y: float, w: float, h: float, colour: str
    ) -> None:
        out.append(Placed(node, depth, x, y, w, h, colour))
        kids = sorted((c for c in node.children if c.size > 0), key=lambda c: -c.size)
        if not kids or w <= 0 or h <= 0:
            return
        sizes = squarify.normalize_sizes([k.size for k in kids], w, h)
        for i, (kid, rect) in enumerate(
            zip(kids, squarify.squarify(sizes, x, y, w, h), strict=True)
        ):
            shade = kid.colour or (PALETTE[i % len(PALETTE)] if depth == 0 else colour)
            place(kid, depth + 1, rect["x"], rect["y"], rect["dx"], rect["dy"], shade)

    place(root, 0, 0.0, 0.0, width, height, "#ffffff")
    return out


def treemap(root: Node, ident: str, width: int = 960, height: int = 420) -> str:
    """A treemap of root: leaves filled (``data-bytes``: their size), groups outlined (click
    zooms, with JavaScript), labels where they fit, a title with the exact bytes on each."""
    label = f' aria-label="{escape(root.name)}: {root.size} bytes" data-total="{root.size}"'
    parts = [_open("treemap", width, height, label, ident)]
    placed = [p for p in layout(root, width, height) if p.depth > 0]
    for p in (p for p in placed if not p.node.children):
        light = 0.55 + 0.45 * (1 - min(p.depth, 3) / 3)
        parts.append(
            f'<rect class="leaf" x="{p.x:.3f}" y="{p.y:.3f}" width="{p.w:.3f}" '
            f'height="{p.h:.3f}" fill="{p.colour}" fill-opacity="{light:.2f}" '
            f'data-bytes="{p.node.size}" data-name="{escape(p.node.name)}">'
            f"<title>{escape(_title(p.node))}</title></rect>"
        )
    for p in (p for p in placed if p.node.children):
        parts.append(
            f'<rect class="group" x="{p.x:.3f}" y="{p.y:.3f}" width="{p.w:.3f}" '
            f'height="{p.h:.3f}" data-group="{escape(p.node.name)}" '
            f'data-bytes="{p.node.size}"><title>{escape(_title(p.node))}</title></rect>'
        )
    for p in placed:
        label = _fit(p.node.name, p.w, p.h)
        if not label:
            continue
        if p.node.children:  # a group: its name at its foot, over its packages (big ones)
            if p.h > 80 and p.w > 120:
                parts.append(
                    f'<text x="{p.x + p.w - 4:.1f}" y="{p.y + p.h - 5:.1f}" class="group-label" '
                    f'text-anchor="end">{escape(label)}</text>'
                )
            continue
        parts.append(
            f'<text x="{p.x + 3:.1f}" y="{p.y + 12:.1f}" class="label">{escape(label)}</text>'
        )
        if p.h > 28 and p.w > 60:
            size = format_size(p.node.size)
            parts.append(
                f'<text x="{p.x + 3:.1f}" y="{p.y + 24:.1f}" class="sub">{escape(size)}</text>'
            )
    return "".join(parts) + "</svg>"


def _open(kind: str, width: int, height: int, attributes: str, ident: str = "") -> str:
    """The opening tag of a picture: its class, id, size and (attributes) what it shows."""
    named = f' id="{escape(ident)}"' if ident else ""
    return (
        f'<svg class="{kind}"{named} viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img"{attributes}>'
    )


def _title(node: Node) -> str:
    note = f" - {node.note}" if node.note else ""
    return f"{node.name}: {node.size:,} bytes ({format_size(node.size)}){note}"


def _fit(name: str, w: float, h: float) -> str:
    """The name, cut to the width of its box (6.2 px a character at 11 px), or ""."""
    if h < 14 or w < 24:
        return ""
    room = int((w - 6) / 6.2)
    if room >= len(name):
        return name
    return name[: room - 1] + "…" if room > 3 else ""


class Bar(msgspec.Struct, frozen=True):
    label: str
    segments: tuple[tuple[str, int], ...]  # (category, bytes)


def stacked_bars(bars: Sequence[Bar], width: int = 960) -> str:
    """One horizontal bar per variant, segments by category, on one scale (the largest file)."""
    label_w, row_h = 300, 26
    top = max((sum(b for _, b in bar.segments) for bar in bars), default=1) or 1
    scale = (width - label_w - 90) / top
    height = row_h * len(bars) + 30
    parts = [_open("bars", width, height, ' aria-label="file bytes by category, per variant"')]
    for i, bar in enumerate(bars):
        y = 6 + i * row_h
        parts.append(f'<text x="0" y="{y + 14}" class="label">{escape(bar.label)}</text>')
        x = float(label_w)
        for category, size in bar.segments:
            if size <= 0:
                continue
            w = size * scale
            parts.append(
                f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{row_h - 8}" '
                f'fill="{CATEGORY_COLOURS[category]}" data-category="{category}" '
                f'data-bytes="{size}"><title>{escape(bar.label)}: '
                f"{CATEGORY_NAMES[category]} {size:,} bytes ({format_size(size)})</title></rect>"
            )
            x += w
        total = sum(s for _, s in bar.segments)
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 14}" class="sub">{format_size(total)}</text>')
    y = 10 + len(bars) * row_h
    x = float(label_w)
    for category, colour in CATEGORY_COLOURS.items():
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{colour}"/>')
        name = CATEGORY_NAMES[category]
        parts.append(f'<text x="{x + 16}" y="{y + 10}" class="sub">{name}</text>')
        x += 28 + 7 * len(name)
    return "".join(parts) + "</svg>"


class Series(msgspec.Struct, frozen=True):
    label: str
    values: tuple[float, ...]  # ms
    median: float | None
    p95: float | None


def strip_plot(series: Sequence[Series], width: int = 960) -> str:
    """Each variant's timed runs as dots on one time axis, its median and P95 marked."""
    label_w, row_h = 300, 30
    top = max((v for s in series for v in s.values), default=1.0) * 1.05 or 1.0
    scale = (width - label_w - 20) / top
    height = row_h * len(series) + 34
    parts = [_open("strip", width, height, ' aria-label="start-up time of each timed run"')]
    for i, s in enumerate(series):
        y = 10 + i * row_h + row_h / 2
        parts.append(f'<text x="0" y="{y + 4:.1f}" class="label">{escape(s.label)}</text>')
        parts.append(
            f'<line x1="{label_w}" x2="{width - 20}" y1="{y:.1f}" y2="{y:.1f}" class="axis"/>'
        )
        for v in s.values:
            parts.append(
                f'<circle cx="{label_w + v * scale:.2f}" cy="{y:.1f}" r="3" class="run">'
                f"<title>{v:.2f} ms</title></circle>"
            )
        for mark, value in (("median", s.median), ("p95", s.p95)):
            if value is not None:
                x = label_w + value * scale
                parts.append(
                    f'<line x1="{x:.2f}" x2="{x:.2f}" y1="{y - 10:.1f}" y2="{y + 10:.1f}" '
                    f'class="{mark}"><title>{mark} {value:.2f} ms</title></line>'
                )
    y = height - 12
    for k in range(6):
        value = top * k / 5
        x = label_w + value * scale
        parts.append(f'<text x="{x:.1f}" y="{y}" class="sub">{value:.0f} ms</text>')
    return "".join(parts) + "</svg>"


def bar_chart(rows: Sequence[tuple[str, float, str]], width: int = 960) -> str:
    """Horizontal bars (label, value, value as text), on the scale of the largest."""
    label_w, row_h = 300, 20
    top = max((v for _, v, _ in rows), default=1.0) or 1.0
    scale = (width - label_w - 110) / top
    height = row_h * len(rows) + 8
    parts = [_open("barchart", width, height, "")]
    for i, (label, value, text) in enumerate(rows):
        y = 4 + i * row_h
        parts += [
            f'<text x="0" y="{y + 12}" class="label">{escape(label)}</text>',
            f'<rect x="{label_w}" y="{y}" width="{value * scale:.2f}" height="{row_h - 6}" '
            f'class="bar"><title>{escape(label)}: {escape(text)}</title></rect>',
            f'<text x="{label_w + value * scale + 6:.1f}" y="{y + 12}" class="sub">'
            f"{escape(text)}</text>",
        ]
    return "".join(parts) + "</svg>"


def line_chart(
    labels: Sequence[str],
    lines: Sequence[tuple[str, Sequence[int | None]]],
    limits: Sequence[tuple[str, int]],
    width: int = 960,
    height: int = 320,
) -> str:
    """Size over time: a line per variant across the records (x: the records in order), and
    each budget's limit drawn across as a dashed line."""
    left, right, top_pad, bottom = 70, 260, 10, 40
    values = [v for _, vs in lines for v in vs if v is not None] + [v for _, v in limits]
    top = max(values, default=1) * 1.05 or 1
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    step = plot_w / max(1, len(labels) - 1)

    def y_of(v: float) -> float:
        return top_pad + plot_h * (1 - v / top)

    parts = [_open("history", width, height, ' aria-label="size over time"')]
    for k in range(5):
        v = top * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}" '
            f'class="grid"/><text x="2" y="{y_of(v) + 4:.1f}" class="sub">'
            f"{format_size(int(v))}</text>"
        )
    for i, label in enumerate(labels):
        parts.append(
            f'<text x="{left + i * step:.1f}" y="{height - 22}" class="sub" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for n, (name, vs) in enumerate(lines):
        colour = PALETTE[n % len(PALETTE)]
        points = [(left + i * step, y_of(v)) for i, v in enumerate(vs) if v is not None]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" '
            f'data-variant="{escape(name)}"/>'
        )
        for (x, y), v in zip(points, [v for v in vs if v is not None], strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)}: {v:,} bytes</title></circle>"
            )
        ly = top_pad + 14 * n + 10
        parts.append(
            f'<line x1="{width - right + 10}" x2="{width - right + 30}" y1="{ly}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="2"/><text x="{width - right + 34}" y="{ly + 4}" '
            f'class="sub">{escape(name)}</text>'
        )
    for name, v in limits:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y_of(v):.1f}" y2="{y_of(v):.1f}" '
            f'class="limit"><title>{escape(name)}: {format_size(v)}</title></line>'
            f'<text x="{left + plot_w - 4}" y="{y_of(v) - 4:.1f}" class="sub" '
            f'text-anchor="end">{escape(name)} {format_size(v)}</text>'
        )
    return "".join(parts) + "</svg>"
