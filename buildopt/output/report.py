"""``buildopt report``: one self-contained HTML page a size review can be held over.

Everything is inline - styles, SVG, the little JavaScript that zooms the treemaps - so that the
file reads the same opened from disk, from a CI artifact or printed, and makes no request of
any kind. The page is a Jinja2 template (``templates/report.html.j2``, autoescaped); the
pictures are SVG drawn by buildopt.output.svg, and every number on them comes from the build
record (and the gate's checks of it), never computed a second way."""

from __future__ import annotations

import json
import os
import shlex
import zlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

import jinja2
import msgspec
from markupsafe import Markup

from buildopt.analysis.compare import VariantRow, compare_releases
from buildopt.analysis.gate import Check
from buildopt.binary.facts import Inspection
from buildopt.config.budgets import Budget, matches
from buildopt.config.ids import release_of
from buildopt.config.units import format_size
from buildopt.errors import visible
from buildopt.output import svg
from buildopt.output.gate import figure_text, image_source, sized
from buildopt.record.advice import AdviceReport
from buildopt.record.images import ImageRecord
from buildopt.record.model import Build, Record, StartupResult
from buildopt.record.sweep import SweepReport, SweepRow

OTHER_KEYS = ("dynamic", "other", "headers", "padding")
# the stacked bars' categories from the record's totals
CATEGORY_KEYS = {c: (c,) for c in svg.CATEGORY_COLOURS} | {"other": OTHER_KEYS}


class ReportInput(msgspec.Struct, frozen=True):
    record: Record
    record_path: str
    rows: Sequence[VariantRow]
    checks: Sequence[Check]
    budgets: Sequence[Budget]
    baseline: Record | None = None  # --baseline: an older record
    history: Sequence[tuple[str, Record]] = ()  # (label, record), oldest first
    images: Sequence[ImageRecord] = ()
    unshown: Sequence[tuple[str, str]] = ()  # (image name, why it is not shown): stale, unmade
    advice: AdviceReport | None = None  # buildopt advise's, when one was run
    sweep: SweepReport | None = None  # buildopt sweep's, when one was run


def _svg(text: str) -> Markup:
    """SVG from buildopt.output.svg, which escapes every text it writes (names, titles), or
    JSON with every "<" escaped (\\u003c): put in the page as it is."""
    return Markup(text)  # noqa: S704 - escaped where it was made (see the docstring)


def tree_of(build: Build, facts: Inspection) -> svg.Node:
    """The file's bytes as a tree: Go packages grouped by module, and the buckets no package
    owns; without an attribution (an older record), the categories."""
    attribution = facts.attribution
    if attribution is None:
        leaves = [svg.Node(n, size) for n, size in facts.totals.items() if n != "bss" and size > 0]
        return svg.Node(build.id, sum(n.size for n in leaves), tuple(leaves))
    modules: dict[str, list[svg.Node]] = {}
    for share in attribution.by_package:
        note = (
            f"code {share.code_bytes:,}, pclntab {share.pclntab_bytes:,}, "
            f"rodata {share.rodata_bytes:,}, data {share.data_bytes:,}"
        )
        node = svg.Node(share.package, share.file_bytes, note=note)
        modules.setdefault(share.module or "(no module)", []).append(node)
    groups = [
        svg.Node(
            module, sum(p.size for p in packages), tuple(packages), colour=_module_colour(module)
        )
        for module, packages in modules.items()
    ]
    buckets = [
        svg.Node(b.name, b.file_bytes, note=b.what, colour=_bucket_colour(b.name))
        for b in attribution.buckets
    ]
    return svg.Node(build.id, attribution.file_bytes, (*groups, *buckets))


def _module_colour(module: str) -> str:
    """The standard library in the code colour; each other module its own, the same in every
    variant's picture."""
    if module in ("std", ""):
        return svg.CATEGORY_COLOURS["code"]
    return svg.PALETTE[zlib.crc32(module.encode()) % len(svg.PALETTE)]


def _bucket_colour(name: str) -> str:
    """A bucket in the colour of its category (as in the stacked bars)."""
    lowered = name.lower()
    for needle, category in (
        ("dwarf", "dwarf"),
        ("symbol table", "symtab"),
        ("read-only", "rodata"),
        ("data", "data"),
        ("pclntab", "gometa"),
        ("go runtime", "gometa"),
        ("generated", "gometa"),
        ("c and other", "code"),
    ):
        if needle in lowered:
            return svg.CATEGORY_COLOURS[category]
    return svg.CATEGORY_COLOURS["other"]


def _tree_json(node: svg.Node) -> dict[str, Any]:
    out: dict[str, Any] = {"name": node.name, "size": node.size}
    if node.children:
        out["children"] = [_tree_json(c) for c in node.children if c.size > 0]
    return out


def _segments(facts: Inspection) -> tuple[tuple[str, int], ...]:
    return tuple(
        (category, sum(facts.totals.get(k, 0) for k in keys))
        for category, keys in CATEGORY_KEYS.items()
    )


def _verdicts(checks: Sequence[Check], target: str) -> list[dict[str, Any]]:
    return [_verdict(c) for c in checks if c.target == target]


def _verdict(c: Check) -> dict[str, Any]:
    actual, limit = sized(c.actual, c), sized(c.limit, c)
    metered = actual is not None and limit is not None and limit > 0
    return {
        "budget": c.budget,
        "check": c.check,
        "verdict": c.verdict,
        "actual": format_size(actual or 0) if metered else figure_text(c.actual),
        "limit": format_size(limit or 0) if metered else figure_text(c.limit, limit=True),
        "headroom": figure_text(c.headroom),
        "percent": round(100 * min(1.0, (actual or 0) / (limit or 1)), 1) if metered else None,
        "note": "; ".join(x for x in (c.note, c.message) if x),
    }


def _overview(data: ReportInput) -> list[dict[str, Any]]:
    rows = {r.built.id: r for r in data.rows}
    old = {b.id: b for b in data.baseline.builds if b.ok} if data.baseline else {}
    out = []
    for build in data.record.builds:
        row = rows.get(build.id)
        vs_variant = None
        if row is not None and row.baseline is not None and row.deltas:
            base = row.baseline
            vs_variant = _delta(row.deltas["size"], base.metrics["size"]) + f" vs {base.variant}"
        vs_record = None
        before = old.get(build.id)
        if build.ok and before is not None and before.size and build.size is not None:
            vs_record = _delta(build.size - before.size, before.size)
        out.append(
            {
                "id": build.id,
                "status": build.status,
                "reason": build.reason,
                "size": format_size(build.size) if build.size is not None else "-",
                "bytes": build.size,
                "vs_variant": vs_variant,
                "vs_record": vs_record,
                "checks": _verdicts(data.checks, build.id),
            }
        )
    # checks of builds the record lacks (the gate's SKIP "not in the record", a CI job's FAIL
    # "missing") and of image sums: rows of their own, so that every counted verdict is shown
    placed = {b.id for b in data.record.builds} | {i.name for i in data.images}
    placed |= {name for name, _ in data.unshown}
    for target in dict.fromkeys(c.target for c in data.checks if c.target not in placed):
        out.append(
            {
                "id": target,
                "status": "unbuilt",
                "size": "-",
                "bytes": None,
                "vs_variant": None,
                "vs_record": None,
                "checks": _verdicts(data.checks, target),
            }
        )
    return out


def _delta(delta: int, base: int) -> str:
    pct = f" ({100 * delta / base:+.1f}%)" if base else ""
    return format_size(delta, signed=True) + pct


def _startup(record: Record) -> list[dict[str, Any]]:
    """One group per place the runs were made (here, on a device, under an emulator): figures
    of different places are never in one chart or table."""
    groups: dict[str, list[tuple[str, StartupResult]]] = {}
    for b in record.builds:
        r = b.startup
        if b.ok and r is not None and r.wall_ms and not b.startup_stale:
            groups.setdefault(_place(r), []).append((b.id, r))
    return [
        _startup_group(place, measured, "startup" if not place else f"startup-{n}")
        for n, (place, measured) in enumerate(groups.items(), 1)
    ]


def _place(r: StartupResult) -> str:
    """Where a result's runs were made, as a heading's end ("" here)."""
    if r.emulated:
        name = os.path.basename(r.runner[0]) if r.runner else "an emulator"
        return f"emulated by {name}: not comparable with native figures"
    return f"on the device, through {shlex.join(r.runner)}" if r.runner else ""


def _startup_group(
    place: str, measured: list[tuple[str, StartupResult]], anchor: str
) -> dict[str, Any]:
    series = [svg.Series(vid, tuple(r.wall_ms or ()), r.median_ms, r.p95_ms) for vid, r in measured]
    rss = [
        (vid, (r.max_rss_kib or 0) / 1024, f"{(r.max_rss_kib or 0) / 1024:.2f} MiB peak RSS")
        for vid, r in measured
    ]
    inits = []
    for vid, r in measured:
        costs = sorted(r.inits or (), key=lambda i: -i.clock_ms)[:10]
        if costs:
            chart = svg.bar_chart([(i.package, i.clock_ms, f"{i.clock_ms:.3f} ms") for i in costs])
            inits.append({"id": vid, "chart": _svg(chart)})
    table = [
        {
            "id": vid,
            "runs": r.runs,
            "median": r.median_ms,
            "p95": r.p95_ms,
            "rss": format_size((r.max_rss_kib or 0) * 1024),
            "gc": "-" if r.gc_cycles is None else r.gc_cycles,
            "cold": r.cold,
            "argv0": r.argv0 or "",
        }
        for vid, r in measured
    ]
    strip, peaks = _svg(svg.strip_plot(series)), _svg(svg.bar_chart(rss))
    return {
        "place": place,
        "anchor": anchor,
        "emulated": measured[0][1].emulated,
        "strip": strip,
        "rss": peaks,
        "table": table,
        "inits": inits,
    }


def _history(data: ReportInput) -> Markup | None:
    if len(data.history) < 2:
        return None
    labels = [label for label, _ in data.history]
    ids = list(dict.fromkeys(b.id for _, r in data.history for b in r.builds if b.ok))
    lines = [(vid, [_size_of(vid, record) for _, record in data.history]) for vid in ids]
    limits = [
        (f"{b.name} ({', '.join(b.select)})", b.max_size)
        for b in data.budgets
        if b.max_size is not None and any(matches(b.select, vid) for vid in ids)
    ]
    return _svg(svg.line_chart(labels, lines, limits))


def _size_of(vid: str, record: Record) -> int | None:
    found = next((b for b in record.builds if b.id == vid and b.ok), None)
    return found.size if found is not None else None


def _findings(record: Record) -> list[dict[str, Any]]:
    found: dict[tuple[str, int, str], dict[str, Any]] = {}  # the first variant's, of each
    for build in record.builds:
        if build.scan is None or build.scan_stale:
            continue
        tags = ",".join(build.scan.tags) or "(none)"
        for f in build.scan.findings:
            shown = {"where": f"{f.file}:{f.line}", "severity": f.severity, "rule": f.rule}
            shown |= {"message": f.message, "fix": f.fix, "tags": tags}
            found.setdefault((f.file, f.line, f.rule), shown)
    return list(found.values())


def _dead_code(record: Record) -> list[dict[str, Any]]:
    """A row per binary whose entry has a dead-code answer for it."""
    from buildopt.analysis.deadcode import why_off
    from buildopt.output.deadcode import cost_text

    rows = []
    for build in record.builds:
        found = build.dead_code
        if found is None or found.sha256 != build.sha256:
            continue
        why = why_off(found) if found.state == "off" else found.problem
        cost = cost_text(found) or (found.counted if found.state == "off" else "")
        rows.append({"id": build.id, "state": found.state, "why": why, "cost": cost})
    return rows


def render(data: ReportInput) -> str:
    """The whole page, as one string of HTML."""
    record = data.record
    built = [(b, b.inspect) for b in record.builds if b.ok and b.inspect is not None]
    treemaps = []
    for n, (build, facts) in enumerate(built):
        tree = tree_of(build, facts)
        treemaps.append(
            {
                "id": build.id,
                "anchor": f"treemap-{n}",
                "size": format_size(facts.size),
                "bytes": facts.size,
                "svg": _svg(svg.treemap(tree, f"treemap-{n}")),
                "tree": _svg(json.dumps(_tree_json(tree)).replace("<", "\\u003c")),
                "cuts": [
                    (c.package, format_size(c.bytes), c.packages, ", ".join(c.importers))
                    for c in build.cuttable or ()
                ],
            }
        )
    bars = svg.stacked_bars([svg.Bar(b.id, _segments(f)) for b, f in built]) if built else ""
    explanations = [
        {"id": r.built.id, "vs": r.baseline.id, "lines": r.summary}
        for r in data.rows
        if r.baseline is not None and r.explanation
    ]
    upgrades = [
        {
            "to": u.new.id,
            "from": release_of(u.old.id),
            "delta": _delta(u.deltas["size"], u.old.metrics["size"]),
            "packages": [
                (name, format_size(new - old, signed=True)) for name, old, new in u.packages[:8]
            ],
        }
        for u in compare_releases(record)
    ]
    counts = {v: sum(c.verdict == v for c in data.checks) for v in ("pass", "warn", "fail", "skip")}
    images = [
        {
            "name": i.name,
            "size": format_size(i.size),
            "erase": f"{i.erase_blocks} x {format_size(i.erase_block)}",
            "compressor": i.compressor,
            "files": [
                (
                    f.path,
                    image_source(f),
                    format_size(f.size),
                    format_size(f.stored_bytes),
                )
                for f in i.files
            ]
            + [(k.path, f"link to {k.target}", "", "") for k in i.links],
            "checks": _verdicts(data.checks, i.name),
        }
        for i in data.images
    ]
    unshown = [
        {"name": name, "reason": why, "checks": _verdicts(data.checks, name)}
        for name, why in data.unshown
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        profile=record.profile,
        go=record.go,
        created=record.created,
        record_path=data.record_path,
        overview=_overview(data),
        counts=counts,
        bars=_svg(bars),
        explanations=explanations,
        unshown=unshown,
        upgrades=upgrades,
        treemaps=treemaps,
        startup_groups=_startup(record),
        dead_code=_dead_code(record),
        history=_history(data),
        history_labels=[label for label, _ in data.history],
        findings=_findings(record),
        advice=_advice(data.advice, record),
        sweep=_sweep(data.sweep),
        images=images,
        budgets=sorted({c.budget for c in data.checks}),
        colours=svg.CATEGORY_COLOURS,
    )


def _advice(advice: AdviceReport | None, record: Record) -> dict[str, Any] | None:
    """The levers of buildopt advise's last run, ranked as it ranked them; stale when the
    record's binary of that variant is no longer the one advised on."""
    if advice is None:
        return None
    now = next((b for b in record.builds if b.id == advice.base_id), None)
    rows = []
    for row in advice.levers:
        got = row.figures
        started = got.vs_base if got else None
        rows.append(
            {
                "lever": row.lever,
                "status": row.status,
                "saved": "-" if row.saved_bytes is None else format_size(row.saved_bytes),
                "size": format_size(got.size) if got else "-",
                "startup": (
                    f"{started.ratio_of_medians:.2f}x (95% CI {started.ci95[0]:.2f}-"
                    f"{started.ci95[1]:.2f})"
                    if started
                    else "-"
                ),
                "change": row.change,
                "verdicts": [
                    f"{v.budget} {v.check}: {v.before} -> {v.after}" for v in row.verdicts
                ],
                "note": row.error or row.caveat,
            }
        )
    return {
        "base": advice.base_id,
        "size": format_size(advice.base.size),
        "stale": now is None or now.sha256 != advice.base.sha256,
        "rows": rows,
    }


def _sweep(sweep: SweepReport | None) -> dict[str, Any] | None:
    """buildopt sweep's two tables, ranked as it ranked them."""
    if sweep is None:
        return None

    def rows(found: Sequence[SweepRow]) -> list[dict[str, str]]:
        return [
            {
                "tag": r.tag,
                "status": r.status,
                "feature": "-" if r.feature_bytes is None else format_size(r.feature_bytes),
                "size": "-" if r.size is None else format_size(r.size),
                "note": r.error,
            }
            for r in found
        ]

    def end(size: int | None) -> str:
        return "-" if size is None else format_size(size)

    return {
        "variant": f"{sweep.variant}@{sweep.target.replace('/', '-')}",
        "kind": sweep.kind,
        "caveat": sweep.caveat,
        "full": end(sweep.full.size),
        "minimal": end(sweep.minimal.size),
        "tables": [
            (title, rows(found))
            for title, found in (
                ("remove one from the full build", sweep.remove),
                ("add one back to the minimal build", sweep.add),
            )
            if found
        ],
        "seconds": f"{sweep.seconds:.0f}s",
        "builds": sweep.builds,
    }


def _environment() -> jinja2.Environment:
    folder = resources.files("buildopt") / "output" / "templates"
    loader = jinja2.DictLoader(
        {"report.html.j2": (folder / "report.html.j2").read_text(encoding="utf-8")}
    )
    return jinja2.Environment(
        loader=loader, autoescape=True, undefined=jinja2.StrictUndefined, finalize=_shown
    )


def _shown(value: object) -> object:
    """Every text the page shows with its control characters as escapes (ESC as \\x1b): a
    name is data, and a control character in it is otherwise invisible in the page."""
    return visible(value) if isinstance(value, str) and not isinstance(value, Markup) else value
