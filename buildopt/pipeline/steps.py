"""The build as an ordered list of steps, each run on one context (GoReleaser's pipes).

A step says why it does not apply to a run (``skip``: a reason, or None), fills what the run
left open (``defaults``) and does its work (``run``), returning the context with what it found.
``run`` fills every step's defaults first - a bad setting stops the run before anything is
done - then runs those that apply, in order. A command runs its list and prints what the
context holds at the end; what the steps tell people on the way goes through the context's
``progress`` (cli passes output's). Each change a step makes to the build record is one
function here, named for what it records, through ``record.store.update``.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

import msgspec
from msgspec.structs import replace

from buildopt.errors import BuildoptError, ProfileError, ToolchainError, UsageError, visible
from buildopt.pipeline.build import BUILD_TIMEOUT, Observer, make_record, run_plan
from buildopt.record import store

if TYPE_CHECKING:
    from buildopt.binary.facts import CompressedSizes
    from buildopt.config.budgets import ImageBudget
    from buildopt.config.profile import Profile
    from buildopt.config.startup import StartupConfig
    from buildopt.pipeline.plan import Plan
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import (
        Build,
        CutSaving,
        Record,
        ScanReport,
        StartupResult,
    )

T = TypeVar("T")
RunProgress = Callable[[str, str, object], None]  # (binary, phase label, run) as each run ends


class Progress(Protocol):
    """What the steps tell people on the way (output implements it: lines and bars on stderr)."""

    def say(self, line: str) -> None: ...
    def skipped(self, note: str) -> None: ...
    def builds(self, total: int) -> AbstractContextManager[Observer]: ...
    def runs(self, total: int) -> AbstractContextManager[RunProgress]: ...


class Context(msgspec.Struct, frozen=True, kw_only=True):
    """One run of steps: what the command gave it, and what each step found."""

    profile: Profile
    record_path: Path
    environ: Mapping[str, str]
    progress: Progress
    cwd: Path = msgspec.field(default_factory=Path.cwd)
    jobs: int = 0  # go builds and compressors at a time; 0: one per CPU
    plan: Plan | None = None  # build: the variants x targets to build
    timeout: float | None = None  # of one go build; None: BUILDOPT_BUILD_TIMEOUT, else an hour
    header: Record | None = None  # build: this run's profile, toolchain, time and variants
    order: tuple[str, ...] = ()  # build: the profile's ids, the record's order
    prune: bool = True  # build: drop the entries of ids not in order (not for what-ifs, whose
    # record holds those of every advise and sweep run)
    builds: tuple[Build, ...] = ()  # build: this run's results, in the profile's order
    scans: Mapping[str, ScanReport] = msgspec.field(default_factory=dict)  # by build id
    cuts: Mapping[str, tuple[CutSaving, ...]] = msgspec.field(default_factory=dict)  # by build id
    record: Record | None = None  # the record as the last step that read or wrote it left it
    images: tuple[ImageBudget, ...] = ()  # image: the squashfs [[image]]s to make
    images_dir: Path | None = None
    others: Mapping[Path, Record | store.RecordError] = msgspec.field(default_factory=dict)
    strict_images: bool = True  # an image that cannot be made is an error, not a reason
    made: Mapping[str, ImageOutcome] = msgspec.field(default_factory=dict)  # by image name
    startup: StartupConfig | None = None  # startup: how each binary is run
    measured: tuple[StartupResult, ...] = ()
    baseline: str = ""  # startup: the id the others are compared with
    selected: tuple[str, ...] = ()  # startup: --variant patterns (none: every build)

    @property
    def planned(self) -> Plan:
        return _needed(self.plan, "a plan")

    @property
    def headed(self) -> Record:
        return _needed(self.header, "the plan step's record header")

    @property
    def recorded(self) -> Record:
        return _needed(self.record, "a record (no step read or wrote one)")


def _needed(value: T | None, what: str) -> T:
    if value is None:
        raise ValueError(f"this step needs {what}")
    return value


class Step(msgspec.Struct, frozen=True):
    name: str
    run: Callable[[Context], Context]
    skip: Callable[[Context], str | None] = lambda ctx: None  # why it does not apply
    defaults: Callable[[Context], Context] = lambda ctx: ctx


def run(steps: Sequence[Step], ctx: Context) -> Context:
    """ctx after steps: every step's defaults filled, then each that applies run in order."""
    for step in steps:
        ctx = step.defaults(ctx)
    for step in steps:
        if step.skip(ctx) is None:
            ctx = step.run(ctx)
    return ctx


# --- plan: what must hold before go starts ----------------------------------------------------


def _prepare(ctx: Context) -> Context:
    """The sources go reads checked (a FIFO named *.go would make it wait forever), what a
    killed buildopt left removed, the record's header made, the Go releases fetched."""
    from buildopt.pipeline.plan import all_ids
    from buildopt.system import toolchain
    from buildopt.system.files import remove_stale_temporaries

    plan = ctx.planned
    for module in sorted({toolchain.enclosing_module(s.dir) for s in plan.steps}):
        toolchain.check_sources(module, ctx.cwd)
    for stale in remove_stale_temporaries(plan.dist):
        ctx.progress.say(f"removed {stale}: left by a buildopt that was killed")
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    header = make_record(plan, (), created)
    _fetch_releases(ctx)
    return replace(ctx, header=header, order=tuple(all_ids(plan.profile, plan.toolchain)))


def _fetch_releases(ctx: Context) -> None:
    """The Go releases the plan builds with (toolchain = [...]), fetched through the module
    proxy before the builds start, with a line for each that is not there yet - rather than
    inside every parallel go build, silently. One that cannot be had is said here; its builds
    then fail with go's own message."""
    from buildopt.system import toolchain

    plan = ctx.planned
    for release in sorted({s.release for s in plan.steps if s.release}):
        if release == plan.toolchain.version or toolchain.release_cached(plan.toolchain, release):
            continue  # the go that runs them, or one go fetched before
        ctx.progress.say(f"fetching {release} through the Go module proxy (once)...")
        try:
            line = toolchain.fetch_release(plan.toolchain, release, plan.steps[0].dir, ctx.environ)
        except ToolchainError as exc:
            ctx.progress.say(f"warning: {exc.message}")
            continue
        ctx.progress.say(f"fetched: {line}")


# --- build: go build, verify and publish each binary (pipeline/build.py), recorded as it lands -


def _build_defaults(ctx: Context) -> Context:
    from buildopt.config.units import UnitError, parse_seconds

    given = ctx.environ.get("BUILDOPT_BUILD_TIMEOUT")
    try:
        timeout = parse_seconds(given) if given else BUILD_TIMEOUT
    except UnitError as exc:
        raise UsageError(f"BUILDOPT_BUILD_TIMEOUT: {exc}") from None
    return replace(ctx, jobs=ctx.jobs or os.cpu_count() or 1, timeout=ctx.timeout or timeout)


def _build(ctx: Context) -> Context:
    plan, header = ctx.planned, ctx.headed
    # Whether the record there can take these builds is said once, before the first lands -
    # while go works (it reads the record: 15 ms before the first go build, if done first)
    check_record = _once(lambda: _say_if_replaced(ctx, header))

    def landed(build: Build) -> None:  # the record says so as soon as the binary is in place
        check_record()
        record_build(ctx, build)

    with ctx.progress.builds(len(plan.steps)) as observer:
        builds = run_plan(
            plan,
            ctx.environ,
            ctx.jobs,
            observer,
            timeout=ctx.timeout or BUILD_TIMEOUT,
            landed=landed,
            meanwhile=check_record,
        )
    return replace(ctx, builds=tuple(builds))


def record_build(ctx: Context, build: Build) -> Record:
    """The record with one build's entry, put in as its binary lands."""
    header = ctx.headed
    return store.update(
        ctx.record_path,
        lambda now: store.put_builds(now, header, [build], ctx.order, prune=ctx.prune),
    )


def _once(action: Callable[[], None]) -> Callable[[], None]:
    """action, done by the first of any threads that call the result; the others wait for it."""
    lock, done = threading.Lock(), list[bool]()

    def call() -> None:
        with lock:
            if not done:
                action()
                done.append(True)

    return call


def _say_if_replaced(ctx: Context, header: Record) -> None:
    """Builds are merged into the record at path; say so if what is there cannot take them."""
    path = ctx.record_path
    if not path.exists():
        return
    try:
        current = store.load_cached(path)  # the first build to land reads it from memory
    except store.RecordError as exc:
        ctx.progress.say(f"replacing {path}: {exc.message.removeprefix(f'{path}: ')}")
        return
    if not store.same_builds(current, header):
        ctx.progress.say(
            f"replacing {path}: a record of profile {current.profile.name!r} "
            f"with binaries in {current.dist}"
        )


# --- compress: the sizes max_compressed budgets judge -----------------------------------------


def _compress(ctx: Context) -> Context:
    """The compressed sizes the profile's ``max_compressed`` budgets need, for the binaries of
    this run whose entries lack them (an unchanged rebuild keeps the sizes it had), stored in
    their entries - only where an entry still describes the binary compressed. A size made by
    the other kind of compressor than the profile's ``compressor`` is made again."""
    from buildopt.names import FORMAT_COMMANDS
    from buildopt.pipeline.compress import compress_files

    wanted = _to_compress(ctx)
    if not wanted:
        return ctx
    names = sorted({FORMAT_COMMANDS[a] for _, missing in wanted for a in missing})
    total = sum(len(missing) for _, missing in wanted)
    ctx.progress.say(
        f"compressing {len(wanted)} binaries for max_compressed budgets ({', '.join(names)})..."
    )
    done = 0
    ids = {str(entry.output): entry.id for entry, _ in wanted}

    def progress(path: str, algorithm: str, size: int) -> None:
        nonlocal done
        done += 1
        ctx.progress.say(
            f"[{done}/{total}] {FORMAT_COMMANDS[algorithm]}: {ids[path]}: {size} bytes"
        )

    cli = ctx.profile.compressor == "cli"
    found = compress_files([(str(e.output), m) for e, m in wanted], ctx.jobs, progress, cli=cli)
    sizes = {e.id: (e.sha256, s) for (e, _), s in zip(wanted, found, strict=True) if s is not None}
    return replace(ctx, record=record_compressed(ctx.record_path, sizes))


def _to_compress(ctx: Context) -> list[tuple[Build, tuple[str, ...]]]:
    """This run's entries whose binaries lack a size a budget needs, with the formats."""
    from buildopt.binary.compressed import made_by_cli
    from buildopt.binary.facts import CompressedSizes
    from buildopt.record import integrity

    cli = ctx.profile.compressor == "cli"
    ours = {b.id for b in ctx.builds if b.ok}
    path = ctx.record_path
    wanted: list[tuple[Build, tuple[str, ...]]] = []
    for entry in store.load_cached(path).builds if path.exists() else ():
        if entry.id not in ours or entry.inspect is None or entry.output is None:
            continue
        if (problem := integrity.changed(entry)) is not None:  # its sizes would be another's
            ctx.progress.say(f"warning: not compressed: {problem}")
            continue
        have = entry.inspect.compressed or CompressedSizes()
        missing = tuple(
            a
            for a in ctx.profile.compressors_for(entry.id)
            if getattr(have, a) is None or made_by_cli(have, a) != cli
        )
        if missing:
            wanted.append((entry, missing))
    return wanted


def record_compressed(
    path: Path, sizes: Mapping[str, tuple[str | None, CompressedSizes]]
) -> Record:
    """The record with compressed sizes (id -> the sha256 compressed, its sizes) merged into
    the entries that still describe that binary (another run may have rebuilt it since)."""
    from buildopt.binary.compressed import merge
    from buildopt.binary.facts import CompressedSizes

    def merged(entry: Build) -> Build:
        sha256, new = sizes[entry.id]
        if entry.sha256 != sha256 or entry.inspect is None:  # rebuilt by another run since
            return entry
        both = merge(entry.inspect.compressed or CompressedSizes(), new)
        return msgspec.structs.replace(
            entry, inspect=msgspec.structs.replace(entry.inspect, compressed=both)
        )

    def change(now: Record | None) -> Record:
        current = now if now is not None else store.load(path)  # unreadable: its error
        return current.with_builds(tuple(merged(b) if b.id in sizes else b for b in current.builds))

    return store.update(path, change)


# --- linker: what a second link of each new binary tells (pipeline/linker.py) ----------------


def _linker(ctx: Context) -> Context:
    from buildopt.pipeline.linker import linker_step

    return linker_step(ctx)


# --- image: the squashfs images [[image]] tables ask for ---------------------------------------


def _image(ctx: Context) -> Context:
    """Each squashfs image made (or its record, when its inputs are unchanged), by name; with
    strict_images, an image that cannot be made is an error, else the reason takes its place
    (the gate then skips its checks with that note)."""
    from buildopt.pipeline.image import build_image
    from buildopt.pipeline.plan import ids_on
    from buildopt.record.images import ImageOutcome
    from buildopt.system.files import remove_stale_temporaries
    from buildopt.system.squashfs import ToolMissing

    if ctx.record is None or ctx.images_dir is None:
        raise ValueError("the image step needs the record and the images' folder")
    made: dict[str, ImageOutcome] = {}
    for stale in remove_stale_temporaries(ctx.images_dir):
        ctx.progress.say(f"removed {stale}: left by a buildopt that was killed")
    # the profile's ids (a max_share of a build not made yet): a build run has them already
    ids = ctx.order or tuple(ids_on(ctx.profile, ctx.record.go.host))
    for image in ctx.images:
        name = visible(image.name)
        try:
            records = [ctx.record, *(_other(ctx, image, path) for path in image.records)]
            image_record, fresh = build_image(
                image,
                records,
                ctx.images_dir,
                environ=ctx.environ,
                jobs=ctx.jobs,
                root=ctx.profile.root,
                making=partial(
                    ctx.progress.say, f"image {name}: mksquashfs -comp {image.compressor}..."
                ),
                waiting=partial(
                    ctx.progress.say, f"image {name}: waiting for another buildopt making it..."
                ),
                ids=ids,
            )
        except (ToolMissing, ProfileError):  # no mksquashfs, or the [[image]] is wrong: exit 2
            raise
        except BuildoptError as exc:
            if ctx.strict_images:
                raise
            made[image.name] = ImageOutcome(reason=exc.message)
            continue
        state = "made" if fresh else "unchanged, not made again"
        ctx.progress.say(f"image {name}: {visible(image_record.image)} ({state})")
        made[image.name] = ImageOutcome(image_record)
    return replace(ctx, made=made)


def _other(ctx: Context, image: ImageBudget, path: Path) -> Record:
    """One of the other records an image takes binaries from; UsageError if it was not read."""
    other = ctx.others.get(path, store.RecordError(f"{path}: not loaded"))
    if isinstance(other, store.RecordError):
        raise UsageError(f"image {image.name!r}: {other.message}")
    return other


# --- scan: each built variant's sources, with its own build tags ------------------------------


def _scan(ctx: Context) -> Context:
    from buildopt.measure import scan as scanner
    from buildopt.pipeline.plan import module_dir, package_arg

    by_tags: dict[tuple[Path, tuple[str, ...]], ScanReport] = {}
    scans: dict[str, ScanReport] = {}
    for build in ctx.builds:
        if not build.ok:
            continue
        tags = ctx.profile.variant(build.variant).tags
        package = _program_package(ctx.profile, build.program)
        if (package, tags) not in by_tags:
            root = module_dir(package)
            pattern = package_arg(package, root)
            by_tags[package, tags] = scanner.scan(root, [pattern], tags, environ=ctx.environ)
        scans[build.id] = by_tags[package, tags]
    return replace(ctx, scans=scans)


def _program_package(profile: Profile, program: str) -> Path:
    """The main package directory of a build's program (the profile's one, when unnamed)."""
    return next((p.package for p in profile.builds if p.name == program), profile.package)


def _cuts(ctx: Context) -> Context:
    from buildopt.pipeline.cuts import cuttable

    return replace(ctx, cuts=cuttable(ctx))


# --- record: the run's record, as it leaves dist/ ---------------------------------------------


def _record(ctx: Context) -> Context:
    """The record at the end of a build run: what is there, if it is of this profile and
    output directory (every build of the run was put in as it finished), else a fresh one;
    with the scans of this run's binaries."""
    header, built = ctx.headed, {b.id: b.sha256 for b in ctx.builds if b.ok}

    def change(now: Record | None) -> Record:
        mine = store.put_builds(now, header, (), ctx.order, prune=ctx.prune)
        if not (ctx.scans or ctx.cuts):
            return mine
        return attach(mine, scan=ctx.scans, cuts=ctx.cuts, of=built)

    return replace(ctx, record=store.update(ctx.record_path, change))


def attach(
    record: Record,
    *,
    startup: Mapping[str, StartupResult] | None = None,
    scan: Mapping[str, ScanReport] | None = None,
    cuts: Mapping[str, tuple[CutSaving, ...]] | None = None,
    of: Mapping[str, str | None] | None = None,
) -> Record:
    """record with start-up results or scans attached to the builds they are of (by id) -
    with ``of`` (id -> sha256), only where the entry still describes that binary (another
    run may have rebuilt it since)."""
    builds: list[Build] = []
    for build in record.builds:
        if of is not None and (build.id not in of or of[build.id] != build.sha256):
            builds.append(build)
            continue
        changes: dict[str, object] = {}
        if startup and build.id in startup:
            changes["startup"] = msgspec.structs.replace(startup[build.id], sha256=build.sha256)
        if scan and build.id in scan:
            changes["scan"] = msgspec.structs.replace(scan[build.id], sha256=build.sha256)
        if cuts and build.id in cuts:
            changes["cuttable"] = cuts[build.id]
        builds.append(msgspec.structs.replace(build, **changes) if changes else build)
    return record.with_builds(tuple(builds))


# --- startup: cold start of the record's binaries this machine can run ------------------------


def _startup(ctx: Context) -> Context:
    from buildopt.pipeline import startup_runs

    if ctx.startup is None or ctx.record is None:
        raise ValueError("the startup step needs its config and the record")
    where = startup_runs.runs_on(ctx.startup, ctx.environ)
    binaries, skipped, baseline = startup_runs.runnable(
        ctx.record, ctx.environ, where, ctx.selected
    )
    for note in skipped:
        ctx.progress.skipped(note)
    results = startup_runs.measure(
        binaries, ctx.startup, baseline, ctx.environ, ctx.progress, platform=where
    )
    record = record_startup(ctx.record_path, ctx.record, results)
    return replace(ctx, measured=results, baseline=baseline, record=record)


def record_startup(path: Path, read: Record, results: Sequence[StartupResult]) -> Record:
    """The record with start-up results attached to the binaries they measured."""
    measured = {r.name: r for r in results}
    shas = {b.id: b.sha256 for b in read.builds if b.id in measured}
    return store.update(path, lambda now: attach(now or read, startup=measured, of=shas))


PLAN = Step("plan", _prepare)
BUILD = Step("build", _build, defaults=_build_defaults)  # with verify and publish, per binary
COMPRESS = Step(
    "compress",
    _compress,  # (nothing loaded without a budget: an unchanged rebuild pays for none of it)
    lambda ctx: (
        None if any(b.max_compressed for b in ctx.profile.budgets) else "no max_compressed budget"
    ),
    _build_defaults,
)
IMAGE = Step("image", _image, lambda ctx: None if ctx.images else "no image asked for")
LINKER = Step("linker", _linker)  # a twin link per new binary: owners, dead code
SCAN = Step("scan", _scan, lambda ctx: None if ctx.profile.scan else "[scan] is not enabled")
CUTS = Step("cuttable", _cuts)  # each build's heaviest cuttable dependencies (go list)
RECORD = Step("record", _record)
STARTUP = Step("startup", _startup, lambda ctx: None if ctx.startup else "not asked for")

BUILD_STEPS = (PLAN, BUILD, LINKER, COMPRESS, SCAN, CUTS, RECORD)  # buildopt build
