"""Turn a profile into build steps: every variant x target with its exact argv and environment.

Everything here is pure: the toolchain facts and the environment come in as parameters, so the
argv/env builder can be tested exhaustively without starting a process.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, NamedTuple

import msgspec
from msgspec import Meta

from buildopt.binary.facts import Fact, described
from buildopt.config.budgets import check_selectors, matches, selects
from buildopt.config.ids import build_id
from buildopt.config.keys import did_you_mean
from buildopt.config.links import links_of
from buildopt.config.profile import Profile, Program
from buildopt.config.target import Target
from buildopt.config.toolchain import Toolchain
from buildopt.config.variant import Variant, VariantSettings
from buildopt.errors import ProfileError, UsageError

# Debian/Ubuntu names of the C cross compilers cgo needs, by GOOS/GOARCH. Only a default for
# the lookup: a variant's env.CC always wins.
CROSS_CC: dict[str, str] = {
    "linux/amd64": "x86_64-linux-gnu-gcc",
    "linux/386": "i686-linux-gnu-gcc",
    "linux/arm64": "aarch64-linux-gnu-gcc",
    "linux/arm": "arm-linux-gnueabihf-gcc",
    "linux/riscv64": "riscv64-linux-gnu-gcc",
    "linux/ppc64le": "powerpc64le-linux-gnu-gcc",
    "linux/ppc64": "powerpc64-linux-gnu-gcc",
    "linux/s390x": "s390x-linux-gnu-gcc",
    "linux/mips": "mips-linux-gnu-gcc",
    "linux/mipsle": "mipsel-linux-gnu-gcc",
    "linux/mips64": "mips64-linux-gnuabi64-gcc",
    "linux/mips64le": "mips64el-linux-gnuabi64-gcc",
    "linux/loong64": "loongarch64-linux-gnu-gcc",
}


# Debian/Ubuntu packages of those compilers and of the C library they link against, by the
# compiler's triple (GCC's package spells x86_64 as x86-64).
CROSS_LIBC_ARCH: dict[str, str] = {
    "x86_64-linux-gnu": "amd64",
    "i686-linux-gnu": "i386",
    "aarch64-linux-gnu": "arm64",
    "arm-linux-gnueabihf": "armhf",
    "riscv64-linux-gnu": "riscv64",
    "powerpc64le-linux-gnu": "ppc64el",
    "powerpc64-linux-gnu": "ppc64",
    "s390x-linux-gnu": "s390x",
    "mips-linux-gnu": "mips",
    "mipsel-linux-gnu": "mipsel",
    "mips64-linux-gnuabi64": "mips64",
    "mips64el-linux-gnuabi64": "mips64el",
    "loongarch64-linux-gnu": "loong64",
}


def cross_packages(cc: str) -> tuple[str, ...]:
    """The Debian/Ubuntu packages that provide the C cross compiler cc and its libc."""
    triple = cc.removesuffix("-gcc")
    arch = CROSS_LIBC_ARCH.get(triple)
    if arch is None:
        return ()
    return (f"gcc-{triple.replace('x86_64', 'x86-64')}", f"libc6-dev-{arch}-cross")


class Needs(NamedTuple):
    """What a build job needs beyond Go: the C cross compiler (CC) and its packages."""

    cc: str | None
    packages: tuple[str, ...]


def job_needs(variant: Variant, target: Target, toolchain: Toolchain) -> Needs:
    """What a runner of the planning machine's kind needs to build variant for target:
    for cgo on a foreign target, the default cross compiler (unless the variant sets CC)."""
    if (
        not variant.cgo
        or "CC" in dict(variant.env)
        or toolchain.is_host(target.goos, target.goarch)
    ):
        return Needs(None, ())
    cc = CROSS_CC.get(target.pair)
    return Needs(cc, cross_packages(cc) if cc else ())


class QuoteError(ValueError):
    """An argument that Go's flag quoting cannot carry."""


def go_quote_join(args: Sequence[str]) -> str:
    """Join args the way cmd/internal/quoted.Join does, so go build splits them back exactly."""
    out = []
    for arg in args:
        space = any(c in " \t\n\r" for c in arg)
        single, double = "'" in arg, '"' in arg
        if arg and not (space or single or double):
            out.append(arg)
        elif not single:
            out.append(f"'{arg}'")
        elif not double:
            out.append(f'"{arg}"')
        else:
            raise QuoteError(f"{arg!r} contains both ' and \" and cannot be passed to go build")
    return " ".join(out)


def ldflags(variant: Variant) -> list[str]:
    """The -ldflags words for a variant, in a fixed order: strip, link, buildid, -X, raw."""
    words: list[str] = {"none": [], "dwarf": ["-w"], "all": ["-s", "-w"]}[variant.strip]
    if variant.linkmode:
        words.append(f"-linkmode={variant.linkmode}")
    if variant.extldflags:
        words += ["-extldflags", go_quote_join(variant.extldflags)]
    if variant.buildid is not None:
        words.append(f"-buildid={variant.buildid}")
    for key, value in sorted(variant.x.items()):
        words += ["-X", f"{key}={value}"]
    return words + list(variant.ldflags)


def go_build_argv(go: str, variant: Variant, output: Path | str, package: str) -> list[str]:
    """The exact argv of ``go build`` for one variant (no shell: every value stays literal)."""
    argv = [go, "build", "-o", str(output)]
    if variant.trimpath:
        argv.append("-trimpath")
    if variant.buildmode:
        argv.append(f"-buildmode={variant.buildmode}")
    if variant.tags:
        argv.append("-tags=" + ",".join(variant.tags))
    if variant.gcflags:
        argv.append("-gcflags=" + go_quote_join(variant.gcflags))
    if variant.asmflags:
        argv.append("-asmflags=" + go_quote_join(variant.asmflags))
    words = ldflags(variant)
    if words:
        argv.append("-ldflags=" + go_quote_join(words))
    return [*argv, *variant.flags, package]


def build_env(variant: Variant, target: Target, cc: str | None) -> dict[str, str]:
    """The variables buildopt sets on top of the inherited environment."""
    env = target.env()
    if variant.cgo is not None:
        env["CGO_ENABLED"] = "1" if variant.cgo else "0"
    if cc:
        env["CC"] = cc
    env.update(variant.env)
    return env


class Step(msgspec.Struct, frozen=True):
    """One go build to run."""

    id: str
    variant: Variant
    target: Target
    argv: tuple[str, ...]
    env: Mapping[str, str]
    dir: Path
    package: str
    output: Path
    release: str | None = None  # the Go release it is built with (GOTOOLCHAIN), None: go itself
    program: str = ""  # the binary's name: its package's directory, or the profile's binary

    @property
    def stage(self) -> Path:
        """Where go writes the binary (``-o``) before it is verified and copied to output."""
        return stage_of(self.output)


STAGE_DIR = ".buildopt-stage"


def stage_of(output: Path) -> Path:
    """A binary's stage: beside it in STAGE_DIR, the same path from build to build, so that go
    finds it up to date when nothing changed (it compares build IDs) and neither links nor
    writes it again."""
    return output.parent / STAGE_DIR / output.name


class Skip(msgspec.Struct, frozen=True):
    """A variant x target that will not be built, and why."""

    id: str
    variant: Variant
    target: Target
    reason: str
    release: str | None = None
    program: str = ""
    dir: Path | None = None  # where its go build would run, and its package from there
    package: str = ""


class Plan(msgspec.Struct, frozen=True):
    profile: Profile
    toolchain: Toolchain
    dist: Path
    steps: tuple[Step, ...]
    skipped: tuple[Skip, ...]


# --- buildopt plan --json ---------------------------------------------------------------------

PLAN_SCHEMA: Literal["buildopt.plan/1"] = "buildopt.plan/1"


class PlannedGo(Fact, frozen=True):
    version: str
    path: str


class PlannedStep(Fact, frozen=True):
    id: str
    variant: str
    target: str
    program: Annotated[str, described("the binary's name (its package's directory)")]
    package: Annotated[str, described("the main package, as go build is given it (from dir)")]
    argv: Annotated[tuple[str, ...], Meta(min_length=5)]  # go build [flags] -o OUT PACKAGE
    env: Annotated[dict[str, str], Meta(extra_json_schema={"required": ["GOOS", "GOARCH"]})]
    dir: str
    output: str
    settings: VariantSettings


class PlannedSkip(Fact, frozen=True):
    id: str
    variant: str
    target: str
    program: str
    reason: Annotated[str, Meta(min_length=1)]


class PlanReport(Fact, frozen=True):
    """Printed by ``buildopt plan --json``: every variant x target with its exact argv and
    environment."""

    schema: Literal["buildopt.plan/1"]
    profile: str
    profile_path: str
    go: PlannedGo
    baseline: str
    steps: tuple[PlannedStep, ...]
    skipped: tuple[PlannedSkip, ...]


def plan_report(plan: Plan) -> PlanReport:
    steps = tuple(
        PlannedStep(
            id=s.id,
            variant=s.variant.name,
            target=s.target.spec,
            program=s.program,
            package=s.package,
            argv=s.argv,
            env=dict(s.env),
            dir=str(s.dir),
            output=str(s.output),
            settings=s.variant.settings(),
        )
        for s in plan.steps
    )
    skipped = tuple(
        PlannedSkip(
            id=k.id,
            variant=k.variant.name,
            target=k.target.spec,
            program=k.program,
            reason=k.reason,
        )
        for k in plan.skipped
    )
    go = PlannedGo(version=plan.toolchain.version, path=plan.toolchain.go)
    profile = plan.profile
    return PlanReport(
        schema=PLAN_SCHEMA,
        profile=profile.name,
        profile_path=str(profile.path),
        go=go,
        baseline=profile.baseline,
        steps=steps,
        skipped=skipped,
    )


class MatrixJob(Fact, frozen=True):
    """One job of ``buildopt matrix``: a variant x target (x Go release) to build, with every
    program of the profile (its id is the point: ``--variant ID`` builds them all)."""

    id: str
    variant: str
    target: str
    toolchain: str  # the Go release it is built with
    cc: str | None  # the C compiler it needs (cgo), else None
    needs: tuple[str, ...]  # the Debian packages of that compiler and its C library


class Matrix(Fact, frozen=True):
    """``buildopt matrix``: a GitHub Actions strategy.matrix."""

    include: tuple[MatrixJob, ...]


def step_id(
    variant: Variant, target: Target, release: str | None = None, program: str | None = None
) -> str:
    """``VARIANT@TARGET``, ``@RELEASE`` for a variant built with several Go releases, and
    ``/PROGRAM`` in a profile of several programs (config/ids.py)."""
    return build_id(variant.name, target.id, release, program)


def module_dir(package: Path) -> Path:
    """The directory holding the go.mod of package (go build runs there); else package itself."""
    for directory in (package, *package.parents):
        if (directory / "go.mod").is_file() or (directory / "go.work").is_file():
            return directory
    return package


def package_arg(package: Path, directory: Path) -> str:
    rel = package.relative_to(directory).as_posix()
    return "." if rel == "." else f"./{rel}"


def check_targets(profile: Profile, toolchain: Toolchain) -> None:
    """Every target named in the profile must be one the toolchain can build."""
    named = list(profile.targets)
    for v in profile.variants:
        named += v.parsed_targets or ()
    for target in named:
        if toolchain.platform(target.goos, target.goarch) is None:
            hint = did_you_mean(target.pair, toolchain.platforms)
            raise ProfileError(
                profile.path,
                f"targets: {target.spec!r} is not a target of {toolchain.version} "
                f"(go tool dist list){hint}",
            )


def cross_cc(
    variant: Variant, target: Target, toolchain: Toolchain, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """(CC to set, reason to skip) for a cgo build; both None when nothing is needed."""
    if not variant.cgo or "CC" in dict(variant.env):
        return None, None
    platform = toolchain.platform(target.goos, target.goarch)
    if platform is not None and not platform.cgo_supported:
        return None, f"cgo is not supported on {target.pair} (go tool dist list)"
    if toolchain.is_host(target.goos, target.goarch):
        return None, None
    cc = CROSS_CC.get(target.pair)
    if cc and shutil.which(cc, path=environ.get("PATH")):
        return cc, None
    wanted = f"{cc} is not on PATH" if cc else "no default C cross compiler is known"
    return None, (
        f"cgo for {target.pair} needs a C cross compiler: {wanted}; "
        f"install one or set env.CC in the variant"
    )


def make_plan(
    profile: Profile,
    toolchain: Toolchain,
    environ: Mapping[str, str],
    patterns: Sequence[str] = (),
    dist: Path | None = None,
    *,
    own: bool = True,
) -> Plan:
    """Every selected variant x target as a Step, or a Skip with its reason. (Not own: a
    what-if profile of advise, whose ids the profile's [[startup.each]] need not select.)"""
    check_targets(profile, toolchain)
    points = plan_points(profile, toolchain)
    ids = [point.id(profile) for point in points]
    check_selectors(profile.budgets, profile.images, ids)
    for number, each in enumerate(profile.startup.each if own else (), 1):
        if not any(selects(each.select, i) for i in ids):
            where = f"startup.each[{number}].select"
            raise ProfileError(
                profile.path, f"{where}: {each.select!r} matches no id; the ids:", ids
            )
    if own:
        _check_links(profile, points)
    dist = profile.dist_dir(dist)
    steps: list[Step] = []
    skipped: list[Skip] = []
    matched: set[str] = set()
    for point in points:
        sid = point.id(profile)
        hits = {p for p in patterns if selects(p, sid)}
        if patterns and not hits:
            continue
        matched.update(hits)
        cc, reason = cross_cc(point.variant, point.target, toolchain, environ)
        if reason:
            skipped.append(_skip(profile, point, reason))
            continue
        steps.append(_step(profile, point, go=toolchain.go, cc=cc, dist=dist))
    unmatched = [p for p in patterns if p not in matched]
    if unmatched:
        raise UsageError(
            f"--variant {unmatched[0]}: matches no variant of {profile.path.name}; the ids:",
            ids,
        )
    return Plan(profile, toolchain, dist, tuple(steps), tuple(skipped))


def _check_links(profile: Profile, points: Sequence[Point]) -> None:
    """Each squashfs image's links lead somewhere, from the places its binaries will have
    (an image that takes other records' binaries is checked when it is made)."""
    for image in profile.images:
        if image.filesystem is None or image.records or not image.links:
            continue
        places = {place: spec.given for place, spec in image.files.items()}
        for point in points:
            sid = point.id(profile)
            if matches(image.select, sid):
                places.setdefault(image.place(sid, point.program.name), sid)
        links_of(image, places)


class Point(NamedTuple):
    """One program of a variant x target (x Go release): what one Step builds."""

    variant: Variant
    target: Target
    release: str | None
    program: Program

    def id(self, profile: Profile) -> str:
        return step_id(self.variant, self.target, self.release, profile.program_id(self.program))


def plan_points(profile: Profile, toolchain: Toolchain) -> list[Point]:
    """Every program of every variant x target (x Go release), in the profile's order."""
    return [
        Point(variant, target, release, program)
        for variant in profile.variants
        for target, release in variant_points(profile, variant, toolchain)
        for program in profile.builds
        if variant.programs is None or program.name in variant.programs
    ]


def _skip(profile: Profile, point: Point, reason: str) -> Skip:
    directory = module_dir(point.program.package)
    package = package_arg(point.program.package, directory)
    return Skip(
        point.id(profile),
        point.variant,
        point.target,
        reason,
        point.release,
        program=point.program.name,
        dir=directory,
        package=package,
    )


def _step(profile: Profile, point: Point, *, go: str, cc: str | None, dist: Path) -> Step:
    variant, target, release, program = point
    directory = module_dir(program.package)
    package = package_arg(program.package, directory)
    folder = target.id + (f"@{release}" if release else "")
    output = dist / variant.name / folder / _binary_name(program, variant, target)
    if not output.resolve().is_relative_to(dist.resolve()):  # a symlink under dist/, say
        raise ProfileError(
            profile.path, f"{variant.origin}: the binary would be written outside {dist}: {output}"
        )
    try:
        argv = go_build_argv(go, variant, stage_of(output), package)
    except QuoteError as exc:
        raise ProfileError(profile.path, f"{variant.origin}: {exc}") from exc
    env = build_env(variant, target, cc)
    if release:  # go switches to that release (fetched through the module proxy once)
        env["GOTOOLCHAIN"] = release
    return Step(
        point.id(profile),
        variant,
        target,
        tuple(argv),
        env,
        directory,
        package,
        output,
        release,
        program.name,
    )


def variant_targets(profile: Profile, variant: Variant, toolchain: Toolchain) -> tuple[Target, ...]:
    """The variant's own targets, else the profile's, else the host."""
    return (
        variant.parsed_targets or profile.targets or (Target(toolchain.hostos, toolchain.hostarch),)
    )


def variant_points(
    profile: Profile, variant: Variant, toolchain: Toolchain
) -> list[tuple[Target, str | None]]:
    """Each target of the variant with each Go release it is built with (None: go itself)."""
    releases: tuple[str | None, ...] = variant.toolchain or (None,)
    return [(t, r) for t in variant_targets(profile, variant, toolchain) for r in releases]


def all_ids(profile: Profile, toolchain: Toolchain) -> list[str]:
    return [point.id(profile) for point in plan_points(profile, toolchain)]


def ids_on(profile: Profile, host: str) -> list[str]:
    """Every build id of the profile when built on host (``GOOS/GOARCH``, a record's
    ``go.host``: the target of a variant that names none) - what a record of it may hold."""
    hostos, _, hostarch = host.partition("/")
    return all_ids(profile, Toolchain("", "", "", hostos, hostarch, {}, {}))


def _binary_name(program: Program, variant: Variant, target: Target) -> str:
    name = variant.output or program.name
    if target.goos == "windows" and not name.endswith(".exe"):
        name += ".exe"
    return name
