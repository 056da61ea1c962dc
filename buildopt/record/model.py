"""The build record, ``buildopt.build/1``: frozen typed models of everything in it.

A record is what one ``buildopt build`` (or a merge of CI jobs) made: the profile and Go that
built it, every variant's resolved settings, and one ``Build`` per variant x target with its
argv, its outcome, the binary's facts (``buildopt.binary.facts.Inspection``) and, once measured,
its start-up result and the scan of its sources. Only ``buildopt.record.store`` reads and
writes the JSON; everything else passes these objects.

Fields without a default are always in the JSON; those with one (the optional results) are
left out while they hold it, so a record reads as it did before they were measured.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from buildopt.binary.facts import Bytes, Count, Fact, Inspection, Sha256, described
from buildopt.config.variant import VariantSettings

RECORD_SCHEMA: Literal["buildopt.build/1"] = "buildopt.build/1"
STARTUP_SCHEMA: Literal["buildopt.startup/1"] = "buildopt.startup/1"
SCAN_SCHEMA: Literal["buildopt.scan/1"] = "buildopt.scan/1"

Status = Literal["ok", "failed", "skipped"]
# variant@target-id, @release with several Go releases, /program with several programs
BUILD_ID = (
    "^[A-Za-z0-9][A-Za-z0-9._+-]*@[a-z0-9.+-]+(@go1[0-9a-z.]+)?(/[A-Za-z0-9][A-Za-z0-9._+-]*)?$"
)
Severity = Literal["error", "warning", "note"]


class ProfileInfo(Fact, frozen=True):
    name: str
    path: str
    description: str
    baseline: Annotated[str, described("the variant the others are compared with")]
    package: str
    binary: str


class ToolchainInfo(Fact, frozen=True):
    # In the schema only: a record of a development toolchain ("devel go1.27-...") is read
    version: Annotated[str, Meta(extra_json_schema={"pattern": "^go"})]
    path: str
    goroot: str
    host: Annotated[str, Meta(pattern="^[a-z0-9]+/[a-z0-9]+$")]  # GOOS/GOARCH of the builder


class Verification(Fact, frozen=True):
    """What was checked of a binary against its variant, and what did not match."""

    ok: bool
    checked: tuple[str, ...]
    problems: tuple[str, ...]
    skipped: str  # why nothing was checked (a non-ELF target), else ""

    @classmethod
    def of(
        cls, checked: tuple[str, ...], problems: tuple[str, ...], skipped: str = ""
    ) -> Verification:
        return cls(ok=not problems, checked=checked, problems=problems, skipped=skipped)


# --- start-up (buildopt startup) -------------------------------------------------------------


class InitCost(Fact, frozen=True):
    package: str
    clock_ms: float  # median over the runs
    bytes: int
    allocs: int


class BaselineRatio(Fact, frozen=True):
    baseline: str
    ratio_of_medians: float
    ci95: tuple[float, float]
    significant: bool


class StartupResult(Fact, frozen=True):
    """The measured starts of one binary: statistics over the timed runs (started as a user
    would) when some succeeded; GC cycles and init costs from the separate traced runs."""

    name: str
    binary: str
    runs: Annotated[Count, described("successful timed runs")]
    failed_runs: Annotated[Count, described("timed runs that failed")]
    errors: tuple[str, ...]
    ready: Annotated[str, described("how readiness was detected")]
    cold: Annotated[bool, described("eviction from the page cache was asked for")]
    evicted: Annotated[bool, described("eviction was done before every run")]
    median_ms: float | None = None
    p95_ms: float | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    stdev_ms: float | None = None
    outliers: Count | None = None
    user_ms: float | None = None
    sys_ms: float | None = None
    max_rss_kib: Count | None = None
    median_rss_kib: Count | None = None
    gc_cycles: Annotated[
        Count | None,
        described(
            "GC cycles completed before ready: the most over the traced runs (never from the "
            "timed runs)"
        ),
    ] = None
    inits: Annotated[
        tuple[InitCost, ...] | None,
        described("init cost per package: the median clock over the traced runs"),
    ] = None
    wall_ms: Annotated[
        tuple[float, ...] | None,
        described("every good timed run (no GODEBUG added): the statistics are over these"),
    ] = None
    vs_baseline: BaselineRatio | None = None
    sha256: Annotated[
        Sha256 | None, described("in a build record: the binary that was measured")
    ] = None
    eviction_error: Annotated[
        str | None, described("why eviction from the page cache failed (the runs were warm)")
    ] = None
    evict_ms: Annotated[
        float | None,
        described("median time the eviction took per run (not part of any measured time)"),
    ] = None
    harness_ms: Annotated[
        float | None,
        described(
            "median cost of a timed run beyond the program's own life: eviction, fork/exec in "
            "the helper, reading its reports, stopping"
        ),
    ] = None
    traced_runs: Annotated[
        Count | None,
        described("good traced runs, with traced_godebug: gc_cycles and inits come from these"),
    ] = None
    failed_traced_runs: Count | None = None
    traced_godebug: Annotated[
        str | None,
        described("the GODEBUG the traced runs had (the user's own settings win)"),
    ] = None
    traced_wall_ms: Annotated[
        tuple[float, ...] | None,
        described(
            "time to ready of each good traced run (tracing makes it slower; not in the statistics)"
        ),
    ] = None
    argv0: Annotated[str | None, described("argv[0] of every run")] = None
    runner: Annotated[
        tuple[str, ...] | None,
        described(
            "the argv prefix the runs went through ([startup] runner): ssh to a device, an emulator"
        ),
    ] = None
    emulated: Annotated[
        bool,
        described(
            "the runs were emulated (qemu-user): never comparable with figures of native runs"
        ),
    ] = False


# In the JSON Schema: what is measured together is there together (the timed runs'
# statistics; what the traced runs found).
_TIMED = ["p95_ms", "mean_ms", "min_ms", "max_ms", "stdev_ms", "max_rss_kib", "wall_ms"]
Measured = Annotated[
    StartupResult,
    Meta(
        extra_json_schema={
            "dependentRequired": {
                "median_ms": [*_TIMED, "harness_ms"],
                "traced_wall_ms": ["gc_cycles", "inits", "traced_godebug"],
            }
        }
    ),
]


class StartupReport(Fact, frozen=True):
    """``buildopt startup --json``."""

    schema: Literal["buildopt.startup/1"]
    baseline: str
    variants: tuple[Measured, ...]


# --- the source scan (buildopt scan) ---------------------------------------------------------


class Finding(Fact, frozen=True):
    file: Annotated[str, described("relative to root")]
    line: Annotated[int, Meta(ge=1)]
    column: Annotated[int, Meta(ge=1)]
    rule: str
    severity: Severity
    message: str
    fix: str


class InitSite(Fact, frozen=True):
    package: str
    file: str
    line: int
    kind: Literal["init", "var"]
    name: str
    risks: tuple[str, ...]


class ScanReport(Fact, frozen=True):
    """``buildopt scan --json``, and a built variant's scan in the record."""

    schema: Literal["buildopt.scan/1"]
    root: str
    tags: tuple[str, ...]
    files: Count
    counts: Annotated[
        dict[str, Count], Meta(extra_json_schema={"required": ["error", "warning", "note"]})
    ]
    findings: tuple[Finding, ...]
    inventory: Annotated[
        tuple[InitSite, ...],
        described("every init function and package-level variable initialiser"),
    ]
    sha256: Sha256 | None = None  # in a build record: the binary built from what was scanned

    def count(self, severity: Severity) -> int:
        return sum(f.severity == severity for f in self.findings)

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")


# --- the record ------------------------------------------------------------------------------


class FileStamp(Fact, frozen=True):
    """The binary's inode and times as it landed in dist/: while they (and its size) are the
    same, it is the file the entry describes; when they differ, its sha256 says (a ``touch``
    changes nothing). Not the ctime: the published binary is a hard link to go's stage, whose
    up-to-date touch moves it at every unchanged rebuild (``build`` itself checks the ctime)."""

    inode: Count
    mtime_ns: int


class CutSaving(Fact, frozen=True):
    """What removing every import of a package would save: the packages reachable only
    through it (its dominated set in the variant's import graph), by the file bytes the
    attribution gives them - an estimate (docs/figures.md checks it against rebuilds)."""

    package: Annotated[str, described("the import path of the dependency cut")]
    importers: Annotated[
        tuple[str, ...],
        described("the packages that import it: every one must drop the import for the saving"),
    ]
    bytes: Annotated[
        Bytes,
        described(
            "the estimate: attributed_bytes with the file's bytes no package owns spread over "
            "the packages in proportion (x file bytes / bytes attributed to packages)"
        ),
    ]
    attributed_bytes: Annotated[
        Bytes, described("the file bytes the attribution gives the packages only it brings in")
    ]
    packages: Annotated[Count, described("the packages only it brings in, itself included")]
    unattributed: Annotated[
        Count, described("of those, packages that own no file bytes (counted as 0)")
    ]


DeadCodeState = Literal["on", "off", "unknown"]
DEAD_CODE_REASONS = ["", "reflect-method", "plugin", "dynamic-link"]


class DeadCode(Fact, frozen=True):
    """Whether the linker's method dead-code elimination was on for a binary, read from a
    second link of its variant with ``-ldflags=-dumpdep -v=2`` (cmd/link's deadcode.go): off
    when a function it reached calls reflect.Value.Method/MethodByName with a name it cannot
    see (``<ReflectMethod>``), or when it links dynamically (``plugin`` with cgo); then it keeps
    every exported method of every type a program can convert to an interface."""

    sha256: Annotated[Sha256, described("the binary this describes (an unchanged rebuild)")]
    state: Annotated[
        DeadCodeState,
        described("on, off, or unknown when the second link could not be made or read"),
    ]
    reason: Annotated[
        str,
        described(
            "why it is off: reflect-method (a <ReflectMethod> function reached), plugin "
            "(package plugin linked with cgo: the linker links dynamically); else empty"
        ),
        Meta(extra_json_schema={"enum": DEAD_CODE_REASONS}),
    ]
    chain: Annotated[
        tuple[str, ...],
        described(
            "symbols from the linker's root to the first <ReflectMethod> function it reached "
            "(each reached from the one before) and the reflect method it calls; empty when on "
            "or when the linker marks no such function (older Go releases)"
        ),
    ] = ()
    fix: Annotated[
        str,
        described(
            "the package to change: the chain's package nearest the reflect call outside the "
            "standard library (main counts as outside); empty when none is"
        ),
    ] = ""
    methods: Annotated[
        Count | None,
        described(
            "exported methods the linker kept only because it was off: of types it could "
            "convert to an interface, named by no interface method the program calls"
        ),
    ] = None
    estimate: Annotated[
        Bytes | None,
        described(
            "about how many bytes of the binary those methods cost: their code and function "
            "table bytes with those of what only they reached (see docs/deadcode.md); null "
            "when no honest estimate exists"
        ),
    ] = None
    counted: Annotated[
        str, described("what the estimate counts, or why there is none, in words")
    ] = ""
    problem: Annotated[str, described("why the state is unknown; else empty")] = ""


class Build(Fact, frozen=True):
    """One variant x target: how it was built and what came out."""

    id: Annotated[str, Meta(extra_json_schema={"pattern": BUILD_ID})]  # in the schema only
    variant: str
    target: str  # GOOS/GOARCH[/SUB]
    status: Status
    reason: Annotated[str, described("why it failed or was skipped; empty when ok")]
    argv: tuple[str, ...]
    env: dict[str, str]
    dir: str
    output: str | None
    wall_seconds: Annotated[float, Meta(ge=0)]
    size: Bytes | None
    sha256: Sha256 | None
    stderr_tail: str
    verification: Verification | None
    go_settings: dict[str, str]
    inspect: Annotated[
        Inspection | None,
        described("the binary's facts, one element of buildopt.inspect/1's binaries"),
    ]
    startup: Annotated[
        Measured | None,
        described(
            "once measured by buildopt startup --profile: one element of buildopt.startup/1's "
            "variants; stale (of an earlier binary) when its sha256 differs from the entry's"
        ),
    ] = None
    scan: Annotated[
        ScanReport | None,
        described(
            "with [scan] enabled: buildopt.scan/1 of the variant's sources, with its build "
            "tags; stale when its sha256 differs from the entry's"
        ),
    ] = None
    built: Annotated[
        str | None,
        described("ISO 8601 UTC time its binary landed in dist/ (ok builds; absent before)"),
    ] = None
    cuttable: Annotated[
        tuple[CutSaving, ...] | None,
        described(
            "the ten dependencies whose cut saves most, heaviest first, from the import graph "
            "of the sources it was built from; absent when not known"
        ),
    ] = None
    stamp: Annotated[
        FileStamp | None,
        described(
            "the binary's file as it landed in dist/ (ok builds): while its size and these are "
            "unchanged it is the binary described, else its sha256 is compared"
        ),
    ] = None
    dead_code: Annotated[
        DeadCode | None,
        described(
            "whether the linker's method dead-code elimination was on (ok builds, once "
            "checked); stale when its sha256 differs from the entry's"
        ),
    ] = None
    # absent in records of older releases: read as the profile's binary and the argv's last word
    program: Annotated[str, described("the program built: its binary's name (/PROGRAM)")] = ""
    package: Annotated[str, described("the main package as go build was given it")] = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def startup_stale(self) -> bool:
        """The start-up results are of an earlier binary of this variant (it was rebuilt since)."""
        return _stale(self.startup.sha256 if self.startup else None, self.sha256)

    @property
    def scan_stale(self) -> bool:
        """The scan is of the sources of an earlier binary of this variant."""
        return _stale(self.scan.sha256 if self.scan else None, self.sha256)

    @property
    def pair(self) -> str:
        """GOOS/GOARCH of the target, without the sub-architecture."""
        return "/".join(self.target.split("/")[:2])


def _stale(measured: str | None, current: str | None) -> bool:
    return measured is not None and measured != current


class Missing(Fact, frozen=True):
    """A build the CI matrix expected that no job's record holds (``buildopt merge --expect``)."""

    id: str
    reason: str


class Record(Fact, frozen=True):
    schema: Literal["buildopt.build/1"]
    buildopt: Annotated[str, described("version of buildopt that wrote the record")]
    created: Annotated[str, Meta(extra_json_schema={"format": "date-time"})]  # ISO 8601, UTC
    profile: ProfileInfo
    go: ToolchainInfo
    dist: str
    variants: Annotated[
        dict[str, VariantSettings],
        described("every variant of the profile with its resolved settings"),
    ]
    builds: tuple[Build, ...]
    merged_from: Annotated[
        tuple[str, ...] | None,
        described("the per-job records buildopt merge joined (only in a merged record)"),
    ] = None
    missing: Annotated[
        tuple[Missing, ...] | None,
        described(
            "the builds the CI matrix expected (buildopt merge --expect/--expect-matrix) that "
            "no job's record holds; the gate fails on each"
        ),
    ] = None

    def with_builds(self, builds: tuple[Build, ...]) -> Record:
        return msgspec.structs.replace(self, builds=builds)


# --- buildopt diff -----------------------------------------------------------------------------

DIFF_SCHEMA: Literal["buildopt.diff/1"] = "buildopt.diff/1"
DIFF_BY = ["function", "package", "module", "section"]
DIFF_TABLES = ["Function", "Data", "RO Data", "Package", "Module", "Section"]
DIFF_SOURCES = ["symtab", "pclntab", "none", "attribution", "code", "sections"]


class DiffRow(Fact, frozen=True):
    name: str
    old: int | None
    new: int | None
    delta: int


class DiffEntry(Fact, frozen=True):
    """One pair of binaries (or variant ids of two records) and what changed between them."""

    id: Annotated[str, described("the variant id, or OLD -> NEW file names")]
    old: str  # where the old side came from (a file, or a record's binary)
    new: str
    by: Annotated[str, Meta(extra_json_schema={"enum": DIFF_BY})]
    table: Annotated[
        str,
        described(
            "the table's header word, as the kernel's script prints it: Function (every "
            "symbol), or with -c one entry per table: Function, Data (writable), RO Data"
        ),
        Meta(extra_json_schema={"enum": DIFF_TABLES}),
    ]
    source: Annotated[
        str,
        described(
            "where the sizes came from: .symtab (as go tool nm -size), .gopclntab (a side is "
            "stripped), the file bytes per package (inspect --attribution), code bytes per "
            "package, or the section headers"
        ),
        Meta(extra_json_schema={"enum": DIFF_SOURCES}),
    ]
    summary: Annotated[str, described("add/remove: A/R grow/shrink: G/S up/down: U/-D (N)")]
    total: Annotated[str, described("Total: Before=X, After=Y, chg +Z.ZZ%")]
    added: Count
    removed: Count
    grown: Count
    shrunk: Count
    up: Annotated[Bytes, described("bytes added and grown")]
    down: Annotated[Bytes, described("bytes removed and shrunk")]
    before: Annotated[Bytes, described("the sum of every old size")]
    after: Bytes
    file_before: Annotated[
        Bytes,
        described(
            "the old file's size in bytes (the table sums symbols or packages, never headers "
            "and padding)"
        ),
    ]
    file_after: Bytes
    file: Annotated[str, described("File: Before=X, After=Y, chg +Z.ZZ% (the files' sizes)")]
    rows: Annotated[
        tuple[DiffRow, ...],
        described("every changed name, largest growth first (bloat-o-meter's order)"),
    ]
    note: str = ""


class DiffReport(Fact, frozen=True):
    """Printed by ``buildopt diff OLD NEW --json``: one entry per pair of binaries (two files,
    or the variant ids two records share), in the Linux kernel's bloat-o-meter terms."""

    schema: Literal["buildopt.diff/1"]
    diffs: tuple[DiffEntry, ...]
    only_old: Annotated[
        tuple[str, ...],
        described("ids in the old input only: listed, never counted as removed bytes"),
    ]
    only_new: Annotated[
        tuple[str, ...],
        described("ids in the new input only: listed, never counted as added bytes"),
    ]


# --- buildopt why ------------------------------------------------------------------------------

WHY_SCHEMA: Literal["buildopt.why/1"] = "buildopt.why/1"


class ModuleCost(Fact, frozen=True):
    module: str
    version: str | None
    bytes: Bytes  # the file bytes of its packages
    packages: Count


class WhyCost(Fact, frozen=True):
    """What a package costs in a variant's recorded binary."""

    bytes: Bytes
    kind: Annotated[
        Literal["file", "code"],
        described(
            "file bytes the package owns (an attributed build), or its code only (an older record)"
        ),
    ]
    code_bytes: Bytes | None = None
    pclntab_bytes: Bytes | None = None
    data_bytes: Bytes | None = None
    module: ModuleCost | None = None


class WhyVariant(Fact, frozen=True):
    id: str
    chain: Annotated[
        tuple[str, ...] | None,
        described(
            "import paths from the main package to the package; null when the variant does "
            "not import it"
        ),
    ]
    near: Annotated[tuple[str, ...], described("close package names, when it is not imported")]
    cost: Annotated[WhyCost | None, described("null before the variant is built")]
    cut: Annotated[
        CutSaving | None,
        described(
            "what removing every import of the package would save; null when it is not "
            "imported or the variant is not built"
        ),
    ] = None


class WhyReport(Fact, frozen=True):
    """Printed by ``buildopt why PACKAGE --profile P --json``: per variant, the import chain
    that brings the package in and what it costs in the recorded binary."""

    schema: Literal["buildopt.why/1"]
    package: str
    variants: tuple[WhyVariant, ...]
