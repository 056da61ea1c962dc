"""What gate, image and report share: the record they judge, and the squashfs images made
(or found unchanged) from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _load_record
from buildopt.errors import UsageError

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


def _profile_ids(loaded: Profile, data: Record) -> list[str]:
    """Every build id of the profile, on the host the record was built on (the targets of a
    variant that names none): what the gate expects the record to hold."""
    from buildopt.pipeline.plan import ids_on

    return ids_on(loaded, data.go.host)


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
    record_path: Path,
    data: Record,
    others: Mapping[Path, Record | RecordError],
    images_dir: Path,
    environ: Mapping[str, str],
    jobs: int,
    *,
    strict: bool,
) -> Mapping[str, ImageOutcome]:
    """The pipeline's image step: each squashfs image made (or found unchanged), by name;
    with strict, an image that cannot be made is an error, else the reason takes its place."""
    from buildopt.output.progress import StepProgress
    from buildopt.pipeline import steps

    given = steps.Context(
        profile=loaded,
        record_path=record_path,
        environ=environ,
        progress=StepProgress(environ),
        record=data,
        images=tuple(images),
        images_dir=images_dir,
        others=others,
        strict_images=strict,
        jobs=jobs,
    )
    return steps.run([steps.IMAGE], given).made
