"""``buildopt.sweep/1``: each feature tag of ``[sweep]`` removed from the full build and added
back to the minimal one, every figure a real build's.

``buildopt sweep --json`` prints it and writes it beside the sweep's own record
(``dist/PROFILE/.sweep/sweep.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from buildopt.binary.facts import Bytes, Fact, described
from buildopt.inputs import NotRegularFile, TooLarge, read_limited
from buildopt.record.model import Status

SWEEP_SCHEMA: Literal["buildopt.sweep/1"] = "buildopt.sweep/1"
SWEEP_FILE = "sweep.json"
SweepMode = Literal["remove", "add"]


class SweepEnd(Fact, frozen=True):
    """The full or the minimal build."""

    id: Annotated[str, described("its build id in dist/PROFILE/.sweep/build.json")]
    tags: Annotated[tuple[str, ...], described("its -tags, in the order go build gets them")]
    status: Status
    error: Annotated[str, described("why it failed to build, else empty")] = ""
    size: Annotated[Bytes | None, described("file bytes")] = None
    sha256: str | None = None


class SweepRow(Fact, frozen=True):
    """One feature tag in one mode: the build with that one feature removed (from the full
    build) or added back (to the minimal one)."""

    tag: str
    id: Annotated[str, described("its build id in dist/PROFILE/.sweep/build.json")]
    status: Status
    error: Annotated[str, described("why it failed to build (a finding), else empty")]
    argv: tuple[str, ...]
    build_seconds: float
    size: Annotated[Bytes | None, described("file bytes")] = None
    sha256: str | None = None
    delta: Annotated[
        int | None,
        described("its bytes minus the full build's (remove) or the minimal build's (add)"),
    ] = None
    feature_bytes: Annotated[
        int | None,
        described("what the tag's feature weighs: -delta (remove), delta (add); ranked by it"),
    ] = None


class SweepReport(Fact, frozen=True):
    """Printed by ``buildopt sweep --json``: the tables ranked by the feature's bytes, the
    largest first (failed builds last)."""

    schema: Literal["buildopt.sweep/1"]
    profile: str
    variant: str
    target: str
    kind: Annotated[
        Literal["omit", "add"], described("omit: a tag removes a feature; add: a tag adds one")
    ]
    caveat: Annotated[str, described("what a row changes in what the program does")]
    full: SweepEnd
    minimal: SweepEnd
    remove: Annotated[tuple[SweepRow, ...], described("remove one from the full build")]
    add: Annotated[tuple[SweepRow, ...], described("add one back to the minimal build")]
    builds: Annotated[int, described("the variants built: the two ends and the rows, each once")]
    seconds: Annotated[float, described("the whole sweep run, wall clock")]


MAX_SWEEP_BYTES = 16 << 20


class SweepError(Exception):
    """A sweep file that cannot be read as buildopt.sweep/1 (the report leaves it out)."""


def load_sweep(path: Path) -> SweepReport:
    """The sweep ``buildopt sweep`` wrote at path."""
    try:
        return msgspec.json.decode(read_limited(path, MAX_SWEEP_BYTES), type=SweepReport)
    except (OSError, NotRegularFile, TooLarge, msgspec.DecodeError) as exc:
        raise SweepError(f"{path}: {exc}") from None
