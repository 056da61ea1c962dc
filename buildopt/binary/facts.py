"""The facts of one ELF file: the ``buildopt.inspect/1`` object, as frozen typed models.

The same classes are what ``buildopt inspect --json`` prints, what a build record holds per
binary and what compare, gate and the console read - so the JSON is written and read in one
place, by msgspec, which checks every type on the way in and names the JSON path of a mismatch.
``Fact`` is the base: frozen, keyword-only, and fields with a default (the optional facts) are
left out of the JSON while they hold it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from buildopt.names import CATEGORIES, FORMATS

INSPECT_SCHEMA: Literal["buildopt.inspect/1"] = "buildopt.inspect/1"

# The constrained values of the JSON documents; the JSON Schemas are generated from these
# annotations (buildopt.output.schemas), and msgspec checks them as it reads a document - but
# a digest's form, which the schema states and reading leaves alone (as before).
Bytes = Annotated[int, Meta(ge=0)]
Count = Annotated[int, Meta(ge=0)]
Sha256 = Annotated[str, Meta(extra_json_schema={"pattern": "^[0-9a-f]{64}$"})]


def described(text: str) -> Meta:
    """A field's description in the JSON Schema."""
    return Meta(description=text)


class Fact(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A frozen, typed fact; required fields have no default, optional ones default to None."""


class ElfIdentity(Fact, frozen=True, rename={"elfclass": "class"}):
    elfclass: Annotated[int, Meta(extra_json_schema={"enum": [32, 64]})]  # "class" in the JSON
    endian: Literal["little", "big"]
    machine: Annotated[str, described("e_machine as pyelftools spells it, e.g. EM_X86_64")]
    type: Annotated[str, described("e_type, e.g. ET_EXEC, ET_DYN")]
    goarch: str | None


class SectionFact(Fact, frozen=True):
    name: str
    type: str
    size: Annotated[Bytes, described("sh_size as in the header")]
    file_size: Annotated[Bytes, described("0 for NOBITS")]
    compressed: bool
    uncompressed_size: Bytes
    category: Annotated[str, Meta(extra_json_schema={"enum": list(CATEGORIES)})]


class PackageBytes(Fact, frozen=True):
    package: str
    size: Bytes


class SymbolFacts(Fact, frozen=True):
    count: Count  # entries in .symtab, the null entry included (as readelf counts)
    symtab_bytes: Bytes
    strtab_bytes: Bytes
    by_package: tuple[PackageBytes, ...]  # file bytes of the package's symbols, largest first


class DwarfUnits(Fact, frozen=True):
    """The DWARF bytes of one Go package's compilation units (logical, uncompressed)."""

    package: str
    units: Annotated[int, Meta(ge=1)]
    info_bytes: Bytes  # .debug_info: unit_length + its 4 (or 12) bytes, summed over the units
    line_bytes: Bytes  # .debug_line: the line programs the units point at


class DwarfFacts(Fact, frozen=True):
    file_bytes: Bytes
    uncompressed_bytes: Bytes
    by_package: Annotated[
        tuple[DwarfUnits, ...] | None,
        described(
            "only with inspect --dwarf (or a max_dwarf_package budget): the compilation units "
            "of each Go package, uncompressed bytes, largest first"
        ),
    ] = None


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
    text_bytes: Bytes
    init_bytes: Bytes
    functions: Count


class ModuleCode(Fact, frozen=True):
    module: str
    text_bytes: Bytes


class PackageShare(Fact, frozen=True):
    """The bytes one Go package owns in the file (``file_bytes``: code + pclntab + rodata +
    data) and in memory (``bss_bytes``)."""

    package: Annotated[str, described("the import path")]
    module: str
    file_bytes: Annotated[Bytes, described("code + pclntab + rodata + data")]
    code_bytes: Annotated[
        Bytes, described("its functions in the code sections, the alignment padding after each")
    ]
    pclntab_bytes: Annotated[
        Bytes,
        described(
            "its names, functab entries, _func records, pc-value tables and (Go 1.22+) func "
            "data in .gopclntab"
        ),
    ]
    rodata_bytes: Annotated[
        Bytes, described("its .symtab symbols in read-only data sections (0 when stripped)")
    ]
    data_bytes: Annotated[
        Bytes, described("its .symtab symbols in writable data sections (0 when stripped)")
    ]
    bss_bytes: Annotated[Bytes, described("its .symtab symbols in .bss/.noptrbss: memory")]
    padding_bytes: Annotated[
        Bytes | None,
        described(
            "of code_bytes, the alignment padding after its functions (code less their .symtab "
            "sizes); null when the file is stripped"
        ),
    ] = None
    dwarf_bytes: Annotated[
        Bytes | None,
        described(
            "with --dwarf: its compilation units' .debug_info + .debug_line, uncompressed; not "
            "in file_bytes (the DWARF bucket holds the compressed sections)"
        ),
    ] = None


class ModuleShare(Fact, frozen=True):
    """The bytes of a module's packages, summed (main module, each dependency, std)."""

    module: str
    version: Annotated[
        str | None,
        described("from the build info; null for std and a main module built as (devel)"),
    ]
    packages: Count
    file_bytes: Bytes
    code_bytes: Bytes
    pclntab_bytes: Bytes
    rodata_bytes: Bytes
    data_bytes: Bytes
    bss_bytes: Bytes


class SymbolSize(Fact, frozen=True):
    name: Annotated[str, described("with the package path unescaped")]
    package: Annotated[
        str,
        described(
            "debug/gosym's rule; assembly without a package prefix: its source file's package"
        ),
    ]
    bytes: Bytes


class Largest(Fact, frozen=True):
    """The largest functions (from .gopclntab: to the next function, so it works stripped)
    and data objects (from .symtab, when the file has one)."""

    functions: tuple[SymbolSize, ...]
    data: tuple[SymbolSize, ...]


class Bucket(Fact, frozen=True):
    """File bytes no Go package owns, by what they are."""

    name: str
    file_bytes: Bytes
    what: str


class Attribution(Fact, frozen=True):
    """Every byte of the file to exactly one owner: the packages' file_bytes and the buckets'
    add up to ``file_bytes``, the file's size."""

    file_bytes: Annotated[Bytes, described("the file's size")]
    file_bytes_attributed_to_packages: Bytes
    by_package: tuple[PackageShare, ...]  # largest file_bytes first
    buckets: tuple[Bucket, ...]  # largest first
    by_module: Annotated[
        tuple[ModuleShare, ...],
        described("the packages summed by module of the build info, largest first"),
    ] = ()
    method: Annotated[
        Literal["symbols", "linker"],
        described(
            '"symbols": the file\'s own tables (function table, .symtab); "linker": besides, '
            "the strings, type descriptors and statics no symbol sizes, to their owners by a "
            "twin link's -dumpdep (buildopt build; docs/attribution.md)"
        ),
    ] = "symbols"
    first_referrer_bytes: Annotated[
        Bytes | None,
        described(
            'with "linker": of the packages\' bytes, those given to the package that reached '
            "them first (strings, unnamed types): another package may use them too"
        ),
    ] = None
    alignment_bytes: Annotated[
        Bytes | None,
        described(
            'with "linker": of the packages\' bytes, the alignment padding after their type '
            "descriptors (each to its size rounded up to its alignment, as the linker aligns "
            "it; the padding no slot explains stays in the bucket)"
        ),
    ] = None
    linker_fallback: Annotated[
        str | None,
        described(
            'why the method is "symbols" though buildopt build asked the linker (the twin '
            "link failed or did not match the shipped binary)"
        ),
    ] = None


class MemoryModel(Fact, frozen=True):
    """What the loader maps of the file (PT_LOAD segments, in whole pages): see
    buildopt.binary.memory. shared + private = mapped."""

    page_size: Bytes
    mapped_bytes: Bytes
    read_execute_bytes: Bytes  # code: clean file pages, shared between processes
    read_only_bytes: Bytes  # rodata, Go's tables: clean file pages, shared
    read_write_bytes: Bytes  # data: file pages copied on write, private
    bss_bytes: Bytes  # anonymous zero pages, private
    relro_bytes: Bytes  # pages relocated by the loader and then made read-only (in read_write)
    shared_bytes: Bytes
    private_bytes: Bytes


class CompressedSizes(Fact, frozen=True):
    """The file's size compressed as a flash image would hold it (buildopt.binary.compressed):
    each the exact size of what the command-line tool writes with these settings, computed by
    the library each tool is built on. None: not asked for."""

    gzip: Bytes | None = None  # gzip -9 -n: deflate level 9 (zlib), gzip header without name
    xz: Bytes | None = None  # xz -9e: preset 9 extreme, CRC64 check, one stream
    zstd: Bytes | None = None  # zstd -19: with the content size and a checksum, as the CLI
    libraries: Annotated[
        dict[str, str],
        described(
            'the versions of the libraries that computed the sizes: {"zlib": "1.2.13", '
            '"liblzma": "5.4.1", "libzstd": "1.5.4", "python-zstandard": "0.20.0"}'
        ),
    ] = {}
    made_by: Annotated[
        dict[str, str],
        described(
            'per format, what made its size: "zlib 1.2.13", "liblzma 5.4.1", "libzstd 1.5.4, '
            'python zstandard 0.20.0", or "zstd CLI 1.5.4" (absent in records of earlier '
            "releases)"
        ),
        Meta(extra_json_schema={"propertyNames": {"enum": list(FORMATS)}}),
    ] = {}


class Inspection(Fact, frozen=True):
    """Everything buildopt knows of one ELF file."""

    path: str
    size: Bytes
    sha256: Sha256
    gnu_build_id: Annotated[str, Meta(pattern="^[0-9a-f]*$")] | None
    go_build_id: str | None
    elf: ElfIdentity
    sections: tuple[SectionFact, ...]
    totals: Annotated[
        dict[str, Bytes],
        described("file bytes per category; all but bss add up to size"),
        Meta(extra_json_schema={"required": list(CATEGORIES)}),
    ]
    symbols: SymbolFacts
    dwarf: DwarfFacts
    linking: Linking
    go: GoFacts | None
    pclntab: Annotated[
        str | None,
        described('the function-table layout read: "1.2", "1.16", "1.18" or "1.20"'),
    ]
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


class InspectFailure(Fact, frozen=True, forbid_unknown_fields=True):
    """A file that could not be read as ELF, and why."""

    path: str
    error: Annotated[str, Meta(min_length=1)]


class InspectReport(Fact, frozen=True):
    """``buildopt inspect --json FILE...``: one object per file, in argument order."""

    schema: Literal["buildopt.inspect/1"]
    # Each an Inspection or an InspectFailure, encoded from its model: msgspec types no list
    # of two kinds of object that no field tells apart, so the schema says which they are.
    binaries: tuple[
        Annotated[
            msgspec.Raw,
            Meta(
                extra_json_schema={
                    "oneOf": [
                        {"$ref": "#/$defs/Inspection"},
                        {"$ref": "#/$defs/InspectFailure"},
                    ]
                }
            ),
        ],
        ...,
    ]
