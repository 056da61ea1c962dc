"""Compressed sizes of many binaries, each compressor of each file in a process of its own.

xz -9e of a 58 MiB Caddy takes about a minute and zstd -19 half as long: the work is spread
over ``jobs`` forked processes, one (file, compressor) at a time, the slowest first, while
this process only waits and reports progress - so that Ctrl-C stops at once (a compressor's
C call in this process would hold the interrupt until it returned). Nothing here runs unless
asked for (``inspect --compressed``, a ``max_compressed`` budget): the default ``inspect``
and ``build`` do not pay for it.

With ``cli`` the installed command-line tools compress instead of this process's libraries
(``--compressor-cli``): each size is then what that tool writes, counted as it comes out, and
labelled with the tool and its version.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from buildopt.binary import compressed
from buildopt.binary.facts import CompressedSizes
from buildopt.errors import UsageError
from buildopt.inputs import open_regular, size_or_zero
from buildopt.system import proc
from buildopt.system.forkmap import map_apart

# Slowest first, so that the last tasks taken are short ones and the processes end together.
COST = {"xz": 3, "zstd": 2, "gzip": 1}

Progress = Callable[[str, str, int], None]  # (path, algorithm, size) as each size is known


# The command-line tools with the settings the libraries follow (buildopt.binary.compressed);
# xz 5.6 compresses in threads by default, which changes its output: -T1 as before.
CLI_ARGV = {
    "gzip": ("gzip", "-9", "-n", "-c"),
    "xz": ("xz", "-9e", "-T1", "-c"),
    "zstd": ("zstd", "-19", "-q", "-c"),
}
_VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?)\b")


def cli_tools(algorithms: Iterable[str]) -> dict[str, str]:
    """algorithm -> "zstd CLI 1.5.4": the installed tool each algorithm would run, and its
    version; UsageError naming a tool that is not installed."""
    found = {}
    for algorithm in algorithms:
        name = CLI_ARGV[algorithm][0]
        exe = shutil.which(name)
        if exe is None:
            raise UsageError(f"--compressor-cli: {name} is not installed (not on PATH)")
        done = proc.run([exe, "--version"], timeout=60, check=False)
        match = _VERSION.search(done.stdout + done.stderr)
        found[algorithm] = f"{name} CLI {match.group(1) if match else '(version unknown)'}"
    return found


def _one(task: tuple[str, str, bool]) -> int:
    """The size, or -1 when the file cannot be read (its reader says why, not this)."""
    path, algorithm, cli = task
    try:
        if not cli:
            return compressed.compressed_size(path, algorithm)
        with open_regular(path):  # a FIFO or a folder is not handed to the tool
            pass
        return proc.output_size([*CLI_ARGV[algorithm], "--", path])
    except (OSError, ValueError, proc.CommandFailed):  # gone, unreadable, not a regular file
        return -1


def compress_files(
    files: Sequence[tuple[str | Path, Sequence[str]]],
    jobs: int,
    progress: Progress | None = None,
    *,
    cli: bool = False,
) -> list[CompressedSizes | None]:
    """The sizes of each file compressed by each of its algorithms (buildopt.names
    .FORMATS), in ``jobs`` processes, by the libraries or (``cli``) the installed tools;
    None for a file that cannot be read."""
    tasks = [(str(path), a, cli) for path, algorithms in files for a in algorithms]
    tools = cli_tools(dict.fromkeys(a for _, a, _ in tasks)) if cli else None
    sizes = {path: size_or_zero(path) for path, _, _ in tasks}
    order = sorted(range(len(tasks)), key=lambda i: (-COST[tasks[i][1]], -sizes[tasks[i][0]]))

    def report(index: int, size: object) -> None:
        if progress is not None and size != -1:
            progress(tasks[index][0], tasks[index][1], int(size))  # type: ignore[call-overload]

    results = map_apart(_one, tasks, jobs, order, report)
    found: list[dict[str, int]] = [{} for _ in files]
    owner = [i for i, (_, algorithms) in enumerate(files) for _ in algorithms]
    for i, ((_, algorithm, _), size) in enumerate(zip(tasks, results, strict=True)):
        found[owner[i]][algorithm] = int(size)  # type: ignore[call-overload]
    return [None if -1 in f.values() else compressed.sizes(f, tools) for f in found]
