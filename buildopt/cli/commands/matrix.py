"""``buildopt matrix``: one CI job per variant x target (a GitHub Actions matrix)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from buildopt.cli.common import _load_plan
from buildopt.errors import EXIT_OK


def matrix(*, profile: str = "", variant: list[str] | None = None) -> int:
    """``buildopt matrix``: the GitHub Actions strategy.matrix, one job per variant x target
    the profile declares - whether or not this machine could build it - with what its job
    needs (a C cross compiler's packages). A job that still cannot build records a skip with
    its reason, which the gate shows: no variant is silently left out. A job is a point: it
    builds every program of the profile there (``--variant VARIANT@TARGET``)."""
    import msgspec

    from buildopt.config.ids import point_of
    from buildopt.pipeline.plan import Matrix, MatrixJob, job_needs, step_id, variant_points

    plan = _load_plan(profile, variant, None, Path.cwd(), os.environ, command="matrix")
    loaded = plan.profile
    chosen = {point_of(s.id) for s in plan.steps} | {point_of(k.id) for k in plan.skipped}
    include: list[MatrixJob] = []
    for each in loaded.variants:
        for target, release in variant_points(loaded, each, plan.toolchain):
            job_id = step_id(each, target, release)
            if job_id in chosen:
                needs = job_needs(each, target, plan.toolchain)
                include.append(
                    MatrixJob(
                        id=job_id,
                        variant=each.name,
                        target=target.spec,
                        toolchain=release or plan.toolchain.version,
                        cc=needs.cc,
                        needs=needs.packages,
                    )
                )
    # one line: a workflow writes it to $GITHUB_OUTPUT as matrix=...
    print(json.dumps(msgspec.to_builtins(Matrix(include=tuple(include)))))
    return EXIT_OK
