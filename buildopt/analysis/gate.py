"""Evaluate budgets on a build record: PASS, WARN or FAIL per budget x variant x check.

The verdicts are shown by buildopt.output: a table, ``buildopt.gate/1`` JSON, Markdown, JUnit
XML and GitHub annotations.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import msgspec
from msgspec.structs import replace

from buildopt.analysis.compare import not_inspected
from buildopt.binary.facts import Inspection
from buildopt.config.budgets import Budget, ImageBudget, matches, selects
from buildopt.config.units import counted, format_size
from buildopt.record.images import ImageOutcome, ImageRecord
from buildopt.record.integrity import changed
from buildopt.record.model import Build, Record
from buildopt.record.store import RecordError

Verdict = Literal["pass", "warn", "fail", "skip"]
Unit = Literal["bytes", "percent", "ms", "count", "blocks", "text"]
NO_BASELINE = "no baseline record (gate --baseline)"
GROWTH = "max_growth"


class Figure(msgspec.Struct, frozen=True):
    """One side of a check: a number with its unit (a fraction for ``percent``), a word
    (``text``: static, missing, a list of libraries), or nothing measured (value None).
    ``change``: a difference (growth), shown with its sign. buildopt.output.gate makes the
    text of it; nothing else does."""

    value: int | float | str | None = None
    unit: Unit = "text"
    change: bool = False


NOTHING = Figure()  # not measured, or no limit: "-"


def byte_figure(value: int, *, change: bool = False) -> Figure:
    return Figure(value, "bytes", change)


def word_figure(value: str) -> Figure:
    return Figure(value, "text")


def count_figure(value: int) -> Figure:
    return Figure(value, "count")


class Check(msgspec.Struct, frozen=True):
    budget: str
    target: str  # the variant id, or the image name
    check: str  # max_size, max_section[.text], static, ...
    verdict: Verdict
    actual: Figure
    limit: Figure
    headroom: Figure | None  # None: a check without a margin (a skip, a flag, a word)
    note: str = ""
    message: str = ""
    headroom_bytes: int | None = None
    chain: tuple[str, ...] = ()  # a new package's import chain (a dependency list's check)


def _skip(budget: str, target: str, check: str, note: str, limit: Figure = NOTHING) -> Check:
    return Check(budget, target, check, "skip", NOTHING, limit, None, note=note)


def _ram_check(budget: Budget, vid: str, facts: Inspection, limit: int) -> Check:
    """What the loader maps of the binary (inspect's memory model), against the limit."""
    if facts.memory is None:  # a record of before the memory model, or nothing to load
        note = "no memory model in the record (build again)"
        return _skip(budget.name, vid, "max_ram_static", note)
    return _size_check(budget, vid, "max_ram_static", facts.memory.mapped_bytes, limit)


def _compressed_checks(budget: Budget, vid: str, facts: Inspection) -> list[Check]:
    """The file's compressed size by each compressor the budget limits."""
    checks = []
    for name, limit in budget.max_compressed.items():
        check = f"max_compressed[{name}]"
        size = None if facts.compressed is None else getattr(facts.compressed, name)
        if size is None:  # a record built before this budget was declared, or merged from one
            note = f"no {name} size in the record (build again with this budget in the profile)"
            checks.append(_skip(budget.name, vid, check, note))
        else:
            checks.append(_size_check(budget, vid, check, size, limit))
    return checks


def _size_check(  # noqa: PLR0917 - the check's identity, then its two numbers
    budget: Budget | ImageBudget,
    target: str,
    check: str,
    actual: int,
    limit: int,
    unit: Unit = "bytes",
) -> Check:
    judged = _flag_check(
        budget, target, check, actual <= limit, Figure(actual, unit), Figure(limit, unit)
    )
    margin = limit - actual
    headroom = Figure(margin, unit, change=True)
    return replace(judged, headroom=headroom, headroom_bytes=margin if unit == "bytes" else None)


def _bad(budget: Budget | ImageBudget) -> Verdict:
    return "fail" if budget.level == "fail" else "warn"


def _flag_check(  # noqa: PLR0917 - the check's identity, its verdict, then its two figures
    budget: Budget | ImageBudget, target: str, check: str, ok: bool, actual: Figure, limit: Figure
) -> Check:
    """PASS when ok, else the budget's level, with its message."""
    verdict: Verdict = "pass" if ok else _bad(budget)
    message = "" if ok else budget.message
    return Check(budget.name, target, check, verdict, actual, limit, None, message=message)


def evaluate_build(
    budget: Budget,
    build: Build,
    facts: Inspection,
    baseline: Build | None,
    no_baseline: str = NO_BASELINE,
) -> list[Check]:
    """Every limit of one budget on one built variant (facts: its inspection); growth against
    baseline, or SKIP with no_baseline when there is none."""
    vid, totals, link = build.id, facts.totals, facts.linking
    sections = facts.section_sizes()
    sized = [
        ("max_size", facts.size, budget.max_size),
        *((f"max_section[{n}]", sections.get(n, 0), m) for n, m in budget.max_section.items()),
        *((f"max_category[{n}]", totals.get(n, 0), m) for n, m in budget.max_category.items()),
        ("max_dwarf", facts.dwarf.file_bytes, budget.max_dwarf),
        ("max_symbols", facts.symbol_bytes, budget.max_symbols),
    ]
    checks = [_size_check(budget, vid, c, n, limit) for c, n, limit in sized if limit is not None]
    if budget.max_ram_static is not None:
        checks.append(_ram_check(budget, vid, facts, budget.max_ram_static))
    checks += _compressed_checks(budget, vid, facts)
    if budget.static is not None:
        ok = link.static == budget.static
        kinds = (word_figure("static" if s else "dynamic") for s in (link.static, budget.static))
        checks.append(_flag_check(budget, vid, "static", ok, *kinds))
    if budget.allowed_needed is not None:
        ok = all(lib in budget.allowed_needed for lib in link.needed)
        libs = (word_figure(",".join(n) or "none") for n in (link.needed, budget.allowed_needed))
        checks.append(_flag_check(budget, vid, "allowed_needed", ok, *libs))
    checks += _owner_checks(budget, vid, facts)
    if budget.max_growth is not None:
        checks.append(_growth_check(budget, build, baseline, no_baseline))
    checks += startup_checks(budget, build)
    if budget.max_scan_errors is not None:
        checks.append(_scan_check(budget, build, budget.max_scan_errors))
    if budget.dead_code is not None:
        checks.append(_dead_code_check(budget, build))
    return checks


def _dead_code_check(budget: Budget, build: Build) -> Check:
    """The linker's method dead-code elimination must be on; off fails with the chain."""
    from buildopt.analysis.deadcode import why_off

    found, limit = build.dead_code, word_figure("on")
    if found is None or found.sha256 != build.sha256 or found.state == "unknown":
        why = (
            found.problem
            if found is not None and found.state == "unknown" and found.sha256 == build.sha256
            else "no dead-code answer in the record for this binary (build it again)"
        )
        return _skip(budget.name, build.id, "dead_code", why, limit)
    check = _flag_check(
        budget, build.id, "dead_code", found.state == "on", word_figure(found.state), limit
    )
    return check if found.state == "on" else replace(check, note=why_off(found))


def _owner_checks(budget: Budget, vid: str, facts: Inspection) -> list[Check]:
    """The limits on what matching packages and modules own (their DWARF, their bytes)."""
    checks = [
        _dwarf_package_check(budget, vid, facts, pattern, limit)
        for pattern, limit in budget.max_dwarf_package.items()
    ]
    for key, limits, sizes in (
        ("max_package", budget.max_package, facts.package_sizes),
        ("max_module", budget.max_module, facts.module_sizes),
    ):
        owned = sizes() if limits else {}
        for pattern, limit in limits.items():
            total = sum(n for name, n in owned.items() if fnmatch.fnmatchcase(name, pattern))
            checks.append(_size_check(budget, vid, f"{key}[{pattern}]", total, limit))
    return checks


def _dwarf_package_check(
    budget: Budget, vid: str, facts: Inspection, pattern: str, limit: int
) -> Check:
    """Uncompressed DWARF (.debug_info + .debug_line) of the packages matching pattern."""
    check = f"max_dwarf_package[{pattern}]"
    units = facts.dwarf.by_package
    if units is None:
        note = "no DWARF per package in the record (rebuild: the budget asks for it)"
        return _skip(budget.name, vid, check, note, byte_figure(limit))
    total = sum(
        u.info_bytes + u.line_bytes for u in units if fnmatch.fnmatchcase(u.package, pattern)
    )
    return _size_check(budget, vid, check, total, limit)


def _scan_check(budget: Budget, build: Build, limit: int) -> Check:
    """Error-level findings of the source scan of this variant (its own build tags)."""
    scanned = build.scan
    if scanned is None or build.scan_stale:
        why = (
            "no scan in the record ([scan] enabled = true in the profile)"
            if scanned is None
            else "the scan is of an earlier build of this variant (rebuild with [scan] enabled)"
        )
        return _skip(budget.name, build.id, "max_scan_errors", why, count_figure(limit))
    errors = scanned.errors
    first = f"{errors[0].file}:{errors[0].line}: {errors[0].message}" if errors else ""
    ok = len(errors) <= limit
    check = _flag_check(
        budget, build.id, "max_scan_errors", ok, count_figure(len(errors)), count_figure(limit)
    )
    return replace(check, note=first)


def startup_checks(budget: Budget, build: Build) -> list[Check]:
    """Start-up limits on the build's measured runs (buildopt startup --profile)."""
    wanted = [
        k for k in ("max_startup_p95", "max_rss", "max_gc_cycles") if getattr(budget, k) is not None
    ]
    if not wanted:
        return []
    vid, measured = build.id, build.startup
    if measured is not None and build.startup_stale:
        note = "start-up measured on an earlier binary (run buildopt startup --profile again)"
        return [_skip(budget.name, vid, k, note) for k in wanted]
    if measured is not None and measured.emulated:
        note = "start-up measured under an emulator: not a figure of the device to judge"
        return [_skip(budget.name, vid, k, note) for k in wanted]
    if measured is None or not measured.runs or measured.wall_ms is None:
        note = "no start-up measurement (buildopt startup --profile)"
        return [_skip(budget.name, vid, k, note) for k in wanted]
    checks = []
    if budget.max_startup_p95 is not None:
        checks.append(_p95_check(budget, vid, measured.wall_ms, budget.max_startup_p95))
    if budget.max_rss is not None:
        rss = (measured.max_rss_kib or 0) * 1024
        checks.append(_size_check(budget, vid, "max_rss", rss, budget.max_rss))
    if budget.max_gc_cycles is not None and measured.gc_cycles is None:
        note = "no traced run succeeded, so no GC count (buildopt startup --trace-runs N)"
        checks.append(_skip(budget.name, vid, "max_gc_cycles", note))
    elif budget.max_gc_cycles is not None:
        cycles, most = measured.gc_cycles or 0, budget.max_gc_cycles
        ok = cycles <= most
        gc = (count_figure(cycles), count_figure(most))
        checks.append(_flag_check(budget, vid, "max_gc_cycles", ok, *gc))
    return checks


def _p95_check(budget: Budget, vid: str, wall_ms: Sequence[float], limit: float) -> Check:
    """Fail only when the whole 95% CI of the P95 is over the limit; over by noise is a warning."""
    from buildopt.analysis.stats import bootstrap_interval, percentile

    p95 = percentile(wall_ms, 0.95)
    low, high = bootstrap_interval(wall_ms, 0.95)
    if p95 <= limit:
        verdict: Verdict = "pass"
        note = ""
    elif low > limit:
        verdict, note = _bad(budget), ""
    else:
        verdict = "warn"
        note = f"over the limit, but within noise (95% CI {low:.1f}-{high:.1f} ms)"
    figures = (Figure(p95, "ms"), Figure(limit, "ms"), Figure(limit - p95, "ms", change=True))
    message = budget.message if verdict == "fail" else ""
    return Check(budget.name, vid, "max_startup_p95", verdict, *figures, note=note, message=message)


def _growth_check(budget: Budget, build: Build, baseline: Build | None, missing: str) -> Check:
    """Growth against the baseline's entry of this id, in percent of it when the limit is a
    percentage (in bytes when it is a size); without a baseline entry, SKIP saying why."""
    vid, size = build.id, build.size or 0
    growth = budget.max_growth
    if growth is None:  # pragma: no cover - only called for budgets with max_growth
        raise ValueError("no growth limit")
    if baseline is None:
        limit = (
            Figure(growth.fraction, "percent", change=True)
            if growth.fraction is not None
            else byte_figure(growth.absolute or 0, change=True)
        )
        return _skip(budget.name, vid, GROWTH, missing, limit)
    old = baseline.size or 0
    delta = size - old
    allowed = round(old * growth.fraction) if growth.fraction is not None else growth.absolute or 0
    if delta < budget.growth_floor:
        verdict: Verdict = "pass"
        note = f"{format_size(delta, signed=True)} is under the noise floor" if delta > 0 else ""
    else:
        verdict = "pass" if delta <= allowed else _bad(budget)
        note = ""
    if growth.fraction is not None and old:
        actual = Figure(delta / old, "percent", change=True)
        limit = Figure(growth.fraction, "percent", change=True)
        headroom = Figure((allowed - delta) / old, "percent", change=True)
        bytes_note = f"{format_size(delta, signed=True)} of {format_size(old)}"
        note = "; ".join(x for x in (bytes_note, note) if x)
    else:
        actual, limit = byte_figure(delta, change=True), byte_figure(allowed, change=True)
        headroom = byte_figure(allowed - delta, change=True)
    message, headroom_bytes = budget.message if verdict != "pass" else "", allowed - delta
    return Check(
        budget.name, vid, GROWTH, verdict, actual, limit, headroom, note, message, headroom_bytes
    )


def evaluate(  # noqa: PLR0917 - the budgets and each record they are judged on
    budgets: Sequence[Budget],
    images: Sequence[ImageBudget],
    record: Record,
    baseline: Record | None,
    others: Mapping[Path, Record | RecordError] | None = None,
    made: Mapping[str, ImageOutcome] | None = None,
    no_baseline: str = NO_BASELINE,
    ids: Sequence[str] = (),
) -> list[Check]:
    """All checks of all budgets on a record (and a baseline record for growth, or why there is
    none); ``others`` are the records image budgets name, loaded by the caller (or why they
    could not be); ``made`` the records of the real images (or why each is missing), by image
    name. First, a FAIL per build that failed or that the CI matrix expected and no job
    recorded: no variant is silently left out - nor is a build of the profile (``ids``, every
    id it has) that the record lacks, a SKIP row for each budget that selects it."""
    old = {b.id: b for b in baseline.builds if b.ok} if baseline else {}
    checks: list[Check] = completeness_checks(record)
    held = {b.id for b in record.builds} | {m.id for m in record.missing or ()}
    for budget in budgets:
        unbuilt = [i for i in ids if i not in held and matches(budget.select, i)]
        for vid in unbuilt:  # never silently out: a build of the profile not in the record
            checks.append(_skip(budget.name, vid, "-", f"not in the record: build it ({vid})"))
        if not unbuilt and not any(matches(budget.select, b.id) for b in record.builds):
            targets = ", ".join(budget.select)
            checks.append(
                _skip(budget.name, targets, "-", "no build of it in the record: build it")
            )
        for build in record.builds:
            if not matches(budget.select, build.id):
                continue
            if not build.ok or build.inspect is None:
                reason = f": {build.reason}" if build.reason else ""
                why = not_inspected(build) if build.ok else f"not built ({build.status}{reason})"
                checks.append(_skip(budget.name, build.id, "-", why))
                continue
            problem = changed(build)
            if problem is not None:  # its facts are of another file: never judged as its
                checks.append(_changed_check(budget.name, build.id, problem))
                continue
            base, why_not = old.get(build.id), no_baseline
            if baseline is not None and base is None:
                why_not = "no ok build of this id in the baseline record (a new variant?)"
            checks += evaluate_build(budget, build, build.inspect, base, why_not)
    for image in images:
        gone = _changed_inputs(image, record, others or {})
        if gone:
            checks += gone
        elif image.filesystem is None:
            checks.append(evaluate_image(image, record, others or {}))
        else:
            checks += evaluate_filesystem(image, (made or {}).get(image.name))
    return checks


def _changed_check(budget: str, target: str, problem: str) -> Check:
    """A binary that is no longer the one its entry describes: a failure whatever the level,
    since no budget of it can be judged."""
    return Check(
        budget, target, "file", "fail", NOTHING, NOTHING, None, note=f"{problem}: build again"
    )


def _changed_inputs(
    image: ImageBudget, record: Record, others: Mapping[Path, Record | RecordError]
) -> list[Check]:
    """A failed check for each binary the image selects that changed since its build."""
    records = [record, *(o for p in image.records if isinstance(o := others.get(p), Record))]
    return [
        _changed_check(image.name, image.name, problem)
        for r in records
        for b in r.builds
        if b.ok and matches(image.select, b.id) and (problem := changed(b)) is not None
    ]


MATRIX = "every variant built"
OK = Figure("ok", "text")


def completeness_checks(record: Record) -> list[Check]:
    """A FAIL per build that failed, was skipped without a reason, or was expected (the CI
    matrix) and is in no job's record - naming the variant and why."""
    checks = []
    for build in record.builds:
        if build.status == "failed":
            why = f"build failed: {build.reason or 'no reason recorded'}"
        elif build.status == "skipped" and not build.reason.strip():
            why = "skipped without a reason"
        else:
            continue
        checks.append(
            Check(MATRIX, build.id, "built", "fail", word_figure(build.status), OK, None, note=why)
        )
    for missing in record.missing or ():
        note = f"missing: {missing.reason}"
        checks.append(
            Check(MATRIX, missing.id, "built", "fail", word_figure("missing"), OK, None, note=note)
        )
    return checks


def acknowledge(checks: Sequence[Check], reason: str) -> list[Check]:
    """Growth failures acknowledged (a ``Binary-Size: REASON`` line of the pull request):
    WARN, quoting the reason. Every other check keeps its verdict."""
    quote = f"acknowledged: Binary-Size: {reason}"
    return [
        replace(c, verdict="warn", note="; ".join(x for x in (c.note, quote) if x))
        if c.check == GROWTH and c.verdict == "fail"
        else c
        for c in checks
    ]


def evaluate_filesystem(image: ImageBudget, outcome: ImageOutcome | None) -> list[Check]:
    """A real image (``buildopt image``): its file's size, its erase blocks, and what the
    binaries each ``max_share`` pattern selects take in it. ``outcome`` is its record, or why
    there is none."""
    wanted = [
        *(["max_size"] if image.max_size is not None else []),
        *(["max_erase_blocks"] if image.max_erase_blocks is not None else []),
        *(f"max_share[{pattern}]" for pattern in image.max_share),
    ]
    made = outcome.record if outcome is not None else None
    if made is None:
        note = (outcome.reason if outcome is not None else "") or "the image was not made"
        return [_skip(image.name, image.name, c, note) for c in wanted]
    checks = []
    if image.max_size is not None:
        check = _size_check(image, image.name, "max_size", made.size, image.max_size)
        checks.append(
            replace(
                check,
                note=f"{image.compressor} squashfs, {counted(len(made.files), 'file')}"
                + (f", {counted(len(made.links), 'link')}" if made.links else ""),
            )
        )
    if image.max_erase_blocks is not None:
        blocks, most = made.erase_blocks, image.max_erase_blocks
        check = _size_check(image, image.name, "max_erase_blocks", blocks, most, "blocks")
        checks.append(replace(check, note=f"{format_size(made.erase_block)} erase blocks"))
    for pattern, limit in image.max_share.items():
        stored = _share(made, pattern)
        checks.append(_size_check(image, image.name, f"max_share[{pattern}]", stored, limit))
    return checks


def evaluate_image(
    image: ImageBudget, record: Record, others: Mapping[Path, Record | RecordError]
) -> Check:
    """The summed size of everything selected, in this record and the image's other records."""
    limit = image.max_size or 0  # required without a filesystem (config.budgets)
    records = [record]
    for path in image.records:
        other = others.get(path, RecordError(f"{path}: not loaded"))
        if isinstance(other, RecordError):
            unjudged = _skip(image.name, image.name, "max_size", other.message, byte_figure(limit))
            return replace(unjudged, verdict=_bad(image))  # at the budget's level, not a skip
        records.append(other)
    chosen = [b for r in records for b in r.builds if b.ok and matches(image.select, b.id)]
    total = sum(b.size or 0 for b in chosen)
    check = _size_check(image, image.name, "max_size", total, limit)
    return replace(check, note=f"{len(chosen)} binaries")


def failed(checks: Sequence[Check]) -> bool:
    return any(c.verdict == "fail" for c in checks)


def _share(made: ImageRecord, pattern: str) -> int:
    """What the built binaries pattern selects take in the image: the data of each, once - a
    binary whose bytes an earlier file holds (same_as: a prebuilt copy, say) counts that data."""
    stored = {f.path: f.stored_bytes for f in made.files}
    chosen = [f for f in made.files if not f.extra and selects(pattern, f.source)]
    return sum(stored.get(path, 0) for path in {f.same_as or f.path for f in chosen})
