"""The inspector: exact facts about one ELF file, Go-aware, from its headers and tables.

Every number is read from the file itself (sizes from headers, logical DWARF sizes from the
compression headers, never by decompressing) so that it agrees with readelf, objcopy and
``go version -m`` to the byte. File-backed categories plus headers plus padding add up to the
file size exactly; NOBITS sections (.bss) are memory and counted apart.
"""

from __future__ import annotations

import contextlib
import heapq
import re
import struct
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

from buildopt.binary.attribution import (
    assembly_units,
    attribute_file,
    generated_functions,
    with_dwarf,
)
from buildopt.binary.digest import Hashing
from buildopt.binary.elf.dwarf import DwarfError, units_by_package
from buildopt.binary.elf.reader import (
    SHF_ALLOC,
    SHF_COMPRESSED,
    SHF_EXECINSTR,
    SHF_WRITE,
    ElfLayout,
    Section,
    open_elf,
    read_at,
    section_bytes,
)
from buildopt.binary.elf.strings import strings_at
from buildopt.binary.elf.symtab import (
    BSS,
    DATA,
    NONE,
    RODATA,
    SHN_LORESERVE,
    TEXT,
    Symbols,
    read_columns,
    read_symbols,
)
from buildopt.binary.facts import (
    Attribution,
    DwarfFacts,
    DwarfUnits,
    ElfIdentity,
    GoFacts,
    Inspection,
    Largest,
    Linking,
    ModuleCode,
    ModuleVersion,
    PackageBytes,
    PackageCode,
    SectionFact,
    SymbolFacts,
    SymbolSize,
)
from buildopt.binary.go import pclntab
from buildopt.binary.go.buildinfo import BuildInfo, BuildInfoError, read_buildinfo
from buildopt.binary.go.functab import PCLNTAB_SECTIONS, funcdata_outside, function_table
from buildopt.binary.go.names import GENERATED, module_of, package_of, package_path
from buildopt.binary.memory import memory_of
from buildopt.binary.symbols import symtab_sizes
from buildopt.names import CATEGORIES

if TYPE_CHECKING:
    from pathlib import Path


# e_machine -> GOARCH, by (class, little endian) where it matters.
GOARCH = {
    "EM_X86_64": "amd64",
    "EM_386": "386",
    "EM_AARCH64": "arm64",
    "EM_ARM": "arm",
    "EM_S390": "s390x",
    "EM_LOONGARCH": "loong64",
    "EM_SPARCV9": "sparc64",
}
GOARCH_BY_WIDTH = {
    ("EM_MIPS", 32, False): "mips",
    ("EM_MIPS", 32, True): "mipsle",
    ("EM_MIPS", 64, False): "mips64",
    ("EM_MIPS", 64, True): "mips64le",
    ("EM_PPC64", 64, False): "ppc64",
    ("EM_PPC64", 64, True): "ppc64le",
    ("EM_RISCV", 64, True): "riscv64",
    ("EM_PPC", 32, False): "ppc",
}
# the names as readelf -S lists them (SIM905: a literal of 12 names would take 14 lines)
GO_META_SECTIONS = frozenset(
    ".gopclntab .gosymtab .go.buildinfo .go.fipsinfo .go.module .typelink .itablink "  # noqa: SIM905
    ".data.rel.ro.typelink .data.rel.ro.itablink .data.rel.ro.gopclntab .note.go.buildid "
    ".go.buildid".split()
)
DYNAMIC_SECTIONS = frozenset(
    ".interp .dynamic .dynsym .dynstr .hash .gnu.hash .gnu.version .gnu.version_r "  # noqa: SIM905
    ".gnu.version_d .got .got.plt".split()
)


def inspect_file(
    path: str | Path,
    sha256: Callable[[], str] | None = None,
    *,
    dwarf: bool = False,
    attribution: bool = False,
    symbols: int = 0,
    twin: Symbols | None = None,
) -> Inspection:
    """All facts about one ELF file; NotElfError (exit 2) when it cannot be read.

    ``sha256`` gives the file's digest when it is computed elsewhere (buildopt inspect hashes
    all files on one thread); by default it is computed on a thread beside the decoding.
    ``dwarf`` adds the DWARF bytes per Go package (it decompresses the DWARF: costly).
    ``attribution`` adds every byte of the file to a package or a bucket (buildopt.binary.
    attribution; ~5 us per function: costly on big binaries). ``symbols`` adds that many of
    the largest functions and data objects. ``twin``: the symbols of a twin link of the same
    layout (binary.owners), which the attribution reads instead of the file's own.
    """
    if sha256 is not None:
        return _inspect(path, sha256, dwarf, attribution, symbols, twin)
    hashing = Hashing(path)
    try:
        return _inspect(path, hashing.result, dwarf, attribution, symbols, twin)
    finally:
        with contextlib.suppress(OSError):
            hashing.result()  # never leave it reading a file the caller may remove


def _inspect(  # noqa: PLR0917 - inspect_file's options, passed along
    path: str | Path,
    sha256: Callable[[], str],
    dwarf: bool,
    attribution: bool,
    top: int,
    twin: Symbols | None = None,
) -> Inspection:
    with open_elf(path) as (f, layout):
        present = [s for s in layout.sections if s.type != "SHT_NULL"]
        sections = tuple(section_fact(f, s) for s in present)
        go, warnings = _go_info(f, layout)
        table, problem = function_table(f, layout, shares=attribution or top > 0)
        if attribution and table is not None and table.layout and not table.layout.lookup:
            # go:func.* is not in .gopclntab (before Go 1.22): found through the module data
            outside = funcdata_outside(f, layout, table)
            if outside:
                table, problem = function_table(f, layout, shares=True, outside=outside)
        if problem:
            warnings = (*warnings, problem)
        by_package, problem = _dwarf_units(f) if dwarf else (None, None)
        if problem:
            warnings = (*warnings, problem)
        old = table.old_prefixes if table else (go is not None and _before_120(go.go_version))
        classes = _symbol_classes(layout) if attribution else None
        symbols = read_symbols(f, layout, old, classes)
        notes = _notes(f, layout)
        packages = packages_of(table, go) if table else ()
        sizes = totals(layout, zip(present, sections, strict=True))
        whole = None
        if attribution:
            whole, problems = _attribution(layout, sizes, table, twin or symbols, go)
            if by_package is not None:  # with --dwarf: each package's units beside its bytes
                whole = with_dwarf(whole, by_package)
            warnings = (*warnings, *problems)
        return Inspection(
            path=str(path),
            size=layout.size,
            sha256=sha256(),
            gnu_build_id=notes.get("gnu"),
            go_build_id=notes.get("go"),
            elf=ElfIdentity(
                elfclass=layout.elfclass,
                endian="little" if layout.little_endian else "big",
                machine=layout.machine,
                type=layout.type,
                goarch=goarch_of(layout),
            ),
            sections=sections,
            totals=sizes,
            symbols=SymbolFacts(
                count=symbols.count,
                symtab_bytes=symbols.symtab_bytes,
                strtab_bytes=symbols.strtab_bytes,
                by_package=tuple(PackageBytes(package=p, size=n) for p, n in symbols.by_package),
            ),
            dwarf=DwarfFacts(
                file_bytes=sum(s.file_size for s in sections if s.category == "dwarf"),
                uncompressed_bytes=sum(
                    s.uncompressed_size for s in sections if s.category == "dwarf"
                ),
                by_package=by_package,
            ),
            linking=linking_of(f, layout),
            go=None if go is None else go_facts(go),
            pclntab=table.format if table else None,
            packages=packages,
            modules=modules_of(packages),
            warnings=warnings,
            attribution=whole,
            largest=_largest(f, layout, table, top) if top > 0 else None,
            memory=memory_of(layout) if layout.segment("PT_LOAD") else None,
        )


class TwinSymbols(NamedTuple):
    """What a twin link's .symtab tells the attribution of the shipped binary."""

    symbols: Symbols  # read with classes, as the file's own would be
    data: dict[str, int]  # its data symbols' sizes by name (those a member is not)
    generated: dict[str, tuple[bool, int]]  # no package's: name -> (read-only, size)


def generated_functions_of(path: str | Path, twin: TwinSymbols) -> dict[str, tuple[int, int, int]]:
    """The Go functions of no package of a file (attribution.generated_functions), each with
    its .symtab size in the twin: name -> (code, pclntab bytes, symbol size)."""
    with open_elf(path) as (f, layout):
        table, _ = function_table(f, layout, shares=True)
    found = generated_functions(table) if table is not None else {}
    sizes = twin.symbols.text_sizes or {}
    return {n: (c, p, sizes.get(n.encode(), c)) for n, (c, p) in found.items()}


def twin_symbols(path: str | Path) -> TwinSymbols:
    """A twin link's symbols for the attribution (NotElfError when it cannot be read)."""
    with open_elf(path) as (f, layout):
        classes = _symbol_classes(layout)
        symbols = read_symbols(f, layout, False, classes)
        data: dict[str, int] = {}
        symtab_sizes(f, layout, {}, data)
        table = read_columns(f, layout)
    generated: dict[str, tuple[bool, int]] = {}
    if table is not None:
        kept = [
            (n, classes[x] == RODATA, z)
            for n, x, z in zip(table.names, table.shndx, table.sizes, strict=True)
            if z and x < SHN_LORESERVE and classes[x] in (RODATA, DATA)
        ]
        texts = strings_at(table.strings, [n for n, _, _ in kept])
        for (_, read_only, size), raw in zip(kept, texts, strict=True):
            if raw.startswith(b"$") or package_of(raw) == GENERATED.encode():
                name = raw.decode("utf-8", "replace")
                generated[name] = (read_only, generated.get(name, (read_only, 0))[1] + size)
    return TwinSymbols(symbols, data, generated)


def _largest(
    f: BinaryIO, layout: ElfLayout, table: pclntab.FuncTable | None, count: int
) -> Largest:
    """The ``count`` largest functions (of the function table) and data objects (.symtab)."""
    functions: list[SymbolSize] = []
    if table is not None:
        assembly = assembly_units(table, [True] * len(table.sizes))
        top = heapq.nlargest(count, range(len(table.sizes)), key=table.sizes.__getitem__)
        names = strings_at(table.funcnames, [table.name_offsets[i] for i in top])
        for i, raw in zip(top, names, strict=True):
            package = assembly.get(i) or package_path(package_of(raw, table.old_prefixes))
            functions.append(
                SymbolSize(name=package_path(raw), package=package, bytes=table.sizes[i])
            )
    data: list[SymbolSize] = []
    found: dict[str, int] = {}
    symtab_sizes(f, layout, {}, found)
    for name, size in heapq.nlargest(count, found.items(), key=lambda kv: kv[1]):
        package = package_path(package_of(name.encode()))
        data.append(SymbolSize(name=package_path(name.encode()), package=package, bytes=size))
    return Largest(functions=tuple(functions), data=tuple(data))


def _symbol_classes(layout: ElfLayout) -> bytes:
    """Per section index, the column its symbols count in: read-only data, data or bss by the
    section's category; none for code (the pclntab has it) and everything else."""
    wanted = {"rodata": RODATA, "data": DATA, "bss": BSS, "code": TEXT}
    classes = bytearray(65536)
    for i, raw in enumerate(layout.sections[:SHN_LORESERVE]):
        if raw.type != "SHT_NULL":
            classes[i] = wanted.get(category_of(raw), NONE)
    return bytes(classes)


def _attribution(
    layout: ElfLayout,
    sizes: dict[str, int],
    table: pclntab.FuncTable | None,
    symbols: Symbols,
    go: BuildInfo | None,
) -> tuple[Attribution, tuple[str, ...]]:
    modules, main_module = go.module_paths() if go else ((), "")
    pcln = next(filter(None, map(layout.section, PCLNTAB_SECTIONS)), None)
    # the function table's category when it is that section, whole (else it is not split)
    holder = category_of(pcln) if pcln and table and pcln.file_size == table.size else None
    versions = {d.path: d.version for d in go.deps} if go else {}
    if go and go.main and go.main.version not in ("", "(devel)"):
        versions[go.main.path] = go.main.version
    return attribute_file(
        size=layout.size,
        totals=sizes,
        table=table,
        table_category=holder,
        symbols=symbols,
        modules=modules,
        main_module=main_module,
        versions=versions,
    )


def _dwarf_units(f: BinaryIO) -> tuple[tuple[DwarfUnits, ...] | None, str | None]:
    """DWARF bytes per package, or why they cannot be had (a warning, not an error: the
    other facts of the file stand)."""
    try:
        return units_by_package(f), None
    except DwarfError as exc:
        return None, f"DWARF per package is unreadable: {exc}"


def goarch_of(layout: ElfLayout) -> str | None:
    return GOARCH.get(layout.machine) or GOARCH_BY_WIDTH.get(
        (layout.machine, layout.elfclass, layout.little_endian)
    )


# --- sections and categories -----------------------------------------------------------------


CATEGORY_RULES: tuple[tuple[str, Callable[[Section], bool]], ...] = (
    ("dwarf", lambda s: s.name.startswith((".debug_", ".zdebug_"))),
    ("symtab", lambda s: s.name in (".symtab", ".strtab") or s.type == "SHT_SYMTAB"),
    ("gometa", lambda s: s.name in GO_META_SECTIONS or s.name.startswith(".go.")),
    ("bss", lambda s: s.type == "SHT_NOBITS"),
    (
        "dynamic",
        lambda s: s.name in DYNAMIC_SECTIONS or s.type in ("SHT_RELA", "SHT_REL", "SHT_DYNAMIC"),
    ),
    ("other", lambda s: not s.flags & SHF_ALLOC),
    ("code", lambda s: bool(s.flags & SHF_EXECINSTR)),
    ("data", lambda s: bool(s.flags & SHF_WRITE)),
)


def category_of(section: Section) -> str:
    """The first rule that matches, in order; what is left is allocated read-only data."""
    return next((name for name, rule in CATEGORY_RULES if rule(section)), "rodata")


def section_fact(f: BinaryIO, section: Section) -> SectionFact:
    compressed, logical = bool(section.flags & SHF_COMPRESSED), section.data_size
    if not compressed and section.name.startswith(".zdebug_") and section.size >= 12:
        head = read_at(f, section.offset, 12)
        if head[:4] == b"ZLIB":
            compressed, logical = True, struct.unpack(">Q", head[4:12])[0]
    return SectionFact(
        name=section.name,
        type=section.type,
        size=section.size,
        file_size=section.file_size,
        compressed=compressed,
        uncompressed_size=logical,
        category=category_of(section),
    )


def totals(layout: ElfLayout, sections: Iterable[tuple[Section, SectionFact]]) -> dict[str, int]:
    """Bytes per category; with headers and padding they add up to the file size exactly."""
    out = dict.fromkeys(CATEGORIES, 0)
    intervals: list[tuple[int, int, str]] = [(0, layout.header_bytes, "headers")]
    for offset, size in (layout.program_headers, layout.section_headers):
        if size:
            intervals.append((offset, offset + size, "headers"))
    for raw, fact in sections:
        if fact.category == "bss":
            out["bss"] += fact.size
        elif raw.file_size:
            intervals.append((raw.offset, raw.end, fact.category))
    covered = 0  # each file byte is counted once, in the first interval that covers it
    for start, end, category in sorted(intervals):
        gain = max(0, end - max(start, covered))
        out[category] += gain
        covered = max(covered, end)
    out["padding"] = layout.size - sum(v for k, v in out.items() if k != "bss")
    return out


# --- linking and hardening -------------------------------------------------------------------


def linking_of(f: BinaryIO, layout: ElfLayout) -> Linking:
    interp = layout.segment("PT_INTERP")
    interpreter = None
    if interp is not None:
        interpreter = (
            read_at(f, interp.offset, interp.filesz).split(b"\0")[0].decode(errors="replace")
        )
    dyn = layout.dynamic
    relro_seg = layout.segment("PT_GNU_RELRO")
    stack = layout.segment("PT_GNU_STACK")
    return Linking(
        static=interpreter is None and not dyn.needed,
        interpreter=interpreter,
        needed=dyn.needed,
        rpath=dyn.rpath,
        runpath=dyn.runpath,
        soname=dyn.soname,
        pie=layout.type == "ET_DYN" and (interpreter is not None or dyn.pie_flag),
        relro="none" if relro_seg is None else ("full" if dyn.bind_now else "partial"),
        nx=stack is not None and not stack.flags & 0x1,
        stripped=layout.section(".symtab") is None,
        glibc_min=glibc_min(layout.version_needs),
    )


def glibc_min(needs: tuple[tuple[str, str], ...]) -> str | None:
    """The newest GLIBC_x.y version the file requires: the oldest glibc it runs on."""
    versions = []
    for _, name in needs:
        match = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)*)", name)
        if match:
            versions.append(tuple(int(p) for p in match.group(1).split(".")))
    return ".".join(map(str, max(versions))) if versions else None


def _notes(f: BinaryIO, layout: ElfLayout) -> dict[str, str]:
    """GNU build-id (hex) and Go build ID (text) from their note sections."""
    out: dict[str, str] = {}
    order = "<" if layout.little_endian else ">"
    for name, key in ((".note.gnu.build-id", "gnu"), (".note.go.buildid", "go")):
        section = layout.section(name)
        if section is None or section.file_size < 12:
            continue
        data = section_bytes(f, section)
        namesz, descsz, _ = struct.unpack_from(order + "III", data, 0)
        start = 12 + (namesz + 3) // 4 * 4
        desc = data[start : start + descsz]
        out[key] = desc.hex() if key == "gnu" else desc.decode("utf-8", "replace")
    return out


# --- Go ------------------------------------------------------------------------------------------


def _before_120(version: str) -> bool:
    match = re.match(r"go1\.(\d+)", version)
    return match is not None and int(match.group(1)) < 20


def _go_info(f: BinaryIO, layout: ElfLayout) -> tuple[BuildInfo | None, tuple[str, ...]]:
    try:
        info = read_buildinfo(f, layout)
    except BuildInfoError as exc:
        return None, (f"Go build info is unreadable: {exc}",)
    if info is None:
        return None, ()
    return info, deploy_warnings(info)


def deploy_warnings(info: BuildInfo) -> tuple[str, ...]:
    """Build settings that matter at deploy time."""
    warnings = []
    godebug = dict(
        kv.split("=", 1) for kv in (info.setting("DefaultGODEBUG") or "").split(",") if "=" in kv
    )
    if godebug.get("containermaxprocs") == "0" or godebug.get("updatemaxprocs") == "0":
        warnings.append(
            "DefaultGODEBUG has containermaxprocs=0/updatemaxprocs=0: GOMAXPROCS ignores the "
            "container's CPU limit (the main module's go.mod says go <= 1.24)"
        )
    if info.setting("-trimpath") != "true":
        warnings.append("built without -trimpath: build paths are embedded in the binary")
    if info.setting("vcs.modified") == "true":
        warnings.append("built from a modified VCS checkout (vcs.modified=true)")
    return tuple(warnings)


def packages_of(table: pclntab.FuncTable, go: BuildInfo | None) -> tuple[PackageCode, ...]:
    """Text and init bytes per package, from the function table (works on stripped files)."""
    modules, main_module = go.module_paths() if go else ((), "")
    rows = []
    for raw, (size, count, init) in table.by_package().items():
        p = package_path(raw)
        rows.append(
            PackageCode(
                package=p,
                module=module_of(p, modules, main_module),
                text_bytes=size,
                init_bytes=init,
                functions=count,
            )
        )
    return tuple(sorted(rows, key=lambda r: (-r.text_bytes, r.package)))


# --- Go build info and modules -----------------------------------------------------------------


def go_facts(go: BuildInfo) -> GoFacts:
    """The build info as ``go version -m`` shows it (settings by key)."""
    return GoFacts(
        version=go.go_version,
        path=go.path,
        main=None if go.main is None else ModuleVersion(path=go.main.path, version=go.main.version),
        deps=tuple(ModuleVersion(path=d.path, version=d.version) for d in go.deps),
        settings=dict(go.settings),
    )


def modules_of(packages: tuple[PackageCode, ...]) -> tuple[ModuleCode, ...]:
    """Code bytes per module, largest first."""
    sizes: dict[str, int] = defaultdict(int)
    for p in packages:
        sizes[p.module] += p.text_bytes
    return tuple(
        ModuleCode(module=m, text_bytes=n)
        for m, n in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))
    )
