"""The record of a built flash image, ``buildopt.image/1``: ``dist/<profile>/images/<name>.json``
beside ``<name>.squashfs``, written by ``buildopt image`` (and the gate, when an image budget
asks for it) and read by the gate and ``compare``.

It says what went into the image (each binary's build id and SHA-256, each extra file's), with
what settings (``key``), and what came out: the image's size, its erase blocks, and what each
file takes in it. An image whose inputs or settings changed is stale: built again, never judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from buildopt.binary.facts import Fact
from buildopt.errors import BuildoptError
from buildopt.inputs import NotRegularFile, TooLarge, read_limited
from buildopt.record.store import encode
from buildopt.system.files import atomic_write_text

IMAGE_SCHEMA: Literal["buildopt.image/1"] = "buildopt.image/1"
MAX_IMAGE_RECORD = 16 << 20


class ImageEntry(Fact, frozen=True):
    path: str  # in the image: /usr/bin/billing-gateway
    source: str  # the build id (static-stripped@linux-arm64) or the project file it is
    sha256: str
    size: int  # bytes of the file
    stored_bytes: int  # what it takes in the image: its blocks and its share of a fragment


class ImageRecord(Fact, frozen=True):
    schema: Literal["buildopt.image/1"]
    name: str
    image: str  # the image file
    filesystem: Literal["squashfs"]
    compressor: str
    block_size: int
    key: str  # the settings and the inputs' digests: a change means build again
    created: str
    size: int  # bytes of the image file (the filesystem padded to 4 KiB)
    bytes_used: int  # the filesystem itself
    metadata_bytes: int  # inodes, directories, fragment/id/export tables
    erase_block: int
    erase_blocks: int  # the image's size in erase blocks, rounded up
    sha256: str
    files: tuple[ImageEntry, ...]
    tool: str  # "mksquashfs version 4.5.1 (2022/03/17)"


@dataclass(frozen=True)
class ImageOutcome:
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
