"""What `inspect` prints for people: an ELF file's facts, bytes by category, packages,
attribution, modules, DWARF per package and the largest symbols."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from buildopt.binary.facts import (
    Attribution,
    CompressedSizes,
    DwarfUnits,
    Inspection,
    Largest,
    ModuleShare,
    PackageCode,
    PackageShare,
    SymbolSize,
)
from buildopt.config.units import format_size
from buildopt.names import FORMAT_COMMANDS
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Cell, CellLike, Column, Spec, bar, data, render, tabulate


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
    console: DataConsole, facts: Inspection, packages: int, *, modules: bool = False
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
    hardening = (
        f"PIE {'yes' if link.pie else 'no'}, RELRO {link.relro}, "
        f"NX {'yes' if link.nx else 'no'}, {'stripped' if link.stripped else 'not stripped'}"
    )
    symbols, dwarf = facts.symbols, facts.dwarf
    rows = {
        "ELF": f"{elf.elfclass}-bit {elf.endian}-endian {elf.machine} {elf.type}"
        + (f" (GOARCH {elf.goarch})" if elf.goarch else ""),
        "sha256": facts.sha256,
        "build ids": f"GNU {facts.gnu_build_id or '-'}  Go {facts.go_build_id or '-'}",
        "linking": kind
        + (f"; needs {', '.join(link.needed)}" if link.needed else "")
        + (f"; glibc >= {link.glibc_min}" if link.glibc_min else ""),
        "hardening": hardening,
        "symbols": f"{symbols.count} ({format_size(symbols.symtab_bytes)} .symtab + "
        f"{format_size(symbols.strtab_bytes)} .strtab)",
        "DWARF": f"{format_size(dwarf.file_bytes)} on disk, "
        f"{format_size(dwarf.uncompressed_bytes)} uncompressed",
    }
    memory = facts.memory
    if memory is not None:
        rows["memory"] = (
            f"maps {format_size(memory.mapped_bytes)}: shared "
            f"{format_size(memory.shared_bytes)} (code {format_size(memory.read_execute_bytes)}"
            f", read-only {format_size(memory.read_only_bytes)}), private "
            f"{format_size(memory.private_bytes)} (data {format_size(memory.read_write_bytes)}"
            f", bss {format_size(memory.bss_bytes)}); {memory.page_size // 1024} KiB pages"
        )
    if facts.compressed is not None:
        rows["compressed"] = compressed_line(facts.compressed, facts.size)
    if facts.go is not None:
        settings = dict(facts.go.settings)
        keys = ("CGO_ENABLED", "-tags", "-trimpath", "-buildmode", "-ldflags")
        flags = " ".join(f"{k}={settings[k]}" for k in keys if k in settings)
        rows["Go"] = f"{facts.go.version} {facts.go.path}  {flags}"
    for name, value in rows.items():
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


def _show_largest(console: DataConsole, largest: Largest) -> None:
    """The largest functions and data objects, with their packages."""
    for kind, rows_of in (("functions", largest.functions), ("data objects", largest.data)):
        if not rows_of:
            continue
        spec: Spec[SymbolSize] = [
            (Column("symbol", keep=True), lambda r: r.name),
            (Column("bytes", right=True, keep=True), lambda r: str(r.bytes)),
            (Column("package", drop=1), lambda r: r.package),
        ]
        source = "from .gopclntab, padding included" if kind == "functions" else "from .symtab"
        render(console, f"largest {kind} ({source})", *tabulate(spec, rows_of))


def _show_modules(console: DataConsole, whole: Attribution) -> None:
    """Every module of the build info with its packages' bytes (all rows: a build has tens)."""
    size = max(1, whole.file_bytes)
    spec: Spec[ModuleShare] = [
        (Column("module", keep=True), lambda m: m.module),
        (Column("version", drop=5), lambda m: m.version or ""),
        (Column("packages", right=True, drop=4), lambda m: str(m.packages)),
        (Column("file bytes", right=True, keep=True), lambda m: format_size(m.file_bytes)),
        (Column("share", right=True, keep=True), lambda m: f"{100 * m.file_bytes / size:.1f}%"),
        (Column("code", right=True, drop=3), lambda m: format_size(m.code_bytes)),
        (Column("pclntab", right=True, drop=2), lambda m: format_size(m.pclntab_bytes)),
        (Column("data", right=True, drop=1), lambda m: format_size(m.rodata_bytes + m.data_bytes)),
    ]
    title = f"modules ({len(whole.by_module)}; the file bytes of their packages)"
    render(console, title, *tabulate(spec, whole.by_module))


def _show_attribution(console: DataConsole, whole: Attribution, limit: int) -> None:
    """Every byte of the file: the largest packages with their parts, then every bucket."""
    size = max(1, whole.file_bytes)
    spec: Spec[PackageShare] = [
        (Column("owner", keep=True), lambda p: p.package),
        (Column("file bytes", right=True, keep=True), lambda p: format_size(p.file_bytes)),
        (Column("share", right=True, keep=True), lambda p: f"{100 * p.file_bytes / size:.1f}%"),
        (Column("code", right=True, drop=4), lambda p: format_size(p.code_bytes)),
        (Column("pclntab", right=True, drop=3), lambda p: format_size(p.pclntab_bytes)),
        (Column("rodata", right=True, drop=2), lambda p: format_size(p.rodata_bytes)),
        (Column("data", right=True, drop=1), lambda p: format_size(p.data_bytes)),
        (Column("module", drop=5), lambda p: p.module),
    ]
    columns, rows = tabulate(spec, whole.by_package[:limit])
    summed = [(Cell(f"[{b.name}]", "dim"), b.file_bytes) for b in whole.buckets]
    if rest := whole.by_package[limit:]:
        summed.insert(0, (Cell(f"({len(rest)} more packages)"), sum(p.file_bytes for p in rest)))
    for owner, n in summed:
        rows.append([owner, format_size(n), f"{100 * n / size:.1f}%", *[""] * 5])
    packages = whole.file_bytes_attributed_to_packages
    title = (
        f"every byte of the file: {100 * packages / size:.1f}% to {len(whole.by_package)} "
        f"packages, the rest [in buckets]"
    )
    render(console, title, columns, rows)


def _show_dwarf_packages(console: DataConsole, units: Sequence[DwarfUnits], limit: int) -> None:
    """DWARF bytes per Go package (uncompressed .debug_info and .debug_line), largest first."""
    info, line = sum(u.info_bytes for u in units), sum(u.line_bytes for u in units)
    total = max(1, info + line)
    spec: Spec[DwarfUnits] = [
        (Column("package", keep=True), lambda u: u.package),
        (Column("units", right=True, drop=1), lambda u: str(u.units)),
        (Column(".debug_info", right=True), lambda u: format_size(u.info_bytes)),
        (Column(".debug_line", right=True), lambda u: format_size(u.line_bytes)),
        (
            Column("share", right=True, drop=2),
            lambda u: f"{100 * (u.info_bytes + u.line_bytes) / total:.1f}%",
        ),
    ]
    title = (
        f"DWARF by package (uncompressed, {len(units)} packages, "
        f"{format_size(info)} .debug_info + {format_size(line)} .debug_line)"
    )
    render(console, title, *tabulate(spec, units[:limit]))


def _show_totals(console: DataConsole, facts: Inspection) -> None:
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


def _show_packages(console: DataConsole, facts: Inspection, limit: int) -> None:
    total = sum(p.text_bytes for p in facts.packages)
    spec: Spec[PackageCode] = [
        (Column("package", keep=True), lambda p: p.package),
        (Column("module", drop=1), lambda p: p.module),
        (Column("text", right=True), lambda p: format_size(p.text_bytes)),
        (
            Column("share", right=True, drop=2),
            lambda p: f"{100 * p.text_bytes / total:.1f}%" if total else "-",
        ),
        (
            Column("init", right=True, drop=3),
            lambda p: format_size(p.init_bytes) if p.init_bytes else "-",
        ),
        (Column("funcs", right=True, drop=4), lambda p: str(p.functions)),
    ]
    n = len(facts.packages)
    title = f"Go code by package (from .gopclntab, {n} packages, {format_size(total)})"
    render(console, title, *tabulate(spec, facts.packages[:limit]))
