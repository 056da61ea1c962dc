"""``buildopt plan``: every variant x target with its exact go build argv and env."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
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
    return plan_command(profile or None, variants=variant or (), as_json=json, dist=dist or None)


def plan_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    as_json: bool = False,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt plan``: every variant x target with its argv and env, nothing built."""
    from buildopt.output import console as report

    plan = _load_plan(profile, variants, dist, cwd or Path.cwd(), environ or os.environ)
    if as_json:
        report.print_json(report.plan_json(plan))
    else:
        report.show_plan(report.make_console(), plan)
    return EXIT_OK
