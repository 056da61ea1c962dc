"""``buildopt plan``: every variant x target with its exact go build argv and env."""

from __future__ import annotations

import os
from pathlib import Path

from buildopt.cli.common import _load_plan
from buildopt.errors import EXIT_OK


def plan(
    *,
    profile: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
) -> int:
    """``buildopt plan``: every variant x target with its argv and env, nothing built."""
    from buildopt.output import console as report
    from buildopt.pipeline.plan import plan_report

    plan = _load_plan(profile, variant, dist, Path.cwd(), os.environ)
    if json:
        report.print_json(plan_report(plan))
    else:
        report.show_plan(report.make_console(), plan)
    return EXIT_OK
