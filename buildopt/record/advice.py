"""``buildopt.advice/1``: what each lever of a variant saves, measured on real what-if builds.

``buildopt advise --json`` prints it and writes it beside the what-ifs' own record
(``dist/PROFILE/.advise/advice.json``), where the report finds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

from buildopt.binary.facts import Bytes, CompressedSizes, Fact, described
from buildopt.inputs import NotRegularFile, TooLarge, read_limited
from buildopt.record.model import BaselineRatio, Status

ADVICE_SCHEMA: Literal["buildopt.advice/1"] = "buildopt.advice/1"
ADVICE_FILE = "advice.json"


class Figures(Fact, frozen=True):
    """What one binary measured: each a real build's."""

    size: Annotated[Bytes, described("file bytes")]
    sha256: str
    compressed: Annotated[
        CompressedSizes | None, described("the sizes the profile's max_compressed budgets use")
    ] = None
    ram_static: Annotated[
        Bytes | None, described("what the loader maps (max_ram_static's figure)")
    ] = None
    erase_blocks: Annotated[
        dict[str, int] | None,
        described(
            "by [[image]] name: the erase blocks of the squashfs image made with this binary in "
            "the variant's place (images that select the variant)"
        ),
    ] = None
    scan_errors: Annotated[
        int | None,
        described("with [scan] enabled: error findings in its sources, by its tags (GOMAXPROCS)"),
    ] = None
    startup_median_ms: Annotated[float | None, described("with --startup: time to ready")] = None
    startup_runs: int | None = None
    vs_base: Annotated[
        BaselineRatio | None,
        described("with --startup: median time to ready over the base's, with its 95% CI"),
    ] = None


class VerdictChange(Fact, frozen=True):
    """A check of one of the profile's budgets whose verdict the lever changes."""

    budget: str
    check: str
    before: str
    after: str


class LeverAdvice(Fact, frozen=True):
    lever: Annotated[str, described("s-w, trimpath, cgo-off, tag-NAME, go1.N.M ...")]
    id: Annotated[str, described("the what-if's build id in dist/PROFILE/.advise/build.json")]
    change: Annotated[str, described("the one go build change")]
    caveat: Annotated[str, described("what it changes in what the program does; empty: none")]
    status: Status
    error: Annotated[str, described("why it failed to build (a finding), else empty")]
    argv: tuple[str, ...]
    env: dict[str, str]
    build_seconds: float
    figures: Figures | None = None
    saved_bytes: Annotated[int | None, described("the base's file bytes minus the what-if's")] = (
        None
    )
    saved_ms: Annotated[float | None, described("with --startup: base median - what-if's")] = None
    verdicts: tuple[VerdictChange, ...] = ()
    same_as: Annotated[
        str | None,
        described("the id of a build in the profile's own record with the same sha256, if any"),
    ] = None


class AdviceReport(Fact, frozen=True):
    """Printed by ``buildopt advise --json``: the levers of one variant, ranked by bytes saved
    (failed builds last)."""

    schema: Literal["buildopt.advice/1"]
    profile: str
    variant: str
    target: str
    base_id: str
    base: Figures
    budgets: Annotated[tuple[str, ...], described("the profile's budgets selecting the base")]
    levers: tuple[LeverAdvice, ...]
    seconds: Annotated[float, described("the whole advise run, wall clock")]


MAX_ADVICE_BYTES = 16 << 20


class AdviceError(Exception):
    """An advice file that cannot be read as buildopt.advice/1 (the report leaves it out)."""


def load_advice(path: Path) -> AdviceReport:
    """The advice ``buildopt advise`` wrote at path."""
    try:
        blob = read_limited(path, MAX_ADVICE_BYTES)
        return msgspec.json.decode(blob, type=AdviceReport)
    except (OSError, NotRegularFile, TooLarge, msgspec.DecodeError) as exc:
        raise AdviceError(f"{path}: {exc}") from None
