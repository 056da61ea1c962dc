"""``buildopt merge``: the per-job build records of a matrix joined into one."""

from __future__ import annotations

import sys
from pathlib import Path

from buildopt.cli.common import _load_record
from buildopt.errors import EXIT_OK, UsageError


def merge(
    *,
    record: list[str] | None = None,
    output: str = "",
    expect: list[str] | None = None,
    expect_matrix: str = "",
) -> int:
    """``buildopt merge``: join per-job build records into one; with the ids the matrix
    expected, the record names each that no job's record holds (the gate fails on it)."""
    from buildopt.cli.reads import record_inputs
    from buildopt.inputs import read_limited
    from buildopt.record import store
    from buildopt.system.outputs import Input, output_to

    cwd, records = Path.cwd(), record or []
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
    expected = list(expect or ())
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
