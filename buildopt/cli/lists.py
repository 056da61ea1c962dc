"""The dependency lists ``deps`` writes and ``gate`` checks: where they live
(``deps/PROFILE/`` in the project root, found from any folder below it as the profiles are),
reading one, and the packages each variant's go build links now (``go list -deps`` in the
environment of its go build).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from buildopt.analysis.deps import SUFFIX, Dep, DepsListError, file_name, from_graph, parse
from buildopt.errors import UsageError, visible
from buildopt.system.outputs import Input

if TYPE_CHECKING:
    from buildopt.analysis.gate import Check
    from buildopt.config.profile import Profile
    from buildopt.config.toolchain import Toolchain
    from buildopt.pipeline.plan import Plan
    from buildopt.record.model import Record

DEPS_DIR = "deps"
NOT_SHOWN = ("CC", "CXX")  # the C compiler: not part of the import graph, and per machine


class Point(msgspec.Struct, frozen=True):
    """A variant x target (x Go release) of the plan, as go list -deps needs it: built on this
    machine or not (a cgo cross build without its C compiler has the same import graph)."""

    id: str
    env: Mapping[str, str]  # what buildopt sets for its go build
    tags: tuple[str, ...]
    dir: Path
    package: str

    @property
    def shown_env(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k not in NOT_SHOWN}


class Linked(msgspec.Struct, frozen=True):
    """What a point's go build links now: go's answer and the list made of it."""

    graph: Sequence[Mapping[str, Any]]
    deps: tuple[Dep, ...]


def points(plan: Plan) -> list[Point]:
    """Every planned id, in the plan's order: those built here and those skipped here."""
    from buildopt.pipeline.plan import build_env

    found = [Point(s.id, s.env, s.variant.tags, s.dir, s.package) for s in plan.steps]
    for skip in plan.skipped:
        env = build_env(skip.variant, skip.target, None)
        env |= {"GOTOOLCHAIN": skip.release} if skip.release else {}
        found.append(Point(skip.id, env, skip.variant.tags, skip.dir or Path(), skip.package))
    order = {sid: i for i, sid in enumerate(_plan_ids(plan))}
    return sorted(found, key=lambda p: order.get(p.id, len(order)))


def _plan_ids(plan: Plan) -> list[str]:
    from buildopt.pipeline.plan import all_ids

    return all_ids(plan.profile, plan.toolchain)


def linked(point: Point, go: str, environ: Mapping[str, str]) -> Linked:
    """The packages point's go build links, by go list -deps (one line on a failure)."""
    from buildopt.measure.scan import ScanError, go_list

    print(f"go list -deps {point.id}", file=sys.stderr)
    try:
        graph = go_list(
            go, point.dir, [point.package], point.tags, {**environ, **point.env}, deps=True
        )
    except ScanError as exc:
        raise UsageError(f"{point.id}: {exc.message}") from None
    try:
        return Linked(graph, from_graph(graph))
    except DepsListError as exc:
        raise DepsListError(f"{point.id}: {exc.message}") from None


def lists_dir(profile: Profile) -> Path:
    """``deps/PROFILE/`` in the project root; UsageError when a link leads it elsewhere (no
    list is written outside the project's deps/ folder)."""
    top = profile.root / DEPS_DIR
    folder = top / profile.name
    try:
        inside = folder.resolve().is_relative_to(top.resolve()) and (
            not top.is_symlink() and top.resolve().parent == profile.root.resolve()
        )
    except (OSError, RuntimeError) as exc:
        raise UsageError(f"{folder}: cannot resolve: {exc}") from None
    if not inside:
        raise UsageError(
            f"{folder}: a symbolic link leads outside {top}: dependency lists are written only "
            "in the project's deps/ folder"
        )
    return folder


def shown(path: Path, profile: Profile) -> str:
    """A list's path as people read it: from the project root (deps/PROFILE/ID.txt)."""
    try:
        return path.relative_to(profile.root).as_posix()
    except ValueError:
        return str(path)


def make_dir(folder: Path) -> None:
    """The lists' folder made (and deps/ above it); one line when a file is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{folder}: cannot make the folder: {exc.strerror or exc}") from None


def list_path(profile: Profile, vid: str) -> Path:
    return lists_dir(profile) / file_name(vid)


def read_list(path: Path, as_shown: str, profile: Profile) -> tuple[Dep, ...] | None:
    """The packages of the list at path (None when there is none); one line, exit 2, for
    anything else than a regular file of list lines no larger than MAX_LIST_BYTES."""
    from buildopt.analysis.deps import MAX_LIST_BYTES
    from buildopt.inputs import NotRegularFile, TooLarge, read_limited

    if not os.path.lexists(path):
        return None
    deps_dir = lists_dir(profile).parent  # deps/ (lists_dir checked that deps/PROFILE/ is in it)
    try:
        outside = not path.resolve().is_relative_to(deps_dir.resolve())
    except (OSError, RuntimeError) as exc:
        raise DepsListError(f"{as_shown}: cannot resolve: {exc}") from None
    if outside:  # (its content is never shown: it could be any file of the machine)
        raise DepsListError(
            f"{as_shown}: a symbolic link to a file outside {deps_dir.name}/: not read"
        )
    try:
        data = read_limited(path, MAX_LIST_BYTES)
    except (NotRegularFile, TooLarge) as exc:
        raise DepsListError(f"{as_shown}: {exc}") from None
    except OSError as exc:
        raise DepsListError(f"{as_shown}: cannot read: {exc.strerror or exc}") from None
    return parse(data, visible(as_shown))


def list_inputs(profile: Profile) -> list[Input]:
    """The lists of the profile's folder: inputs no output of the gate may replace."""
    folder = lists_dir(profile)
    found = [*folder.glob("*" + SUFFIX), *folder.glob("*/*" + SUFFIX)]  # ID.txt, POINT/PROGRAM.txt
    return [Input(p, "a dependency list") for p in sorted(found)]


def gate_checks(
    profile: Profile,
    tools: Toolchain,
    record: Record,
    environ: Mapping[str, str],
    dist: Path | None,
) -> list[Check]:
    """The dependency lists' checks of the record's built variants, when the profile has a
    deps/PROFILE/ folder (none otherwise: the lists are a contract the project opts into)."""
    from buildopt.analysis.cost import cut_saving, package_cost
    from buildopt.analysis.deps import Judged, deps_checks, unlinked
    from buildopt.pipeline.plan import make_plan

    folder = lists_dir(profile)
    if not folder.is_dir():
        return []
    plan = make_plan(profile, tools, environ, (), dist)
    by_id = {p.id: p for p in points(plan)}
    checks: list[Check] = []
    for build in record.builds:
        point = by_id.get(build.id)
        if point is None or not build.ok:  # a failed build is the gate's own FAIL row
            continue
        path = list_path(profile, build.id)
        listed = read_list(path, shown(path, profile), profile)
        try:
            now = linked(point, tools.go, environ)
        except UsageError as exc:  # a source go cannot load: the other rows still speak
            checks.append(unlinked(build.id, shown(path, profile), exc.message))
            continue
        judged = Judged(
            vid=build.id,
            listed_as=shown(path, profile),
            listed=listed,
            linked=now.deps,
            graph=now.graph,
            cost=functools.partial(package_cost, record, build.id),
            cut=functools.partial(cut_saving, record, build.id, now.graph),
        )
        checks += deps_checks(judged)
    return checks
