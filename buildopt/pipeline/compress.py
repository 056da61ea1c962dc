"""Compressed sizes of many binaries, each compressor of each file in a process of its own.

xz -9e of a 58 MiB Caddy takes about a minute and zstd -19 half as long: the work is spread
over ``jobs`` forked processes, one (file, compressor) at a time, the slowest first, while
this process only waits and reports progress - so that Ctrl-C stops at once (a compressor's
C call in this process would hold the interrupt until it returned). Nothing here runs unless
asked for (``inspect --compressed``, a ``max_compressed`` budget): the default ``inspect``
and ``build`` do not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from buildopt.binary import compressed
from buildopt.binary.facts import CompressedSizes
from buildopt.inputs import size_or_zero
from buildopt.system.forkmap import map_apart

# Slowest first, so that the last tasks taken are short ones and the processes end together.
COST = {"xz": 3, "zstd": 2, "gzip": 1}

Progress = Callable[[str, str, int], None]  # (path, algorithm, size) as each size is known


def _one(task: tuple[str, str]) -> int:
    """The size, or -1 when the file cannot be read (its reader says why, not this)."""
    path, algorithm = task
    try:
        return compressed.compressed_size(path, algorithm)
    except (OSError, ValueError):  # gone, unreadable, not a regular file
        return -1


def compress_files(
    files: Sequence[tuple[str | Path, Sequence[str]]],
    jobs: int,
    progress: Progress | None = None,
) -> list[CompressedSizes | None]:
    """The sizes of each file compressed by each of its algorithms (buildopt.binary.compressed
    .ALGORITHMS), in ``jobs`` processes; None for a file that cannot be read."""
    tasks = [(str(path), a) for path, algorithms in files for a in algorithms]
    sizes = {path: size_or_zero(path) for path, _ in tasks}
    order = sorted(range(len(tasks)), key=lambda i: (-COST[tasks[i][1]], -sizes[tasks[i][0]]))

    def report(index: int, size: object) -> None:
        if progress is not None and size != -1:
            progress(tasks[index][0], tasks[index][1], int(size))  # type: ignore[call-overload]

    results = map_apart(_one, tasks, jobs, order, report)
    found: list[dict[str, int]] = [{} for _ in files]
    owner = [i for i, (_, algorithms) in enumerate(files) for _ in algorithms]
    for i, ((_, algorithm), size) in enumerate(zip(tasks, results, strict=True)):
        found[owner[i]][algorithm] = int(size)  # type: ignore[call-overload]
    return [None if -1 in f.values() else compressed.sizes(f) for f in found]
