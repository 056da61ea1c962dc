"""What a binary takes compressed, as a flash image or a compressed blob holds it.

Three compressors, each with the settings a base-station image uses and the container its
command-line tool writes, so that the size is exactly the size of that tool's output:

* ``gzip``: ``gzip -9 -n`` - deflate at level 9 in a gzip container without file name or time
  (10-byte header, 8-byte trailer). Computed by zlib, the deflate of mksquashfs (``-comp
  gzip``), pigz, zlib-flate and most firmware tools. GNU gzip has a deflate of its own whose
  output at -9 is a little larger (+0.07% on the example's gateway): see docs/budgets.md.
* ``xz``: ``xz -9e`` - preset 9 with the extreme flag, CRC64 check, one stream of one block
  (single-threaded xz, the default up to xz 5.4; ``xz -9e -T1`` from 5.6 on). Computed by
  liblzma (Python's ``lzma``), which xz is.
* ``zstd``: ``zstd -19`` - with the frame's content size and checksum, as the CLI writes them.
  Computed by libzstd (the ``zstandard`` package); the same libzstd release as the CLI gives
  the same bytes, another release may differ by a fraction of a percent (recorded in
  ``libraries``).

Each is CPU work of seconds to minutes on a large binary (xz -9e: ~1 MB/s, ~670 MiB of
memory); buildopt.pipeline.compress runs them on threads (each library releases the GIL).
"""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from buildopt.binary.facts import CompressedSizes
from buildopt.inputs import open_regular
from buildopt.names import FORMATS

GZIP_FRAME = 18  # gzip -n: 10-byte header (no name, no time) + CRC-32 and length trailer


def gzip_size(data: bytes) -> int:
    """Bytes of ``gzip -9 -n`` output for data (deflate by zlib)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return len(deflate.compress(data)) + len(deflate.flush()) + GZIP_FRAME


def xz_size(data: bytes) -> int:
    """Bytes of ``xz -9e`` output for data."""
    preset = 9 | lzma.PRESET_EXTREME
    return len(lzma.compress(data, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=preset))


def zstd_size(data: bytes) -> int:
    """Bytes of ``zstd -19`` output for data."""
    import zstandard  # a C extension: loaded only where zstd is asked for

    # threads=1 as the CLI's default -T1: libzstd's multi-threaded API with one worker, which
    # cuts an input over 32 MiB (4 windows at level 19) into jobs. Without it a 55 MiB Caddy
    # came out 96 bytes longer than `zstd -19` of the same libzstd release.
    compressor = zstandard.ZstdCompressor(
        level=19, write_checksum=True, write_content_size=True, threads=1
    )
    return len(compressor.compress(data))


def compressed_size(path: str | Path, algorithm: str) -> int:
    """The size of the file at path compressed by algorithm (one of FORMATS)."""
    with open_regular(path) as f:  # a regular file only: NotRegularFile, OSError otherwise
        data = f.read()
    return SIZERS[algorithm].size(data)


def libraries(algorithms: Iterable[str]) -> dict[str, str]:
    """The versions of the libraries that compute the given algorithms' sizes."""
    found: dict[str, str] = {}
    for algorithm in algorithms:
        found.update(SIZERS[algorithm].versions())
    return found


def made_by(algorithm: str, versions: Mapping[str, str]) -> str:
    """Which implementation made a size: ``libzstd 1.5.4, python zstandard 0.20.0``."""
    library, *wrapper = SIZERS[algorithm].libraries
    made = f"{library} {versions.get(library, '?')}"
    return made + "".join(
        f", {w.replace('-', ' ')} {versions[w]}" for w in wrapper if versions.get(w)
    )


def made_by_cli(sizes: CompressedSizes, algorithm: str) -> bool:
    """Whether an installed tool made the size (one of a record of an earlier release: a
    library did)."""
    return " CLI " in sizes.made_by.get(algorithm, "")


def merge(old: CompressedSizes, new: CompressedSizes) -> CompressedSizes:
    """old with new's sizes (and library versions) where new has them."""
    return CompressedSizes(
        **{a: getattr(new, a) if getattr(new, a) is not None else getattr(old, a) for a in FORMATS},
        libraries={**old.libraries, **new.libraries},
        made_by={**old.made_by, **new.made_by},
    )


def sizes(found: Mapping[str, int], tools: Mapping[str, str] | None = None) -> CompressedSizes:
    """The fact of the sizes found, by algorithm: by this process's libraries, or (``tools``:
    algorithm -> "zstd CLI 1.5.4") by the command-line tools."""
    versions = libraries(a for a in found if not tools or a not in tools)
    return CompressedSizes(
        **{a: found.get(a) for a in FORMATS},
        libraries=versions,
        made_by={a: (tools or {}).get(a) or made_by(a, versions) for a in found},
    )


def _zlib() -> dict[str, str]:
    return {"zlib": zlib.ZLIB_RUNTIME_VERSION}


def _liblzma() -> dict[str, str]:
    """The release of the liblzma Python's lzma module runs on (none when it cannot be asked):
    the library loaded once is the one its soname names."""
    import ctypes

    try:
        function = ctypes.CDLL("liblzma.so.5").lzma_version_string
    except (OSError, AttributeError):
        return {}
    function.restype = ctypes.c_char_p
    version = function()
    return {"liblzma": version.decode()} if isinstance(version, bytes) and version else {}


def _libzstd() -> dict[str, str]:
    import zstandard

    return {
        "libzstd": ".".join(str(n) for n in zstandard.ZSTD_VERSION),
        "python-zstandard": zstandard.__version__,
    }


class Sizer(NamedTuple):
    """How buildopt computes one format's size: the function, the versions of the libraries
    it runs on (names as in ``libraries``: the library, then any wrapper of it)."""

    size: Callable[[bytes], int]
    versions: Callable[[], dict[str, str]]
    libraries: tuple[str, ...]


SIZERS = {
    "gzip": Sizer(gzip_size, _zlib, ("zlib",)),
    "xz": Sizer(xz_size, _liblzma, ("liblzma",)),
    "zstd": Sizer(zstd_size, _libzstd, ("libzstd", "python-zstandard")),
}
