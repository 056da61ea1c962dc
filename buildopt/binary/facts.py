"""The facts of one ELF file: the ``buildopt.inspect/1`` object, as frozen typed models.

The same classes are what ``buildopt inspect --json`` prints, what a build record holds per
binary and what compare, gate and the console read - so the JSON is written and read in one
place, by msgspec, which checks every type on the way in and names the JSON path of a mismatch.
``Fact`` is the base: frozen, keyword-only, and fields with a default (the optional facts) are
left out of the JSON while they hold it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

INSPECT_SCHEMA = "buildopt.inspect/1"


class Fact(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A frozen, typed fact; required fields have no default, optional ones default to None."""


class ElfIdentity(Fact, frozen=True, rename={"elfclass": "class"}):
    elfclass: int  # 32 or 64; "class" in the JSON
    endian: Literal["little", "big"]
    machine: str  # pyelftools' name of e_machine: EM_X86_64
    type: str  # ET_EXEC, ET_DYN
    goarch: str | None


class SectionFact(Fact, frozen=True):
    name: str
    type: str
    size: int  # sh_size, as in the header
    file_size: int  # bytes in the file (0 for NOBITS)
    compressed: bool
    uncompressed_size: int
    category: str


class PackageBytes(Fact, frozen=True):
    package: str
    size: int


class SymbolFacts(Fact, frozen=True):
    count: int  # entries in .symtab, the null entry included (as readelf counts)
    symtab_bytes: int
    strtab_bytes: int
    by_package: tuple[PackageBytes, ...]  # file bytes of the package's symbols, largest first


class DwarfUnits(Fact, frozen=True):
    """The DWARF bytes of one Go package's compilation units (logical, uncompressed)."""

    package: str
    units: int
    info_bytes: int  # .debug_info: unit_length + its 4 (or 12) bytes, summed over the units
    line_bytes: int  # .debug_line: the line programs the units point at


class DwarfFacts(Fact, frozen=True):
    file_bytes: int
    uncompressed_bytes: int
    by_package: tuple[DwarfUnits, ...] | None = None  # only with inspect --dwarf


class Linking(Fact, frozen=True):
    static: bool
    interpreter: str | None
    needed: tuple[str, ...]
    rpath: str | None
    runpath: str | None
    soname: str | None
    pie: bool
    relro: Literal["none", "partial", "full"]
    nx: bool
    stripped: bool
    glibc_min: str | None


class ModuleVersion(Fact, frozen=True):
    path: str
    version: str


class GoFacts(Fact, frozen=True):
    """What ``go version -m`` prints: Go version, main module, dependencies, build settings."""

    version: str
    path: str
    main: ModuleVersion | None
    deps: tuple[ModuleVersion, ...]
    settings: dict[str, str]

    def setting(self, key: str) -> str | None:
        return self.settings.get(key)


class PackageCode(Fact, frozen=True):
    package: str
    module: str
    text_bytes: int
    init_bytes: int
    functions: int


class ModuleCode(Fact, frozen=True):
    module: str
    text_bytes: int


class PackageShare(Fact, frozen=True):
    """The bytes one Go package owns in the file (``file_bytes``: code + pclntab + rodata +
    data) and in memory (``bss_bytes``)."""

    package: str
    module: str
    file_bytes: int
    code_bytes: int  # its functions in .text, the alignment padding after each included
    pclntab_bytes: int  # its share of .gopclntab: names, functab entries, _func records,
    # pc-value tables, func data (where the section holds it)
    rodata_bytes: int  # its symbols in read-only data sections (from .symtab: 0 when stripped)
    data_bytes: int  # its symbols in writable data sections (from .symtab)
    bss_bytes: int  # its symbols in .bss/.noptrbss: memory, not file
    # of code_bytes, the alignment padding after its functions (their bytes to the next
    # function less their .symtab sizes); None without a symbol table to tell
    padding_bytes: int | None = None
    # with --dwarf: its compilation units' .debug_info + .debug_line, uncompressed (memory of
    # a debugger, not file bytes: the DWARF bucket holds the compressed sections)
    dwarf_bytes: int | None = None


class ModuleShare(Fact, frozen=True):
    """The bytes of a module's packages, summed (main module, each dependency, std)."""

    module: str
    version: str | None  # from the build info; None for std and the main module's "(devel)"
    packages: int
    file_bytes: int
    code_bytes: int
    pclntab_bytes: int
    rodata_bytes: int
    data_bytes: int
    bss_bytes: int


class SymbolSize(Fact, frozen=True):
    name: str
    package: str
    bytes: int


class Largest(Fact, frozen=True):
    """The largest functions (from .gopclntab: to the next function, so it works stripped)
    and data objects (from .symtab, when the file has one)."""

    functions: tuple[SymbolSize, ...]
    data: tuple[SymbolSize, ...]


class Bucket(Fact, frozen=True):
    """File bytes no Go package owns, by what they are."""

    name: str
    file_bytes: int
    what: str


class Attribution(Fact, frozen=True):
    """Every byte of the file to exactly one owner: the packages' file_bytes and the buckets'
    add up to ``file_bytes``, the file's size."""

    file_bytes: int
    file_bytes_attributed_to_packages: int
    by_package: tuple[PackageShare, ...]  # largest file_bytes first
    buckets: tuple[Bucket, ...]  # largest first
    by_module: tuple[ModuleShare, ...] = ()  # the packages summed by module, largest first


class MemoryModel(Fact, frozen=True):
    """What the loader maps of the file (PT_LOAD segments, in whole pages): see
    buildopt.binary.memory. shared + private = mapped."""

    page_size: int
    mapped_bytes: int
    read_execute_bytes: int  # code: clean file pages, shared between processes
    read_only_bytes: int  # rodata, Go's tables: clean file pages, shared
    read_write_bytes: int  # data: file pages copied on write, private
    bss_bytes: int  # anonymous zero pages, private
    relro_bytes: int  # pages relocated by the loader and then made read-only (in read_write)
    shared_bytes: int
    private_bytes: int


class CompressedSizes(Fact, frozen=True):
    """The file's size compressed as a flash image would hold it (buildopt.binary.compressed):
    each the exact size of what the command-line tool writes with these settings, computed by
    the library each tool is built on. None: not asked for."""

    gzip: int | None = None  # gzip -9 -n: deflate level 9 (zlib), gzip header without name
    xz: int | None = None  # xz -9e: preset 9 extreme, CRC64 check, one stream
    zstd: int | None = None  # zstd -19: with the content size and a checksum, as the CLI
    libraries: dict[str, str] = {}  # {"zlib": "1.2.13", "libzstd": "1.5.7"}: what computed them
    # which implementation made each size: {"zstd": "libzstd 1.5.4 (python zstandard 0.20.0)",
    # "xz": "xz CLI 5.4.1"}; empty in records of earlier releases
    made_by: dict[str, str] = {}


class Inspection(Fact, frozen=True):
    """Everything buildopt knows of one ELF file."""

    path: str
    size: int
    sha256: str
    gnu_build_id: str | None
    go_build_id: str | None
    elf: ElfIdentity
    sections: tuple[SectionFact, ...]
    totals: dict[str, int]  # file bytes per category (+ headers, padding; bss apart)
    symbols: SymbolFacts
    dwarf: DwarfFacts
    linking: Linking
    go: GoFacts | None
    pclntab: str | None  # the pclntab format, e.g. "go1.20"
    packages: tuple[PackageCode, ...]
    modules: tuple[ModuleCode, ...]
    warnings: tuple[str, ...]
    attribution: Attribution | None = None  # with inspect --attribution (and in build records)
    largest: Largest | None = None  # with inspect --symbols N
    memory: MemoryModel | None = None  # what the loader maps (None: no PT_LOAD segment)
    compressed: CompressedSizes | None = None  # with inspect --compressed, or a budget's need

    def section_sizes(self) -> dict[str, int]:
        return {s.name: s.size for s in self.sections if s.name}

    def package_sizes(self, whole: bool = True) -> dict[str, int]:
        """Bytes per package: the file bytes it owns when the attribution is known (and
        ``whole``), else its code."""
        if whole and self.attribution is not None:
            return {p.package: p.file_bytes for p in self.attribution.by_package}
        # A record written before package names were unescaped says v1%2e0%2e0 for v1.0.0.
        return {_unescaped(p.package): p.text_bytes for p in self.packages}

    def module_sizes(self, whole: bool = True) -> dict[str, int]:
        """Bytes per module: its packages' file bytes when the attribution is known (and
        ``whole``), else their code."""
        if whole and self.attribution is not None and self.attribution.by_module:
            return {m.module: m.file_bytes for m in self.attribution.by_module}
        return {m.module: m.text_bytes for m in self.modules}

    def package_modules(self) -> dict[str, str]:
        """The module of every package (by its unescaped name)."""
        owner = {_unescaped(p.package): p.module for p in self.packages}
        escaped = [p.package for p in self.packages if "%" in p.package]
        if escaped and self.go is not None:  # its module was not found under that name
            from buildopt.binary.go.names import module_of

            main = self.go.main.path if self.go.main else ""
            modules = (*(d.path for d in self.go.deps), *([main] if main else []))
            for name in map(_unescaped, escaped):
                owner[name] = module_of(name, modules, main)
        if self.attribution is not None:
            owner.update({p.package: p.module for p in self.attribution.by_package})
        return owner

    @property
    def symbol_bytes(self) -> int:
        return self.symbols.symtab_bytes + self.symbols.strtab_bytes


def _unescaped(package: str) -> str:
    if "%" not in package:
        return package
    from buildopt.binary.go.names import package_path

    return package_path(package.encode())
