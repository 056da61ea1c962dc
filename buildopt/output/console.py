"""Presenters: results for people (tables) and machines (JSON) on stdout; progress, warnings and
notes on stderr. Tables are fitted by buildopt.output.tables: identities are never cut."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from rich.padding import Padding
from rich.table import Table

from buildopt.binary.facts import Attribution, CompressedSizes, DwarfUnits, Inspection, Largest
from buildopt.config.units import format_size
from buildopt.errors import visible
from buildopt.names import FORMAT_COMMANDS
from buildopt.output.pipes import Console
from buildopt.output.progress import elapsed
from buildopt.output.tables import Cell, CellLike, Column, bar, data, render
from buildopt.pipeline.plan import Plan, Step
from buildopt.record.model import Build, Record, ScanReport, StartupResult
from buildopt.system import proc

if TYPE_CHECKING:  # loaded where used: plan and build need neither (~15 ms of start-up)
    from rich.progress import Progress

    from buildopt.analysis.compare import RecordComparison, VariantRow
    from buildopt.analysis.gate import Check
    from buildopt.record.images import ImageRecord  # (its store: ~5 ms of import)

PLAN_SCHEMA = "buildopt.plan/1"
STATUS_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow"}


NON_TERMINAL_WIDTH = 160


def make_console(*, stderr: bool = False) -> Console:
    """A console for people: results on stdout, or (``stderr``) progress and warnings. Colour
    is off with NO_COLOR or when it is not a terminal.

    Logs and pipes (not a terminal) get wide lines instead of rich's 80 columns, so that argv
    and file names stay on one line and can be copied; tables there are plain text, one row
    per line, at whatever width they need.

    It reads no emoji codes (``main.go:100:2`` is not ``main.go💯2``); what it prints of names
    is given as data (buildopt.output.tables.data), never as markup.
    """
    console = Console(stderr=stderr, soft_wrap=True)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, soft_wrap=True, width=NON_TERMINAL_WIDTH)
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
    """A JSON document (a model, or a mapping that may hold models) on stdout, indented."""
    plain = msgspec.to_builtins(data)
    sys.stdout.write(json.dumps(plain, indent=2) + "\n")
    sys.stdout.flush()


def show_plan(console: Console, plan: Plan) -> None:
    profile = plan.profile
    console.print(
        data(
            (profile.name, "bold"),
            f": {profile.description}  ({len(plan.steps)} to build, {len(plan.skipped)} skipped, "
            f"{plan.toolchain.version}, baseline ",
            (profile.baseline, "bold"),
            ")",
        ),
        soft_wrap=not console.is_terminal,  # the terminal broke it mid-word at 80 columns
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
        skipped = data(("skipped", "yellow"), " ", (skip.id, "bold"), f": {skip.reason}")
        console.print(skipped, soft_wrap=not console.is_terminal)


_P = TypeVar("_P", bound="TerminalProgress")


class TerminalProgress:
    """A rich progress bar on a terminal (transient); nothing when stderr is not a terminal."""

    def __init__(self, console: Console, total: int, label: str) -> None:
        self.console = console
        self._progress: Progress | None = None
        if console.is_terminal:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}", markup=False),
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
        self._total, self._done = total, 0

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


def show_results(
    console: Console, results: Sequence[Build], record: Path | None, *, exact: bool = False
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
        rows.append(
            [
                r.id,
                Cell(r.status, STATUS_STYLE[r.status]),
                format_size(r.size),
                *(["-" if r.size is None else str(r.size)] if exact else []),
                link,
                dwarf,
                symbols,
                f"{r.wall_seconds:.1f}s" if r.status != "skipped" else "-",
                r.reason,
            ]
        )
    counts = {s: sum(r.status == s for r in results) for s in STATUS_STYLE}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items())
    where = f"; record: {short_path(record)}" if record else ""
    render(console, "build results", columns, rows, [f"{summary}{where}"])


def compressed_line(sizes: CompressedSizes, size: int) -> str:
    """``gzip -9 -n 2.39 MiB (41.6%; zlib 1.2.13), xz -9e ...``: each size, its share of the
    file and what made it."""
    shown = []
    for algorithm, command in FORMAT_COMMANDS.items():
        value = getattr(sizes, algorithm)
        if value is None:
            continue
        share = [f"{100 * value / size:.1f}%"] if size else []
        maker = sizes.made_by.get(algorithm)
        notes = "; ".join([*share, *([maker] if maker else [])])
        shown.append(f"{command} {format_size(value)}" + (f" ({notes})" if notes else ""))
    if not sizes.made_by:  # a record of an earlier release: its library versions
        versions = ", ".join(f"{lib} {v}" for lib, v in sorted(sizes.libraries.items()))
        return ", ".join(shown) + (f" ({versions})" if versions else "")
    return ", ".join(shown)


def show_inspection(
    console: Console, facts: Inspection, packages: int, *, modules: bool = False
) -> None:
    """Header facts, bytes by category, sections, and the top packages of one file."""
    link, elf = facts.linking, facts.elf
    kind = "static" if link.static else f"dynamic ({link.interpreter or 'no interpreter'})"
    console.print()
    console.print(data((facts.path, "bold"), f"  {facts.size} bytes ({format_size(facts.size)})"))
    facts_table = Table.grid(padding=(0, 2))
    facts_table.add_column()
    # a value wider than the screen (a Go build id is 83 characters) folds onto the next
    # line whole: an identity is never cut
    facts_table.add_column(overflow="fold")
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
    memory = facts.memory
    if memory is not None:
        rows.append(
            (
                "memory",
                f"maps {format_size(memory.mapped_bytes)}: shared "
                f"{format_size(memory.shared_bytes)} (code {format_size(memory.read_execute_bytes)}"
                f", read-only {format_size(memory.read_only_bytes)}), private "
                f"{format_size(memory.private_bytes)} (data {format_size(memory.read_write_bytes)}"
                f", bss {format_size(memory.bss_bytes)}); {memory.page_size // 1024} KiB pages",
            )
        )
    if facts.compressed is not None:
        rows.append(("compressed", compressed_line(facts.compressed, facts.size)))
    if facts.go is not None:
        settings = dict(facts.go.settings)
        flags = " ".join(
            f"{k}={settings[k]}"
            for k in ("CGO_ENABLED", "-tags", "-trimpath", "-buildmode", "-ldflags")
            if k in settings
        )
        rows.append(("Go", f"{facts.go.version} {facts.go.path}  {flags}"))
    for name, value in rows:
        facts_table.add_row(data((name, "dim")), data(value))
    console.print(facts_table)
    for warning in facts.warnings:
        console.print(data(("warning:", "yellow"), f" {warning}"))
    _show_totals(console, facts)
    if facts.packages and packages:
        _show_packages(console, facts, packages)
    if facts.dwarf.by_package and packages:
        _show_dwarf_packages(console, facts.dwarf.by_package, packages)
    if facts.attribution is not None:
        _show_attribution(console, facts.attribution, packages)
    if modules and facts.attribution is not None:
        _show_modules(console, facts.attribution)
    if facts.largest is not None:
        _show_largest(console, facts.largest)


def _show_largest(console: Console, largest: Largest) -> None:
    """The largest functions and data objects, with their packages."""
    for kind, rows_of in (("functions", largest.functions), ("data objects", largest.data)):
        if not rows_of:
            continue
        columns = [
            Column("symbol", keep=True),
            Column("bytes", right=True, keep=True),
            Column("package", drop=1),
        ]
        rows: list[list[CellLike]] = [[r.name, str(r.bytes), r.package] for r in rows_of]
        source = "from .gopclntab, padding included" if kind == "functions" else "from .symtab"
        render(console, f"largest {kind} ({source})", columns, rows)


def _show_modules(console: Console, whole: Attribution) -> None:
    """Every module of the build info with its packages' bytes (all rows: a build has tens)."""
    size = max(1, whole.file_bytes)
    columns = [
        Column("module", keep=True),
        Column("version", drop=5),
        Column("packages", right=True, drop=4),
        Column("file bytes", right=True, keep=True),
        Column("share", right=True, keep=True),
        Column("code", right=True, drop=3),
        Column("pclntab", right=True, drop=2),
        Column("data", right=True, drop=1),
    ]
    rows: list[list[CellLike]] = [
        [
            m.module,
            m.version or "",
            str(m.packages),
            format_size(m.file_bytes),
            f"{100 * m.file_bytes / size:.1f}%",
            format_size(m.code_bytes),
            format_size(m.pclntab_bytes),
            format_size(m.rodata_bytes + m.data_bytes),
        ]
        for m in whole.by_module
    ]
    title = f"modules ({len(whole.by_module)}; the file bytes of their packages)"
    render(console, title, columns, rows)


def _show_attribution(console: Console, whole: Attribution, limit: int) -> None:
    """Every byte of the file: the largest packages with their parts, then every bucket."""
    size = max(1, whole.file_bytes)
    columns = [
        Column("owner", keep=True),
        Column("file bytes", right=True, keep=True),
        Column("share", right=True, keep=True),
        Column("code", right=True, drop=4),
        Column("pclntab", right=True, drop=3),
        Column("rodata", right=True, drop=2),
        Column("data", right=True, drop=1),
        Column("module", drop=5),
    ]
    rows: list[list[CellLike]] = [
        [
            p.package,
            format_size(p.file_bytes),
            f"{100 * p.file_bytes / size:.1f}%",
            format_size(p.code_bytes),
            format_size(p.pclntab_bytes),
            format_size(p.rodata_bytes),
            format_size(p.data_bytes),
            p.module,
        ]
        for p in whole.by_package[:limit]
    ]
    rest = whole.by_package[limit:]
    if rest:
        others = sum(p.file_bytes for p in rest)
        rows.append(
            [
                f"({len(rest)} more packages)",
                format_size(others),
                f"{100 * others / size:.1f}%",
                *["" for _ in range(5)],
            ]
        )
    rows += [
        [
            Cell(f"[{b.name}]", "dim"),
            format_size(b.file_bytes),
            f"{100 * b.file_bytes / size:.1f}%",
            *["" for _ in range(5)],
        ]
        for b in whole.buckets
    ]
    packages = whole.file_bytes_attributed_to_packages
    title = (
        f"every byte of the file: {100 * packages / size:.1f}% to {len(whole.by_package)} "
        f"packages, the rest [in buckets]"
    )
    render(console, title, columns, rows)


def _show_dwarf_packages(console: Console, units: Sequence[DwarfUnits], limit: int) -> None:
    """DWARF bytes per Go package (uncompressed .debug_info and .debug_line), largest first."""
    info, line = sum(u.info_bytes for u in units), sum(u.line_bytes for u in units)
    columns = [
        Column("package", keep=True),
        Column("units", right=True, drop=1),
        Column(".debug_info", right=True),
        Column(".debug_line", right=True),
        Column("share", right=True, drop=2),
    ]
    rows: list[list[CellLike]] = [
        [
            u.package,
            str(u.units),
            format_size(u.info_bytes),
            format_size(u.line_bytes),
            f"{100 * (u.info_bytes + u.line_bytes) / max(1, info + line):.1f}%",
        ]
        for u in units[:limit]
    ]
    title = (
        f"DWARF by package (uncompressed, {len(units)} packages, "
        f"{format_size(info)} .debug_info + {format_size(line)} .debug_line)"
    )
    render(console, title, columns, rows)


def _show_totals(console: Console, facts: Inspection) -> None:
    columns = [
        Column("category", keep=True),
        Column("bytes", right=True, drop=2),
        Column("size", right=True),
        Column("share", right=True, drop=1),
        Column("", drop=3),  # the share as a bar
        Column("sections", note=True),
    ]
    rows: list[list[CellLike]] = []
    for category, size in facts.totals.items():
        if not size:
            continue
        names = [s.name for s in facts.sections if s.category == category]
        share = "-" if category == "bss" else f"{100 * size / facts.size:.1f}%"
        drawn = "" if category == "bss" else bar(size / facts.size)
        shown = ", ".join(names[:4]) + (f" +{len(names) - 4}" if len(names) > 4 else "")
        rows.append([category, str(size), format_size(size), share, Cell(drawn, "cyan"), shown])
    render(console, "bytes by category (file; bss is memory only)", columns, rows)


def _show_packages(console: Console, facts: Inspection, limit: int) -> None:
    total = sum(p.text_bytes for p in facts.packages)
    columns = [
        Column("package", keep=True),
        Column("module", drop=1),
        Column("text", right=True),
        Column("share", right=True, drop=2),
        Column("init", right=True, drop=3),
        Column("funcs", right=True, drop=4),
    ]
    rows: list[list[CellLike]] = [
        [
            p.package,
            p.module,
            format_size(p.text_bytes),
            f"{100 * p.text_bytes / total:.1f}%" if total else "-",
            format_size(p.init_bytes) if p.init_bytes else "-",
            str(p.functions),
        ]
        for p in facts.packages[:limit]
    ]
    title = (
        f"Go code by package (from .gopclntab, {len(facts.packages)} packages, "
        f"{format_size(total)})"
    )
    render(console, title, columns, rows)


def show_variant_comparison(
    console: Console, record: Record, rows: Sequence[VariantRow], *, exact: bool = False
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
        table.append(
            [
                r.built.id,
                Cell(bar(r.built.metrics["size"] / largest), "cyan"),
                *(_amount(r.built.metrics[m], exact) for m in metrics),
                link + (" pie" if r.built.pie else ""),
            ]
        )
        if r.deltas and r.baseline is not None:
            base = r.baseline.metrics
            cells = [_delta_cell(r.deltas[m], base[m], exact) for m in metrics]
            table.append([f"  vs {r.baseline.variant}", "", *cells, ""])
    render(
        console,
        f"{record.profile.name}: variants against {record.profile.baseline}",
        columns,
        table,
    )
    from buildopt.analysis.compare import not_inspected, uninspected

    for b in uninspected(record):
        unread = data(f"{b.id}: {format_size(b.size)} on disk, {not_inspected(b)}")
        console.print(unread, soft_wrap=not console.is_terminal)
    for r in rows:
        if r.explanation and r.baseline is not None:
            size = format_size(r.deltas["size"], signed=True)
            head = data((r.built.id, "bold"), f" {size} vs {r.baseline.id}:")
            console.print(head, soft_wrap=not console.is_terminal)
            for line in r.summary:
                _explained(console, line)
    _show_upgrades(console, record, exact=exact)


def _explained(console: Console, line: str) -> None:
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


def _show_upgrades(console: Console, record: Record, *, exact: bool, top: int = 5) -> None:
    """What each Go release costs against the first one listed: per variant x target, the
    size, and the packages that changed most (``buildopt diff`` gives all)."""
    from buildopt.analysis.compare import compare_releases, release_of

    upgrades = compare_releases(record)
    if not upgrades:
        return
    outputs = {b.id: b.output for b in record.builds}

    columns = [
        Column("variant@target", keep=True),
        Column("from", keep=True),
        Column("size before", right=True, drop=1),
        Column("size after", right=True, drop=2),
        Column("delta", right=True, keep=True),
    ]
    table: list[list[CellLike]] = [
        [
            u.new.id,
            release_of(u.old.id) or "",
            _amount(u.old.metrics["size"], exact),
            _amount(u.new.metrics["size"], exact),
            _delta_cell(u.deltas["size"], u.old.metrics["size"], exact),
        ]
        for u in upgrades
    ]
    render(console, "Go releases: what the upgrade costs", columns, table)
    for u in upgrades:
        console.print(data((u.new.id, "bold"), f" vs {release_of(u.old.id) or ''}:"))
        for name, old, new in u.packages[:top]:
            console.print(data(f"  {name} {format_size(new - old, signed=True)}"))
        if len(u.packages) > top:
            console.print(
                data(
                    f"  ... {len(u.packages) - top} more packages (buildopt diff "
                    f"{outputs.get(u.old.id) or u.old.id} "
                    f"{outputs.get(u.new.id) or u.new.id} --by package)"
                ),
                soft_wrap=True,
            )


def _amount(n: int, exact: bool) -> str:
    """A size for people, or in exact bytes (--bytes)."""
    return str(n) if exact else format_size(n)


def _delta_cell(delta: int, base: int, exact: bool = False) -> Cell:
    if not delta:
        return Cell("0", "dim")
    pct = f" {100 * delta / base:+.1f}%" if base else ""
    amount = f"{delta:+d}" if exact else format_size(delta, signed=True)
    return Cell(f"{amount}{pct}", "red" if delta > 0 else "green")


def show_record_comparison(
    console: Console, result: RecordComparison, rows: int, *, exact: bool = False
) -> None:
    """Two records: per variant, section and package, largest change first; then per variant
    the bloat-o-meter summary over its packages, and the variants of one record alone."""
    items = result.items

    def amount(n: int | None) -> str:
        return "-" if n is None else _amount(n, exact)

    for kind in ("variant", "section", "package"):
        chosen = sorted((i for i in items if i.kind == kind), key=lambda i: (-abs(i.delta), i.id))
        if not chosen:
            continue
        columns = [
            Column("variant@target", keep=True),
            *([Column(kind, keep=True)] if kind != "variant" else []),
            Column("old", right=True, drop=1),
            Column("new", right=True, drop=2),
            Column("delta", right=True),
        ]
        table: list[list[CellLike]] = [
            [
                i.id,
                *([i.name] if kind != "variant" else []),
                amount(i.old),
                amount(i.new),
                _delta_cell(i.delta, i.old or 0, exact),
            ]
            for i in chosen[:rows]
        ]
        left = len(chosen) - rows
        more = [Cell(f"... {left} more (--rows)", "dim")] if left > 0 else []
        render(console, f"{kind}s ({len(chosen)} changed)", columns, table, more)
    for vid, diff in result.summaries:
        console.print(data(f"{vid}: {diff.summary_line()}"))
        console.print(data(f"{vid}: {diff.total_line()}"))
    for side, ids in (("old", result.only_old), ("new", result.only_new)):
        for vid in ids:
            console.print(data(f"only in the {side} record: {vid}"))


def show_gate(
    console: Console, checks: Sequence[Check], profile: str, *, exact: bool = False
) -> None:
    """PASS/WARN/FAIL per budget x variant x check, with actual, limit and headroom (sizes
    human; ``exact``: in bytes)."""
    style = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    columns = [
        Column("verdict", keep=True),
        Column("budget", keep=True, group=True),  # narrow: a heading over its checks
        Column("variant", keep=True),
        Column("check", keep=True),
        # the figures the gate exists for: never dropped (rows become blocks rather)
        Column("actual", right=True, keep=True),
        Column("limit", right=True, keep=True),
        Column("headroom", right=True, keep=True),
        Column("note", note=True),
    ]
    from buildopt.output.gate import figure_text, sized  # (the gate's analysis: only here)

    rows: list[list[CellLike]] = []
    for c in checks:
        actual, limit = figure_text(c.actual), figure_text(c.limit, limit=True)
        if not exact:  # a size check: bytes for people
            actual, limit = (
                text if (n := sized(f, c)) is None else format_size(n)
                for text, f in ((actual, c.actual), (limit, c.limit))
            )
        rows.append(
            [
                Cell(c.verdict.upper(), style[c.verdict]),
                c.budget,
                c.target,
                c.check,
                actual,
                limit,
                figure_text(c.headroom),
                "; ".join(x for x in (c.note, c.message) if x),
            ]
        )
    counts = {v: sum(c.verdict == v for c in checks) for v in style}
    render(
        console,
        f"buildopt gate: {profile}",
        columns,
        rows,
        [", ".join(f"{n} {v}" for v, n in counts.items())],
        key=2,  # notes under the table name the variant
    )


def show_images(console: Console, images: Sequence[ImageRecord], *, exact: bool = False) -> None:
    """Per image: each file with what it takes in the image, then the image's size and erase
    blocks (sizes human; ``exact``: in bytes)."""

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
                _amount(f.size, exact),
                _amount(f.stored_bytes, exact),
                f"{100 * f.stored_bytes / f.size:.1f}%" if f.size else "-",
                f"{100 * f.stored_bytes / image.size:.1f}%",
            ]
            for f in image.files
        ]
        rows.append(["(metadata)", "", "", _amount(image.metadata_bytes, exact), "", ""])
        where = Path(image.image)
        shown = where.relative_to(Path.cwd()) if where.is_relative_to(Path.cwd()) else where
        size, block, erase = (
            _amount(n, exact) for n in (image.size, image.block_size, image.erase_block)
        )
        footer = (
            f"{shown}: {size} ({image.compressor}, {block} blocks) = {image.erase_blocks} "
            f"erase blocks of {erase}; sha256 {image.sha256}"
        )
        render(console, f"image {image.name}", columns, rows, [footer], key=0)


class StartupProgress(TerminalProgress):
    """A progress bar over all runs on a terminal; in a log, a line as the runs start, as
    each phase (warmup, traced, timed) begins, and when they end."""

    def __init__(self, console: Console, total: int) -> None:
        super().__init__(console, total, "starting")
        self._total, self._done, self._phase = total, 0, ""
        self._begun = time.monotonic()

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


def show_startup(console: Console, results: Sequence[StartupResult], baseline: str) -> None:
    """Per-variant statistics, the headline table against the baseline, top init costs."""
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
    rows: list[list[CellLike]] = []
    for r in results:
        if not r.runs:
            rows.append([r.name, "0", *["-"] * 10, "; ".join(r.errors)])
            continue
        rows.append(
            [
                r.name,
                str(r.runs),
                *(
                    _ms(v)
                    for v in (r.median_ms, r.p95_ms, r.mean_ms, r.min_ms, r.max_ms, r.stdev_ms)
                ),
                str(r.outliers),
                format_size((r.max_rss_kib or 0) * 1024),
                "-" if r.gc_cycles is None else str(r.gc_cycles),
                _ratio_cell(r),
                "; ".join(r.errors) if r.failed_runs else "",
            ]
        )
    render(console, "start-up (ms, to ready)", columns, rows)
    first = results[0] if results else None
    if first is not None:
        for line in _startup_notes(first):
            console.print(data(line), soft_wrap=not console.is_terminal)
    base = next((r for r in results if r.name == baseline and r.runs), None)
    for r in results:
        if base is not None and r is not base and r.runs:
            _show_headline(console, base, r)
    slowest = base or (first if first and first.runs else None)
    if slowest and slowest.inits:
        columns = [
            Column("package", keep=True),
            Column("clock ms", right=True),
            Column("bytes", right=True, drop=1),
            Column("allocs", right=True, drop=2),
        ]
        init_rows: list[list[CellLike]] = [
            [row.package, f"{row.clock_ms:.3f}", str(row.bytes), str(row.allocs)]
            for row in slowest.inits[:8]
        ]
        title = f"init cost by package ({slowest.name}, median clock of the traced runs)"
        render(console, title, columns, init_rows)


def _startup_notes(r: StartupResult) -> list[str]:
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
        f"GC and init: {_count(r.traced_runs, 'traced run')} with GODEBUG={r.traced_godebug}"
        if r.traced_runs
        else "no traced runs: no GC or init figures"
    )
    return [
        f"ready: {r.ready}; {cold}",
        f"timed runs: no GODEBUG added, {output}{harness}; {traced}",
        "* = significant (CI excludes 1)",
    ]


def _show_headline(console: Console, base: StartupResult, r: StartupResult) -> None:
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
    render(console, f"{r.name} vs {base.name}", columns, cells)


def show_scan(console: Console, result: ScanReport) -> None:
    """Findings (file:line:col, severity, rule, message, fix) and the init inventory."""
    style = {"error": "bold red", "warning": "yellow", "note": "cyan"}
    if result.findings:
        columns = [
            Column("where", keep=True),
            Column("severity", keep=True),
            Column("rule", drop=1),
            Column("message", note=True),
        ]
        rows: list[list[CellLike]] = [
            [
                f"{f.file}:{f.line}:{f.column}",
                Cell(f.severity, style[f.severity]),
                f.rule,
                f.message,
            ]
            for f in result.findings
        ]
        render(console, f"start-up findings in {result.root}", columns, rows)
        fixes = [(f"{f.file}:{f.line}", f.fix) for f in result.findings if f.fix]
        for where, fix in fixes:
            console.print(
                data(("fix", "dim"), f" {where}: {fix}"), soft_wrap=not console.is_terminal
            )
    risky = [i for i in result.inventory if i.risks]
    tags = f" (tags {','.join(result.tags)})" if result.tags else ""
    console.print(
        data(
            f"{_count(result.files, 'file')}{tags}: "
            f"{_count(result.count('error'), 'error')}, "
            f"{_count(result.count('warning'), 'warning')}, "
            f"{_count(result.count('note'), 'note')}; {len(result.inventory)} init functions and "
            f"package-level initialisers, {len(risky)} with start-up risks"
        ),
        soft_wrap=not console.is_terminal,
    )


def _count(n: int, noun: str) -> str:
    """``1 note``, ``2 notes``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
