"""What a command reads - the inputs that none of its outputs may replace
(buildopt.system.outputs holds the rule and writes the files)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.system.outputs import Input

if TYPE_CHECKING:
    from buildopt.config.profile import Profile
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import Record


def profile_inputs(profile: Profile) -> list[Input]:
    """The profile, the profiles it extends, the tags files they name, and the other records
    its [[image]]s read."""
    first, *parents = profile.chain
    return [
        Input(first, "the profile"),
        *(Input(p, "a profile it extends") for p in parents),
        *(Input(p, "a tags file of the profile") for p in profile.tags_files),
        *(Input(p, "a record an [[image]] reads") for i in profile.images for p in i.records),
    ]


def record_inputs(path: Path, record: Record | None, what: str = "the build record") -> list[Input]:
    """A record read, and the binaries it describes."""
    binaries = (b for b in (record.builds if record else ()) if b.ok and b.output)
    return [
        Input(path, what),
        *(Input(Path(str(b.output)), f"the binary of {b.id}") for b in binaries),
    ]


def image_inputs(made: Mapping[str, ImageOutcome], images_dir: Path) -> Iterable[Input]:
    """The images judged (made or found unchanged) and their records."""
    from buildopt.record import images

    for name, outcome in made.items():
        yield Input(images.record_path(images_dir, name), f"the record of image {name!r}")
        if outcome.record is not None:
            yield Input(Path(outcome.record.image), f"the image {name!r}")
