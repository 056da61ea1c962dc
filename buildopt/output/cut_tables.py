"""The heaviest cuttable dependencies of a build, for people: what removing every import of
each would save (an estimate: see analysis/cut.py), and who imports it."""

from __future__ import annotations

from collections.abc import Sequence

from buildopt.config.units import format_size
from buildopt.output.pipes import DataConsole
from buildopt.output.tables import Column, Spec, render, tabulate
from buildopt.record.model import CutSaving

NOTE = (
    "  about: the attributed bytes of the packages only it brings in, with their share of the "
    "bytes no package owns (docs/figures.md: against rebuilds)"
)


def show_cuttable(
    console: DataConsole, build_id: str, cuts: Sequence[CutSaving], *, exact: bool = False
) -> None:
    """A table of the build's cuttable dependencies, heaviest first."""
    spec: Spec[CutSaving] = [
        (Column("dependency", keep=True), lambda c: c.package),
        (
            Column("saves about", right=True, keep=True),
            lambda c: str(c.bytes) if exact else format_size(c.bytes),
        ),
        (Column("packages", right=True, drop=2), lambda c: str(c.packages)),
        (Column("imported by", drop=1, note=True), lambda c: ", ".join(c.importers)),
    ]
    title = f"{build_id}: the {len(cuts)} heaviest cuttable dependencies"
    render(console, title, *tabulate(spec, cuts))
