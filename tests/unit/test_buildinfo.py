"""Go build info decoding (the format of debug/buildinfo), on hand-made blobs."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buildopt.binary.go.buildinfo import (
    HEADER_SIZE,
    MAGIC,
    BuildInfoError,
    decode_blob,
    find_blob,
    parse_modinfo,
    uvarint,
)

START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
END = bytes.fromhex("f932433186182072008242104116d8f2")
MODINFO = (
    "path\texample.com/app\n"
    "mod\texample.com/app\t(devel)\t\n"
    "dep\tgolang.org/x/sys\tv0.20.0\th1:abc=\n"
    "dep\texample.com/old\tv1.0.0\n"
    "=>\texample.com/new\tv1.1.0\th1:def=\n"
    "build\t-tags=netgo,osusergo\n"
    'build\t-ldflags="-X \\"main.v=1 2\\""\n'
    'build\t"we=ird"=x\n'
    "build\tCGO_ENABLED=0\n"
)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def inline_blob(version: str, modinfo: str) -> bytes:
    framed = START + modinfo.encode() + END
    header = MAGIC + bytes([8, 0x2]) + bytes(16)
    return header + varint(len(version)) + version.encode() + varint(len(framed)) + framed


def test_uvarint() -> None:
    assert uvarint(b"\x00", 0) == (0, 1)
    assert uvarint(b"\xac\x02", 0) == (300, 2)
    with pytest.raises(BuildInfoError):
        uvarint(b"\xff\xff", 0)


def test_inline_blob_and_modinfo() -> None:
    version, modinfo = decode_blob(inline_blob("go1.26.8", MODINFO), lambda a, n: b"")
    assert version == "go1.26.8"
    info = parse_modinfo(version, modinfo)
    assert info.path == "example.com/app"
    assert info.main is not None and info.main.version == "(devel)"
    assert [d.path for d in info.deps] == ["golang.org/x/sys", "example.com/old"]
    assert info.deps[1].replace is not None and info.deps[1].replace.path == "example.com/new"
    assert info.setting("-tags") == "netgo,osusergo"
    assert info.setting("-ldflags") == '-X "main.v=1 2"'
    assert info.setting("we=ird") == "x"
    assert info.setting("CGO_ENABLED") == "0"
    assert info.setting("missing") is None


def test_pointer_blob_before_go_1_18() -> None:
    """Big-endian 4-byte pointers to Go string headers, as 32-bit pre-1.18 binaries have."""
    memory = {
        0x1000: struct.pack(">II", 0x2000, 8),
        0x1008: struct.pack(">II", 0x3000, 32 + len(MODINFO)),
        0x2000: b"go1.17.1",
        0x3000: START + MODINFO.encode() + END,
    }
    header = MAGIC + bytes([4, 0x1]) + struct.pack(">II", 0x1000, 0x1008) + bytes(8)

    def read(addr: int, size: int) -> bytes:
        return memory[addr][:size]

    version, modinfo = decode_blob(header, read)
    assert version == "go1.17.1"
    assert parse_modinfo(version, modinfo).path == "example.com/app"


def test_find_blob_needs_alignment_and_room() -> None:
    assert find_blob(bytes(16) + MAGIC + bytes(18)) == 16
    assert find_blob(bytes(3) + MAGIC + bytes(40)) == -1
    assert find_blob(bytes(16) + MAGIC) == -1


def test_unframed_modinfo_is_empty() -> None:
    blob = MAGIC + bytes([8, 0x2]) + bytes(16) + varint(4) + b"go1x" + varint(3) + b"abc"
    assert decode_blob(blob, lambda a, n: b"") == ("go1x", "")


@given(st.binary(max_size=200))
def test_random_blobs_never_crash(tail: bytes) -> None:
    blob = MAGIC + tail
    if len(blob) < HEADER_SIZE:
        blob += bytes(HEADER_SIZE - len(blob))
    try:
        version, modinfo = decode_blob(blob, lambda a, n: b"")
    except BuildInfoError:
        return
    parse_modinfo(version, modinfo)


@given(st.text(max_size=300))
def test_random_modinfo_never_crashes(text: str) -> None:
    parse_modinfo("go1", text)
