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

from typing import Literal

import msgspec

from buildopt.binary.facts import Fact, Inspection
from buildopt.config.variant import VariantSettings

RECORD_SCHEMA: Literal["buildopt.build/1"] = "buildopt.build/1"
STARTUP_SCHEMA: Literal["buildopt.startup/1"] = "buildopt.startup/1"
SCAN_SCHEMA: Literal["buildopt.scan/1"] = "buildopt.scan/1"

Status = Literal["ok", "failed", "skipped"]
Severity = Literal["error", "warning", "note"]


class ProfileInfo(Fact, frozen=True):
    name: str
    path: str
    description: str
    baseline: str  # the variant the others are compared with
    package: str
    binary: str


class ToolchainInfo(Fact, frozen=True):
    version: str
    path: str
    goroot: str
    host: str  # GOOS/GOARCH of the machine that built


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
    runs: int
    failed_runs: int
    errors: tuple[str, ...]
    ready: str
    cold: bool
    evicted: bool
    median_ms: float | None = None
    p95_ms: float | None = None
    mean_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    stdev_ms: float | None = None
    outliers: int | None = None
    user_ms: float | None = None
    sys_ms: float | None = None
    max_rss_kib: int | None = None
    median_rss_kib: int | None = None
    gc_cycles: int | None = None
    inits: tuple[InitCost, ...] | None = None
    wall_ms: tuple[float, ...] | None = None
    vs_baseline: BaselineRatio | None = None
    sha256: str | None = None  # the binary measured (in a build record)
    # eviction: why it failed (the runs were warm then), and what it took per run
    eviction_error: str | None = None
    evict_ms: float | None = None
    harness_ms: float | None = None  # median per-run cost beyond the program's own life
    # the traced runs (GODEBUG tracing added): gc_cycles and inits come from them alone
    traced_runs: int | None = None
    failed_traced_runs: int | None = None
    traced_godebug: str | None = None
    traced_wall_ms: tuple[float, ...] | None = None


class StartupReport(Fact, frozen=True):
    """``buildopt startup --json``."""

    schema: Literal["buildopt.startup/1"]
    baseline: str
    variants: tuple[StartupResult, ...]


# --- the source scan (buildopt scan) ---------------------------------------------------------


class Finding(Fact, frozen=True):
    file: str  # relative to the scan root
    line: int
    column: int
    rule: str
    severity: Severity
    message: str
    fix: str


class InitSite(Fact, frozen=True):
    package: str
    file: str
    line: int
    kind: str  # "init" or "var"
    name: str
    risks: tuple[str, ...]


class ScanReport(Fact, frozen=True):
    """``buildopt scan --json``, and a built variant's scan in the record."""

    schema: Literal["buildopt.scan/1"]
    root: str
    tags: tuple[str, ...]
    files: int
    counts: dict[str, int]
    findings: tuple[Finding, ...]
    inventory: tuple[InitSite, ...]
    sha256: str | None = None  # in a build record: the binary built from what was scanned

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

    inode: int
    mtime_ns: int


class Build(Fact, frozen=True):
    """One variant x target: how it was built and what came out."""

    id: str  # variant@target-id
    variant: str
    target: str  # GOOS/GOARCH[/SUB]
    status: Status
    reason: str  # why it failed or was skipped; "" when ok
    argv: tuple[str, ...]
    env: dict[str, str]
    dir: str
    output: str | None
    wall_seconds: float
    size: int | None
    sha256: str | None
    stderr_tail: str
    verification: Verification | None
    go_settings: dict[str, str]
    inspect: Inspection | None
    startup: StartupResult | None = None
    scan: ScanReport | None = None
    built: str | None = None  # ISO 8601, UTC: when its binary landed in dist/ (ok builds)
    stamp: FileStamp | None = None  # the binary's file as published (ok builds)

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
    buildopt: str  # the version that wrote it
    created: str  # ISO 8601, UTC
    profile: ProfileInfo
    go: ToolchainInfo
    dist: str
    variants: dict[str, VariantSettings]
    builds: tuple[Build, ...]
    merged_from: tuple[str, ...] | None = None
    missing: tuple[Missing, ...] | None = None  # expected by the matrix, in no job's record

    def with_builds(self, builds: tuple[Build, ...]) -> Record:
        return msgspec.structs.replace(self, builds=builds)


# --- buildopt diff -----------------------------------------------------------------------------

DIFF_SCHEMA: Literal["buildopt.diff/1"] = "buildopt.diff/1"


class DiffRow(Fact, frozen=True):
    name: str
    old: int | None
    new: int | None
    delta: int


class DiffEntry(Fact, frozen=True):
    """One pair of binaries (or variant ids of two records) and what changed between them."""

    id: str
    old: str  # where the old side came from (a file, or a record's binary)
    new: str
    by: str  # function (symbols), package, module or section
    table: str  # the header word: Function (or Data, RO Data with -c), Package, Module, Section
    source: str  # where the sizes came from: symtab, pclntab, attribution, code, sections
    summary: str  # bloat-o-meter's line
    total: str  # bloat-o-meter's Total: line
    added: int
    removed: int
    grown: int
    shrunk: int
    up: int
    down: int
    before: int
    after: int
    file_before: int  # the whole files' bytes: the table sums symbols, not headers and padding
    file_after: int
    file: str  # File: Before=X, After=Y, chg +Z.ZZ%
    rows: tuple[DiffRow, ...]
    note: str = ""


class DiffReport(Fact, frozen=True):
    """``buildopt diff --json``."""

    schema: Literal["buildopt.diff/1"]
    diffs: tuple[DiffEntry, ...]
    only_old: tuple[str, ...]  # ids in the old input alone (never counted as removed bytes)
    only_new: tuple[str, ...]


# --- buildopt why ------------------------------------------------------------------------------

WHY_SCHEMA: Literal["buildopt.why/1"] = "buildopt.why/1"


class ModuleCost(Fact, frozen=True):
    module: str
    version: str | None
    bytes: int  # the file bytes of its packages
    packages: int


class WhyCost(Fact, frozen=True):
    """What a package costs in a variant's recorded binary."""

    bytes: int
    kind: Literal["file", "code"]  # whole-file bytes (attributed build), or code only
    code_bytes: int | None = None
    pclntab_bytes: int | None = None
    data_bytes: int | None = None
    module: ModuleCost | None = None


class WhyVariant(Fact, frozen=True):
    id: str
    chain: tuple[str, ...] | None  # from the main package to it; None: not imported
    near: tuple[str, ...]  # close package names, when not imported
    cost: WhyCost | None  # None: not built yet


class WhyReport(Fact, frozen=True):
    """``buildopt why --json``."""

    schema: Literal["buildopt.why/1"]
    package: str
    variants: tuple[WhyVariant, ...]
