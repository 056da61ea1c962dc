"""A flash image of a profile's binaries: staged, made by mksquashfs, measured, recorded.

For a ``filesystem = "squashfs"`` ``[[image]]``: the built binaries it selects (from the
profile's record and the other records it names) go where its ``layout`` says (default
``/usr/bin/BINARY``), its ``files`` where their keys say, its ``links`` as symbolic links
(each checked to lead to something the image holds), into a staging folder; mksquashfs
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
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import msgspec

from buildopt.binary.digest import sha256_of
from buildopt.binary.squashfs import SquashfsError, read_image
from buildopt.config.budgets import ImageBudget, ImageFile, matches, selects
from buildopt.config.keys import key_path
from buildopt.config.links import Link, folders_of, links_of
from buildopt.errors import EXIT_FAILED, BuildoptError, ProfileError
from buildopt.inputs import NotRegularFile, open_regular
from buildopt.record import images as image_records
from buildopt.record.images import (
    IMAGE_SCHEMA,
    ImageEntry,
    ImageLinkEntry,
    ImageOutcome,
    ImageRecord,
)
from buildopt.record.integrity import changed
from buildopt.record.model import Record
from buildopt.system import squashfs
from buildopt.system.files import locked, replace_with
from buildopt.system.leftovers import owned_name, remove_left_by_dead

COPY_CHUNK = 1 << 20
WORK_PREFIX = ".buildopt-image-"  # images/.buildopt-image-<pid>-XXXX/: root/ and image.squashfs


class ImageError(BuildoptError):
    """An image cannot be made from what the profile names (exit 2)."""


class ImageChanged(ImageError):
    """A binary the image takes is no longer the one its record describes (exit 1: build
    again)."""

    exit_code = EXIT_FAILED


class Input(msgspec.Struct, frozen=True):
    path: str  # in the image
    source: str  # a build id, or the project file
    file: Path  # what is copied
    sha256: str
    mode: int  # 0o755 for binaries; an extra file's source's permission bits, or its mode
    extra: bool = False  # a file of the image's files table, not a build


def inputs(
    image: ImageBudget,
    records: Sequence[Record],
    root: Path,
    images_dir: Path | None = None,
    ids: Sequence[str] = (),
) -> list[Input]:
    """What goes into the image: every built binary its select picks (in the records given,
    its own first) and its extra files, each at its place; ImageError when two go to one
    place, a selected binary is missing from dist/ or changed since its build, or an extra
    file cannot be taken."""
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
            problem = changed(build)
            if problem is not None:
                raise ImageChanged(f"image {image.name!r}: {problem}: build {build.id} again")
            place = image.place(build.id, build.program or record.profile.binary)
            add(Input(place, build.id, Path(build.output), build.sha256, 0o755))
    if not found:
        raise ImageError(f"image {image.name!r}: no built binary matches {list(image.select)}")
    for place, spec in image.files.items():
        add(_extra_file(image, place, spec, root, images_dir))
    _check_folders(image, found)
    _check_shares(image, list(found.values()), ids)
    return sorted(found.values(), key=lambda i: i.path)


def _check_folders(image: ImageBudget, found: Mapping[str, Input]) -> None:
    """No place is under another file's (/usr/bin/cli/x under the binary /usr/bin/cli)."""
    for path, item in sorted(found.items()):
        for folder in folders_of(path)[1:]:
            if folder in found:
                key = (
                    key_path(f"{image.where}.files", path)
                    if item.extra
                    else f"{image.where}.layout ({item.source})"
                )
                raise ProfileError(
                    image.source, f"{key}: under {folder}, where {found[folder].source} goes"
                )


def _extra_file(
    image: ImageBudget, place: str, spec: ImageFile, root: Path, images_dir: Path | None
) -> Input:
    """An extra file, read where it really is (symbolic links followed): inside the project
    unless it allows otherwise, a regular file, with its own permission bits unless a mode
    is given. ProfileError (exit 2, the key named) when it cannot be taken."""
    where = f"{image.where}.files.{place}"
    real, project = Path(os.path.realpath(spec.path)), Path(os.path.realpath(root))
    if not spec.allow_outside and not real.is_relative_to(project):
        really = ":" if str(real) == spec.given else f" is {real}:"
        raise ProfileError(
            image.source,
            f"{where}: {spec.given}{really} outside the project {project} "
            "(allow_outside = true takes it)",
        )
    if images_dir is not None and real.is_relative_to(os.path.realpath(images_dir)):
        raise ProfileError(
            image.source,
            f"{where}: {spec.given} is in the images folder {images_dir} (an image never "
            "takes what buildopt image writes: it would change with every image made)",
        )
    try:
        with open_regular(real) as f:
            bits = stat.S_IMODE(os.fstat(f.fileno()).st_mode) & 0o777
            digest = hashlib.sha256()
            while chunk := f.read(COPY_CHUNK):
                digest.update(chunk)
    except (NotRegularFile, OSError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ProfileError(image.source, f"{where}: {spec.given}: {why}") from None
    shown = real.relative_to(project) if real.is_relative_to(project) else real
    mode = bits if spec.mode is None else spec.mode
    return Input(place, str(shown), real, digest.hexdigest(), mode, extra=True)


def _check_shares(image: ImageBudget, items: Sequence[Input], ids: Sequence[str]) -> None:
    """Each max_share pattern selects something in the image: one that selects nothing
    would pass for ever (a typo, or a variant renamed). One that selects a build of the
    profile (ids) not built yet is no mistake of the profile: the image cannot be made yet."""
    binaries = [i for i in items if not i.extra]  # a share is what selected binaries take
    for pattern in image.max_share:
        if any(selects(pattern, i.source) for i in binaries):
            continue
        unbuilt = [i for i in ids if selects(pattern, i) and matches(image.select, i)]
        if unbuilt:
            raise ImageError(
                f"image {image.name!r}: max_share.{pattern} selects {unbuilt[0]}, not built "
                "yet: build it"
            )
        sources = ", ".join(i.source for i in binaries)
        raise ProfileError(
            image.source,
            f"{image.where}.max_share.{pattern}: selects nothing in image {image.name!r} "
            f"(it holds: {sources})",
        )


def settings_key(
    image: ImageBudget, items: Sequence[Input], tool: str, links: Sequence[Link] = ()
) -> str:
    """What the image is made of and how: equal keys, equal images."""
    made_of: list[object] = [
        tool,
        image.compressor,
        image.block_size,
        [(i.path, i.sha256, i.mode) for i in items],
    ]
    if links:  # (an image without links keeps the key it had before links were)
        made_of.append([(link.path, link.target) for link in links])
    return hashlib.sha256(json.dumps(made_of).encode()).hexdigest()


def current(image: ImageBudget, images_dir: Path, key: str) -> ImageRecord | None:
    """The recorded image, if it was made from these inputs and is still there as made."""
    path = image_records.record_path(images_dir, image.name)
    try:
        recorded = image_records.load(path)
        made = os.stat(recorded.image)
        here = os.stat(image_records.image_path(images_dir, image.name))
    except (image_records.ImageRecordError, OSError):
        return None
    if (made.st_dev, made.st_ino) != (here.st_dev, here.st_ino):
        return None  # a record of an image elsewhere (a copied project's): this one is made
    if recorded.key != key or made.st_size != recorded.size:
        return None
    try:  # the very file that was made (16 MiB: ~30 ms), so that the record matches dist/
        same = sha256_of(recorded.image) == recorded.sha256
    except (OSError, NotRegularFile):
        return None
    return recorded if same else None


def _content(  # noqa: PLR0917 - the image, where its inputs are, and the tool's version
    image: ImageBudget,
    records: Sequence[Record],
    root: Path,
    images_dir: Path,
    ids: Sequence[str],
    version: str,
) -> tuple[list[Input], list[Link], str]:
    """What the image is made of now - its inputs, its links - and their settings key."""
    items = inputs(image, records, root, images_dir, ids)
    links = links_of(image, {i.path: i.source for i in items})
    return items, links, settings_key(image, items, version, links)


def made_before(
    image: ImageBudget,
    records: Sequence[Record],
    images_dir: Path,
    *,
    environ: Mapping[str, str],
    root: Path,
    ids: Sequence[str] = (),
) -> ImageOutcome:
    """The image buildopt image last made, if it is what the profile and the records make
    now (nothing is made); else why there is none to show or judge."""
    hint = f"buildopt image --profile {records[0].profile.name}"
    if not image_records.record_path(images_dir, image.name).exists():
        return ImageOutcome(reason=f"not made yet ({hint})")
    try:
        version = squashfs.version(squashfs.find_mksquashfs(environ), environ)
    except squashfs.ToolMissing as exc:  # no fault of the profile: it cannot be checked here
        return ImageOutcome(reason=f"cannot tell whether it is current: {exc.message}")
    try:
        *_, key = _content(image, records, root, images_dir, ids, version)
    except BuildoptError as exc:
        return ImageOutcome(reason=f"cannot be made as the profile says: {exc.message}")
    recorded = current(image, images_dir, key)
    if recorded is None:
        why = "its binaries, files or settings changed since it was made, or the file did"
        return ImageOutcome(reason=f"out of date: {why} ({hint})")
    return ImageOutcome(recorded)


def build_image(
    image: ImageBudget,
    records: Sequence[Record],
    images_dir: Path,
    *,
    environ: Mapping[str, str],
    jobs: int,
    root: Path,
    making: Callable[[], None] = lambda: None,
    waiting: Callable[[], None] | None = None,
    ids: Sequence[str] = (),
) -> tuple[ImageRecord, bool]:
    """(the image's record, whether it was made now) - made only when its inputs or settings
    changed since it was last made (making is called just before mksquashfs starts, waiting
    when another process holds the image's lock). One
    process at a time makes a given image (a ``gate`` and an ``image`` at once: the second
    finds the first one's image); each stages in a folder of its own."""
    tool = squashfs.find_mksquashfs(environ)
    version = squashfs.version(tool, environ)
    images_dir.mkdir(parents=True, exist_ok=True)
    with locked(images_dir / ".locks" / f"{image.name}.lock", waiting):
        remove_left_by_dead(images_dir, WORK_PREFIX)
        items, links, key = _content(image, records, root, images_dir, ids, version)
        recorded = current(image, images_dir, key)
        if recorded is not None:
            return recorded, False
        making()
        work = Path(tempfile.mkdtemp(prefix=owned_name(WORK_PREFIX), dir=images_dir))
        try:
            record = _make(
                image, (items, links), work, images_dir, key, (tool, version), jobs, environ
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)
        image_records.save(image_records.record_path(images_dir, image.name), record)
    return record, True


def _make(  # noqa: PLR0917 - the image, what goes in, where, and the tool
    image: ImageBudget,
    content: tuple[Sequence[Input], Sequence[Link]],
    work: Path,
    images_dir: Path,
    key: str,
    tool: tuple[str, str],
    jobs: int,
    environ: Mapping[str, str],
) -> ImageRecord:
    """The image staged in work/root, made at work/image by mksquashfs, measured, and put in
    place; its record."""
    target = image_records.image_path(images_dir, image.name)
    stage, made = work / "root", work / "image.squashfs"
    _stage(stage, *content)
    squashfs.make_image(
        tool[0],
        stage,
        made,
        compressor=image.compressor,
        block_size=image.block_size,
        processors=jobs,
        environ=environ,
    )
    record = _measure(image, content, made, target, key, tool[1])
    replace_with(made, target)
    return record


def _stage(stage: Path, items: Sequence[Input], links: Sequence[Link]) -> None:
    """The image's tree: each input copied to its place, modes set (not the umask's), then
    each link made (mksquashfs stores a link as it is, never following it)."""
    stage.mkdir()
    os.chmod(stage, 0o755)  # noqa: S103 - an image's folders are world-readable
    for item in items:
        try:
            _put(stage, item)
        except OSError as exc:  # (places under a file are refused before: _check_folders)
            raise ImageError(
                f"{item.source} cannot go to {item.path} in the image: {exc.strerror or exc}"
            ) from None
    for link in links:  # none is under a link or a file (links_of): made inside the stage
        dest = stage / link.path.lstrip("/")
        _make_folders(stage, dest)
        os.symlink(link.target, dest)


def _put(stage: Path, item: Input) -> None:
    """One input copied to its place in the staging tree, its folders made (mode 0755)."""
    dest = stage / item.path.lstrip("/")
    _make_folders(stage, dest)
    digest = hashlib.sha256()
    try:  # copied as it is hashed: what was checked is what goes in, whatever happens meanwhile
        with open_regular(item.file) as source, open(dest, "xb") as copy:
            while chunk := source.read(COPY_CHUNK):
                digest.update(chunk)
                copy.write(chunk)
    except NotRegularFile as exc:
        raise ImageChanged(f"{item.file}: {exc} since it was checked") from None
    os.chmod(dest, item.mode)
    if digest.hexdigest() != item.sha256:
        raise ImageChanged(f"{item.file}: changed while the image was made: {item.source} again")


def _make_folders(stage: Path, dest: Path) -> None:
    """The folders dest is in, made under stage (mode 0755)."""
    for parent in reversed(dest.relative_to(stage).parents[:-1]):
        folder = stage / parent
        if not folder.is_dir():
            folder.mkdir()
            os.chmod(folder, 0o755)  # noqa: S103 - as in any system image


def _measure(  # noqa: PLR0917 - the image and where it is
    image: ImageBudget,
    content: tuple[Sequence[Input], Sequence[Link]],
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
    items, links = content
    held = {f.path: f for f in read.files}
    if set(held) != {i.path for i in items}:
        raise ImageError(
            f"image {image.name!r}: mksquashfs wrote {sorted(held)}, not {[i.path for i in items]}"
        )
    linked = {link.path: link.target for link in read.links}
    if linked != {link.path: link.target for link in links}:
        raise ImageError(f"image {image.name!r}: mksquashfs wrote the links {linked}")
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
                same_as=held[i.path].same_as,
                extra=i.extra,
            )
            for i in items
        ),
        tool=version,
        links=tuple(
            ImageLinkEntry(path=k.path, target=k.target, resolved=k.resolved) for k in links
        ),
    )
