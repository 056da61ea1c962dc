"""Compare builds: variants against the profile's baseline, or two build records.

Every delta is explained by the setting that caused it, found by comparing the variants'
settings and their measured facts (``-s: -.symtab -.strtab = -509.9 KiB``). Facts come from
the build record's per-binary inspection, so nothing is measured twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from buildopt.analysis.diff import SizeDiff, diff_sizes
from buildopt.binary.facts import Bytes, Count, Fact, described
from buildopt.config.ids import program_of, release_of
from buildopt.config.units import format_size
from buildopt.config.variant import VariantSettings
from buildopt.errors import UsageError
from buildopt.record.model import Build, CutSaving, Record

SUMMARY_LINE = r"^add/remove: \d+/\d+ grow/shrink: \d+/\d+ up/down: \d+/-?\d+ \(-?\d+\)$"
TOTAL_LINE = r"^Total: Before=\d+, After=\d+, chg [+-]\d+\.\d\d%$"
METRICS = ("size", "code", "rodata", "data", "bss", "gometa", "symtab", "dwarf", "dynamic")


class Built(msgspec.Struct, frozen=True):
    """The facts of one built variant x target that comparisons use."""

    id: str
    variant: str
    target: str
    settings: VariantSettings | None
    metrics: Mapping[str, int]
    static: bool
    pie: bool
    needed: tuple[str, ...]
    sections: Mapping[str, int]
    packages: Mapping[str, int]  # whole-file bytes, or code (see whole)
    code: Mapping[str, int] = msgspec.field(default_factory=dict)  # code bytes
    whole: bool = False  # packages are whole-file bytes (the build was attributed)

    def packages_like(self, other: Built) -> Mapping[str, int]:
        """Package bytes of the same kind as other's: whole-file only when both have them."""
        return self.packages if self.whole and other.whole else self.code


# Executable formats of the GOOS values whose binaries are not ELF (buildopt reads only ELF).
NOT_ELF = {
    "windows": "PE",
    "darwin": "Mach-O",
    "ios": "Mach-O",
    "plan9": "Plan 9 a.out",
    "js": "WebAssembly",
    "wasip1": "WebAssembly",
    "aix": "XCOFF",
}


def not_inspected(build: Build) -> str:
    """Why an ok build has no facts: its executable format, for people."""
    goos = build.target.split("/", 1)[0]
    kind = NOT_ELF.get(goos, "not ELF")
    return f"not inspected: {kind} ({goos} binaries are not ELF; buildopt reads ELF)"


def uninspected(record: Record) -> list[Build]:
    """Builds that succeeded but could not be measured (windows, darwin, ...)."""
    return [b for b in record.builds if b.ok and b.inspect is None]


def built_variants(record: Record) -> dict[str, Built]:
    """Every successfully built and inspected variant x target of a record, by id."""
    out = {}
    for b in record.builds:
        facts = b.inspect
        if not b.ok or facts is None:
            continue
        metrics = {"size": facts.size, **{m: facts.totals.get(m, 0) for m in METRICS[1:]}}
        out[b.id] = Built(
            id=b.id,
            variant=b.variant,
            target=b.target,
            settings=record.variants.get(b.variant),
            metrics=metrics,
            static=facts.linking.static,
            pie=facts.linking.pie,
            needed=facts.linking.needed,
            sections=facts.section_sizes(),
            packages=facts.package_sizes(),
            code=facts.package_sizes(whole=False),
            whole=facts.attribution is not None,
        )
    return out


# --- explanations ------------------------------------------------------------------------------


LIST_SHOWN = 3  # a changed list longer than LIST_LONG is summarised by its first few items
LIST_LONG = 8


def explain(base: Built, other: Built, *, summarise: bool = False) -> list[str]:
    """Why other differs from base, one line per cause, largest first (``summarise``: a long
    list of changed tags or flags as its count and first items, for people)."""
    lines: list[tuple[int, str]] = []
    delta = {m: other.metrics[m] - base.metrics[m] for m in METRICS}
    s_base, s_other = _settings(base), _settings(other)
    strip_base, strip_other = s_base.get("strip", "none"), s_other.get("strip", "none")
    if strip_base != strip_other:
        if delta["symtab"]:
            flag = "-s" if strip_other == "all" else f"strip={strip_other}"
            lines.append((delta["symtab"], f"{flag}: .symtab .strtab {_bytes(delta['symtab'])}"))
        if delta["dwarf"]:
            flag = "-w" if strip_other in ("all", "dwarf") else f"strip={strip_other}"
            lines.append((delta["dwarf"], f"{flag}: DWARF {_bytes(delta['dwarf'])}"))
    if base.pie != other.pie:
        mode = "pie" if other.pie else "no pie"
        text = f"{mode}: relocations and dynamic sections {_bytes(delta['dynamic'])}"
        lines.append((delta["dynamic"], text))
    dropped = [lib for lib in base.needed if lib not in other.needed]
    added = [lib for lib in other.needed if lib not in base.needed]
    linking = ("cgo", "tags", "linkmode", "extldflags")
    causes = _setting_changes(s_base, s_other, linking, summarise=summarise)
    if dropped or added or base.static != other.static:
        libs = ", ".join([f"{lib} dropped" for lib in dropped] + [f"{lib} added" for lib in added])
        kind = "static" if other.static else "dynamic"
        lines.append((0, f"{causes or 'linking'}: now {kind}" + (f", {libs}" if libs else "")))
    rest = delta["size"] - sum(n for n, _ in lines)  # (the linking line counts no bytes)
    if rest:
        quiet = ("description", "strip", "output", "targets", "programs")  # (programs: no flag)
        keys = tuple(k for k in s_other if k not in quiet)
        changed = _setting_changes(s_base, s_other, keys, summarise=summarise)
        parts = {
            m: delta[m] for m in ("code", "rodata", "data", "gometa", "symtab", "dwarf", "dynamic")
        }
        if strip_base != strip_other:  # explained above
            del parts["symtab"], parts["dwarf"]
        if base.pie != other.pie:
            del parts["dynamic"]
        parts["headers/padding"] = rest - sum(parts.values())
        shown = ", ".join(f"{m} {_bytes(d)}" for m, d in parts.items() if d)
        lines.append((rest, f"{changed or 'other changes'}: {shown} = {_bytes(rest)}"))
    return [text for _, text in sorted(lines, key=lambda item: -abs(item[0]))]


def _settings(built: Built) -> dict[str, Any]:
    """The variant's settings by name, as plain values (lists, not tuples), for comparing."""
    if built.settings is None:
        return {}
    settings: dict[str, Any] = msgspec.to_builtins(built.settings)
    return settings


def _setting_changes(
    a: Mapping[str, Any], b: Mapping[str, Any], keys: Sequence[str], *, summarise: bool = False
) -> str:
    changes = []
    for key in keys:
        old, new = a.get(key), b.get(key)
        if old == new:
            continue
        if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
            plus = [f"+{t}" for t in new if t not in old]
            minus = [f"-{t}" for t in old if t not in new]
            if summarise and len(plus) + len(minus) > LIST_LONG:
                changes.append(_summary(key, plus, minus))
            else:
                changes.append(f"{key} {','.join(plus + minus)}")
        else:
            changes.append(f"{key} {_show(old)}->{_show(new)}")
    return "; ".join(changes)


def _summary(key: str, plus: Sequence[str], minus: Sequence[str]) -> str:
    """``+77 tags: a, b, c, … (--json has all)``: a long list change, counted."""
    parts = [
        f"{sign}{len(items)} {key}: {', '.join(t[1:] for t in items[:LIST_SHOWN])}"
        + (", …" if len(items) > LIST_SHOWN else "")
        for sign, items in (("+", plus), ("-", minus))
        if items
    ]
    return "; ".join(parts) + " (--json has all)"


def _show(value: object) -> str:
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _bytes(n: int) -> str:
    return format_size(n, signed=True)


# --- variants against the baseline ---------------------------------------------------------


class VariantRow(msgspec.Struct, frozen=True):
    built: Built
    baseline: Built | None
    deltas: Mapping[str, int]
    explanation: tuple[str, ...]
    summary: tuple[str, ...] = ()  # the explanation for people: long lists summarised


def point_of(built: Built) -> str:
    """Where a build was made and what: its target, its Go release when it names one, and its
    program in a profile of several (a variant is compared with the baseline's build of the
    same program)."""
    release, program = release_of(built.id), program_of(built.id)
    return built.target + (f"@{release}" if release else "") + (f"/{program}" if program else "")


def compare_variants(record: Record) -> list[VariantRow]:
    """Each built variant against the profile's baseline variant for the same target (and Go
    release, when the variants are built with several)."""
    builds = built_variants(record)
    baseline = record.profile.baseline
    by_point = {point_of(b): b for b in builds.values() if b.variant == baseline}
    rows = []
    for built in builds.values():
        base = by_point.get(point_of(built))
        if base is None or base is built:
            rows.append(VariantRow(built, base, {}, ()))
            continue
        deltas = {m: built.metrics[m] - base.metrics[m] for m in METRICS}
        why, summary = (tuple(explain(base, built, summarise=s)) for s in (False, True))
        rows.append(VariantRow(built, base, deltas, why, summary))
    return rows


def missing_baselines(record: Record, rows: Sequence[VariantRow]) -> list[str]:
    """Targets (and releases) whose variants have no baseline build in the record."""
    return sorted(
        {point_of(r.built) for r in rows if r.baseline is None}
        - {point_of(r.built) for r in rows if r.built.variant == record.profile.baseline}
    )


class Upgrade(msgspec.Struct, frozen=True):
    """One variant on one target, built by two Go releases: what moving costs."""

    old: Built
    new: Built
    deltas: Mapping[str, int]
    packages: tuple[
        tuple[str, int, int], ...
    ]  # (package, old bytes, new bytes), largest change first


def compare_releases(record: Record) -> list[Upgrade]:
    """Each variant x target built with several Go releases: every later release against the
    first one its profile lists (``toolchain = ["go1.24.13", "go1.26.8"]``), metric by metric
    and package by package (whole-file bytes when both were attributed)."""
    groups: dict[tuple[str, str, str | None], list[Built]] = {}
    for built in built_variants(record).values():
        if release_of(built.id) is not None:
            key = (built.variant, built.target, program_of(built.id))
            groups.setdefault(key, []).append(built)
    upgrades = []
    for group in groups.values():
        first = group[0]
        for later in group[1:]:
            old, new = first.packages_like(later), later.packages_like(first)
            changed = [
                (name, old.get(name, 0), new.get(name, 0))
                for name in sorted(set(old) | set(new))
                if old.get(name, 0) != new.get(name, 0)
            ]
            changed.sort(key=lambda c: (-abs(c[2] - c[1]), c[0]))
            deltas = {m: later.metrics[m] - first.metrics[m] for m in METRICS}
            upgrades.append(Upgrade(first, later, deltas, tuple(changed)))
    return upgrades


class NotInspected(Fact, frozen=True):
    id: str
    size: Bytes | None
    reason: str


class VariantDelta(Fact, frozen=True):
    """A built variant x target against the baseline of its target."""

    id: str
    variant: str
    target: str
    baseline: Annotated[
        str | None, described("the baseline build of the same target (and program)")
    ]
    metrics: Annotated[dict[str, Bytes], Meta(extra_json_schema={"required": list(METRICS)})]
    static: bool
    pie: bool
    needed: tuple[str, ...]
    delta: dict[str, int]
    delta_percent: dict[str, float | None]
    explanation: tuple[str, ...]
    cuttable: Annotated[
        tuple[CutSaving, ...] | None,
        described(
            "the build record's ten heaviest cuttable dependencies (what removing every import "
            "of each would save, an estimate); null when the record has none"
        ),
    ] = None


class PackageChange(Fact, frozen=True, forbid_unknown_fields=True):
    package: str
    old: Bytes
    new: Bytes
    delta: int


class ReleaseUpgrade(Fact, frozen=True, forbid_unknown_fields=True, rename={"from_": "from"}):
    from_: str
    to: str
    from_release: str
    to_release: str
    delta: dict[str, int]
    packages: tuple[PackageChange, ...]


class CompareReport(Fact, frozen=True):
    """``buildopt compare --json``: the variants against the baseline."""

    schema: Literal["buildopt.compare/1"]
    profile: str
    baseline: str
    baseline_missing: Annotated[
        tuple[str, ...],
        described(
            "targets (GOOS/GOARCH[/SUB]) whose variants have no baseline build in the record: "
            "no deltas for them"
        ),
    ]
    not_inspected: Annotated[
        tuple[NotInspected, ...],
        described(
            "builds that succeeded but are not ELF (windows: PE, darwin: Mach-O, ...), with "
            "their file size and why"
        ),
    ]
    variants: tuple[VariantDelta, ...]
    upgrades: Annotated[
        tuple[ReleaseUpgrade, ...],
        described(
            "each variant x target built with several Go releases (toolchain = [...]): every "
            "later release against the first one listed, by metric and by package (whole-file "
            "bytes when both builds were attributed), largest change first"
        ),
    ]


def compare_report(record: Record, rows: Sequence[VariantRow]) -> CompareReport:
    return CompareReport(
        schema="buildopt.compare/1",
        profile=record.profile.name,
        baseline=record.profile.baseline,
        baseline_missing=tuple(missing_baselines(record, rows)),
        not_inspected=tuple(
            NotInspected(id=b.id, size=b.size, reason=not_inspected(b)) for b in uninspected(record)
        ),
        variants=tuple(_variant_delta(r, _cuttable(record, r.built.id)) for r in rows),
        upgrades=tuple(map(_release_upgrade, compare_releases(record))),
    )


def _cuttable(record: Record, build_id: str) -> tuple[CutSaving, ...] | None:
    return next((b.cuttable for b in record.builds if b.id == build_id), None)


def _variant_delta(row: VariantRow, cuttable: tuple[CutSaving, ...] | None) -> VariantDelta:
    built, base = row.built, row.baseline
    return VariantDelta(
        id=built.id,
        variant=built.variant,
        target=built.target,
        baseline=base.id if base else None,
        metrics=dict(built.metrics),
        static=built.static,
        pie=built.pie,
        needed=built.needed,
        delta=dict(row.deltas),
        delta_percent={m: _percent(d, base.metrics[m]) for m, d in row.deltas.items()}
        if base
        else {},
        explanation=row.explanation,
        cuttable=cuttable,
    )


def _release_upgrade(upgrade: Upgrade) -> ReleaseUpgrade:
    return ReleaseUpgrade(
        from_=upgrade.old.id,
        to=upgrade.new.id,
        from_release=release_of(upgrade.old.id) or "",
        to_release=release_of(upgrade.new.id) or "",
        delta=dict(upgrade.deltas),
        packages=tuple(
            PackageChange(package=name, old=old, new=new, delta=new - old)
            for name, old, new in upgrade.packages
        ),
    )


def _percent(delta: int, base: int) -> float | None:
    return round(100 * delta / base, 2) if base else None


# --- two records -----------------------------------------------------------------------------


ItemKind = Literal["variant", "section", "package"]


class ItemDelta(msgspec.Struct, frozen=True):
    kind: ItemKind
    id: str  # the variant id
    name: str
    old: int | None
    new: int | None

    @property
    def delta(self) -> int:
        return (self.new or 0) - (self.old or 0)


class RecordComparison(msgspec.Struct, frozen=True):
    """Two records: the changed items of the variants both have, a bloat-o-meter summary per
    such variant (over its packages), and the variants one record has alone - listed, never
    counted as bytes added or removed."""

    items: tuple[ItemDelta, ...]
    summaries: tuple[tuple[str, SizeDiff], ...]
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]


def compare_records(old: Record, new: Record) -> RecordComparison:
    """Per variant, section and Go package: what changed between two records."""
    if old.profile.name != new.profile.name:
        raise UsageError(
            f"the records are of different profiles ({old.profile.name} and {new.profile.name})"
        )
    before, after = built_variants(old), built_variants(new)
    items: list[ItemDelta] = []
    summaries: list[tuple[str, SizeDiff]] = []
    for vid in sorted(set(before) & set(after)):
        a, b = before[vid], after[vid]
        items.append(ItemDelta("variant", vid, vid, a.metrics["size"], b.metrics["size"]))
        for name in sorted(set(a.sections) | set(b.sections)):
            items.append(
                ItemDelta("section", vid, name, a.sections.get(name), b.sections.get(name))
            )
        olds, news = a.packages_like(b), b.packages_like(a)
        for name in sorted(set(olds) | set(news)):
            items.append(ItemDelta("package", vid, name, olds.get(name), news.get(name)))
        summaries.append((vid, diff_sizes(olds, news, "package")))
    return RecordComparison(
        items=tuple(i for i in items if i.delta or i.old is None or i.new is None),
        summaries=tuple(summaries),
        only_old=tuple(sorted(set(before) - set(after))),
        only_new=tuple(sorted(set(after) - set(before))),
    )


class VariantSummary(Fact, frozen=True):
    id: str
    summary: Annotated[str, Meta(pattern=SUMMARY_LINE)]
    total: Annotated[str, Meta(pattern=TOTAL_LINE)]
    up: Count
    down: Count
    before: Count
    after: Count


class ItemChange(Fact, frozen=True):
    kind: ItemKind
    id: str
    name: str
    old: int | None
    new: int | None
    delta: int


class RecordsReport(Fact, frozen=True):
    """``buildopt compare OLD.json NEW.json --json``. Version 2: a bloat-o-meter summary per
    variant (version 1 pooled the variants into one line, a number no binary has); variants of
    one record alone are listed in only_old/only_new, never counted as bytes removed or added."""

    schema: Literal["buildopt.compare-records/2"]
    variants: Annotated[
        tuple[VariantSummary, ...],
        described("per variant id both records have: the kernel's bloat-o-meter lines"),
    ]
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]
    items: Annotated[
        tuple[ItemChange, ...],
        described(
            "changed variants, sections and Go packages of the variants both records have, "
            "largest change first"
        ),
    ]


def records_report(result: RecordComparison) -> RecordsReport:
    summaries = tuple(
        VariantSummary(
            id=vid,
            summary=d.summary_line(),
            total=d.total_line(),
            up=d.up,
            down=d.down,
            before=d.before,
            after=d.after,
        )
        for vid, d in result.summaries
    )
    items = sorted(result.items, key=lambda i: (-abs(i.delta), i.kind, i.id, i.name))
    return RecordsReport(
        schema="buildopt.compare-records/2",
        variants=summaries,
        only_old=result.only_old,
        only_new=result.only_new,
        items=tuple(
            ItemChange(kind=i.kind, id=i.id, name=i.name, old=i.old, new=i.new, delta=i.delta)
            for i in items
        ),
    )
