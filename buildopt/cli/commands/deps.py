"""``buildopt deps``: whether each variant's dependency list (``deps/PROFILE/ID.txt``) is
current - exit 0 when every one is, 1 when one is stale, missing or left over - and with
``--update``, the lists written.

A list is the packages the variant's go build links, by ``go list -deps`` in the environment
of that build (see buildopt.analysis.deps for the format); every planned id has one, built on
this machine or not.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _load_plan
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError, visible

if TYPE_CHECKING:
    from buildopt.analysis.deps import Dep
    from buildopt.cli.lists import Point
    from buildopt.config.profile import Profile
    from buildopt.system.outputs import Protected


def deps(*, profile: str = "", variant: list[str] | None = None, update: bool = False) -> int:
    from buildopt.cli import lists

    cwd, environ = Path.cwd(), dict(os.environ)
    plan = _load_plan(profile, variant, None, cwd, environ, command="deps")
    loaded = plan.profile
    folder = lists.lists_dir(loaded)
    wanted = lists.points(plan)
    current = True
    for point in wanted:
        path = lists.list_path(loaded, point.id)
        name = lists.shown(path, loaded)
        listed = _read(path, name, loaded, update=update)
        now = lists.linked(point, plan.toolchain.go, environ).deps
        if update:
            _write(path, name, point, now, listed, loaded, cwd)
        else:
            current = _say(name, listed, now) and current
    if not variant:  # every id was asked for: a list of none is left over
        ids = {p.id for p in wanted}
        for path in _left_over(folder, ids):
            name = lists.shown(path, loaded)
            if update:
                path.unlink()
                if path.parent != folder and not any(path.parent.iterdir()):
                    path.parent.rmdir()  # the point's folder, its last list gone
                print(f"removed {visible(name)}: no variant of the profile has its id")
            else:
                print(f"left over {visible(name)}: no variant of the profile has its id")
                current = False
    if not current:
        print(f"run `buildopt deps --profile {loaded.name} --update`", file=sys.stderr)
    return EXIT_OK if current else EXIT_FAILED


def _read(path: Path, name: str, profile: Profile, *, update: bool) -> tuple[Dep, ...] | None:
    """The list now; with --update, a file that is no list is replaced (said on stderr) - a
    list with merge conflict markers, say - unless the output rule refuses it."""
    from buildopt.analysis.deps import DepsListError
    from buildopt.cli import lists

    try:
        return lists.read_list(path, name, profile)
    except DepsListError as exc:
        if not update:
            raise
        print(f"replacing {exc.message}", file=sys.stderr)
        return None


def _say(name: str, listed: Sequence[Dep] | None, now: Sequence[Dep]) -> bool:
    """One line per list (and a line per difference); whether it is current."""
    from buildopt.analysis.deps import drift

    if listed is None:
        print(f"missing {visible(name)} ({len(now)} packages linked)")
        return False
    found = drift(listed, now)
    if found.none:
        print(f"current {visible(name)} ({len(now)} packages)")
        return True
    counts = f"{len(found.added)} new, {len(found.removed)} left, {len(found.changed)} changed"
    print(f"stale   {visible(name)}: {counts}")
    for dep in found.added:
        print(f"  + {visible(dep.line())}")
    for dep in found.removed:
        print(f"  - {visible(dep.line())}")
    for old, new in found.changed:
        print(f"  ~ {visible(old.line())} -> {visible(new.line())}")
    return False


def _write(  # noqa: PLR0917 - the list's place, its variant and its two contents
    path: Path,
    name: str,
    point: Point,
    now: tuple[Dep, ...],
    listed: Sequence[Dep] | None,
    profile: Profile,
    cwd: Path,
) -> None:
    """The list written by the output rule (never over a FIFO, a folder or an input)."""
    from buildopt.analysis.deps import render
    from buildopt.cli import lists, reads
    from buildopt.system.outputs import GoSources, output_to

    if listed is not None and tuple(listed) == now:
        print(f"current {visible(name)} ({len(now)} packages)")
        return
    if not path.resolve().is_relative_to(lists.lists_dir(profile).resolve()):
        raise UsageError(
            f"{name}: a symbolic link to {path.resolve()}: dependency lists are written only in "
            "the project's deps/ folder"
        )
    inputs: list[Protected] = [*reads.profile_inputs(profile), GoSources(point.dir)]
    out = output_to("deps --update", name, profile.root, inputs, stdout=False)
    lists.make_dir(path.parent)
    out.write(render(now, point.id, point.shown_env, point.tags), inputs)
    print(f"wrote   {visible(name)} ({len(now)} packages)")


def _left_over(folder: Path, ids: set[str]) -> list[Path]:
    """The list files of the folder (and of its point folders) whose id the profile no longer
    has."""
    from buildopt.analysis.deps import id_of

    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        inside = entry.is_dir() and not entry.is_symlink()
        for each in sorted(entry.iterdir()) if inside else [entry]:
            vid = id_of(each.relative_to(folder).as_posix())
            if vid is not None and vid not in ids and each.is_file() and not each.is_symlink():
                found.append(each)
    return found
