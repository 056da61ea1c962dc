"""The commands behind the CLI, matrix and merge: one CI job per variant x target, and
their records joined again.

Shared helpers are in buildopt.cli.commands; stages are imported where they are used.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    pass


from buildopt.cli.commands import (
    _load_plan,
    _load_record,
    _profile,
)


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


def merge_command(
    records: Sequence[str],
    *,
    output: str,
    expect: Sequence[str] = (),
    expect_matrix: str | None = None,
    cwd: Path | None = None,
) -> int:
    """``buildopt merge``: join per-job build records into one; with the ids the matrix
    expected, the record names each that no job's record holds (the gate fails on it)."""
    from buildopt.cli.reads import record_inputs
    from buildopt.inputs import read_limited
    from buildopt.record import store
    from buildopt.system.outputs import Input, output_to

    cwd = cwd or Path.cwd()
    if not output:
        raise UsageError("merge: -o/--output FILE is required")
    matrix_inputs = [Input(cwd / expect_matrix, "the expected matrix")] if expect_matrix else []
    merged_out = output_to(
        "-o",
        output,
        cwd,
        [i for r in records for i in record_inputs(cwd / r, None, "an input record")]
        + matrix_inputs,
        record=True,
    )
    expected = list(expect)
    if expect_matrix:
        try:
            data = read_limited(cwd / expect_matrix, store.MAX_RECORD_BYTES)
        except (OSError, ValueError) as exc:  # not there, not a regular file, too large
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"--expect-matrix {expect_matrix}: cannot read: {why}") from None
        expected += store.matrix_ids(data, expect_matrix)
    loaded = [(r, _load_record(cwd / r)) for r in records]
    merged = store.merge(loaded, expected)
    reads = [i for r, data in loaded for i in record_inputs(cwd / r, data, "an input record")]
    store.write_to(merged_out, merged, reads + matrix_inputs)
    print(
        f"merged {len(records)} records, {len(merged.builds)} builds -> "
        + ("stdout" if merged_out.to_stdout else output),
        file=sys.stderr,
    )
    for missing in merged.missing or ():
        print(f"missing {missing.id}: {missing.reason}", file=sys.stderr)
    return EXIT_OK
