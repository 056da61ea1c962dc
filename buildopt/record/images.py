"""The record of a built flash image, ``buildopt.image/1``: ``dist/<profile>/images/<name>.json``
beside ``<name>.squashfs``, written by ``buildopt image`` (and the gate, when an image budget
asks for it) and read by the gate and ``compare``.

It says what went into the image (each binary's build id and SHA-256, each extra file's, each
symbolic link's target), with
what settings (``key``), and what came out: the image's size, its erase blocks, and what each
file takes in it. An image whose inputs or settings changed is stale: built again, never judged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from buildopt.binary.facts import Bytes, Count, Fact, Sha256, described
from buildopt.errors import BuildoptError
from buildopt.inputs import NotRegularFile, TooLarge, read_limited
from buildopt.names import Format
from buildopt.record.store import encode
from buildopt.system.files import atomic_write_text

IMAGE_SCHEMA: Literal["buildopt.image/1"] = "buildopt.image/1"
MAX_IMAGE_RECORD = 16 << 20


class ImageEntry(Fact, frozen=True):
    path: Annotated[str, described("where it is in the image")]
    source: Annotated[
        str,
        described("the build id of a binary, or the project file (relative to the project root)"),
    ]
    sha256: Sha256
    size: Bytes
    stored_bytes: Annotated[
        Bytes,
        described(
            "its data blocks as stored, plus its share of the fragment its tail is in (the "
            "fragment's stored size in proportion to the tail's bytes); 0 for a file whose "
            "data is another's (same_as)"
        ),
    ]
    same_as: Annotated[
        str,
        described(
            "the image path of an earlier file of the same bytes, whose data mksquashfs "
            "stored once for both (empty when the file's data is its own)"
        ),
    ] = ""
    extra: Annotated[bool, described("a file of the image's files table, not a built binary")] = (
        False
    )


class ImageLinkEntry(Fact, frozen=True):
    path: Annotated[str, described("where the symbolic link is in the image")]
    target: Annotated[str, described("what it holds, as the profile wrote it")]
    resolved: Annotated[
        str,
        described(
            "the image path it leads to, every link on the way followed (a file or a folder "
            "the image holds)"
        ),
    ]


class ImageRecord(Fact, frozen=True):
    """buildopt image record (dist/<profile>/images/<name>.json; buildopt image --json lists
    them under images)."""

    schema: Literal["buildopt.image/1"]
    name: Annotated[str, described("the [[image]]'s name")]
    image: Annotated[str, described("the image file mksquashfs wrote")]
    filesystem: Literal["squashfs"]
    compressor: Format
    block_size: Annotated[int, Meta(ge=4096)]
    key: Annotated[
        str,
        described(
            "digest of the settings, mksquashfs's version and every input's place, SHA-256 "
            "and mode: an image is made again when it changes"
        ),
    ]
    created: str
    size: Annotated[Bytes, described("bytes of the image file (the filesystem padded to 4 KiB)")]
    bytes_used: Annotated[Bytes, described("bytes of the filesystem (the superblock's bytes_used)")]
    metadata_bytes: Annotated[
        Bytes,
        described(
            "bytes_used less every file's stored bytes: inodes, directories, fragment, id and "
            "export tables"
        ),
    ]
    erase_block: Annotated[int, Meta(ge=1)]
    erase_blocks: Annotated[Count, described("size in erase blocks, rounded up")]
    sha256: Sha256
    files: tuple[ImageEntry, ...]
    tool: Annotated[str, described("mksquashfs -version's first line")]
    links: Annotated[
        tuple[ImageLinkEntry, ...],
        described("the symbolic links (their inodes are in metadata_bytes), by path"),
    ] = ()


class ImagesReport(Fact, frozen=True):
    """``buildopt image --json``: the records of the images made (or found unchanged)."""

    images: tuple[ImageRecord, ...]


class ImageOutcome(msgspec.Struct, frozen=True):
    """An image a command asked for: its record (made, or found unchanged), or why there is
    none (the gate skips its checks with that reason)."""

    record: ImageRecord | None = None
    reason: str = ""


class ImageRecordError(BuildoptError):
    """An image record that cannot be read (exit 2)."""


def record_path(images_dir: Path, name: str) -> Path:
    return images_dir / f"{name}.json"


def image_path(images_dir: Path, name: str) -> Path:
    return images_dir / f"{name}.squashfs"


def load(path: Path) -> ImageRecord:
    try:
        data = read_limited(path, MAX_IMAGE_RECORD)
    except (NotRegularFile, TooLarge) as exc:
        raise ImageRecordError(f"{path}: {exc}, not an image record") from None
    except OSError as exc:
        raise ImageRecordError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return msgspec.json.decode(data, type=ImageRecord)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ImageRecordError(f"{path}: not a buildopt.image/1 record: {exc}") from None


def save(path: Path, record: ImageRecord) -> None:
    atomic_write_text(path, encode(record))
