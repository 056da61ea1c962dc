"""Presenters: results for people (tables) and machines (JSON) on stdout; progress, warnings and
notes on stderr. Tables are fitted by buildopt.output.tables: identities are never cut."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from buildopt.binary.facts import Inspection
from buildopt.config.units import format_size
from buildopt.errors import visible
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Cell, CellLike, Column, data, render, say
from buildopt.pipeline.plan import Plan, Step
from buildopt.record.model import Build
from buildopt.system import proc

if TYPE_CHECKING:  # loaded where used: plan and build need neither (~15 ms of start-up)
    from rich.progress import Progress


STATUS_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow"}
NON_TERMINAL_WIDTH = 160


def make_console(*, stderr: bool = False) -> DataConsole:
    """A console for people: results on stdout, or (``stderr``) progress and warnings. Logs
    and pipes get wide lines instead of rich's 80 columns, so that argv and file names stay on
    one line and can be copied (buildopt.output.pipes: no emoji codes, names are data)."""
    console = DataConsole(stderr=stderr, soft_wrap=True, emoji=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = DataConsole(stderr=stderr, soft_wrap=True, width=NON_TERMINAL_WIDTH, emoji=False)
    return console


def short_path(path: Path | str) -> str:
    """path relative to the working directory when below it (JSON keeps absolute paths)."""
    path, cwd = Path(path), Path.cwd()
    return str(path.relative_to(cwd) if path.is_relative_to(cwd) else path)


def print_json(document: msgspec.Struct) -> None:
    """A JSON document (a model) on stdout, indented."""
    plain = msgspec.to_builtins(document)
    sys.stdout.write(json.dumps(plain, indent=2) + "\n")
    sys.stdout.flush()


def show_plan(console: DataConsole, plan: Plan) -> None:
    profile = plan.profile
    say(  # (wrapped on a terminal: it broke mid-word at 80 columns)
        console,
        (profile.name, "bold"),
        f": {profile.description}  ({len(plan.steps)} to build, {len(plan.skipped)} skipped, "
        f"{plan.toolchain.version}, baseline ",
        (profile.baseline, "bold"),
        ")",
    )
    for step in plan.steps:
        env = " ".join(f"{k}={v}" for k, v in step.env.items())
        console.print()
        console.print(data((step.id, "bold cyan")))
        console.print(data(f"  dir   {short_path(step.dir)}"))
        console.print(data(f"  env   {env}"))
        console.print(data(f"  argv  {proc.display(step.argv)}"), soft_wrap=True)
        console.print(data(f"  out   {short_path(step.output)}"), soft_wrap=True)
    for skip in plan.skipped:
        console.print()
        say(console, ("skipped", "yellow"), " ", (skip.id, "bold"), f": {skip.reason}")


_P = TypeVar("_P", bound="TerminalProgress")


class TerminalProgress:
    """A rich progress bar on a terminal (transient); nothing when stderr is not a terminal."""

    def __init__(self, console: DataConsole, total: int, label: str) -> None:
        self.console, self._total, self._done = console, total, 0
        self._progress: Progress | None = None
        if console.is_terminal:
            from rich import progress as rp

            description = rp.TextColumn("{task.description}", markup=False)
            count = rp.TextColumn("{task.completed}/{task.total}")
            columns = (rp.SpinnerColumn(), description, rp.BarColumn(), count)
            self._progress = rp.Progress(
                *columns, rp.TimeElapsedColumn(), console=console, transient=True
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

    def __init__(self, console: DataConsole, total: int) -> None:
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
                return
            if result.status == "skipped":
                return  # not progress: the results table lists skips with their reasons
            self._done += 1  # progress for logs: the results follow in one table on stdout
            line = f"[{self._done}/{self._total}] {result.status} {result.id}"
            line += f" ({result.wall_seconds:.1f}s)"
            self.console.print(data((line, STATUS_STYLE[result.status])), soft_wrap=True)

    def _update(self) -> None:
        if self._progress:
            shown = ", ".join(self._running[:3]) + (" ..." if len(self._running) > 3 else "")
            self._progress.update(self._task, description=visible(f"building {shown}"))


def _inspect_cells(facts: Inspection | None) -> tuple[str, str, str]:
    """DWARF bytes on disk, .symtab+.strtab bytes, and static/dynamic of a built binary."""
    if facts is None:
        return "-", "-", "-"
    link = facts.linking
    kind = "static" if link.static else "dynamic " + ",".join(link.needed)
    kind += " pie" if link.pie else ""
    return format_size(facts.dwarf.file_bytes), format_size(facts.symbol_bytes), kind


def show_results(
    console: DataConsole, results: Sequence[Build], record: Path | None, *, exact: bool = False
) -> None:
    """The build results, once: a row per variant x target (``exact``: with exact bytes)."""
    columns = [
        Column("variant@target", keep=True),
        Column("status", keep=True),
        Column("size", right=True, drop=1),
        *([Column("bytes", right=True, drop=2)] if exact else []),
        Column("linking", drop=3),
        Column("DWARF", right=True, drop=5),
        Column("symbols", right=True, drop=6),
        Column("time", right=True, drop=4),
        Column("note", note=True),
    ]
    rows: list[list[CellLike]] = []
    for r in results:
        dwarf, symbols, link = _inspect_cells(r.inspect)
        size = [format_size(r.size), *(["-" if r.size is None else str(r.size)] if exact else [])]
        took = f"{r.wall_seconds:.1f}s" if r.status != "skipped" else "-"
        status = Cell(r.status, STATUS_STYLE[r.status])
        rows.append([r.id, status, *size, link, dwarf, symbols, took, r.reason])
    counts = {s: sum(r.status == s for r in results) for s in STATUS_STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    where = f"; record: {short_path(record)}" if record else ""
    render(console, "build results", columns, rows, [f"{summary}{where}"])


def size_text(n: int, exact: bool) -> str:
    """A size for people, or in exact bytes (--bytes)."""
    return str(n) if exact else format_size(n)
