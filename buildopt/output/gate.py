"""The gate's verdicts for machines (``buildopt.gate/1`` JSON), pull requests (Markdown for
``$GITHUB_STEP_SUMMARY``, folded to stay under GitHub's 65,536 characters), CI dashboards (JUnit
XML, one test case per budget x variant) and GitHub annotations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from msgspec import Meta

from buildopt.analysis.deps import DEPS
from buildopt.analysis.gate import MATRIX, Check, Figure, Verdict
from buildopt.binary.facts import Count, Fact, described
from buildopt.config.units import format_size
from buildopt.errors import visible
from buildopt.output.diff import code_span
from buildopt.record.model import Record

if TYPE_CHECKING:
    from buildopt.record.images import ImageEntry  # (its store: ~5 ms of import)

# What Markdown reads as markup: HTML (a `<!--` in a Binary-Size: line hid every row after
# it, `</details>` closed the fold), entities (`&#64;`), emphasis, links, code, a cell's end;
# `_` only where it can open or close emphasis (max_size stays max_size).
MARKDOWN_PUNCTUATION = re.compile(r"[\\`*\[\]<>|~&!]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# What GitHub makes of the rendered text, escaped or not: @mentions (a ping), #123 (a
# cross-reference in that issue), :name: (an emoji). A zero-width space after @, # or the
# opening colon breaks each; "failed: why" stays as it is.
GITHUB_LINKED = re.compile(r"[@#]|:(?=[\w+-]+:)")


def md_text(text: str) -> str:
    """A name or message as literal Markdown text: control characters and the Unicode line
    separators shown as escapes (a newline ended the table row, ESC reached the terminal of
    `--markdown -`), the punctuation Markdown reads backslash-escaped (`[x](y)` is no link,
    `|` no cell, `<img>` no HTML), and no @mention, #reference or :emoji: made."""
    unlinked = GITHUB_LINKED.sub(lambda m: m.group() + "\u200b", _shown(text))
    return MARKDOWN_PUNCTUATION.sub(lambda m: "\\" + m.group(), unlinked)


def md_code(text: str) -> str:
    """text as a code span in a table cell: control characters as escapes, a fence no backtick
    in it can end, its | not a cell's end."""
    return code_span(_shown(text).replace("|", "\\|"))


def _shown(text: str) -> str:
    return visible(text).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters (ESC is not a legal XML character, so the
    JUnit file did not parse) shown as escapes."""
    return visible(text)


def command_data(text: str, *, property_value: bool = False) -> str:
    """Text for a GitHub workflow command, escaped as the runner reads it: a newline in a
    budget's message began a new command (`::add-mask::`, `::stop-commands::`)."""
    text = visible(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


VERDICTS: list[Verdict] = list(get_args(Verdict))
GATE_SCHEMA: Literal["buildopt.gate/1"] = "buildopt.gate/1"
MARKDOWN_LIMIT = 65_536
CHECK_KINDS = (
    "max_size, max_section[.text], max_category[code], max_dwarf, max_symbols, static, "
    "allowed_needed, max_package[pattern], max_module[pattern], max_dwarf_package[pattern], "
    "max_compressed[gzip|xz|zstd], max_ram_static, max_growth, max_startup_p95, max_rss, "
    "max_gc_cycles, max_scan_errors; max_erase_blocks, max_share[pattern] (images); file: the "
    'binary changed since its build (always fail); built (budget "every variant built": a '
    "build that failed, was skipped without a reason, or that the CI matrix expected and no job "
    'recorded); deps, new_package[path], left_packages, module[path] (budget "dependency '
    'list": deps/PROFILE/ID.txt against the packages the build links)'
)


class CheckResult(Fact, frozen=True):
    budget: str
    target: Annotated[str, described("variant id, or the image budget's name")]
    check: Annotated[str, described(CHECK_KINDS)]
    verdict: Verdict
    actual: str
    limit: str
    headroom: Annotated[int | None, described("bytes left under the limit (negative: over)")]
    note: str
    message: str
    chain: Annotated[
        tuple[str, ...] | None,
        described(
            "new_package[...] of a dependency list: the import chain from the main package to "
            "the package the list lacks"
        ),
    ] = None


class GateReport(Fact, frozen=True):
    """``buildopt gate --json``."""

    schema: Literal["buildopt.gate/1"]
    profile: str
    baseline_record: str | None
    baseline_missing: Annotated[
        str | None,
        described(
            "why there is no baseline (gate --baseline-missing, or the --baseline file is not "
            "there): growth checks are skip"
        ),
    ]
    acknowledged: Annotated[
        str | None,
        described(
            "the pull request's Binary-Size: reason (gate --acknowledge): growth failures are "
            "warnings quoting it"
        ),
    ]
    result: Annotated[
        Literal["pass", "fail"], described("fail when any check failed (warnings do not fail)")
    ]
    counts: Annotated[dict[Verdict, Count], Meta(extra_json_schema={"required": VERDICTS})]
    checks: tuple[CheckResult, ...]


def gate_report(
    checks: Sequence[Check],
    record: Record,
    baseline: str | None,
    acknowledged: str = "",
    baseline_missing: str = "",
) -> GateReport:
    counts = {v: sum(c.verdict == v for c in checks) for v in VERDICTS}
    return GateReport(
        schema=GATE_SCHEMA,
        profile=record.profile.name,
        baseline_record=baseline,
        baseline_missing=baseline_missing or None,
        acknowledged=acknowledged or None,
        result="fail" if counts["fail"] else "pass",
        counts=counts,
        checks=tuple(
            CheckResult(
                budget=c.budget,
                target=c.target,
                check=c.check,
                verdict=c.verdict,
                actual=figure_text(c.actual),
                limit=figure_text(c.limit, limit=True),
                headroom=c.headroom_bytes,
                note=c.note,
                message=c.message,
                chain=c.chain or None,
            )
            for c in checks
        ),
    )


def figure_text(figure: Figure | None, *, limit: bool = False) -> str:
    """A figure as the JSON says it (sizes in bytes), and as every other output says it but
    for the judged sizes (``sized``): "-" for nothing measured, "" for no headroom; a limit
    in percent to one place, a measured one to two."""
    if figure is None:
        return ""
    value = figure.value
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    return _number_text(value, figure, limit=limit)


def _number_text(value: float, figure: Figure, *, limit: bool) -> str:
    match figure.unit:
        case "bytes":
            return format_size(int(value), signed=True) if figure.change else str(value)
        case "percent":
            return f"+{value:.1%}" if limit else f"{value:+.2%}"
        case "ms" if figure.change:
            return f"{value:+.1f} ms"
        case "ms":
            return f"{value:g}ms" if limit else f"{value:.1f}ms"
        case "blocks" if figure.change:
            return f"{value:+d} blocks"
        case _:
            return str(value)


def image_source(f: ImageEntry) -> str:
    """Where an image's file came from, and whose data it shares (tables and the report)."""
    return f"{f.source} (same bytes as {f.same_as}: stored once)" if f.same_as else f.source


def sized(figure: Figure, check: Check) -> int | None:
    """The bytes of a size the check judged (it has a headroom), shown for people; None for
    every other figure (a growth, a skipped check's limit, a count), shown as the JSON has it."""
    judged = check.headroom is not None and figure.unit == "bytes" and not figure.change
    return int(figure.value) if judged and isinstance(figure.value, int) else None


def human(figure: Figure, check: Check, *, limit: bool = False) -> str:
    """A size check's value for people: 5.31 MiB (5570722 B); other values as the JSON has them."""
    size = sized(figure, check)
    return figure_text(figure, limit=limit) if size is None else f"{format_size(size)} ({size} B)"


def markdown(
    checks: Sequence[Check],
    profile: str,
    limit: int = MARKDOWN_LIMIT,
    *,
    report_url: str = "",
    acknowledged: str = "",
    baseline_missing: str = "",
) -> str:
    """A table for $GITHUB_STEP_SUMMARY or a PR comment: problems in full, passing rows folded;
    with report_url, a link to the HTML report (buildopt report) under the counts; the pull
    request's acknowledgement of growth quoted, and why growth was not judged."""
    icon = {"pass": "✅", "warn": "⚠️", "fail": "❌", "skip": "⏭️"}
    counts = {v: sum(c.verdict == v for c in checks) for v in icon}
    lines = [
        f"### buildopt gate: {md_text(profile)} - {'FAIL' if counts['fail'] else 'PASS'}",
        f"{counts['fail']} failed, {counts['warn']} warnings, {counts['pass']} passed, "
        f"{counts['skip']} skipped",
    ]
    if report_url:
        lines.append(f"[The size report]({report_url}): treemaps, variants, start-up")
    if acknowledged:
        lines.append(
            "Growth acknowledged by the pull request (growth failures are warnings):\n"
            f"> Binary-Size: {md_text(_one_line(acknowledged))}"
        )
    if baseline_missing:
        lines.append(
            f"**No baseline**: {md_text(_one_line(baseline_missing))} - growth budgets are SKIP, "
            "not judged."
        )
    head = "".join(line + "\n\n" for line in lines)
    header = (
        "| | budget | variant | check | actual | limit | headroom | note |\n"
        "|---|---|---|---|---:|---:|---:|---|\n"
    )

    def row(c: Check) -> str:
        note = "; ".join(x for x in (c.note, c.message) if x)
        figures = (human(c.actual, c), human(c.limit, c, limit=True), figure_text(c.headroom))
        texts = map(md_text, (c.check, *figures, note))
        cells = [icon[c.verdict], md_text(c.budget), md_code(c.target), *texts]
        return f"| {' | '.join(cells)} |\n"

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


def _one_line(text: str) -> str:
    return visible(" ".join(text.split()))  # a pull request's text: no ESC into the summary


def _rows_within(start: str, checks: Sequence[Check], row: Any, limit: int) -> tuple[str, int]:
    """start plus as many rows as fit in limit characters, and how many that was."""
    text = start
    for count, check in enumerate(checks):
        line = row(check)
        if len(text) + len(line) > limit:
            return text, count
        text += line
    return text, len(checks)


def junit(checks: Sequence[Check], profile: str) -> str:
    """JUnit XML: one test case per budget x variant, failing with its failed checks, skipped
    when every check skipped (counted in the suite), its warnings kept in ``<system-out>``."""
    cases: dict[tuple[str, str], list[Check]] = {}
    for c in checks:
        cases.setdefault((xml_text(c.budget), xml_text(c.target)), []).append(c)
    body = []
    failures = skipped = 0
    for (budget, target), group in cases.items():
        bad = [c for c in group if c.verdict == "fail"]
        failures += bool(bad)
        inner = ""
        if bad:
            text = "\n".join(_junit_line(c) for c in bad)
            first = quoteattr(text.splitlines()[0])
            inner = f"<failure message={first}>{xml_escape(text)}</failure>"
        elif all(c.verdict == "skip" for c in group):
            skipped += 1
            inner = f"<skipped message={quoteattr(xml_text(group[0].note))}/>"
        warned = [c for c in group if c.verdict == "warn"]
        if warned:
            text = "\n".join(f"warning: {_junit_line(c)}" for c in warned)
            inner += f"<system-out>{xml_escape(text)}</system-out>"
        body.append(
            f"  <testcase classname={quoteattr(budget)} name={quoteattr(target)}>{inner}</testcase>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<testsuite name={quoteattr("buildopt gate " + xml_text(profile))} tests="{len(cases)}" '
        f'failures="{failures}" skipped="{skipped}">\n' + "\n".join(body) + "\n</testsuite>\n"
    )


def _junit_line(c: Check) -> str:
    said = xml_text("; ".join(x for x in (c.note, c.message) if x))
    if c.budget == MATRIX:  # a build not there to judge: why is all there is to say
        return said
    if c.budget == DEPS:  # a package against a list: no limit is exceeded
        return f"{c.check}: {human(c.actual, c)} ({c.limit.value}) {said}".strip()
    return f"{c.check}: {human(c.actual, c)} > {human(c.limit, c, limit=True)} {said}".strip()


def workflow_commands(checks: Sequence[Check], profile_path: str) -> list[str]:
    """GitHub workflow commands for failed and warning checks."""
    out = []
    for c in checks:
        if c.verdict in ("fail", "warn"):
            kind = "error" if c.verdict == "fail" else "warning"
            if c.budget == MATRIX:  # a build not there to judge: why is all there is to say
                text = f"{c.budget}: {c.target}: {c.note}"
            elif c.budget == DEPS:  # a package against a list: no limit is exceeded
                text = f"{c.budget} {c.limit.value}: {c.check}: {human(c.actual, c)} ({c.note})"
            else:
                text = f"{c.budget} {c.target} {c.check}: {human(c.actual, c)} over "
                text += human(c.limit, c, limit=True)
                if c.note:  # why (an acknowledged growth's quote, the noise of a start-up)
                    text += f" ({c.note})"
            if c.message:
                text += f" - {c.message}"
            where = command_data(profile_path, property_value=True)
            out.append(f"::{kind} file={where},title=buildopt gate::{command_data(text)}")
    return out
