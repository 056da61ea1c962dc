"""``buildopt matrix``: one CI job per variant x target (a GitHub Actions matrix)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from buildopt.cli.common import _load_plan, _profile
from buildopt.errors import EXIT_OK


def matrix(*, profile: str = "", variant: list[str] | None = None) -> int:
    return matrix_command(profile or None, variants=variant or ())


def matrix_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt matrix``: the GitHub Actions strategy.matrix, one job per variant x target
    the profile declares - whether or not this machine could build it - with what its job
    needs (a C cross compiler's packages). A job that still cannot build records a skip with
    its reason, which the gate shows: no variant is silently left out."""
    from buildopt.pipeline.plan import job_needs, step_id, variant_points

    loaded = _profile(profile, cwd or Path.cwd(), "matrix")
    plan = _load_plan(
        str(loaded.path), variants, None, cwd or Path.cwd(), environ or os.environ, command="matrix"
    )
    chosen = {s.id for s in plan.steps} | {k.id for k in plan.skipped}
    include = []
    for variant in loaded.variants:
        for target, release in variant_points(loaded, variant, plan.toolchain):
            job_id = step_id(variant, target, release)
            if job_id in chosen:
                needs = job_needs(variant, target, plan.toolchain)
                include.append(
                    {
                        "id": job_id,
                        "variant": variant.name,
                        "target": target.spec,
                        "toolchain": release or plan.toolchain.version,
                        "cc": needs.cc,
                        "needs": list(needs.packages),
                    }
                )
    print(json.dumps({"include": include}))
    return EXIT_OK
