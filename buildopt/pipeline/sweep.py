"""Feature-tag sweeps: each tag of ``[sweep]`` removed from the full build and added back to
the minimal one, every variant built for real as a what-if (``pipeline/advise.py``).

A sweep's what-ifs are the variant with other ``-tags`` only: the tags of the variant, then
the sweep's in the order written (so a row's argv is the plan's with those words). They are
built by advise's build steps in ``dist/PROFILE/.sweep/`` (their own record: each build is
in it as soon as its binary lands, so Ctrl-C keeps what finished, and go's stage there is up
to date for the next run, which resumes).

With ``kind = "omit"`` (a tag removes a feature) the full build is the variant as written and
the minimal build the variant with every sweep tag; with ``kind = "add"`` the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from buildopt.config.profile import Profile, check_variant_name
from buildopt.config.sweep import Kind, Sweep
from buildopt.config.target import Target
from buildopt.config.variant import Variant
from buildopt.errors import UsageError
from buildopt.pipeline.advise import (
    WhatIfProfile,
    base_id_of,
    one_build,
    program_of,
    what_if_profile,
)
from buildopt.record.model import Build, Record
from buildopt.record.sweep import SWEEP_SCHEMA, SweepEnd, SweepMode, SweepReport, SweepRow

SWEEP_DIR = ".sweep"  # dist/PROFILE/.sweep/: no variant name starts with a dot
MODES: tuple[SweepMode, ...] = ("remove", "add")
CAVEAT = {
    "omit": "each tag removes a feature: a row's binary lacks what its tag omits, and the "
    "minimal build lacks them all",
    "add": "each tag adds a feature: a row's binary lacks what the tags it leaves out add, "
    "and the minimal build lacks them all",
}


class SweepProfile(WhatIfProfile, frozen=True, kw_only=True):
    """The what-if profile of a sweep: built in ``of``'s dist folder under ``.sweep/``."""

    def dist_dir(self, dist: Path | None = None) -> Path:
        return self.of.dist_dir(dist) / SWEEP_DIR


class SweepPlan(msgspec.Struct, frozen=True):
    """The variants of a sweep of base (built for target): the two ends and one per tag and
    mode; a variant with the base's tags is base itself."""

    base: Variant
    target: Target
    kind: Kind
    tags: tuple[str, ...]
    modes: tuple[SweepMode, ...]
    full: Variant
    minimal: Variant
    rows: Mapping[SweepMode, tuple[tuple[str, Variant], ...]]
    program: str | None = None  # the program of the ids (advise's program_of)

    def others(self) -> list[Variant]:
        """Every variant of the sweep but base, each once."""
        found = {v.name: v for v in (self.full, self.minimal)}
        for mode in self.modes:
            found.update((v.name, v) for _, v in self.rows[mode])
        found.pop(self.base.name, None)
        return list(found.values())

    def other_end(self) -> Variant:
        return self.minimal if self.kind == "omit" else self.full

    def id(self, variant: Variant) -> str:
        return base_id_of(variant, self.target, self.program)


def sweep_plan(
    profile: Profile, sweep: Sweep, base: Variant, target: Target, modes: Sequence[SweepMode]
) -> SweepPlan:
    """The sweep of base for target; UsageError when base has a sweep tag already (its full
    or minimal build would not be one) or a what-if's name cannot name a folder."""
    taken = [t for t in sweep.tags if t in base.tags]
    if taken:
        raise UsageError(
            f"sweep: {base.name} builds with {', '.join(taken)} already, a tag of [sweep]: sweep "
            "a variant without them (--variant)"
        )
    own = one_build(base, target)
    made: dict[tuple[str, ...], Variant] = {(): own}

    def with_tags(name: str, tags: tuple[str, ...]) -> Variant:
        if tags not in made:
            named = f"{base.name}+{name}"
            check_variant_name(profile.path, "[sweep]", named)
            made[tags] = msgspec.structs.replace(
                own,
                name=named,
                origin=f"sweep: {base.name} with -tags {','.join((*base.tags, *tags))}",
                tags=(*base.tags, *tags),
            )
        return made[tags]

    every = with_tags("all-tags", sweep.tags)
    one = tuple((t, with_tags(f"tag-{t}", (t,))) for t in sweep.tags)
    but = tuple((t, with_tags(f"all-tags-but-{t}", _without(sweep.tags, t))) for t in sweep.tags)
    full, minimal = (own, every) if sweep.kind == "omit" else (every, own)
    removed, added = (one, but) if sweep.kind == "omit" else (but, one)
    rows: dict[SweepMode, tuple[tuple[str, Variant], ...]] = {"remove": removed, "add": added}
    return SweepPlan(
        own, target, sweep.kind, sweep.tags, tuple(modes), full, minimal, rows, program_of(profile)
    )


def _without(tags: tuple[str, ...], tag: str) -> tuple[str, ...]:
    return tuple(t for t in tags if t != tag)


def sweep_profile(profile: Profile, plan: SweepPlan, others: Sequence[Variant]) -> SweepProfile:
    """The what-if profile of plan's base and others, built in ``.sweep/`` (bytes only: no
    scan of each what-if's sources, which [scan] would ask of advise's steps)."""
    made = what_if_profile(profile, plan.base, plan.target, others)
    return SweepProfile(
        **{f.name: getattr(made, f.name) for f in msgspec.structs.fields(made)} | {"scan": False}
    )


def recorded(record: Record | None, plan: SweepPlan) -> int:
    """How many of plan's builds an earlier run recorded ok (go may find them up to date)."""
    if record is None:
        return 0
    ids = {plan.id(v) for v in (plan.base, *plan.others())}
    return sum(1 for b in record.builds if b.id in ids and b.ok)


def estimate(seconds_each: float, builds: int, jobs: int) -> float:
    """The wall time of builds taking seconds_each, jobs at a time."""
    return seconds_each * math.ceil(builds / max(jobs, 1))


# --- the tables -------------------------------------------------------------------------------


def sweep_report(
    profile: Profile, plan: SweepPlan, record: Record, *, builds: int, seconds: float
) -> SweepReport:
    """Both tables of plan from record, ranked by the feature's bytes (failures last)."""
    by_id = {b.id: b for b in record.builds}
    full, minimal = _end(plan, plan.full, by_id), _end(plan, plan.minimal, by_id)
    reference = {"remove": full, "add": minimal}
    tables = {
        mode: tuple(
            sorted(
                (
                    _row(plan, mode, tag, variant, reference[mode], by_id)
                    for tag, variant in plan.rows[mode]
                ),
                key=_ranking,
            )
        )
        if mode in plan.modes
        else ()
        for mode in MODES
    }
    return SweepReport(
        schema=SWEEP_SCHEMA,
        profile=profile.name,
        variant=plan.base.name,
        target=plan.target.spec,
        kind=plan.kind,
        caveat=CAVEAT[plan.kind],
        full=full,
        minimal=minimal,
        remove=tables["remove"],
        add=tables["add"],
        builds=builds,
        seconds=round(seconds, 2),
    )


def _end(plan: SweepPlan, variant: Variant, by_id: Mapping[str, Build]) -> SweepEnd:
    build = by_id.get(plan.id(variant))
    tags = variant.tags
    if build is None:
        return SweepEnd(id=plan.id(variant), tags=tags, status="skipped", error="not built")
    return SweepEnd(
        id=build.id,
        tags=tags,
        status=build.status,
        error=build.reason,
        size=build.size if build.ok else None,
        sha256=build.sha256 if build.ok else None,
    )


def _row(  # noqa: PLR0917 - one row, and what it is compared with
    plan: SweepPlan,
    mode: SweepMode,
    tag: str,
    variant: Variant,
    reference: SweepEnd,
    by_id: Mapping[str, Build],
) -> SweepRow:
    """The row of tag in mode: delta against reference (the full build when a feature is
    removed, the minimal when one is added back)."""
    wid = plan.id(variant)
    build = by_id.get(wid)
    if build is None:
        return SweepRow(
            tag=tag, id=wid, status="skipped", error="not built (interrupted?)", argv=(),
            build_seconds=0.0,
        )  # fmt: skip
    size = build.size if build.ok else None
    delta = size - reference.size if size is not None and reference.size is not None else None
    feature = None if delta is None else (-delta if mode == "remove" else delta)
    return SweepRow(
        tag=tag,
        id=wid,
        status=build.status,
        error=build.reason,
        argv=build.argv,
        build_seconds=build.wall_seconds,
        size=size,
        sha256=build.sha256 if build.ok else None,
        delta=delta,
        feature_bytes=feature,
    )


def _ranking(row: SweepRow) -> tuple[bool, int, str]:
    return (row.feature_bytes is None, -(row.feature_bytes or 0), row.tag)
