"""What `startup` and `scan` print for people: cold-start figures with their intervals, the
progress of the runs, and the start-up findings in the sources."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Sequence

from buildopt.config.units import counted, format_size
from buildopt.errors import visible
from buildopt.output.console import TerminalProgress
from buildopt.output.pipes import DataConsole
from buildopt.output.progress import elapsed
from buildopt.output.tables import Cell, CellLike, Column, Spec, data, render, say, tabulate
from buildopt.record.model import Finding, InitCost, ScanReport, StartupResult


class StartupProgress(TerminalProgress):
    """A progress bar over all runs on a terminal; in a log, a line as the runs start, as
    each phase (warmup, traced, timed) begins, and when they end."""

    def __init__(self, console: DataConsole, total: int) -> None:
        super().__init__(console, total, "starting")
        self._phase, self._begun = "", time.monotonic()

    def __exit__(self, exc_type: object = None, *exc: object) -> None:
        super().__exit__(exc_type, *exc)
        if self._done and exc_type is None:  # (an error says itself)
            self._log(f"startup: {self._done} of {self._total} runs done")

    def advance(self, name: str, label: str, run: object) -> None:
        self._done += 1
        if self._progress:
            self._progress.update(self._task, advance=1, description=visible(f"{label}: {name}"))
            return
        if self._done == 1:  # said once the first run came back: a bad binary is an error only
            self._log(f"startup: {self._total} runs")
        phase = label.split(maxsplit=1)[0]
        if phase != self._phase:
            self._phase = phase
            shown = "timed" if phase == "run" else phase
            self._log(f"startup: {shown} runs ({self._done - 1} of {self._total} done)")

    def _log(self, line: str) -> None:
        if not self._progress:
            took = elapsed(time.monotonic() - self._begun)
            self.console.print(data(f"{line}, {took}"), soft_wrap=True)


def _ratio_cell(r: StartupResult) -> str:
    vs = r.vs_baseline
    if vs is None:
        return "-"
    star = " *" if vs.significant else ""
    return f"{vs.ratio_of_medians:.3f} [{vs.ci95[0]:.3f}, {vs.ci95[1]:.3f}]{star}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def place(r: StartupResult) -> str:
    """Where the runs happened, for a title: "" (here), " - emulated by qemu-...", " - on the
    device"."""
    if r.emulated:
        return f" - emulated by {os.path.basename(r.runner[0]) if r.runner else 'an emulator'}"
    return " - on the device" if r.runner else ""


def show_startup(console: DataConsole, results: Sequence[StartupResult], baseline: str) -> None:
    """Per-variant statistics, the headline table against the baseline, top init costs; runs
    of one series share their place, which every title says."""
    where = place(results[0]) if results else ""
    columns = [
        Column("variant", keep=True),
        Column("runs", right=True, keep=True),
        Column("median", right=True, keep=True),
        Column("p95", right=True, keep=True),
        Column("mean", right=True, drop=6),
        Column("min", right=True, drop=5),
        Column("max", right=True, drop=4),
        Column("stdev", right=True, drop=3),
        Column("outliers", right=True, drop=7),
        Column("peak RSS", right=True, drop=1),
        Column("GC", right=True, drop=2),
        Column("vs baseline (95% CI)", right=True, drop=0),
        Column("note", note=True),
    ]
    shared = len({r.argv0 for r in results}) == 1  # (each its own path by default)
    one_ready = len({r.ready for r in results}) == 1  # ([[startup.each]] may differ)
    rows: list[list[CellLike]] = []
    for r in results:
        how = [] if one_ready else [f"ready: {r.ready}"]
        if not shared and _renamed(r):
            how.append(f"argv[0]: {r.argv0}")
        if not r.runs:
            rows.append([r.name, "0", *["-"] * 10, "; ".join([*how, *r.errors])])
            continue
        times = map(_ms, (r.median_ms, r.p95_ms, r.mean_ms, r.min_ms, r.max_ms, r.stdev_ms))
        rss = format_size((r.max_rss_kib or 0) * 1024)
        gc = "-" if r.gc_cycles is None else str(r.gc_cycles)
        note = "; ".join([*how, *(r.errors if r.failed_runs else ())])
        rows.append([r.name, str(r.runs), *times, str(r.outliers), rss, gc, _ratio_cell(r), note])
    render(console, f"start-up (ms, to ready){where}", columns, rows)
    first = results[0] if results else None
    if first is not None:
        for line in _startup_notes(first, shared, one_ready):
            say(console, line)
    by_name = {r.name: r for r in results if r.runs}
    base = by_name.get(baseline)
    for r in results:  # each against its own baseline: the baseline variant's run of its program
        own = by_name.get(r.vs_baseline.baseline) if r.vs_baseline else None
        if own is not None and r is not own and r.runs:
            _show_headline(console, own, r, where)
    slowest = base or (first if first and first.runs else None)
    if slowest and slowest.inits:
        spec: Spec[InitCost] = [
            (Column("package", keep=True), lambda i: i.package),
            (Column("clock ms", right=True), lambda i: f"{i.clock_ms:.3f}"),
            (Column("bytes", right=True, drop=1), lambda i: str(i.bytes)),
            (Column("allocs", right=True, drop=2), lambda i: str(i.allocs)),
        ]
        title = f"init cost by package ({slowest.name}, median clock of the traced runs){where}"
        render(console, title, *tabulate(spec, slowest.inits[:8]))


def _renamed(r: StartupResult) -> bool:
    """Started under another name than its file's (argv0)."""
    return bool(r.argv0) and os.path.basename(r.argv0 or "") != os.path.basename(r.binary)


def _startup_notes(r: StartupResult, shared_argv0: bool, one_ready: bool = True) -> list[str]:
    """How the runs were made, from what happened (the first variant's; all share them)."""
    if r.eviction_error:
        cold = f"cold requested, but {r.eviction_error}: the runs were warm"
    elif r.evicted:
        each = f" ({r.evict_ms:.2f} ms each)" if r.evict_ms is not None else ""
        cold = f"cold: the binary was evicted from the page cache before each run{each}"
    else:
        cold = "warm (--no-cold: the binary may be in the page cache)"
    output = "output to /dev/null" if r.ready == "process exit" else "output read from pipes"
    harness = f"; buildopt's cost per run {r.harness_ms:.2f} ms" if r.harness_ms else ""
    traced = (
        f"GC and init: {counted(r.traced_runs, 'traced run')} with GODEBUG={r.traced_godebug}"
        if r.traced_runs
        else "no traced runs: no GC or init figures"
    )
    named = f"; argv[0]: {r.argv0}" if r.argv0 and shared_argv0 else ""
    ready = f"ready: {r.ready}" if one_ready else "ready: each build's (note column)"
    lines = [f"{ready}; {cold}{named}"]
    if r.emulated and r.runner:
        lines.append(
            f"emulated: each run under {shlex.join(r.runner)} on this machine's CPU; these "
            "figures are the emulator's, never comparable with native ones"
        )
    elif r.runner:
        lines.append(
            f"on the device through {shlex.join(r.runner)}: its CPU, its clock, its page cache"
        )
    return [
        *lines,
        f"timed runs: no GODEBUG added, {output}{harness}; {traced}",
        "* = significant (CI excludes 1)",
    ]


def _show_headline(console: DataConsole, base: StartupResult, r: StartupResult, where: str) -> None:
    """The article's table: P95, peak memory and GC cycles of r against the baseline."""
    columns = [
        Column("metric", keep=True),
        Column(base.name, right=True, keep=True),
        Column(r.name, right=True, keep=True),
        Column("change", right=True, keep=True),
    ]
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
    cells: list[list[CellLike]] = []
    for label, old, new, fmt in rows:
        change = f"{100 * (new - old) / old:+.1f}%" if old else ("0" if new == old else "new")
        cells.append([label, fmt(old), fmt(new), change])
    render(console, f"{r.name} vs {base.name}{where}", columns, cells)


def show_scan(console: DataConsole, result: ScanReport) -> None:
    """Findings (file:line:col, severity, rule, message, fix) and the init inventory."""
    style = {"error": "bold red", "warning": "yellow", "note": "cyan"}
    if result.findings:
        spec: Spec[Finding] = [
            (Column("where", keep=True), lambda f: f"{f.file}:{f.line}:{f.column}"),
            (Column("severity", keep=True), lambda f: Cell(f.severity, style[f.severity])),
            (Column("rule", drop=1), lambda f: f.rule),
            (Column("message", note=True), lambda f: f.message),
        ]
        title = f"start-up findings in {result.root}"
        render(console, title, *tabulate(spec, result.findings))
        for f in result.findings:
            if f.fix:
                say(console, ("fix", "dim"), f" {f.file}:{f.line}: {f.fix}")
    risky = sum(bool(i.risks) for i in result.inventory)
    tags = f" (tags {','.join(result.tags)})" if result.tags else ""
    counts = ", ".join(counted(result.count(s), s) for s in ("error", "warning", "note"))
    inits = f"{len(result.inventory)} init functions and package-level initialisers"
    files = f"{counted(result.files, 'file')}{tags}"
    say(console, f"{files}: {counts}; {inits}, {risky} with start-up risks")
