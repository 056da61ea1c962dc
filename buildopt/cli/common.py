"""What the commands share: finding the profile, the dist folder, the plan and the build
record; warnings about changed binaries; results attached to a record's entries.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.errors import UsageError

if TYPE_CHECKING:
    from buildopt.config.profile import Profile
    from buildopt.pipeline.plan import Plan
    from buildopt.record.model import Record


def _profile(spec: str | None, cwd: Path, command: str) -> Profile:
    """The profile spec names (from cwd or a folder above it); without a spec, the only one."""
    from buildopt.config.profile import load_profile

    try:
        return load_profile(spec or None, cwd)
    except UsageError as exc:
        if spec:
            raise
        raise UsageError(f"{command}: {exc.message}", exc.details) from None


def _dist(dist: str | None, cwd: Path) -> Path | None:
    return (cwd / dist).resolve() if dist else None


def _load_plan(
    profile: str | None,
    variants: Sequence[str] | None,
    dist: str | None,
    cwd: Path,
    environ: Mapping[str, str],
    *,
    command: str = "plan",
) -> Plan:
    from buildopt.pipeline.plan import make_plan
    from buildopt.system import toolchain

    loaded = _profile(profile, cwd, command)
    return make_plan(loaded, toolchain.load(environ), environ, variants or (), _dist(dist, cwd))


def _load_record(path: Path) -> Record:
    """A build record, with the size limit BUILDOPT_MAX_JSON sets (default 256 MiB)."""
    from buildopt.config.units import UnitError, parse_size
    from buildopt.record import store

    given = os.environ.get("BUILDOPT_MAX_JSON")
    try:
        limit = parse_size(given) if given else store.MAX_RECORD_BYTES
    except UnitError as exc:
        raise UsageError(f"BUILDOPT_MAX_JSON: {exc}") from None
    return store.load(path, limit)


def _existing_record(profile: Profile, dist: str | None, cwd: Path, command: str) -> Path:
    path = profile.record_path(_dist(dist, cwd))
    if not path.is_file():
        raise UsageError(
            f"{command} --profile {profile.name}: no build record {path}; run buildopt build"
            + (f" --dist {dist}" if dist else "")
        )
    return path


def _relative(path: Path, root: Path) -> str:
    """path relative to root when inside it (GitHub annotations want repository paths)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _warn_changed(record: Record) -> None:
    """A warning for each binary of the record changed since its build (its row shows the
    binary as it was built, not the file in dist/)."""
    from buildopt.record.integrity import changed

    for build in record.builds:
        if (problem := changed(build)) is not None:
            print(f"warning: {build.id}: {problem}: shown as built", file=sys.stderr)
