"""Every byte of an ELF file to exactly one owner: a Go package, or a bucket that says what the
bytes are (headers, alignment, C code, runtime metadata, symbol tables, DWARF, ...).

The file is first cut into the categories of ``inspect.totals`` (each byte once: headers,
padding between sections, code, read-only data, data, Go metadata, symbol tables, DWARF,
dynamic linking, other). Each category is then shared out:

* **code**: every Go function's bytes (from the pclntab: to the next function, its alignment
  padding included) to the package of its name; functions with no Go compilation unit are C
  (cgo, the external linker's C runtime); the rest of the code sections is C and other
  non-Go code too.
* **Go metadata**: the .gopclntab section by its parts (pclntab.shares_of): each function's
  functab entry, _func record, pc-value tables and func data, and each name in the name table,
  to its package; the header, the source-file tables and the pc lookup table are buckets. The
  other Go metadata sections (.typelink, .itablink, .go.buildinfo, ...) are a bucket.
* **read-only data, data** (and bss, which is memory, not file): each .symtab symbol to the
  package of its name; symbols of no package (``type:``, ``go:``: type descriptors, strings,
  func data) are the "generated" bucket, bytes no symbol covers are a bucket. Without a symbol
  table (stripped) these categories are buckets.

What a category's packages get never exceeds it: if it would (a table that does not match its
sections), the whole category goes to its bucket and a warning says so.
"""

from __future__ import annotations

import operator
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import accumulate, compress

import msgspec

from buildopt.binary.elf.symtab import Symbols
from buildopt.binary.facts import Attribution, Bucket, DwarfUnits, ModuleShare, PackageShare
from buildopt.binary.go.names import GENERATED, attribute, module_of, package_of, package_path
from buildopt.binary.go.pclntab import NO_UNIT, FuncTable

BUCKETS = {
    "ELF headers": "the ELF header, the program headers and the section headers",
    "section alignment": "padding between sections, for their alignment",
    "C and other non-Go code": "functions compiled from C (cgo, the external linker's C "
    "runtime) with their function-table entries, and code outside any Go function",
    "generated": "what no package owns by its name: type descriptors, strings and func data "
    "(type:, go: symbols), compiler-made functions, C symbols and assembly data without a "
    "package prefix (K256)",
    "pclntab header and lookup": "the .gopclntab header, the end of its function table, and "
    "runtime.findfunctab (pc -> function buckets)",
    "pclntab source files": "the .gopclntab file tables: each compilation unit's source files",
    "pclntab unowned": ".gopclntab bytes no function refers to (alignment, the empty table)",
    "pclntab (not split)": ".gopclntab of Go before 1.18, or one that could not be split",
    "Go runtime metadata": ".typelink, .itablink, .go.buildinfo, .go.module, the Go build ID "
    "note and other Go sections but .gopclntab",
    "read-only data without a symbol": "read-only sections no .symtab symbol covers (all of "
    "them in a stripped file: no symbol table tells their owners)",
    "data without a symbol": "writable sections no .symtab symbol covers (all of them in a "
    "stripped file)",
    "symbol tables": ".symtab and .strtab (-ldflags=-s removes them)",
    "DWARF": "debug information (-ldflags=-w removes it)",
    "dynamic linking": "the interpreter, dynamic symbols, relocations, GOT, PLT and versions",
    "other sections": "sections that are not loaded: section names, comments, ...",
}
CATEGORY_BUCKETS = {
    "headers": "ELF headers",
    "padding": "section alignment",
    "symtab": "symbol tables",
    "dwarf": "DWARF",
    "dynamic": "dynamic linking",
    "other": "other sections",
}
# per package: file bytes by kind, bss, and its functions' .symtab sizes (for the padding)
CODE, PCLNTAB, RODATA, DATA, BSS, SYMBOLS, FUNCDATA = range(7)


def attribute_file(
    *,
    size: int,
    totals: Mapping[str, int],
    table: FuncTable | None,
    table_category: str | None,
    symbols: Symbols | None,
    modules: tuple[str, ...],
    main_module: str,
    versions: Mapping[str, str] | None = None,
) -> tuple[Attribution, tuple[str, ...]]:
    """The file's attribution, and warnings. ``totals``: inspect.totals (file bytes per
    category); ``table``: the function table decoded with shares, from the section of
    category ``table_category`` (None: not from a section); ``symbols``: read with classes."""
    owners: dict[str, list[int]] = defaultdict(lambda: [0] * 7)
    buckets: dict[str, int] = defaultdict(int)
    warnings: list[str] = []
    for category, bucket in CATEGORY_BUCKETS.items():
        buckets[bucket] += totals.get(category, 0)
    code_total, meta_total = totals.get("code", 0), totals.get("gometa", 0)
    if table is not None and table_category is not None:
        meta_total -= table.size if table_category == "gometa" else 0
        text_sizes = symbols.text_sizes if symbols else None
        code_total = _code_and_pclntab(table, owners, buckets, code_total, warnings, text_sizes)
    buckets["C and other non-Go code"] += code_total
    buckets["Go runtime metadata"] += meta_total
    if table is not None and table_category not in (None, "gometa"):
        warnings.append(f"the Go function table is in a {table_category} section: not split")
    # Symbols of a Go file, to the package of their name (C statics are left out when the
    # symbol table is read: see symtab.C_STATIC).
    by_class = dict(symbols.by_class) if symbols and symbols.by_class and table else {}
    # "$f64.3ff0...": the compiler's constants
    foreign = [by_class.pop(p) for p in list(by_class) if p.startswith("$")]
    if foreign:
        old = by_class.get(GENERATED, (0, 0, 0, 0))
        summed = tuple(map(sum, zip(old, *foreign, strict=True)))
        by_class[GENERATED] = (summed[0], summed[1], summed[2], summed[3])
    for column, category, bucket in (
        (RODATA, "rodata", "read-only data without a symbol"),
        (DATA, "data", "data without a symbol"),
    ):
        total = totals.get(category, 0)
        shares = {p: row[column - RODATA] for p, row in by_class.items()}
        if column == RODATA:  # the func data in .rodata (before Go 1.22), by function owner
            for p in [p for p, row in owners.items() if row[FUNCDATA]]:
                shares[p] = shares.get(p, 0) + owners[p][FUNCDATA]
        given = sum(shares.values())
        if given > total:
            warnings.append(
                f"the symbols of {category} sections cover {given} bytes, the sections {total}: "
                "not attributed to packages"
            )
        else:
            for p, n in shares.items():
                if n:
                    owners[p][column] += n
            total -= given
        buckets[bucket] += total
    for p, row in by_class.items():
        owners[p][BSS] += row[2]
        owners[p][SYMBOLS] += row[3]
    padded = bool(symbols and symbols.text_sizes) and table is not None
    whole = _result(size, owners, buckets, modules, main_module, padded)
    return _with_modules(whole, versions or {}), tuple(warnings)


def _code_and_pclntab(  # noqa: PLR0917 - the share-out's state, passed along
    table: FuncTable,
    owners: dict[str, list[int]],
    buckets: dict[str, int],
    code_total: int,
    warnings: list[str],
    text_sizes: Mapping[bytes, int] | None = None,
) -> int:
    """Share out the Go code and the pclntab section; the code bytes left for the C bucket.
    With the symbol table's function sizes, the sizes of assembly functions without a package
    prefix are counted for their package, whose padding is its code less its symbols."""
    layout = table.layout
    go_funcs = go_functions(table)
    c_funcs = list(map(operator.not_, go_funcs))
    # Hand-written assembly without a package prefix (cmpbody, expandAVX512_*): the package of
    # its compilation unit, which the other functions of the unit name.
    units = assembly_units(table, go_funcs)
    named_funcs = [g and i not in units for i, g in enumerate(go_funcs)] if units else go_funcs
    offsets = list(compress(table.name_offsets, named_funcs))
    code = list(compress(table.sizes, named_funcs))
    c_code = sum(compress(table.sizes, c_funcs))
    shares = layout.shares if layout else [0] * len(table.sizes)
    # three columns: the pclntab shares, the symbol sizes of assembly (added below), and the
    # func data outside .gopclntab (in .rodata, before Go 1.22)
    outside = layout.outside if layout and layout.outside else [0] * len(table.sizes)
    extra = [
        list(compress(shares, named_funcs)),
        [0] * len(offsets),
        list(compress(outside, named_funcs)),
    ]
    rows = attribute(table.funcnames, offsets, code, table.old_prefixes, False, extra=extra)
    names = table.names() if units and text_sizes else []
    for i, package in units.items():
        row = rows.setdefault(package.encode(), [0, 0, 0, 0, 0, 0])
        row[0] += table.sizes[i]
        row[3] += shares[i]
        row[5] += outside[i]
        # the symbol of an assembly function has no package: its size is counted here
        row[4] += text_sizes.get(names[i], 0) if names and text_sizes else 0
    go_code = sum(row[0] for row in rows.values())
    if go_code + c_code > code_total:
        warnings.append(
            f"the Go function table covers {go_code + c_code} bytes of code, the code sections "
            f"{code_total}: code not attributed to packages"
        )
        go_code = c_code = 0
        rows = {p: [0, 0, 0, *row[3:]] for p, row in rows.items()}
    for raw, row in rows.items():
        package = package_path(raw)
        owners[package][CODE] += row[0]
        owners[package][PCLNTAB] += row[3]
        owners[package][SYMBOLS] += row[4]
        owners[package][FUNCDATA] += row[5]
    buckets["C and other non-Go code"] += c_code
    if layout is None:
        buckets["pclntab (not split)"] += table.size
        return code_total - go_code - c_code
    buckets["C and other non-Go code"] += sum(compress(layout.shares, c_funcs))
    buckets["pclntab header and lookup"] += layout.header + layout.lookup
    buckets["pclntab source files"] += layout.file_tables
    buckets["pclntab unowned"] += layout.unowned
    _names(table, owners, buckets, c_funcs, units)
    return code_total - go_code - c_code


def go_functions(table: FuncTable) -> list[bool]:
    """Per function, whether it is Go's: of a Go compilation unit, or made by the linker."""
    layout = table.layout
    go_funcs: list[bool] = [True] * len(table.sizes)
    if layout:
        go_funcs = [u != NO_UNIT for u in layout.units]
        # Without a Go compilation unit: C functions, and what the linker adds - trampolines
        # to far Go functions (riscv64, arm, ppc64: "pkg.F-tramp0") and markers ("go:...")
        # that belong where their names say.
        for i in compress(range(len(go_funcs)), map(operator.not_, go_funcs)):
            start = table.name_offsets[i]
            end = table.funcnames.find(b"\0", start)
            name = table.funcnames[start : end if end >= 0 else None]
            go_funcs[i] = b"-tramp" in name or name.startswith((b"go:", b"go.", b"type:"))
    return go_funcs


def generated_functions(table: FuncTable) -> dict[str, tuple[int, int]]:
    """{name: (code bytes, pclntab bytes)} of the Go functions named without a package
    (``type:.eq.*``, ``type:.hash.*``), as attribute_file counts them in the "generated"
    bucket: code, functab share and name. Empty for a table whose func data is outside
    .gopclntab (before Go 1.22) or that is not split."""
    layout = table.layout
    if layout is None or layout.outside:
        return {}
    go_funcs = go_functions(table)
    units = assembly_units(table, go_funcs)
    generated = GENERATED.encode()
    found: dict[str, tuple[int, int]] = {}
    named: set[int] = set()
    for i in compress(range(len(go_funcs)), go_funcs):
        start = table.name_offsets[i]
        end = table.funcnames.find(b"\0", start)
        raw = table.funcnames[start : end if end >= 0 else None]
        if i in units or package_of(raw, table.old_prefixes) != generated:
            continue
        name_bytes = 0 if start in named else len(raw) + (end >= 0)
        named.add(start)
        code, pcln = found.get(raw.decode("utf-8", "replace"), (0, 0))
        found[raw.decode("utf-8", "replace")] = (
            code + table.sizes[i],
            pcln + layout.shares[i] + name_bytes,
        )
    return found


def _names(
    table: FuncTable,
    owners: dict[str, list[int]],
    buckets: dict[str, int],
    c_funcs: Sequence[bool],
    units: Mapping[int, str],
) -> None:
    """The name table, name by name: a function's name (and an inlined one's) to its package,
    a C function's to the C bucket, an assembly function's to its unit's package."""
    names = table.funcnames
    lengths = [len(n) + 1 for n in names.split(b"\0")]
    lengths[-1] -= 1  # no NUL after the last: the table ends there
    starts = list(accumulate(lengths, initial=0))[:-1]
    c_names = set(compress(table.name_offsets, c_funcs))
    is_c = list(map(c_names.__contains__, starts)) if c_names else [False] * len(starts)
    buckets["C and other non-Go code"] += sum(compress(lengths, is_c))
    by_unit = {table.name_offsets[i]: package for i, package in units.items()}
    if by_unit:  # the names of assembly functions go with them
        length_at = dict(zip(starts, lengths, strict=True))
        for offset, package in by_unit.items():
            owners[package][PCLNTAB] += length_at.get(offset, 0)
        is_c = list(map(operator.or_, is_c, map(by_unit.__contains__, starts)))
    keep = list(map(operator.not_, is_c))  # counted above: C names, assembly names
    named = attribute(
        names,
        list(compress(starts, keep)),
        list(compress(lengths, keep)),
        table.old_prefixes,
        False,
    )
    for raw, row in named.items():
        owners[package_path(raw)][PCLNTAB] += row[0]


def assembly_units(table: FuncTable, go_funcs: Sequence[bool]) -> dict[int, str]:
    """{function index: package} for the Go functions named without any dot - assembly of no
    package prefix, which the function table decoded with their source files - whose source
    file's directory, or else whose compilation unit, names their package."""
    layout = table.layout
    if layout is None or not layout.sources:
        return {}
    wanted = [i for i in layout.sources if go_funcs[i]]
    dotless = {table.name_offsets[i] for i in layout.sources}
    # The unit's package is the one most of its named functions name: a unit can hold
    # functions named after another package (internal/bytealg's runtime.memequal, linknamed).
    units = {layout.units[i] for i in wanted}
    votes: dict[int, dict[bytes, int]] = {u: {} for u in units}
    for i in compress(range(len(go_funcs)), map(units.__contains__, layout.units)):
        start = table.name_offsets[i]
        if start in dotless:
            continue
        end = table.funcnames.find(b"\0", start)
        package = package_of(table.funcnames[start : end if end >= 0 else None], table.old_prefixes)
        if package != GENERATED.encode():
            tally = votes[layout.units[i]]
            tally[package] = tally.get(package, 0) + 1
    packages = {
        u: package_path(max(tally, key=lambda p: (tally[p], p)))
        for u, tally in votes.items()
        if tally
    }
    known = {p for tally in votes.values() for p in tally}
    out = {}
    for i in wanted:
        # the directory of its source file, where that is a package of this binary; else the
        # package most of its unit's named functions name
        directory = package_dir(layout.sources[i])
        if directory and directory.encode() in known:
            out[i] = package_path(directory.encode())
        elif layout.units[i] in packages:
            out[i] = packages[layout.units[i]]
    return out


def package_dir(path: str) -> str:
    """The import path of a source file's directory, as the file table names it: under the
    module cache (``.../pkg/mod/github.com/x/y@v1.2.3/sub/f.s``, or trimmed
    ``github.com/x/y@v1.2.3/sub/f.s``), under GOROOT or GOPATH (``.../src/internal/bytealg/
    f.s``) or trimmed std (``internal/bytealg/f.s``); "" when it says nothing of the kind."""
    if "/" not in path:
        return ""
    directory = path.rsplit("/", 1)[0]
    if "/pkg/mod/" in directory:
        directory = directory.rsplit("/pkg/mod/", 1)[1]
    elif "/src/" in directory:
        directory = directory.rsplit("/src/", 1)[1]
    elif directory.startswith("/"):
        return ""
    parts = directory.split("/")
    at = next((k for k, part in enumerate(parts) if "@" in part), None)
    if at is None:
        return directory
    # module@version/sub: the module path, with the module cache's escaping (!x for X) undone
    module = "/".join([*parts[:at], parts[at].split("@", 1)[0]])
    module = re.sub(r"!([a-z])", lambda m: m.group(1).upper(), module)
    return "/".join([module, *parts[at + 1 :]])


def _result(  # noqa: PLR0917 - the share-out's state, passed along
    size: int,
    owners: dict[str, list[int]],
    buckets: dict[str, int],
    modules: tuple[str, ...],
    main_module: str,
    padded: bool = False,
) -> Attribution:
    generated = owners.pop(GENERATED, None)
    if generated is not None:
        buckets["generated"] += sum(generated[:BSS])
    shares = []
    for package, row in owners.items():
        file_bytes = sum(row[:BSS])
        if file_bytes or row[BSS]:
            shares.append(
                PackageShare(
                    package=package,
                    module=module_of(package, modules, main_module),
                    file_bytes=file_bytes,
                    code_bytes=row[CODE],
                    pclntab_bytes=row[PCLNTAB],
                    rodata_bytes=row[RODATA],
                    data_bytes=row[DATA],
                    bss_bytes=row[BSS],
                    padding_bytes=max(0, row[CODE] - row[SYMBOLS]) if padded else None,
                )
            )
    shares.sort(key=lambda p: (-p.file_bytes, p.package))
    kept = sorted(
        (Bucket(name=name, file_bytes=n, what=BUCKETS[name]) for name, n in buckets.items() if n),
        key=lambda b: (-b.file_bytes, b.name),
    )
    attributed = sum(p.file_bytes for p in shares)
    return Attribution(
        file_bytes=size,
        file_bytes_attributed_to_packages=attributed,
        by_package=tuple(shares),
        buckets=tuple(kept),
    )


def rebuilt(  # noqa: PLR0917 - attribute_file's state, passed along
    size: int,
    owners: Mapping[str, list[int]],
    buckets: Mapping[str, int],
    modules: tuple[str, ...],
    main_module: str,
    versions: Mapping[str, str],
    padded: bool,
) -> Attribution:
    """The attribution of rows and buckets changed after attribute_file (binary/owners.py)."""
    rows: dict[str, list[int]] = defaultdict(lambda: [0] * 7, owners)
    whole = _result(size, rows, defaultdict(int, buckets), modules, main_module, padded)
    return _with_modules(whole, versions)


SUMMED = ("file_bytes", "code_bytes", "pclntab_bytes", "rodata_bytes", "data_bytes", "bss_bytes")


def _with_modules(whole: Attribution, versions: Mapping[str, str]) -> Attribution:
    """The attribution with its packages summed by module (versions from the build info)."""
    packages: dict[str, list[PackageShare]] = defaultdict(list)
    for p in whole.by_package:
        packages[p.module].append(p)
    by_module = (
        ModuleShare(
            module=m,
            version=versions.get(m),
            packages=len(ps),
            **{k: sum(getattr(p, k) for p in ps) for k in SUMMED},
        )
        for m, ps in packages.items()
    )
    ranked = sorted(by_module, key=lambda m: (-m.file_bytes, m.module))
    return msgspec.structs.replace(whole, by_module=tuple(ranked))


def with_dwarf(whole: Attribution, units: Sequence[DwarfUnits]) -> Attribution:
    """The attribution with each package's DWARF (its compilation units' .debug_info and
    .debug_line, uncompressed, as inspect --dwarf counts them): beside its file bytes, not in
    them - the DWARF sections are compressed as a whole, so a package's share of their file
    bytes does not exist; the DWARF bucket holds those."""
    sizes = {u.package: u.info_bytes + u.line_bytes for u in units}
    shares = tuple(
        msgspec.structs.replace(p, dwarf_bytes=sizes.get(p.package, 0)) for p in whole.by_package
    )
    return msgspec.structs.replace(whole, by_package=shares)
