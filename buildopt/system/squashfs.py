"""mksquashfs (squashfs-tools), run to make a flash image that is the same bytes every time.

The same inputs give a byte-identical image: every file owned by root (``-all-root``), every
time 0 (``-all-time 0 -mkfs-time 0``), no extended attributes, and mksquashfs's reproducible
mode (its default since 4.4: the order of the output does not depend on its threads).
Directory entries are sorted by mksquashfs itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from buildopt.errors import BuildoptError
from buildopt.system import proc

MKSQUASHFS_TIMEOUT = 3600.0


class ToolMissing(BuildoptError):
    """A system tool pip cannot install is not there (exit 2, naming the package)."""


def find_mksquashfs(environ: Mapping[str, str]) -> str:
    found = shutil.which("mksquashfs", path=environ.get("PATH"))
    if found is None:
        raise ToolMissing(
            "mksquashfs not found: building a squashfs image needs squashfs-tools "
            "(Debian/Ubuntu: apt-get install squashfs-tools)"
        )
    return found


def version(tool: str, environ: Mapping[str, str]) -> str:
    """mksquashfs's first line of -version: "mksquashfs version 4.5.1 (2022/03/17)"."""
    try:
        done = proc.run([tool, "-version"], env=environ, timeout=60, check=False)
    except proc.CommandFailed as exc:
        raise ToolMissing(f"{tool} does not run: {exc.message}") from exc
    return (done.stdout.splitlines() or ["mksquashfs"])[0].strip()


def make_image(
    tool: str,
    source: Path,
    out: Path,
    *,
    compressor: str,
    block_size: int,
    processors: int,
    environ: Mapping[str, str],
) -> None:
    """mksquashfs SOURCE OUT with these settings, reproducibly; BuildoptError if it fails."""
    settings = ["-comp", compressor, "-b", str(block_size), "-noappend"]
    same_bytes = ["-all-root", "-all-time", "0", "-mkfs-time", "0", "-no-xattrs"]  # (see above)
    quiet = ["-no-progress", "-quiet", "-processors", str(max(1, processors))]
    argv = [tool, str(source), str(out), *settings, *same_bytes, *quiet]
    try:
        proc.run(argv, env=environ, timeout=MKSQUASHFS_TIMEOUT, owned=True)
    except proc.CommandFailed as exc:
        raise BuildoptError(f"mksquashfs failed: {exc.message}") from exc
