"""``buildopt compare``: variants against the baseline, or two build records."""

from __future__ import annotations

import sys
from pathlib import Path

from buildopt.cli.common import _existing_record, _load_record, _profile, _warn_changed
from buildopt.cli.values import count
from buildopt.errors import EXIT_OK, UsageError


def compare(
    *,
    profile: str = "",
    record: list[str] | None = None,
    json: bool = False,
    bytes: bool = False,
    rows: str = "",
    dist: str = "",
) -> int:
    """``buildopt compare``: variants against the baseline, or two build records."""
    from buildopt.analysis import compare
    from buildopt.output import compare_tables
    from buildopt.output import console as report

    cwd, records, most = Path.cwd(), record or [], count("--rows", rows, 30, least=1)
    if len(records) > 2:
        raise UsageError("compare: give one build record (or --profile), or two to compare")
    if len(records) == 2:
        old, new = (_load_record(cwd / r) for r in records)
        result = compare.compare_records(old, new)
        if json:
            report.print_json(compare.records_report(result))
        else:
            compare_tables.show_record_comparison(report.make_console(), result, most, exact=bytes)
        return EXIT_OK
    if records:
        path = cwd / records[0]
    else:  # the profile's record (without --profile: the project's only profile)
        path = _existing_record(_profile(profile, cwd, "compare"), dist, cwd, "compare")
    data = _load_record(path)
    variant_rows = compare.compare_variants(data)
    for target in compare.missing_baselines(data, variant_rows):
        print(
            f"warning: no {data.profile.baseline!r} build for {target} in {path}: its variants "
            "are shown without deltas (build the baseline too, or set baseline in the profile)",
            file=sys.stderr,
        )
    _warn_changed(data)
    if json:
        report.print_json(compare.compare_report(data, variant_rows))
    else:
        compare_tables.show_variant_comparison(
            report.make_console(), data, variant_rows, exact=bytes
        )
    return EXIT_OK
