"""Presenters: rich tables and progress for people on stderr, JSON for machines on stdout."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from buildopt.analysis.compare import ItemDelta, VariantRow
from buildopt.analysis.gate import Check
from buildopt.binary.facts import DwarfUnits, Inspection
from buildopt.config.units import format_size
from buildopt.pipeline.plan import Plan, Step
from buildopt.record.model import Build, Record, ScanReport, StartupResult
from buildopt.system import proc

PLAN_SCHEMA = "buildopt.plan/1"
STATUS_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow"}


NON_TERMINAL_WIDTH = 160


def make_console() -> Console:
    """The console for people: stderr; colour off with NO_COLOR or when not a terminal.

    Logs (not a terminal) get wide lines instead of rich's 80 columns, so that argv and
    file names stay on one line and can be copied.
    """
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=True, highlight=False, soft_wrap=True, width=NON_TERMINAL_WIDTH)
    return console


def short_path(path: Path | str, cwd: Path | None = None) -> str:
    """path relative to cwd when it lies below it (for people; JSON keeps absolute paths)."""
    cwd = cwd or Path.cwd()
    try:
        return str(Path(path).relative_to(cwd))
    except ValueError:
        return str(path)


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "schema": PLAN_SCHEMA,
        "profile": plan.profile.name,
        "profile_path": str(plan.profile.path),
        "go": {"version": plan.toolchain.version, "path": plan.toolchain.go},
        "baseline": plan.profile.baseline,
        "steps": [
            {
                "id": s.id,
                "variant": s.variant.name,
                "target": s.target.spec,
                "argv": list(s.argv),
                "env": dict(s.env),
                "dir": str(s.dir),
                "output": str(s.output),
                "settings": s.variant.settings(),
            }
            for s in plan.steps
        ],
        "skipped": [
            {"id": k.id, "variant": k.variant.name, "target": k.target.spec, "reason": k.reason}
            for k in plan.skipped
        ],
    }


def print_json(data: Mapping[str, Any] | msgspec.Struct) -> None:
    """A JSON document (a model or its plain form) on stdout, indented."""
    plain = msgspec.to_builtins(data) if isinstance(data, msgspec.Struct) else data
    sys.stdout.write(json.dumps(plain, indent=2) + "\n")
    sys.stdout.flush()


def show_plan(console: Console, plan: Plan) -> None:
    profile = plan.profile
    console.print(
        f"[bold]{escape(profile.name)}[/]: {escape(profile.description)}  "
        f"({len(plan.steps)} to build, {len(plan.skipped)} skipped, "
        f"{escape(plan.toolchain.version)}, baseline [bold]{escape(profile.baseline)}[/])"
    )
    for step in plan.steps:
        env = " ".join(f"{k}={v}" for k, v in step.env.items())
        console.print(f"\n[bold cyan]{escape(step.id)}[/]")
        console.print(f"  dir   {escape(short_path(step.dir))}")
        console.print(f"  env   {escape(env)}")
        console.print(f"  argv  {escape(proc.display(step.argv))}", soft_wrap=True)
    for skip in plan.skipped:
        console.print(f"\n[yellow]skipped[/] [bold]{escape(skip.id)}[/]: {escape(skip.reason)}")


_P = TypeVar("_P", bound="TerminalProgress")


class TerminalProgress:
    """A rich progress bar on a terminal (transient); nothing when stderr is not a terminal."""

    def __init__(self, console: Console, total: int, label: str) -> None:
        self.console = console
        self._progress: Progress | None = None
        if console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task(label, total=total)

    def __enter__(self: _P) -> _P:
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress:
            self._progress.stop()


class BuildProgress(TerminalProgress):
    """Live progress on a terminal; one plain line per finished build elsewhere (CI logs)."""

    def __init__(self, console: Console, total: int) -> None:
        super().__init__(console, total, "building")
        self._lock = threading.Lock()
        self._running: list[str] = []

    def started(self, step: Step) -> None:
        with self._lock:
            self._running.append(step.id)
            self._update()

    def finished(self, result: Build) -> None:
        with self._lock:
            if result.id in self._running:
                self._running.remove(result.id)
            if self._progress:
                self._progress.advance(self._task)
                self._update()
            line = f"{result.status:>7}  {result.id}"
            if result.status == "ok":
                line += f"  {format_size(result.size)}  {result.wall_seconds:.1f}s"
            elif result.reason:
                line += f"  {result.reason}"
            self.console.print(escape(line), style=STATUS_STYLE[result.status], soft_wrap=True)

    def _update(self) -> None:
        if self._progress:
            shown = ", ".join(self._running[:3]) + (" ..." if len(self._running) > 3 else "")
            self._progress.update(self._task, description=f"building {shown}")


LEFT_COLUMNS = frozenset(
    {"variant@target", "status", "linking", "note", "category", "sections", "package", "module"}
)


def _inspect_cells(facts: Inspection | None) -> tuple[str, str, str]:
    """DWARF bytes on disk, .symtab+.strtab bytes, and static/dynamic of a built binary."""
    if facts is None:
        return "-", "-", "-"
    link = facts.linking
    kind = "static" if link.static else "dynamic " + ",".join(link.needed)
    if link.pie:
        kind += " pie"
    return format_size(facts.dwarf.file_bytes), format_size(facts.symbol_bytes), kind


def show_results(console: Console, results: Sequence[Build], record: Path | None) -> None:
    table = Table(title="build results", title_justify="left")
    for name in (
        "variant@target",
        "status",
        "size",
        "bytes",
        "DWARF",
        "symbols",
        "linking",
        "time",
        "note",
    ):
        table.add_column(name, justify="left" if name in LEFT_COLUMNS else "right")
    for r in results:
        table.add_row(
            escape(r.id),
            f"[{STATUS_STYLE[r.status]}]{r.status}[/]",
            format_size(r.size),
            "-" if r.size is None else str(r.size),
            *_inspect_cells(r.inspect),
            f"{r.wall_seconds:.1f}s" if r.status != "skipped" else "-",
            escape(r.reason),
        )
    console.print(table)
    counts = {s: sum(r.status == s for r in results) for s in STATUS_STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    where = f"; record: {short_path(record)}" if record else ""
    console.print(f"{summary}{where}")


def show_inspection(console: Console, facts: Inspection, packages: int) -> None:
    """Header facts, bytes by category, sections, and the top packages of one file."""
    link, elf = facts.linking, facts.elf
    kind = "static" if link.static else f"dynamic ({link.interpreter or 'no interpreter'})"
    console.print(
        f"\n[bold]{escape(facts.path)}[/]  {facts.size} bytes ({format_size(facts.size)})"
    )
    facts_table = Table.grid(padding=(0, 2))
    rows = [
        (
            "ELF",
            f"{elf.elfclass}-bit {elf.endian}-endian {elf.machine} {elf.type}"
            + (f" (GOARCH {elf.goarch})" if elf.goarch else ""),
        ),
        ("sha256", facts.sha256),
        ("build ids", f"GNU {facts.gnu_build_id or '-'}  Go {facts.go_build_id or '-'}"),
        (
            "linking",
            kind
            + (f"; needs {', '.join(link.needed)}" if link.needed else "")
            + (f"; glibc >= {link.glibc_min}" if link.glibc_min else ""),
        ),
        (
            "hardening",
            f"PIE {'yes' if link.pie else 'no'}, RELRO {link.relro}, "
            f"NX {'yes' if link.nx else 'no'}, {'stripped' if link.stripped else 'not stripped'}",
        ),
        (
            "symbols",
            f"{facts.symbols.count} ({format_size(facts.symbols.symtab_bytes)} .symtab + "
            f"{format_size(facts.symbols.strtab_bytes)} .strtab)",
        ),
        (
            "DWARF",
            f"{format_size(facts.dwarf.file_bytes)} on disk, "
            f"{format_size(facts.dwarf.uncompressed_bytes)} uncompressed",
        ),
    ]
    if facts.go is not None:
        settings = dict(facts.go.settings)
        flags = " ".join(
            f"{k}={settings[k]}"
            for k in ("CGO_ENABLED", "-tags", "-trimpath", "-buildmode", "-ldflags")
            if k in settings
        )
        rows.append(("Go", f"{facts.go.version} {facts.go.path}  {flags}"))
    for name, value in rows:
        facts_table.add_row(f"[dim]{name}[/]", escape(value))
    console.print(facts_table)
    for warning in facts.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}")
    _show_totals(console, facts)
    if facts.packages and packages:
        _show_packages(console, facts, packages)
    if facts.dwarf.by_package and packages:
        _show_dwarf_packages(console, facts.dwarf.by_package, packages)


def _show_dwarf_packages(console: Console, units: Sequence[DwarfUnits], limit: int) -> None:
    """DWARF bytes per Go package (uncompressed .debug_info and .debug_line), largest first."""
    info, line = sum(u.info_bytes for u in units), sum(u.line_bytes for u in units)
    table = Table(
        title=f"DWARF by package (uncompressed, {len(units)} packages, "
        f"{format_size(info)} .debug_info + {format_size(line)} .debug_line)",
        title_justify="left",
    )
    for name in ("package", "units", ".debug_info", ".debug_line", "share"):
        table.add_column(name, justify="left" if name == "package" else "right")
    for u in units[:limit]:
        share = 100 * (u.info_bytes + u.line_bytes) / max(1, info + line)
        table.add_row(
            escape(u.package),
            str(u.units),
            format_size(u.info_bytes),
            format_size(u.line_bytes),
            f"{share:.1f}%",
        )
    console.print(table)


def _show_totals(console: Console, facts: Inspection) -> None:
    table = Table(title="bytes by category (file; bss is memory only)", title_justify="left")
    for name in ("category", "bytes", "size", "share", "sections"):
        table.add_column(name, justify="left" if name in ("category", "sections") else "right")
    for category, size in facts.totals.items():
        if not size:
            continue
        names = [s.name for s in facts.sections if s.category == category]
        share = "-" if category == "bss" else f"{100 * size / facts.size:.1f}%"
        shown = ", ".join(names[:4]) + (f" +{len(names) - 4}" if len(names) > 4 else "")
        table.add_row(category, str(size), format_size(size), share, escape(shown))
    console.print(table)


def _show_packages(console: Console, facts: Inspection, limit: int) -> None:
    total = sum(p.text_bytes for p in facts.packages)
    table = Table(
        title=f"Go code by package (from .gopclntab, {len(facts.packages)} packages, "
        f"{format_size(total)})",
        title_justify="left",
    )
    for name in ("package", "module", "text", "share", "init", "funcs"):
        table.add_column(name, justify="left" if name in ("package", "module") else "right")
    for p in facts.packages[:limit]:
        table.add_row(
            escape(p.package),
            escape(p.module),
            format_size(p.text_bytes),
            f"{100 * p.text_bytes / total:.1f}%" if total else "-",
            format_size(p.init_bytes) if p.init_bytes else "-",
            str(p.functions),
        )
    console.print(table)


def show_variant_comparison(console: Console, record: Record, rows: Sequence[VariantRow]) -> None:
    """Variants side by side, deltas against the baseline of the same target, explained."""
    table = Table(
        title=f"{record.profile.name}: variants against {record.profile.baseline}",
        title_justify="left",
    )
    metrics = ("size", "code", "rodata", "data", "bss", "gometa", "symtab", "dwarf")
    table.add_column("variant@target", no_wrap=True)
    for m in metrics:
        table.add_column(m, justify="right")
    table.add_column("linking")
    for r in rows:
        link = "static" if r.built.static else "dynamic " + ",".join(r.built.needed)
        table.add_row(
            escape(r.built.id),
            *(format_size(r.built.metrics[m]) for m in metrics),
            link + (" pie" if r.built.pie else ""),
        )
        if r.deltas and r.baseline is not None:
            base = r.baseline.metrics
            cells = [_delta_cell(r.deltas[m], base[m]) for m in metrics]
            table.add_row(f"  [dim]vs {escape(r.baseline.variant)}[/]", *cells, "")
    console.print(table)
    for r in rows:
        if r.explanation and r.baseline is not None:
            console.print(
                f"[bold]{escape(r.built.id)}[/] "
                f"{format_size(r.deltas['size'], signed=True)} vs {escape(r.baseline.id)}:"
            )
            for line in r.explanation:
                console.print(f"  {escape(line)}")


def _delta_cell(delta: int, base: int) -> str:
    if not delta:
        return "[dim]0[/]"
    pct = f" {100 * delta / base:+.1f}%" if base else ""
    color = "red" if delta > 0 else "green"
    return f"[{color}]{format_size(delta, signed=True)}{pct}[/]"


def show_record_comparison(console: Console, items: Sequence[ItemDelta], rows: int) -> None:
    """Two records: per variant, section and package, largest change first."""
    from buildopt.analysis.compare import summary_line

    for kind in ("variant", "section", "package"):
        chosen = sorted((i for i in items if i.kind == kind), key=lambda i: (-abs(i.delta), i.id))
        if not chosen:
            continue
        table = Table(title=f"{kind}s ({len(chosen)} changed)", title_justify="left")
        for name in ("variant@target", kind, "old", "new", "delta"):
            table.add_column(name, justify="right" if name in ("old", "new", "delta") else "left")
        for i in chosen[:rows]:
            table.add_row(
                escape(i.id),
                escape(i.name) if kind != "variant" else "",
                "-" if i.old is None else str(i.old),
                "-" if i.new is None else str(i.new),
                _delta_cell(i.delta, i.old or 0),
            )
        console.print(table)
        if len(chosen) > rows:
            console.print(f"[dim]... {len(chosen) - rows} more (--rows)[/]")
    console.print(summary_line([i for i in items if i.kind == "package"]))


def show_gate(console: Console, checks: Sequence[Check], profile: str) -> None:
    """PASS/WARN/FAIL per budget x variant x check, with actual, limit and headroom."""
    style = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    table = Table(title=f"buildopt gate: {profile}", title_justify="left")
    for name in ("verdict", "budget", "variant", "check", "actual", "limit", "headroom", "note"):
        table.add_column(
            name, justify="right" if name in ("actual", "limit", "headroom") else "left"
        )
    for c in checks:
        note = "; ".join(x for x in (c.note, c.message) if x)
        table.add_row(
            f"[{style[c.verdict]}]{c.verdict.upper()}[/]",
            escape(c.budget),
            escape(c.target),
            escape(c.check),
            c.actual,
            c.limit,
            c.headroom,
            escape(note),
        )
    console.print(table)
    counts = {v: sum(c.verdict == v for c in checks) for v in style}
    console.print(", ".join(f"{n} {v}" for v, n in counts.items()))


class StartupProgress(TerminalProgress):
    """A progress bar over all runs on a terminal; nothing elsewhere (results follow)."""

    def __init__(self, console: Console, total: int) -> None:
        super().__init__(console, total, "starting")

    def advance(self, name: str, round_no: int, run: object) -> None:
        if self._progress:
            self._progress.update(self._task, advance=1, description=f"run {round_no + 1}: {name}")


def _ratio_cell(r: StartupResult) -> str:
    vs = r.vs_baseline
    if vs is None:
        return "-"
    star = " *" if vs.significant else ""
    return f"{vs.ratio_of_medians:.3f} [{vs.ci95[0]:.3f}, {vs.ci95[1]:.3f}]{star}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def show_startup(console: Console, results: Sequence[StartupResult], baseline: str) -> None:
    """Per-variant statistics, the headline table against the baseline, top init costs."""
    table = Table(title="start-up (ms, to ready)", title_justify="left")
    for name in (
        "variant",
        "runs",
        "median",
        "p95",
        "mean",
        "min",
        "max",
        "stdev",
        "outliers",
        "peak RSS",
        "GC",
        "vs baseline (95% CI)",
    ):
        table.add_column(name, justify="left" if name == "variant" else "right")
    for r in results:
        if not r.runs:
            table.add_row(escape(r.name), "0", *["-"] * 9, escape("; ".join(r.errors)))
            continue
        table.add_row(
            escape(r.name),
            str(r.runs),
            *(_ms(v) for v in (r.median_ms, r.p95_ms, r.mean_ms, r.min_ms, r.max_ms, r.stdev_ms)),
            str(r.outliers),
            format_size((r.max_rss_kib or 0) * 1024),
            str(r.gc_cycles),
            _ratio_cell(r),
        )
    console.print(table)
    first = results[0] if results else None
    if first is not None:
        cold = (
            "cold (page cache evicted)"
            if first.evicted
            else ("warm" if not first.cold else "cold requested, but eviction failed: warm")
        )
        console.print(f"ready: {first.ready}; {cold}; * = significant (CI excludes 1)")
    base = next((r for r in results if r.name == baseline and r.runs), None)
    for r in results:
        if base is not None and r is not base and r.runs:
            _show_headline(console, base, r)
    slowest = base or (first if first and first.runs else None)
    if slowest and slowest.inits:
        inits = Table(
            title=f"init cost by package ({slowest.name}, median clock)", title_justify="left"
        )
        for name in ("package", "clock ms", "bytes", "allocs"):
            inits.add_column(name, justify="left" if name == "package" else "right")
        for row in slowest.inits[:8]:
            inits.add_row(
                escape(row.package), f"{row.clock_ms:.3f}", str(row.bytes), str(row.allocs)
            )
        console.print(inits)


def _show_headline(console: Console, base: StartupResult, r: StartupResult) -> None:
    """The article's table: P95, peak memory and GC cycles of r against the baseline."""
    headline = Table(title=f"{r.name} vs {base.name}", title_justify="left")
    for name in ("metric", base.name, r.name, "change"):
        headline.add_column(name, justify="left" if name == "metric" else "right")
    rows: tuple[tuple[str, float, float, Callable[[float], str]], ...] = (
        ("start-up P95", base.p95_ms or 0.0, r.p95_ms or 0.0, lambda v: f"{v:.1f} ms"),
        (
            "peak memory",
            base.max_rss_kib or 0,
            r.max_rss_kib or 0,
            lambda v: format_size(int(v) * 1024),
        ),
        ("GC cycles at start-up", base.gc_cycles or 0, r.gc_cycles or 0, lambda v: str(int(v))),
    )
    for label, old, new, fmt in rows:
        change = f"{100 * (new - old) / old:+.1f}%" if old else ("0" if new == old else "new")
        headline.add_row(label, fmt(old), fmt(new), change)
    console.print(headline)


def show_scan(console: Console, result: ScanReport) -> None:
    """Findings (file:line:col, severity, rule, message, fix) and the init inventory."""
    style = {"error": "bold red", "warning": "yellow", "note": "cyan"}
    if result.findings:
        table = Table(title=f"start-up findings in {escape(result.root)}", title_justify="left")
        for name in ("where", "severity", "rule", "message", "fix"):
            table.add_column(name, overflow="fold")
        for f in result.findings:
            table.add_row(
                escape(f"{f.file}:{f.line}:{f.column}"),
                f"[{style[f.severity]}]{f.severity}[/]",
                f.rule,
                escape(f.message),
                escape(f.fix),
            )
        console.print(table)
    risky = [i for i in result.inventory if i.risks]
    console.print(
        f"{result.files} files{' (tags ' + ','.join(result.tags) + ')' if result.tags else ''}: "
        f"{result.count('error')} errors, {result.count('warning')} warnings, "
        f"{result.count('note')} notes; {len(result.inventory)} init functions and package-level "
        f"initialisers, {len(risky)} with start-up risks"
    )
