"""What each file takes in a squashfs image: its data blocks and its share of a fragment.

A squashfs 4.0 image (what mksquashfs writes; the format is documented in the Linux kernel's
``Documentation/filesystems/squashfs.rst`` and squashfs-tools' ``squashfs_fs.h``) stores each
regular file as data blocks of ``block_size`` bytes, each compressed on its own (or stored as is
when that is smaller), and the file's tail - what is left after its last whole block - packed
with other files' tails into a fragment block, compressed together. The inode of a file lists
the stored size of each of its blocks, so a file's bytes in the image are known exactly: the
sum of its blocks, plus its share of the fragment it is in (the fragment's stored size in
proportion to the tail's bytes - a tail has no size of its own once compressed with others).
mksquashfs stores the data of files with the same bytes once (its inodes point at the same
blocks): the first such file in the image's order takes it, the others take nothing and name it.
The rest of the image is metadata (inodes, directories, the fragment, id and export tables)
and the padding to 4 KiB; a symbolic link is an inode holding its target's path, metadata too.

Only what that needs is read: the superblock, the inode and directory tables (metadata blocks
of up to 8 KiB, compressed with the image's compressor) and the fragment table. Python reads
gzip (zlib), xz, lzma and zstd images; lzo and lz4 ones are refused with their name.
"""

from __future__ import annotations

import lzma
import struct
import zlib
from pathlib import Path

import msgspec

from buildopt.inputs import open_regular

MAGIC = 0x73717368  # "hsqs"
SUPERBLOCK = struct.Struct("<IIIIIHHHHHHQQQQQQQQ")  # 96 bytes
METADATA_SIZE = 8192
COMPRESSORS = {1: "gzip", 2: "lzma", 3: "lzo", 4: "xz", 5: "lz4", 6: "zstd"}
UNCOMPRESSED_BLOCK = 1 << 24  # in a data block's or fragment's size word: stored as is
UNCOMPRESSED_METADATA = 1 << 15
NO_FRAGMENT = 0xFFFFFFFF
BASIC_DIR, BASIC_FILE, BASIC_SYMLINK, EXT_DIR, EXT_FILE, EXT_SYMLINK = 1, 2, 3, 8, 9, 10
MAX_TARGET = 4096  # PATH_MAX: a longer link target is a damaged inode
MAX_FILES = 1 << 20  # an image with more is not a device image: refused, never walked forever


class SquashfsError(ValueError):
    """The image cannot be read: not squashfs 4.0, damaged, or an unsupported compressor."""


class ImageFile(msgspec.Struct, frozen=True):
    path: str  # "/usr/bin/gateway"
    size: int  # bytes of the file
    block_bytes: int  # its data blocks as stored
    fragment_bytes: float  # its share of the fragment its tail is in (0 without one)
    same_as: str = ""  # a file of the same bytes, earlier in the image, whose data this one's is

    @property
    def stored_bytes(self) -> int:
        """What the file takes in the image, its fragment share rounded to the byte."""
        return self.block_bytes + round(self.fragment_bytes)


class _Data(msgspec.Struct, frozen=True):
    """Where a file's data is in the image: two inodes of equal _Data share their bytes."""

    size: int
    start: int  # the first data block's offset
    blocks: int  # bytes of its stored blocks
    fragment: int  # the fragment its tail is in (NO_FRAGMENT: none)
    offset: int  # the tail's place in that fragment
    tail: int  # bytes of its tail


class ImageLink(msgspec.Struct, frozen=True):
    """A symbolic link: an inode holding its target's path, no data blocks (its bytes are
    metadata)."""

    path: str  # "/usr/bin/cli"
    target: str  # as stored: "/usr/bin/daemon", "daemon", "../sbin/daemon"


class SquashfsImage(msgspec.Struct, frozen=True):
    compressor: str
    block_size: int
    bytes_used: int  # the filesystem; the file is padded to 4 KiB after it
    files: tuple[ImageFile, ...]  # regular files, in directory order
    links: tuple[ImageLink, ...] = ()  # symbolic links, in directory order

    @property
    def data_bytes(self) -> int:
        return sum(f.block_bytes for f in self.files) + round(
            sum(f.fragment_bytes for f in self.files)
        )

    @property
    def metadata_bytes(self) -> int:
        """Everything of the filesystem that is not file data: inodes, directories, tables."""
        return self.bytes_used - self.data_bytes


def read_image(path: str | Path) -> SquashfsImage:
    """The files of the squashfs image at path with what each takes; SquashfsError if it
    cannot be read."""
    with open_regular(path) as f:
        data = f.read()
    return parse(data, str(path))


def parse(data: bytes, name: str = "image") -> SquashfsImage:
    return _Reader(data, name).image()


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data, self.name = data, name
        if len(data) < SUPERBLOCK.size:
            raise SquashfsError(f"{name}: too short for a squashfs superblock")
        (
            magic,
            self.inode_count,
            _mkfs_time,
            self.block_size,
            self.fragment_count,
            compression,
            self.block_log,
            _flags,
            _ids,
            major,
            minor,
            self.root_inode,
            self.bytes_used,
            _id_table,
            _xattr_table,
            self.inode_table,
            self.directory_table,
            self.fragment_table,
            _lookup_table,
        ) = SUPERBLOCK.unpack_from(data)
        if magic != MAGIC:
            raise SquashfsError(f"{name}: not a squashfs image (no hsqs magic)")
        if (major, minor) != (4, 0):
            raise SquashfsError(f"{name}: squashfs {major}.{minor}, not 4.0")
        self.compressor = COMPRESSORS.get(compression, f"compressor {compression}")
        if self.compressor not in ("gzip", "lzma", "xz", "zstd"):
            raise SquashfsError(f"{name}: {self.compressor} images cannot be read here")
        if self.block_size == 0 or 1 << self.block_log != self.block_size:
            raise SquashfsError(f"{name}: block size {self.block_size} is not 2^block_log")
        if not (self.inode_table < self.directory_table <= self.bytes_used <= len(data)):
            raise SquashfsError(f"{name}: tables outside the image")
        self._blocks: dict[int, tuple[bytes, int]] = {}  # metadata block at -> (bytes, next)

    # --- metadata -------------------------------------------------------------------------

    def _decompress(self, raw: bytes, limit: int) -> bytes:
        try:
            if self.compressor == "gzip":
                out = zlib.decompressobj().decompress(raw, limit)
            elif self.compressor in ("xz", "lzma"):
                fmt = lzma.FORMAT_XZ if self.compressor == "xz" else lzma.FORMAT_ALONE
                out = lzma.LZMADecompressor(fmt).decompress(raw, limit)
            else:
                import zstandard

                out = zstandard.ZstdDecompressor().decompressobj().decompress(raw)[:limit]
        except Exception as exc:  # zlib.error, LZMAError, zstandard.ZstdError, ValueError
            raise SquashfsError(
                f"{self.name}: a metadata block does not decompress: {exc}"
            ) from None
        return out

    def _metadata_block(self, at: int) -> tuple[bytes, int]:
        """The metadata block at offset at: (its bytes, the offset of the next block)."""
        if at in self._blocks:
            return self._blocks[at]
        if at + 2 > self.bytes_used:
            raise SquashfsError(f"{self.name}: a metadata block past the end (at {at})")
        (header,) = struct.unpack_from("<H", self.data, at)
        size = header & ~UNCOMPRESSED_METADATA
        raw = self.data[at + 2 : at + 2 + size]
        if len(raw) != size or size > METADATA_SIZE + 1024:
            raise SquashfsError(f"{self.name}: a metadata block cut short (at {at})")
        block = raw if header & UNCOMPRESSED_METADATA else self._decompress(raw, METADATA_SIZE)
        self._blocks[at] = (block, at + 2 + size)
        return self._blocks[at]

    def _read(self, table: int, block: int, offset: int, length: int) -> bytes:
        """length bytes of a metadata table, from the block at table + block, offset into it
        (an entry may run on into the next blocks)."""
        out = b""
        at = table + block
        while len(out) < length:
            if at >= self.bytes_used:
                raise SquashfsError(f"{self.name}: a table runs past the end")
            chunk, at = self._metadata_block(at)
            out += chunk[offset:]
            offset = 0
            if not chunk:
                raise SquashfsError(f"{self.name}: an empty metadata block")
        return out[:length]

    def _inode(self, ref: int, length: int) -> tuple[int, bytes]:
        """(type, the first length bytes) of the inode a reference (block << 16 | offset)
        points at; the caller asks for as many as its type needs."""
        block, offset = ref >> 16, ref & 0xFFFF
        raw = self._read(self.inode_table, block, offset, length)
        (kind,) = struct.unpack_from("<H", raw)
        return kind, raw

    # --- the tree ---------------------------------------------------------------------------

    def image(self) -> SquashfsImage:
        entries: list[tuple[str, _Data]] = []  # (every path starts with "/")
        links: list[ImageLink] = []
        self._walk(self.root_inode, "", (entries, links), set())
        first: dict[_Data, str] = {}  # mksquashfs stores a file's data once: later copies
        tails: dict[int, int] = {}  # point at the same blocks (and fragment offset)
        for path, data in entries:
            if data.size and first.setdefault(data, path) == path and data.fragment != NO_FRAGMENT:
                tails[data.fragment] = tails.get(data.fragment, 0) + data.tail
        fragments = self._fragments(set(tails))
        files = []
        for path, data in entries:
            owner = first.get(data, path)
            if owner != path:
                files.append(ImageFile(path, data.size, 0, 0.0, same_as=owner))
                continue
            share = 0.0
            if tails.get(data.fragment):
                share = fragments[data.fragment] * data.tail / tails[data.fragment]
            files.append(ImageFile(path, data.size, data.blocks, share))
        return SquashfsImage(
            self.compressor, self.block_size, self.bytes_used, tuple(files), tuple(links)
        )

    def _walk(
        self,
        ref: int,
        path: str,
        out: tuple[list[tuple[str, _Data]], list[ImageLink]],
        seen: set[int],
    ) -> None:
        if ref in seen or len(seen) > MAX_FILES:
            raise SquashfsError(f"{self.name}: a directory loop or too many entries")
        seen.add(ref)
        kind, raw = self._inode(ref, 40)
        if kind == BASIC_DIR:
            start, _nlink, size, offset = struct.unpack_from("<IIHH", raw, 16)
        elif kind == EXT_DIR:
            _nlink, size, start, _parent, _count, offset = struct.unpack_from("<IIIIHH", raw, 16)
        else:
            raise SquashfsError(f"{self.name}: the root is not a directory")
        listing = self._read(self.directory_table, start, offset, max(0, size - 3))
        at = 0
        while at + 12 <= len(listing):
            count, inode_block, _number = struct.unpack_from("<III", listing, at)
            at += 12
            for _ in range(count + 1):
                if at + 8 > len(listing):
                    raise SquashfsError(f"{self.name}: a directory entry cut short")
                entry_offset, _delta, entry_kind, name_size = struct.unpack_from(
                    "<HhHH", listing, at
                )
                name = listing[at + 8 : at + 9 + name_size].decode("utf-8", "replace")
                at += 9 + name_size
                child = (inode_block << 16) | entry_offset
                if entry_kind in (BASIC_DIR, EXT_DIR):
                    self._walk(child, f"{path}/{name}", out, seen)
                elif entry_kind in (BASIC_FILE, EXT_FILE):
                    out[0].append((f"{path}/{name}", self._file(child)))
                elif entry_kind in (BASIC_SYMLINK, EXT_SYMLINK):
                    out[1].append(ImageLink(f"{path}/{name}", self._link_target(child)))
                if len(out[0]) + len(out[1]) > MAX_FILES:
                    raise SquashfsError(f"{self.name}: more than {MAX_FILES} files")

    def _link_target(self, ref: int) -> str:
        """The target a symbolic link's inode holds (after its nlink and target size)."""
        kind, raw = self._inode(ref, 24)
        if kind not in (BASIC_SYMLINK, EXT_SYMLINK):
            raise SquashfsError(f"{self.name}: a link entry whose inode is of type {kind}")
        (size,) = struct.unpack_from("<I", raw, 20)
        if not 0 < size <= MAX_TARGET:
            raise SquashfsError(f"{self.name}: a link target of {size} bytes")
        _, raw = self._inode(ref, 24 + size)
        return raw[24:].decode("utf-8", "replace")

    def _file(self, ref: int) -> _Data:
        """Where a file inode's data is and what it takes."""
        kind, raw = self._inode(ref, 56)
        if kind == BASIC_FILE:
            start, fragment, offset, size = struct.unpack_from("<IIII", raw, 16)
            head = 32
        elif kind == EXT_FILE:
            start, size, _sparse, _nlink, fragment, offset, _xattr = struct.unpack_from(
                "<QQQIIII", raw, 16
            )
            head = 56
        else:
            raise SquashfsError(f"{self.name}: a file entry whose inode is of type {kind}")
        if fragment == NO_FRAGMENT:
            count, tail = -(-size // self.block_size), 0
        else:
            count, tail = divmod(size, self.block_size)
        if count > self.bytes_used:  # each block takes a byte at least: a damaged size
            raise SquashfsError(f"{self.name}: a file of more blocks than the image holds")
        _, raw = self._inode(ref, head + 4 * count)
        words = struct.unpack_from(f"<{count}I", raw, head)
        stored = sum(w & (UNCOMPRESSED_BLOCK - 1) for w in words)
        return _Data(size, start, stored, fragment, offset, tail)

    def _fragments(self, used: set[int]) -> dict[int, int]:
        """The stored size of each fragment block in use."""
        sizes: dict[int, int] = {}
        for index in sorted(used):
            if index >= self.fragment_count:
                raise SquashfsError(f"{self.name}: fragment {index} of {self.fragment_count}")
            table_block, offset = divmod(index * 16, METADATA_SIZE)
            at = self.fragment_table + 8 * table_block
            if at + 8 > len(self.data):
                raise SquashfsError(f"{self.name}: the fragment table runs past the end")
            (location,) = struct.unpack_from("<Q", self.data, at)
            _start, word, _unused = struct.unpack_from("<QII", self._read(location, 0, offset, 16))
            sizes[index] = word & (UNCOMPRESSED_BLOCK - 1)
        return sizes
