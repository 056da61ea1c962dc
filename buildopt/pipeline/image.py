"""A flash image of a profile's binaries: staged, made by mksquashfs, measured, recorded.

For a ``filesystem = "squashfs"`` ``[[image]]``: the built binaries it selects (from the
profile's record and the other records it names) go where its ``layout`` says (default
``/usr/bin/BINARY``), its ``files`` where their keys say, into a staging folder; mksquashfs
makes ``dist/<profile>/images/<name>.squashfs`` from it; the image is read back
(buildopt.binary.squashfs) for what each file takes, and ``<name>.json`` records it all
(buildopt.record.images). The same inputs and settings give the same bytes; an image whose
inputs and settings are unchanged is not made again.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from buildopt.binary.digest import sha256_of
from buildopt.binary.squashfs import SquashfsError, read_image
from buildopt.config.budgets import ImageBudget, matches
from buildopt.errors import BuildoptError
from buildopt.inputs import NotRegularFile
from buildopt.record import images as image_records
from buildopt.record.images import IMAGE_SCHEMA, ImageEntry, ImageRecord
from buildopt.record.model import Record
from buildopt.system import squashfs
from buildopt.system.files import remove_quietly, temp_path_for


class ImageError(BuildoptError):
    """An image cannot be made from what the profile names (exit 2)."""


@dataclass(frozen=True)
class Input:
    path: str  # in the image
    source: str  # a build id, or the project file
    file: Path  # what is copied
    sha256: str
    mode: int  # 0o755 for binaries, 0o644 for files


def inputs(image: ImageBudget, records: Sequence[Record], root: Path) -> list[Input]:
    """What goes into the image: every built binary its select picks (in the records given,
    its own first) and its extra files, each at its place; ImageError when two go to one
    place, a selected binary is missing from dist/, or an extra file cannot be read."""
    found: dict[str, Input] = {}

    def add(item: Input) -> None:
        if item.path in found:
            raise ImageError(
                f"image {image.name!r}: {found[item.path].source} and {item.source} both go to "
                f"{item.path} (give them places in {image.where}.layout)"
            )
        found[item.path] = item

    for record in records:
        for build in record.builds:
            if not build.ok or not matches(image.select, build.id):
                continue
            if build.output is None or build.sha256 is None or not Path(build.output).is_file():
                raise ImageError(
                    f"image {image.name!r}: {build.id} is not in dist/ (build it first)"
                )
            place = image.place(build.id, record.profile.binary)
            add(Input(place, build.id, Path(build.output), build.sha256, 0o755))
    if not found:
        raise ImageError(f"image {image.name!r}: no built binary matches {list(image.select)}")
    for place, file in image.files.items():
        try:
            digest = sha256_of(file)
        except (NotRegularFile, OSError) as exc:
            raise ImageError(
                f"{image.source}: {image.where}.files.{place}: {file}: {exc}"
            ) from None
        shown = file.relative_to(root) if file.is_relative_to(root) else file
        add(Input(place, str(shown), file, digest, 0o644))
    return sorted(found.values(), key=lambda i: i.path)


def settings_key(image: ImageBudget, items: Sequence[Input], tool: str) -> str:
    """What the image is made of and how: equal keys, equal images."""
    text = json.dumps(
        [
            tool,
            image.compressor,
            image.block_size,
            [(i.path, i.sha256, i.mode) for i in items],
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()


def current(image: ImageBudget, images_dir: Path, key: str) -> ImageRecord | None:
    """The recorded image, if it was made from these inputs and is still there as made."""
    path = image_records.record_path(images_dir, image.name)
    try:
        recorded = image_records.load(path)
        made = os.stat(recorded.image)
    except (image_records.ImageRecordError, OSError):
        return None
    if recorded.key != key or made.st_size != recorded.size:
        return None
    try:  # the very file that was made (16 MiB: ~30 ms), so that the record matches dist/
        same = sha256_of(recorded.image) == recorded.sha256
    except (OSError, NotRegularFile):
        return None
    return recorded if same else None


def build_image(
    image: ImageBudget,
    records: Sequence[Record],
    images_dir: Path,
    *,
    environ: Mapping[str, str],
    jobs: int,
    root: Path,
) -> tuple[ImageRecord, bool]:
    """(the image's record, whether it was made now) - made only when its inputs or settings
    changed since it was last made."""
    tool = squashfs.find_mksquashfs(environ)
    version = squashfs.version(tool, environ)
    items = inputs(image, records, root)
    key = settings_key(image, items, version)
    recorded = current(image, images_dir, key)
    if recorded is not None:
        return recorded, False
    images_dir.mkdir(parents=True, exist_ok=True)
    target = image_records.image_path(images_dir, image.name)
    stage = images_dir / f".{image.name}.root"
    made = temp_path_for(target)
    try:
        _stage(stage, items)
        squashfs.make_image(
            tool,
            stage,
            made,
            compressor=image.compressor,
            block_size=image.block_size,
            processors=jobs,
            environ=environ,
        )
        record = _measure(image, items, made, target, key, version)
        os.replace(made, target)
    finally:
        remove_quietly(made)
        shutil.rmtree(stage, ignore_errors=True)
    image_records.save(image_records.record_path(images_dir, image.name), record)
    return record, True


def _stage(stage: Path, items: Sequence[Input]) -> None:
    """The image's tree: each input copied to its place, modes set (not the umask's)."""
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    os.chmod(stage, 0o755)  # noqa: S103 - an image's folders are world-readable
    for item in items:
        try:
            _put(stage, item)
        except OSError as exc:  # one place is a folder of another: /usr/bin and /usr/bin/x
            raise ImageError(
                f"{item.source} cannot go to {item.path} in the image: {exc.strerror or exc}"
            ) from None


def _put(stage: Path, item: Input) -> None:
    """One input copied to its place in the staging tree, its folders made (mode 0755)."""
    dest = stage / item.path.lstrip("/")
    for parent in reversed(dest.relative_to(stage).parents[:-1]):
        folder = stage / parent
        if not folder.is_dir():
            folder.mkdir()
            os.chmod(folder, 0o755)  # noqa: S103 - as in any system image
    shutil.copyfile(item.file, dest)
    os.chmod(dest, item.mode)
    if sha256_of(dest) != item.sha256:  # changed since it was recorded
        raise ImageError(f"{item.file} changed since it was recorded: build again")


def _measure(  # noqa: PLR0917 - the image and where it is
    image: ImageBudget,
    items: Sequence[Input],
    made: Path,
    target: Path,
    key: str,
    version: str,
) -> ImageRecord:
    """The record of the image mksquashfs wrote at made (to be renamed to target)."""
    try:
        read = read_image(made)
    except SquashfsError as exc:
        raise ImageError(f"mksquashfs wrote an image that cannot be read: {exc}") from None
    held = {f.path: f for f in read.files}
    if set(held) != {i.path for i in items}:
        raise ImageError(
            f"image {image.name!r}: mksquashfs wrote {sorted(held)}, not {[i.path for i in items]}"
        )
    size = made.stat().st_size
    return ImageRecord(
        schema=IMAGE_SCHEMA,
        name=image.name,
        image=str(target),
        filesystem="squashfs",
        compressor=image.compressor,
        block_size=image.block_size,
        key=key,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        size=size,
        bytes_used=read.bytes_used,
        metadata_bytes=read.metadata_bytes,
        erase_block=image.erase_block,
        erase_blocks=math.ceil(size / image.erase_block),
        sha256=sha256_of(made),
        files=tuple(
            ImageEntry(
                path=i.path,
                source=i.source,
                sha256=i.sha256,
                size=held[i.path].size,
                stored_bytes=held[i.path].stored_bytes,
            )
            for i in items
        ),
        tool=version,
    )
