"""What gate, image and report share: the record they judge, and the squashfs images made
(or found unchanged) from it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _load_record
from buildopt.errors import BuildoptError, ProfileError, UsageError, visible

if TYPE_CHECKING:
    from buildopt.config.budgets import ImageBudget
    from buildopt.config.profile import Profile
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import Record
    from buildopt.record.store import RecordError


def _gated_record(loaded: Profile, record_path: Path, command: str = "gate") -> Record:
    """The record gate judges: it must be there (no silent build) and be of this profile."""
    if not record_path.exists():
        hint = "build first, or gate --build" if command == "gate" else "build first"
        raise UsageError(f"{command}: no build record at {record_path} ({hint})")
    data = _load_record(record_path)
    if data.profile.name != loaded.name:
        raise UsageError(
            f"{command} --record {record_path}: a record of profile {data.profile.name!r}, "
            f"not of {loaded.name!r}"
        )
    return data


def _image_records(profile: Profile) -> dict[Path, Record | RecordError]:
    """The other records the profile's image budgets sum, each loaded once (or its error)."""
    from buildopt.record import store

    out: dict[Path, Record | RecordError] = {}
    for path in {p for image in profile.images for p in image.records}:
        try:
            out[path] = _load_record(path)
        except store.RecordError as exc:
            out[path] = exc
    return out


def _make_images(  # noqa: PLR0917 - the images and everything they are made from
    loaded: Profile,
    images: Sequence[ImageBudget],
    data: Record,
    others: Mapping[Path, Record | RecordError],
    images_dir: Path,
    environ: Mapping[str, str],
    jobs: int,
    *,
    strict: bool,
) -> dict[str, ImageOutcome]:
    """Each squashfs image made (or its record, when its inputs are unchanged), by name; with
    strict, an image that cannot be made is an error, else the reason takes its place (the
    gate then skips its checks with that note)."""
    from buildopt.pipeline.image import build_image
    from buildopt.record.images import ImageOutcome
    from buildopt.system.files import remove_stale_temporaries
    from buildopt.system.squashfs import ToolMissing

    out: dict[str, ImageOutcome] = {}
    for stale in remove_stale_temporaries(images_dir):
        print(f"removed {stale}: left by a buildopt that was killed", file=sys.stderr)
    for image in images:
        name = visible(image.name)
        try:
            records = [data, *(_loaded(image, path, others) for path in image.records)]
            made, fresh = build_image(
                image,
                records,
                images_dir,
                environ=environ,
                jobs=jobs,
                root=loaded.root,
                making=functools.partial(_say_making, name, image.compressor),
            )
        except (ToolMissing, ProfileError):  # no mksquashfs, or the [[image]] is wrong: exit 2
            raise
        except BuildoptError as exc:
            if strict:
                raise
            out[image.name] = ImageOutcome(reason=exc.message)
            continue
        state = "made" if fresh else "unchanged, not made again"
        print(f"image {name}: {visible(made.image)} ({state})", file=sys.stderr)
        out[image.name] = ImageOutcome(made)
    return out


def _say_making(name: str, compressor: str) -> None:
    print(f"image {name}: mksquashfs -comp {compressor}...", file=sys.stderr)


def _loaded(image: ImageBudget, path: Path, others: Mapping[Path, Record | RecordError]) -> Record:
    """One of the other records an image takes binaries from; UsageError if it was not read."""
    from buildopt.record import store

    other = others.get(path, store.RecordError(f"{path}: not loaded"))
    if isinstance(other, store.RecordError):
        raise UsageError(f"image {image.name!r}: {other.message}")
    return other
