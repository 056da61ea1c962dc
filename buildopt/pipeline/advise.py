"""What-if builds: a variant with one setting changed (a lever), built and measured for real.

A what-if is ``msgspec.structs.replace`` of the variant, so its ``go build`` argv is the plan's
(``pipeline/plan.py``) with that one change. The what-ifs are the variants of a what-if
profile (``WhatIfProfile``) whose binaries and record live in ``dist/PROFILE/.advise/``: the
same steps as ``buildopt build`` build them in parallel (go's build cache shared, the stage
kept, so a second run finds them up to date), verify and record them there, never in the
profile's own record. ``advise`` picks the levers that apply from the variant and its binary's
facts; a sweep gives ``what_if_profile`` and ``build_what_ifs`` its own list of variants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import msgspec
from msgspec.structs import replace

from buildopt.config.budgets import matches
from buildopt.config.profile import Profile
from buildopt.config.target import Target
from buildopt.config.toolchain import Toolchain
from buildopt.config.variant import Variant
from buildopt.errors import UsageError
from buildopt.pipeline import startup_runs, steps
from buildopt.pipeline.levers import CAVEATS
from buildopt.pipeline.plan import make_plan, step_id, variant_targets
from buildopt.record import store
from buildopt.record.advice import ADVICE_SCHEMA, AdviceReport, Figures, LeverAdvice, VerdictChange
from buildopt.record.images import ImageOutcome
from buildopt.record.model import Build, Record, StartupResult

ADVISE_DIR = ".advise"  # dist/PROFILE/.advise/: no variant name starts with a dot


class Lever(msgspec.Struct, frozen=True):
    """One change to a variant: its name, the go build words it changes, and what it changes
    in what the program does ("" when nothing)."""

    name: str
    change: str
    caveat: str
    variant: Variant  # the what-if: the variant with this one change
    layer: Mapping[str, object]  # the change as [variants.NAME] keys over extends = the variant


class WhatIfProfile(Profile, frozen=True, kw_only=True):
    """The profile whose variants are what-ifs of ``of``'s: built in ``of``'s dist folder under
    ``.advise/``, judged by ``of``'s budgets as the variant they change (``base``: what-if id
    to that variant's id)."""

    of: Profile
    base: Mapping[str, str]

    def dist_dir(self, dist: Path | None = None) -> Path:
        return self.of.dist_dir(dist) / ADVISE_DIR

    def compressors_for(self, build_id: str) -> tuple[str, ...]:
        return self.of.compressors_for(self.base.get(build_id, build_id))

    @property
    def dwarf_by_package(self) -> bool:
        return self.of.dwarf_by_package


# --- which levers apply -------------------------------------------------------------------


def _go_version(release: str) -> tuple[int, int, int, int]:
    """go1.26.8 -> (1, 26, 8, 1); a release candidate or beta sorts before its release."""
    found = re.match(r"go([0-9]+)\.([0-9]+)(?:\.([0-9]+))?(rc|beta)?", release)
    if found is None:
        return (0, 0, 0, 0)
    major, minor, patch, pre = found.groups()
    return (int(major), int(minor), int(patch or 0), 0 if pre else 1)


def levers(
    profile: Profile,
    variant: Variant,
    target: Target,
    toolchain: Toolchain,
    packages: Sequence[str],
    *,
    tags: Sequence[str] = (),
    releases: Sequence[str] = (),
    startup: bool = False,
) -> list[Lever]:
    """Every lever variant (built for target, linking packages) does not use yet."""
    found: list[Lever] = []

    def lever(name: str, change: str, caveat: str, **settings: object) -> None:
        what_if = msgspec.structs.replace(
            one_build(variant, target),
            name=f"{variant.name}+{name}",
            origin=f"advise: {variant.name} with {change}",
            **settings,
        )
        found.append(Lever(name, change, caveat, what_if, _layer(variant, settings)))

    if variant.strip != "all":
        lever("s-w", "-ldflags=-s -w", CAVEATS["s-w"], strip="all")
    if not variant.trimpath:
        lever("trimpath", "-trimpath", CAVEATS["trimpath"], trimpath=True)
    if variant.cgo is not False and variant.linkmode == "external":
        # (external linking needs cgo: go refuses -linkmode=external with cgo off)
        caveat = f"{CAVEATS['cgo-off']}; {CAVEATS['internal-link']}"
        change = "CGO_ENABLED=0 -linkmode=internal"
        lever("cgo-off", change, caveat, cgo=False, linkmode="internal")
    elif variant.cgo is not False:
        lever("cgo-off", "CGO_ENABLED=0", CAVEATS["cgo-off"], cgo=False)
        _tag_levers(variant, packages, lever)
    if variant.linkmode == "external":
        lever("internal-link", "-linkmode=internal", CAVEATS["internal-link"], linkmode="internal")
    if variant.buildmode == "pie":
        lever("pie-off", "-buildmode=exe", CAVEATS["pie-off"], buildmode="exe")
    _release_levers(profile, variant, toolchain, releases, lever)
    if startup:
        _level_levers(variant, target, lever)
    for tag in _sweep_tags(profile, variant, tags):
        change = f"-tags={','.join((*variant.tags, tag))}"
        lever(f"tag-{tag}", change, CAVEATS["tag"], tags=(*variant.tags, tag))
    return found


def _layer(variant: Variant, settings: Mapping[str, object]) -> dict[str, object]:
    """The keys a [variants.NAME] table that extends variant sets to make the what-if: a tag
    appended, an environment variable added, else the value."""
    layer: dict[str, object] = {}
    for key, value in settings.items():
        if key == "tags" and isinstance(value, tuple):
            layer[key] = {"append": [t for t in value if t not in variant.tags]}
        elif key == "env" and isinstance(value, dict):
            layer[key] = {k: v for k, v in value.items() if variant.env.get(k) != v}
        else:
            layer[key] = list(value) if isinstance(value, tuple) else value
    return layer


def _tag_levers(variant: Variant, packages: Sequence[str], lever: _Add) -> None:
    """With cgo on: netgo where net is linked, osusergo where os/user is."""
    for tag, package in (("netgo", "net"), ("osusergo", "os/user")):
        if package in packages and tag not in variant.tags:
            tags = (*variant.tags, tag)
            lever(tag, "-tags=" + ",".join(tags), CAVEATS[tag], tags=tags)


def _release_levers(
    profile: Profile,
    variant: Variant,
    toolchain: Toolchain,
    releases: Sequence[str],
    lever: _Add,
) -> None:
    """Each newer Go release of the profile's toolchain axis or given (--toolchain)."""
    current = (variant.toolchain or (toolchain.version,))[-1]
    axis = [r for v in profile.variants for r in v.toolchain or ()]
    for release in dict.fromkeys([*axis, *releases]):
        if _go_version(release) > _go_version(current):
            lever(release, f"GOTOOLCHAIN={release}", CAVEATS["go"], toolchain=(release,))


def _level_levers(variant: Variant, target: Target, lever: _Add) -> None:
    """GOAMD64 v2 and v3 (amd64), GOARM=7 (arm): where start-up is measured."""
    env = {**target.env(), **variant.env}
    if target.goarch == "amd64":
        now = int(env.get("GOAMD64", "v1")[1:])
        for level in (2, 3):
            if level > now:
                settings = {**variant.env, "GOAMD64": f"v{level}"}
                lever(f"goamd64-v{level}", f"GOAMD64=v{level}", CAVEATS["goamd64"], env=settings)
    if target.goarch == "arm" and env.get("GOARM", "7")[:1] < "7":
        lever("goarm-7", "GOARM=7", CAVEATS["goarm"], env={**variant.env, "GOARM": "7"})


def _sweep_tags(profile: Profile, variant: Variant, given: Sequence[str]) -> list[str]:
    """The tags of the profile's other variants, of its ``[sweep]`` list and those given, that
    variant does not use (netgo and osusergo have levers of their own, with cgo on)."""
    swept = profile.sweep.tags if profile.sweep else ()
    named = [t for v in profile.variants for t in v.tags] + [*swept, *given]
    own = {*variant.tags, "netgo", "osusergo"}
    return [t for t in dict.fromkeys(named) if t not in own]


class _Add(Protocol):
    def __call__(self, name: str, change: str, caveat: str, **settings: object) -> None: ...


# --- building them --------------------------------------------------------------------------


def one_build(variant: Variant, target: Target) -> Variant:
    """variant built once: for target, with its last Go release when it lists several."""
    last = variant.toolchain[-1:] if variant.toolchain else None
    return msgspec.structs.replace(variant, targets=(target.spec,), toolchain=last)


def base_id_of(variant: Variant, target: Target, program: str | None = None) -> str:
    """The id of the variant's one build that advise changes (of program: see program_of)."""
    own = one_build(variant, target)
    return step_id(own, target, _release(own), program)


def program_of(profile: Profile) -> str | None:
    """The program part of the ids of the builds advise and sweep make: of the one program
    left of a profile of several (config's one_program), None for a profile of one package."""
    return profile.program_id(profile.builds[0])


def what_if_profile(
    profile: Profile, base: Variant, target: Target, others: Sequence[Variant]
) -> WhatIfProfile:
    """The profile of base (built for target alone) and the what-ifs of it, others."""
    own = one_build(base, target)
    program = program_of(profile)
    base_id = base_id_of(base, target, program)
    ids = {step_id(v, target, _release(v), program): base_id for v in others}
    return WhatIfProfile(
        **{f: getattr(profile, f) for f in _PROFILE_FIELDS},
        variants=(own, *others),
        of=profile,
        base=ids,
    )


_PROFILE_FIELDS = tuple(
    f for f in Profile.__struct_fields__ if f not in ("variants", "budgets", "images")
)


def _release(variant: Variant) -> str | None:
    return variant.toolchain[0] if variant.toolchain else None


ADVISE_STEPS = (
    steps.PLAN,
    steps.BUILD,
    steps.Step(
        "compress",
        steps.COMPRESS.run,
        lambda ctx: None if _compresses(ctx.profile) else "no max_compressed budget",
        steps.COMPRESS.defaults,
    ),
    steps.SCAN,  # with [scan] enabled: each what-if's sources by its tags (max_scan_errors)
    steps.RECORD,
)


def _compresses(profile: Profile) -> bool:
    return any(b.max_compressed for b in getattr(profile, "of", profile).budgets)


def build_what_ifs(
    what_if: WhatIfProfile, toolchain: Toolchain, ctx: steps.Context, dist: Path | None
) -> steps.Context:
    """Every variant of what_if built (in parallel), verified and recorded in its own record
    (dist: the --dist folder, else the project's)."""
    plan = make_plan(what_if, toolchain, ctx.environ, (), dist, own=False)
    path = what_if.record_path(dist)
    given = replace(ctx, profile=what_if, plan=plan, record_path=path, prune=False)
    return steps.run(ADVISE_STEPS, given)


def measure_what_ifs(ctx: steps.Context, base_id: str) -> Record:
    """Start-up of the base and each what-if this machine runs, compared with the base's."""
    record = ctx.recorded
    ours = {s.id for s in ctx.planned.steps}  # (not what-ifs an earlier advise left in .advise/)
    where = startup_runs.runs_on(ctx.profile.startup, ctx.environ)
    binaries, skipped, _ = startup_runs.runnable(record, ctx.environ, where)
    binaries = {i: path for i, path in binaries.items() if i in ours}
    for note in skipped:
        if note.split(":", 1)[0] in ours:
            ctx.progress.skipped(note)
    if base_id not in binaries:
        raise UsageError(f"advise --startup: {base_id} cannot run on {where}")
    results: tuple[StartupResult, ...] = startup_runs.measure(
        binaries, ctx.profile.startup, base_id, ctx.environ, ctx.progress, platform=where
    )
    return steps.record_startup(ctx.record_path, record, results)


def chosen(profile: Profile, spec: str, named: str) -> tuple[Variant, str]:
    """The variant spec names (NAME or NAME@TARGET-ID; named: where it was given, for the
    message), else the baseline; and the target id given ("" if none)."""
    name, _, target = (spec or profile.baseline).partition("@")
    try:
        return profile.variant(name), target
    except KeyError:
        names = ", ".join(v.name for v in profile.variants)
        raise UsageError(
            f"{named}: no variant {name!r} in {profile.path.name} (its variants: {names})"
        ) from None


def target_of(profile: Profile, variant: Variant, toolchain: Toolchain, spec: str) -> Target:
    """The variant's target named by its id (``linux-arm64``) or spec; none: the host's if the
    variant builds for it, else its first."""
    targets = variant_targets(profile, variant, toolchain)
    if spec:
        for target in targets:
            if spec in (target.id, target.spec):
                return target
        ids = ", ".join(t.id for t in targets)
        raise UsageError(f"--variant {variant.name}@{spec}: {variant.name} builds for {ids}")
    host = [t for t in targets if toolchain.is_host(t.goos, t.goarch)]
    return (host or list(targets))[0]


def base_build(record: Record, base_id: str) -> Build | None:
    return next((b for b in record.builds if b.id == base_id), None)


def selected_budgets(profile: Profile, base_id: str) -> list[str]:
    return [b.name for b in profile.budgets if matches(b.select, base_id)]


# --- what they save -----------------------------------------------------------------------


def figures_of(build: Build, images: Mapping[str, ImageOutcome] | None = None) -> Figures | None:
    """What a built what-if measured (None: it was not built); images: those made with it."""
    facts = build.inspect
    if not build.ok or facts is None or build.sha256 is None:
        return None
    started = build.startup if build.startup and build.startup.sha256 == build.sha256 else None
    return Figures(
        size=facts.size,
        sha256=build.sha256,
        compressed=facts.compressed,
        ram_static=facts.memory.mapped_bytes if facts.memory else None,
        erase_blocks=erase_blocks(images or {}),
        scan_errors=len(build.scan.errors) if build.scan and not build.scan_stale else None,
        startup_median_ms=started.median_ms if started else None,
        startup_runs=started.runs if started else None,
        vs_base=started.vs_baseline if started else None,
    )


def verdicts(profile: Profile, base: Build, what_if: Build) -> tuple[VerdictChange, ...]:
    """The checks of the profile's budgets selecting base whose verdict what_if changes: each
    budget evaluated on both binaries' facts, the what-if judged as the base it changes."""
    from buildopt.analysis.gate import evaluate_build

    def judged(build: Build) -> dict[tuple[str, str], str]:
        as_base = msgspec.structs.replace(build, id=base.id, variant=base.variant)
        found: dict[tuple[str, str], str] = {}
        for budget in profile.budgets:
            if as_base.inspect is not None and matches(budget.select, base.id):
                for check in evaluate_build(budget, as_base, as_base.inspect, None):
                    found[(budget.name, check.check)] = check.verdict
        return found

    before, after = judged(base), judged(what_if)
    return tuple(
        VerdictChange(budget=b, check=c, before=v, after=after[(b, c)])
        for (b, c), v in before.items()
        if (b, c) in after and after[(b, c)] != v
    )


def advice(
    profile: Profile,
    target: Target,
    base_id: str,
    *,
    found: Sequence[Lever],
    record: Record,
    seconds: float,
    built: Mapping[str, str] | None = None,
    images: Mapping[str, Mapping[str, ImageOutcome]] | None = None,
    timed: bool = False,
) -> AdviceReport:
    """The levers ranked by file bytes saved (what failed to build last, with its error);
    built: the sha256 -> id of the profile's own record, to name a what-if it already builds;
    images: by build id, the images made with it (``imaged``); timed: start-up was measured in
    this run (else what an earlier ``--startup`` recorded is not shown, nor ranked by)."""
    by_id = {b.id: b if timed else msgspec.structs.replace(b, startup=None) for b in record.builds}
    base = by_id.get(base_id)
    made = images or {}
    base_figures = figures_of(base, made.get(base_id, {})) if base else None
    if base is None or base_figures is None:
        why = base.reason if base else "not built"
        raise UsageError(f"advise: the variant itself did not build ({base_id}): {why}")
    rows = [_row(profile, target, lever, (base, base_figures), by_id, made) for lever in found]
    rows = [
        msgspec.structs.replace(r, same_as=(built or {}).get(r.figures.sha256)) if r.figures else r
        for r in rows
    ]
    rows.sort(key=_ranking)
    return AdviceReport(
        schema=ADVICE_SCHEMA,
        profile=profile.name,
        variant=base.variant,
        target=target.spec,
        base_id=base_id,
        base=base_figures,
        budgets=tuple(selected_budgets(profile, base_id)),
        levers=tuple(rows),
        seconds=round(seconds, 2),
    )


def _ranking(row: LeverAdvice) -> tuple[bool, float, int, str]:
    """Built before failed; with start-up measured, the time saved where its 95% interval
    excludes no change, most first (a difference within the noise ranks as none); then the
    most bytes saved."""
    ratio = row.figures.vs_base if row.figures else None
    faster = row.saved_ms if ratio is not None and ratio.significant and row.saved_ms else 0.0
    return (row.figures is None, -faster, -(row.saved_bytes or 0), row.lever)


def _row(  # noqa: PLR0917 - one lever, and what it is compared with
    profile: Profile,
    target: Target,
    lever: Lever,
    base_and_figures: tuple[Build, Figures],
    by_id: Mapping[str, Build],
    images: Mapping[str, Mapping[str, ImageOutcome]],
) -> LeverAdvice:
    base, base_figures = base_and_figures
    wid = step_id(lever.variant, target, _release(lever.variant), program_of(profile))
    build = by_id.get(wid)
    if build is None:
        return LeverAdvice(
            lever=lever.name, id=wid, change=lever.change, caveat=lever.caveat,
            status="skipped", error="not built (interrupted?)", argv=(), env={},
            build_seconds=0.0,
        )  # fmt: skip
    got = figures_of(build, images.get(wid, {}))
    changed = image_verdicts(profile, images.get(base.id, {}), images.get(wid, {}))
    saved_ms = None
    if got and got.startup_median_ms is not None and base_figures.startup_median_ms is not None:
        saved_ms = round(base_figures.startup_median_ms - got.startup_median_ms, 3)
    return LeverAdvice(
        lever=lever.name,
        id=wid,
        change=lever.change,
        caveat=lever.caveat,
        status=build.status,
        error=build.reason,
        argv=build.argv,
        env=build.env,
        build_seconds=build.wall_seconds,
        figures=got,
        saved_bytes=base_figures.size - got.size if got else None,
        saved_ms=saved_ms,
        verdicts=(*verdicts(profile, base, build), *changed) if got else (),
    )


# --- advise --write: the what-if as a variant of the profile -------------------------------


def variant_table(name: str, extends: str, layer: Mapping[str, object], description: str) -> str:
    """``[variants.NAME]`` extending the variant, with the lever's keys: TOML text to append
    (tomlkit writes the keys and values, quoted as TOML needs)."""
    import tomlkit

    table = tomlkit.table()
    table.add("description", description)
    table.add("extends", extends)
    for key, value in layer.items():
        if isinstance(value, dict):  # tags = { append = [...] } on one line, as people write it
            inline = tomlkit.inline_table()
            inline.update(value)
            table.add(key, inline)
        else:
            table.add(key, value)
    document = tomlkit.document()
    variants = tomlkit.table(is_super_table=True)
    variants.add(name, table)
    document.add("variants", variants)
    return tomlkit.dumps(document)


HEADROOM = 1.05  # a proposed max_size: the measured size plus 5%, rounded up to 64 KiB
ROUND = 64 << 10


def propose_budget(name: str, report: AdviceReport, row: LeverAdvice) -> str:
    """A ``[[budget]]`` for the written variant: its measured size with headroom (and its
    static RAM likewise), as TOML to paste."""
    import tomlkit

    figures = row.figures
    if figures is None:
        raise ValueError("a budget is proposed for a built what-if only")
    target = report.target.replace("/", "-")
    budget = tomlkit.table()
    budget.add("name", f"{name} size")
    budget.add("select", f"{name}@{target}")
    budget.add("max_size", _with_headroom(figures.size))
    if figures.ram_static is not None:
        budget.add("max_ram_static", _with_headroom(figures.ram_static))
    document = tomlkit.document()
    ram = f", static RAM {figures.ram_static} bytes" if figures.ram_static is not None else ""
    document.add(
        tomlkit.comment(
            f"buildopt advise measured {row.id}: {figures.size} bytes{ram}; "
            f"the limits add {HEADROOM - 1:.0%}, rounded up to {ROUND >> 10} KiB"
        )
    )
    document.add("budget", tomlkit.aot())
    document["budget"].append(budget)
    return tomlkit.dumps(document)


def _with_headroom(size: int) -> str:
    kib = -(-int(size * HEADROOM) // ROUND) * ROUND // 1024
    return f"{kib} KiB"


# --- the images: each squashfs [[image]] selecting the variant, made with each what-if -----


def imaged(
    ctx: steps.Context,
    what_if: WhatIfProfile,
    record: Record,
    others: Mapping[Path, Record | store.RecordError],
    dist: Path | None,
) -> dict[str, Mapping[str, ImageOutcome]]:
    """By build id (the variant's and each built what-if's): each squashfs image that selects
    the variant, made by the image step with that binary in the variant's place (and the rest
    of the image from the profile's own record and the image's other records), in
    ``.advise/images/ID/`` - unchanged inputs are not made again. Without mksquashfs: none."""
    from buildopt.system.squashfs import ToolMissing

    base_id = next(iter(what_if.base.values()), "")
    images = tuple(i for i in what_if.of.images if i.filesystem and matches(i.select, base_id))
    base = base_build(record, base_id)
    if not images or base is None:
        return {}
    own = _own_record(what_if.of, dist)
    made: dict[str, Mapping[str, ImageOutcome]] = {}
    for build in record.builds:
        if not build.ok or (build.id != base_id and build.id not in what_if.base):
            continue
        as_base = msgspec.structs.replace(build, id=base_id, variant=base.variant)
        rest = tuple(b for b in (own.builds if own else ()) if b.id != base_id)
        given = replace(
            ctx,
            record=record.with_builds((as_base, *rest)),
            images=images,
            images_dir=what_if.dist_dir(dist) / "images" / build.id,
            others=others,
            strict_images=False,
        )
        try:
            made[build.id] = steps.run([steps.IMAGE], given).made
        except ToolMissing as exc:
            ctx.progress.say(f"advise: no image figures: {exc.message}")
            return {}
    return made


def _own_record(profile: Profile, dist: Path | None) -> Record | None:
    """The profile's own record, where the rest of an image's binaries come from."""
    path = profile.record_path(dist)
    try:
        return store.load(path) if path.is_file() else None
    except store.RecordError:
        return None


def image_verdicts(
    profile: Profile, before: Mapping[str, ImageOutcome], after: Mapping[str, ImageOutcome]
) -> tuple[VerdictChange, ...]:
    """The checks of the images' budgets whose verdict changes from before to after."""
    from buildopt.analysis.gate import evaluate_filesystem

    changes: list[VerdictChange] = []
    for image in profile.images:
        if image.name not in before or image.name not in after:
            continue
        old = {c.check: c.verdict for c in evaluate_filesystem(image, before[image.name])}
        for check in evaluate_filesystem(image, after[image.name]):
            if check.check in old and old[check.check] != check.verdict:
                changes.append(
                    VerdictChange(
                        budget=image.name,
                        check=check.check,
                        before=old[check.check],
                        after=check.verdict,
                    )
                )
    return tuple(changes)


def erase_blocks(made: Mapping[str, ImageOutcome]) -> dict[str, int] | None:
    blocks = {name: o.record.erase_blocks for name, o in made.items() if o.record is not None}
    return blocks or None
