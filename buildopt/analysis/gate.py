"""Evaluate budgets on a build record: PASS, WARN or FAIL per budget x variant x check.

Outputs for people (a rich table), machines (``buildopt.gate/1`` JSON), pull requests (Markdown
for ``$GITHUB_STEP_SUMMARY``, folded to stay under GitHub's 65,536 characters), CI dashboards
(JUnit XML, one test case per budget x variant) and GitHub annotations.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from buildopt.analysis.compare import RecordError, load_record
from buildopt.config.budgets import Budget, ImageBudget, matches
from buildopt.config.units import format_size

GATE_SCHEMA = "buildopt.gate/1"
MARKDOWN_LIMIT = 65_536
Verdict = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    budget: str
    target: str  # the variant id, or the image name
    check: str  # max_size, max_section[.text], static, ...
    verdict: Verdict
    actual: str
    limit: str
    headroom: str
    note: str = ""
    message: str = ""
    headroom_bytes: int | None = None


def _size_check(
    budget: Budget | ImageBudget, target: str, check: str, actual: int, limit: int
) -> Check:
    ok = actual <= limit
    return Check(
        budget.name,
        target,
        check,
        "pass" if ok else _bad(budget),
        str(actual),
        str(limit),
        format_size(limit - actual, signed=True),
        message="" if ok else budget.message,
        headroom_bytes=limit - actual,
    )


def _bad(budget: Budget | ImageBudget) -> Verdict:
    return "fail" if budget.level == "fail" else "warn"


def _flag_check(
    budget: Budget, target: str, check: str, ok: bool, *, actual: str, limit: str
) -> Check:
    return Check(
        budget.name,
        target,
        check,
        "pass" if ok else _bad(budget),
        actual,
        limit,
        "",
        message="" if ok else budget.message,
    )


def evaluate_build(
    budget: Budget, build: Mapping[str, Any], baseline: Mapping[str, Any] | None
) -> list[Check]:
    """Every limit of one budget on one built variant."""
    vid, facts = build["id"], build["inspect"]
    totals, link = facts["totals"], facts["linking"]
    checks: list[Check] = []
    if budget.max_size is not None:
        checks.append(_size_check(budget, vid, "max_size", facts["size"], budget.max_size))
    sections = {s["name"]: s["size"] for s in facts["sections"]}
    for name, limit in budget.max_section.items():
        checks.append(
            _size_check(budget, vid, f"max_section[{name}]", sections.get(name, 0), limit)
        )
    for name, limit in budget.max_category.items():
        checks.append(_size_check(budget, vid, f"max_category[{name}]", totals.get(name, 0), limit))
    if budget.max_dwarf is not None:
        checks.append(
            _size_check(budget, vid, "max_dwarf", facts["dwarf"]["file_bytes"], budget.max_dwarf)
        )
    if budget.max_symbols is not None:
        symbols = facts["symbols"]["symtab_bytes"] + facts["symbols"]["strtab_bytes"]
        checks.append(_size_check(budget, vid, "max_symbols", symbols, budget.max_symbols))
    if budget.static is not None:
        kind = "static" if link["static"] else "dynamic"
        checks.append(
            _flag_check(
                budget,
                vid,
                "static",
                link["static"] == budget.static,
                actual=kind,
                limit="static" if budget.static else "dynamic",
            )
        )
    if budget.allowed_needed is not None:
        extra = [lib for lib in link["needed"] if lib not in budget.allowed_needed]
        checks.append(
            _flag_check(
                budget,
                vid,
                "allowed_needed",
                not extra,
                actual=",".join(link["needed"]) or "none",
                limit=",".join(budget.allowed_needed) or "none",
            )
        )
    packages = {p["package"]: p["text_bytes"] for p in facts["packages"]}
    for pattern, limit in budget.max_package.items():
        total = sum(n for p, n in packages.items() if fnmatch.fnmatchcase(p, pattern))
        checks.append(_size_check(budget, vid, f"max_package[{pattern}]", total, limit))
    if budget.max_growth is not None:
        checks.append(_growth_check(budget, build, baseline))
    checks += startup_checks(budget, build)
    if budget.max_scan_errors is not None:
        checks.append(_scan_check(budget, build, budget.max_scan_errors))
    return checks


def _scan_check(budget: Budget, build: Mapping[str, Any], limit: int) -> Check:
    """Error-level findings of the source scan of this variant (its own build tags)."""
    scanned = build.get("scan")
    if not scanned:
        return Check(
            budget.name,
            build["id"],
            "max_scan_errors",
            "skip",
            "-",
            str(limit),
            "",
            note="no scan in the record ([scan] enabled = true in the profile)",
        )
    errors = [f for f in scanned["findings"] if f["severity"] == "error"]
    first = f"{errors[0]['file']}:{errors[0]['line']}: {errors[0]['message']}" if errors else ""
    check = _flag_check(
        budget,
        build["id"],
        "max_scan_errors",
        len(errors) <= limit,
        actual=str(len(errors)),
        limit=str(limit),
    )
    return Check(**{**check.__dict__, "note": first})


def startup_checks(budget: Budget, build: Mapping[str, Any]) -> list[Check]:
    """Start-up limits on the build's measured runs (buildopt startup --profile)."""
    wanted = [
        k for k in ("max_startup_p95", "max_rss", "max_gc_cycles") if getattr(budget, k) is not None
    ]
    if not wanted:
        return []
    vid, measured = build["id"], build.get("startup")
    if not measured or not measured.get("runs"):
        return [
            Check(
                budget.name,
                vid,
                k,
                "skip",
                "-",
                "-",
                "",
                note="no start-up measurement (buildopt startup --profile)",
            )
            for k in wanted
        ]
    checks = []
    if budget.max_startup_p95 is not None:
        checks.append(_p95_check(budget, vid, measured["wall_ms"], budget.max_startup_p95))
    if budget.max_rss is not None:
        checks.append(
            _size_check(budget, vid, "max_rss", measured["max_rss_kib"] * 1024, budget.max_rss)
        )
    if budget.max_gc_cycles is not None:
        ok = measured["gc_cycles"] <= budget.max_gc_cycles
        checks.append(
            _flag_check(
                budget,
                vid,
                "max_gc_cycles",
                ok,
                actual=str(measured["gc_cycles"]),
                limit=str(budget.max_gc_cycles),
            )
        )
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
    return Check(
        budget.name,
        vid,
        "max_startup_p95",
        verdict,
        f"{p95:.1f}ms",
        f"{limit:g}ms",
        f"{limit - p95:+.1f} ms",
        note=note,
        message=budget.message if verdict == "fail" else "",
    )


def _growth_check(
    budget: Budget, build: Mapping[str, Any], baseline: Mapping[str, Any] | None
) -> Check:
    vid = build["id"]
    growth = budget.max_growth
    if growth is None:  # pragma: no cover - only called for budgets with max_growth
        raise ValueError("no growth limit")
    limit_text = f"{growth.fraction:.1%}" if growth.fraction is not None else str(growth.absolute)
    if baseline is None:
        return Check(
            budget.name,
            vid,
            "max_growth",
            "pass",
            str(build["size"]),
            limit_text,
            "",
            note="no baseline",
        )
    old = baseline["size"]
    delta = build["size"] - old
    allowed = round(old * growth.fraction) if growth.fraction is not None else growth.absolute or 0
    if delta < budget.growth_floor:
        verdict: Verdict = "pass"
        note = f"{format_size(delta, signed=True)} is under the noise floor" if delta > 0 else ""
    else:
        verdict = "pass" if delta <= allowed else _bad(budget)
        note = ""
    return Check(
        budget.name,
        vid,
        "max_growth",
        verdict,
        f"{delta:+d}",
        f"+{allowed}",
        format_size(allowed - delta, signed=True),
        note=note,
        message=budget.message if verdict != "pass" else "",
        headroom_bytes=allowed - delta,
    )


def evaluate(
    budgets: Sequence[Budget],
    images: Sequence[ImageBudget],
    record: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
) -> list[Check]:
    """All checks of all budgets on a record (and a baseline record for growth)."""
    builds = {b["id"]: b for b in record["builds"]}
    old = {b["id"]: b for b in baseline["builds"] if b.get("status") == "ok"} if baseline else {}
    checks: list[Check] = []
    for budget in budgets:
        for vid, build in builds.items():
            if not matches(budget.select, vid):
                continue
            if build.get("status") != "ok" or not build.get("inspect"):
                checks.append(
                    Check(
                        budget.name,
                        vid,
                        "-",
                        "skip",
                        "-",
                        "-",
                        "",
                        note=f"not built ({build.get('status')})",
                    )
                )
                continue
            base = old.get(vid) if baseline is not None else None
            checks += evaluate_build(budget, build, base if baseline is not None else None)
    for image in images:
        checks.append(evaluate_image(image, record))
    return checks


def evaluate_image(image: ImageBudget, record: Mapping[str, Any]) -> Check:
    """The summed size of everything selected, in this record and the image's other records."""
    records = [record]
    for path in image.records:
        try:
            records.append(load_record(path))
        except RecordError as exc:
            return Check(
                image.name,
                image.name,
                "max_size",
                _bad(image),
                "-",
                str(image.max_size),
                "",
                note=exc.message,
            )
    chosen = [
        b
        for r in records
        for b in r["builds"]
        if b.get("status") == "ok" and matches(image.select, b["id"])
    ]
    total = sum(b["size"] for b in chosen)
    check = _size_check(image, image.name, "max_size", total, image.max_size)
    return Check(**{**check.__dict__, "note": f"{len(chosen)} binaries"})


# --- outputs ---------------------------------------------------------------------------------


def failed(checks: Sequence[Check]) -> bool:
    return any(c.verdict == "fail" for c in checks)


def to_json(
    checks: Sequence[Check], record: Mapping[str, Any], baseline: str | None
) -> dict[str, Any]:
    counts = {v: sum(c.verdict == v for c in checks) for v in ("pass", "warn", "fail", "skip")}
    return {
        "schema": GATE_SCHEMA,
        "profile": record["profile"]["name"],
        "baseline_record": baseline,
        "result": "fail" if counts["fail"] else "pass",
        "counts": counts,
        "checks": [
            {
                "budget": c.budget,
                "target": c.target,
                "check": c.check,
                "verdict": c.verdict,
                "actual": c.actual,
                "limit": c.limit,
                "headroom": c.headroom_bytes,
                "note": c.note,
                "message": c.message,
            }
            for c in checks
        ],
    }


def markdown(checks: Sequence[Check], profile: str, limit: int = MARKDOWN_LIMIT) -> str:
    """A table for $GITHUB_STEP_SUMMARY or a PR comment: problems in full, passing rows folded."""
    icon = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
    counts = {v: sum(c.verdict == v for c in checks) for v in icon}
    head = (
        f"### buildopt gate: {profile} - {'FAIL' if counts['fail'] else 'PASS'}\n\n"
        f"{counts['fail']} failed, {counts['warn']} warnings, {counts['pass']} passed, "
        f"{counts['skip']} skipped\n\n"
    )
    header = (
        "| | budget | variant | check | actual | limit | headroom | note |\n"
        "|---|---|---|---|---:|---:|---:|---|\n"
    )

    def row(c: Check) -> str:
        note = "; ".join(x for x in (c.note, c.message) if x)
        return (
            f"| {icon[c.verdict]} | {c.budget} | `{c.target}` | {c.check} | {c.actual} | "
            f"{c.limit} | {c.headroom} | {note.replace('|', '/')} |\n"
        )

    problems = [c for c in checks if c.verdict in ("fail", "warn")]
    rest = [c for c in checks if c.verdict not in ("fail", "warn")]
    reserve = 400  # for the closing lines
    text, shown = _rows_within(head + (header if problems else ""), problems, row, limit - reserve)
    if shown < len(problems):
        text += f"\n{len(problems) - shown} more failures and warnings not shown (see --json)\n"
    if rest:
        opening = f"\n<details><summary>{len(rest)} passing or skipped checks</summary>\n\n{header}"
        folded, shown_rest = _rows_within("", rest, row, limit - reserve - len(text) - len(opening))
        more = f"\n{len(rest) - shown_rest} more not shown\n" if shown_rest < len(rest) else ""
        text += opening + folded + more + "\n</details>\n"
    return text


def _rows_within(start: str, checks: Sequence[Check], row: Any, limit: int) -> tuple[str, int]:
    """start plus as many rows as fit in limit characters, and how many that was."""
    parts, size = [start], len(start)
    for count, check in enumerate(checks):
        line = row(check)
        if size + len(line) > limit:
            return "".join(parts), count
        parts.append(line)
        size += len(line)
    return "".join(parts), len(checks)


def junit(checks: Sequence[Check], profile: str) -> str:
    """JUnit XML: one test case per budget x variant, failing with its failed checks."""
    cases: dict[tuple[str, str], list[Check]] = {}
    for c in checks:
        cases.setdefault((c.budget, c.target), []).append(c)
    body = []
    failures = 0
    for (budget, target), group in cases.items():
        bad = [c for c in group if c.verdict == "fail"]
        failures += bool(bad)
        inner = ""
        if bad:
            text = "\n".join(f"{c.check}: {c.actual} > {c.limit} {c.message}".strip() for c in bad)
            inner = (
                f"<failure message={quoteattr(text.splitlines()[0])}>{xml_escape(text)}</failure>"
            )
        elif all(c.verdict == "skip" for c in group):
            inner = f"<skipped message={quoteattr(group[0].note)}/>"
        body.append(
            f"  <testcase classname={quoteattr(budget)} name={quoteattr(target)}>{inner}</testcase>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name={quoteattr("buildopt gate " + profile)} tests="{len(cases)}" '
        f'failures="{failures}">\n' + "\n".join(body) + "\n</testsuite>\n"
    )


def workflow_commands(checks: Sequence[Check], profile_path: str) -> list[str]:
    """GitHub workflow commands for failed and warning checks."""
    out = []
    for c in checks:
        if c.verdict in ("fail", "warn"):
            kind = "error" if c.verdict == "fail" else "warning"
            text = f"{c.budget} {c.target} {c.check}: {c.actual} over {c.limit}"
            if c.message:
                text += f" - {c.message}"
            out.append(f"::{kind} file={profile_path},title=buildopt gate::{text}")
    return out


def load_baseline(path: Path | None) -> dict[str, Any] | None:
    return load_record(path) if path else None
