"""``buildopt sweep``: the two tables (each feature tag removed from the full build, added
back to the minimal one) ranked by what the feature weighs; the sweep's progress with its
ETA."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from buildopt.output.console import STATUS_STYLE, size_text
from buildopt.output.pipes import DataConsole
from buildopt.output.progress import LogProgress, StepProgress, elapsed, heartbeat_seconds
from buildopt.output.tables import Cell, CellLike, Column, render
from buildopt.record.model import Build
from buildopt.record.sweep import SweepEnd, SweepReport, SweepRow

TITLES = {
    "remove": "remove one from the full build",
    "add": "add one back to the minimal build",
}


def _signed(value: int | None, exact: bool) -> str:
    if value is None:
        return "-"
    return ("-" if value < 0 else "+") + size_text(abs(value), exact)


def _end_text(name: str, end: SweepEnd, exact: bool) -> str:
    got = size_text(end.size, exact) if end.size is not None else f"{end.status}: {end.error}"
    return f"{name}: {end.id} {got} (-tags={','.join(end.tags) or 'none'})"


def show_sweep(console: DataConsole, report: SweepReport, *, exact: bool = False) -> None:
    """A table per mode swept: a row per tag, the heaviest feature first, failures last; what
    a row changes and the sweep's time under the last."""
    tables = [
        (mode, rows, reference)
        for mode, rows, reference in (
            ("remove", report.remove, report.full),
            ("add", report.add, report.minimal),
        )
        if rows
    ]
    for i, (mode, rows, reference) in enumerate(tables, start=1):
        summary = [_end_text("full" if mode == "remove" else "minimal", reference, exact)]
        if i == len(tables):
            summary += [
                f"{report.kind} tags: {report.caveat}",
                f"{report.builds} builds in {elapsed(report.seconds)} "
                "(go found those unchanged since a run before up to date)",
            ]
        _table(console, report, mode, rows, summary, exact)


def _table(  # noqa: PLR0917 - one table and what it is read with
    console: DataConsole,
    report: SweepReport,
    mode: str,
    rows: tuple[SweepRow, ...],
    summary: list[str],
    exact: bool,
) -> None:
    against = "full" if mode == "remove" else "minimal"
    columns = [
        Column("tag", keep=True),
        Column("status", keep=True),
        Column("feature", right=True, keep=True),
        Column(f"vs {against}", right=True, drop=2),
        Column("size", right=True, drop=1),
        Column("time", right=True, drop=3),
        Column("note", note=True),
    ]
    cells: list[list[CellLike]] = [
        [
            row.tag,
            Cell(row.status, STATUS_STYLE[row.status]),
            size_text(row.feature_bytes, exact) if row.feature_bytes is not None else "-",
            _signed(row.delta, exact),
            size_text(row.size, exact) if row.size is not None else "-",
            f"{row.build_seconds:.1f}s",
            row.error,
        ]
        for row in rows
    ]
    title = f"{TITLES[mode]}: {report.variant}@{report.target.replace('/', '-')}"
    render(console, title, columns, cells, summary)


class EtaProgress(StepProgress):
    """Build progress as log lines (a terminal too: a sweep's lines are its log), each
    finished build with the time left: the builds left, jobs at a time, each as long as the
    mean of the builds so far that go did not find up to date (a quarter of ``each`` or
    more), else ``each`` (the estimate said up front)."""

    def __init__(self, environ: Mapping[str, str], *, each: float = 0.0, jobs: int = 1) -> None:
        super().__init__(environ)
        self._each, self._jobs = each, max(jobs, 1)

    def builds(self, total: int) -> LogProgress:
        every = heartbeat_seconds(self._environ)
        return _EtaLog(total, every=every, each=self._each, jobs=self._jobs)


class _EtaLog(LogProgress):
    def __init__(self, total: int, *, every: float, each: float, jobs: int) -> None:
        super().__init__(total, every=every)
        self._each, self._jobs = each, jobs
        self._built: list[float] = []  # the seconds of builds that were not found up to date

    def finished(self, result: Build) -> None:
        with self._lock:
            self._running.pop(result.id, None)
            self._done += 1
            if result.wall_seconds >= self._each / 4:
                self._built.append(result.wall_seconds)
            spent = time.monotonic() - self._begun
            line = f"[{self._done}/{self._total}] {result.status} {result.id}"
            line += f" ({result.wall_seconds:.1f}s); {elapsed(spent)} so far"
            if self._done < self._total:
                line += f", about {elapsed(self._left())} left"
            why = result.reason.splitlines()[0] if result.reason and not result.ok else ""
            self._say(line + (f": {why}" if why else ""))

    def _left(self) -> float:
        each = sum(self._built) / len(self._built) if self._built else self._each
        return each * math.ceil((self._total - self._done) / self._jobs)
