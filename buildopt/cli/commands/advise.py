"""``buildopt advise``: every lever a variant does not use yet, built and measured for real,
ranked by savings; ``--write NAME`` adds the chosen one to the profile."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from buildopt.cli.common import _dist, _profile
from buildopt.cli.values import count
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError, visible

if TYPE_CHECKING:
    from buildopt.config.profile import Profile
    from buildopt.config.target import Target
    from buildopt.config.toolchain import Toolchain
    from buildopt.config.variant import Variant
    from buildopt.pipeline.advise import Lever
    from buildopt.pipeline.steps import Context
    from buildopt.record.advice import AdviceReport


def advise(
    *,
    profile: str = "",
    variant: str = "",
    startup: bool = False,
    toolchain: list[str] | None = None,
    tag: list[str] | None = None,
    write: str = "",
    lever: str = "",
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    dist: str = "",
) -> int:
    """``buildopt advise``: the levers of one variant, each built and measured."""
    from buildopt.config.profile import one_program
    from buildopt.output import advise_tables
    from buildopt.output import console as report

    _check_flags(toolchain or [], tag or [], write, lever, as_json=json)
    cwd = Path.cwd()
    loaded = _profile(profile, cwd, "advise")
    if write:
        from buildopt.system.outputs import editable_profile

        _check_new_name(loaded, write)
        editable_profile(_named_path(profile, loaded, cwd))
    alone, spec = one_program(loaded, variant)
    asked = _Asked(spec, tag or [], toolchain or [], startup, count("--jobs", jobs, 0))
    advice, levers = _advise(alone, asked, _dist(dist, cwd), cwd)
    # with --write, stdout is the proposed budget alone (TOML to paste): the table to stderr
    advise_tables.show_advice(report.make_console(stderr=json or bool(write)), advice, exact=bytes)
    if json:
        report.print_json(advice)
    if write:
        return _write(loaded, profile, advice, levers=levers, name=write, chosen=lever)
    return EXIT_OK


def _check_flags(
    releases: list[str], tags: list[str], write: str, lever: str, *, as_json: bool
) -> None:
    from buildopt.config.variant import RELEASE_RE, is_build_tag

    for release in releases:
        if not RELEASE_RE.fullmatch(release):
            raise UsageError(f"--toolchain {release!r}: not a Go release like 'go1.24.13'")
    for word in tags:
        if not is_build_tag(word):
            raise UsageError(f"--tag {word!r}: not a build tag (letters, digits, _ .)")
    if bool(write) != bool(lever):
        raise UsageError("--write NAME and --lever LEVER go together")
    if write and as_json:
        raise UsageError("--write prints the proposed budget on stdout: not with --json")
    from buildopt.pipeline.levers import is_lever_name

    if lever and not is_lever_name(lever):  # (before any what-if is built)
        raise UsageError(
            f"--lever {visible(lever)!r}: not a lever's name (s-w, trimpath, cgo-off, netgo, "
            "osusergo, internal-link, pie-off, goamd64-vN, goarm-7, tag-NAME, goN.N.N)"
        )


class _Asked(NamedTuple):
    variant: str  # NAME or NAME@TARGET-ID
    tags: list[str]
    releases: list[str]
    startup: bool
    jobs: int


def _advise(
    loaded: Profile, asked: _Asked, where: Path | None, cwd: Path
) -> tuple[AdviceReport, list[Lever]]:
    """The variant's levers, built (and started), measured, judged; the advice also written
    to dist/PROFILE/.advise/advice.json, where the report reads it."""
    from buildopt.cli.images import _image_records
    from buildopt.output.progress import StepProgress
    from buildopt.pipeline import advise as whatifs
    from buildopt.pipeline.steps import Context
    from buildopt.record.advice import ADVICE_FILE
    from buildopt.system import toolchain as go
    from buildopt.system.files import atomic_write_text

    environ = dict(os.environ)
    tools = go.load(environ)
    base, target_spec = whatifs.chosen(loaded, asked.variant, f"--variant {asked.variant}")
    target = whatifs.target_of(loaded, base, tools, target_spec)
    begun = time.monotonic()
    ctx = Context(
        profile=loaded,
        record_path=loaded.record_path(where),
        environ=environ,
        progress=StepProgress(environ),
        cwd=cwd,
        jobs=asked.jobs,
    )
    levers = _levers(ctx, tools, base, target, asked, dist=where)
    what_if = whatifs.what_if_profile(loaded, base, target, [x.variant for x in levers])
    plural = "" if len(levers) == 1 else "s"
    ctx.progress.say(
        f"advise: building {len(levers)} what-if{plural} of {base.name}@{target.id}, "
        "each with one change..."
    )
    done = whatifs.build_what_ifs(what_if, tools, ctx, where)
    base_id = whatifs.base_id_of(base, target, whatifs.program_of(loaded))
    record = whatifs.measure_what_ifs(done, base_id) if asked.startup else done.recorded
    advice = whatifs.advice(
        loaded,
        target,
        base_id,
        found=levers,
        record=record,
        seconds=time.monotonic() - begun,
        built=_own_builds(loaded.record_path(where)),
        timed=asked.startup,
        images=whatifs.imaged(done, what_if, record, _image_records(loaded), where),
    )
    atomic_write_text(what_if.dist_dir(where) / ADVICE_FILE, _json_text(advice))
    return advice, levers


def _own_builds(path: Path) -> dict[str, str]:
    """sha256 -> id of the profile's own record's builds (none when it has no readable one)."""
    from buildopt.record import store

    try:
        record = store.load(path) if path.is_file() else None
    except store.RecordError:
        return {}
    return {b.sha256: b.id for b in record.builds if b.ok and b.sha256} if record else {}


def _levers(
    ctx: Context,
    tools: Toolchain,
    base: Variant,
    target: Target,
    asked: _Asked,
    *,
    dist: Path | None,
) -> list[Lever]:
    """The levers that apply: the variant built first (go finds it up to date when it was),
    so that what its binary links decides netgo and osusergo."""
    from buildopt.pipeline import advise as whatifs

    alone = whatifs.what_if_profile(ctx.profile, base, target, [])
    first = whatifs.build_what_ifs(alone, tools, ctx, dist)
    base_id = whatifs.base_id_of(base, target, whatifs.program_of(ctx.profile))
    built = whatifs.base_build(first.recorded, base_id)
    if built is None or built.inspect is None:
        why = built.reason if built else "not built"
        raise _Failed(f"advise: {base_id} did not build: {why}")
    packages = [p.package for p in built.inspect.packages]
    return whatifs.levers(
        ctx.profile,
        base,
        target,
        tools,
        packages,
        tags=asked.tags,
        releases=asked.releases,
        startup=asked.startup,
    )


class _Failed(UsageError):
    exit_code = EXIT_FAILED


def _json_text(advice: AdviceReport) -> str:
    import json

    import msgspec

    return json.dumps(msgspec.to_builtins(advice), indent=2) + "\n"


def _check_new_name(profile: Profile, name: str) -> None:
    from buildopt.config.profile import check_variant_name

    check_variant_name(profile.path, f"--write {name}", name)
    if any(v.name == name for v in profile.variants):
        raise UsageError(f"--write {name}: {profile.path.name} already has a variant {name!r}")


def _named_path(spec: str, profile: Profile, cwd: Path) -> Path:
    """The profile file as named (a symbolic link not followed: advise --write refuses one)."""
    from buildopt.config.profile import profiles_folder

    if spec and (spec.endswith(".toml") or "/" in spec or spec.startswith(".")):
        return cwd / spec
    folder = profiles_folder(cwd)
    return (folder / f"{spec or profile.name}.toml") if folder else profile.path


def _write(
    profile: Profile,
    spec: str,
    advice: AdviceReport,
    *,
    levers: list[Lever],
    name: str,
    chosen: str,
) -> int:
    """The what-if of lever chosen added to the profile as [variants.NAME] (extends = the
    variant, with the one change), and a budget for it printed for the user to paste."""
    import tomlkit

    from buildopt.config.profile import load_profile
    from buildopt.errors import ProfileError
    from buildopt.pipeline.advise import propose_budget, variant_table
    from buildopt.system.outputs import rewrite_profile

    picked = next((x for x in levers if x.name == chosen), None)
    row = next((r for r in advice.levers if r.lever == chosen), None)
    if picked is None or row is None:
        known = ", ".join(x.name for x in levers) or "none"
        raise UsageError(f"--lever {chosen}: not a lever of {advice.base_id} (its levers: {known})")
    if row.figures is None:
        print(f"error: --write {name}: {chosen} did not build: {row.error}", file=sys.stderr)
        return EXIT_FAILED
    about = f"{advice.variant} with {picked.change} (buildopt advise)"
    text = variant_table(name, advice.variant, picked.layer, about)
    path = _named_path(spec, profile, Path.cwd())
    before = path.read_bytes()
    tomlkit.parse(before.decode() + "\n" + text)  # what is appended parses with the rest
    rewrite_profile(path, text)
    try:
        load_profile(str(path), Path.cwd()).variant(name)
    except (ProfileError, KeyError) as exc:  # never leave a profile that does not load
        from buildopt.system.files import atomic_write_text

        atomic_write_text(path, before.decode())
        raise UsageError(
            f"--write {name}: the profile would not load ({exc}); left as it was"
        ) from None
    print(f"added [variants.{name}] to {path}: {about}", file=sys.stderr)
    print("a budget for it, from the sizes measured (printed: paste it into the profile):",
          file=sys.stderr)  # fmt: skip
    print(propose_budget(name, advice, row), end="")
    return EXIT_OK
