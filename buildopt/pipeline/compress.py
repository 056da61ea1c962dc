"""Compressed sizes of many binaries, each compressor of each file a task of its own.

xz -9e of a 58 MiB Caddy takes about a minute and zstd -19 half as long: the work is spread
over ``jobs`` threads, one (file, compressor) at a time, the slowest first - zlib, liblzma and
libzstd release the GIL while they compress, so the threads run on as many CPUs
(benchmarks/bench_compressed.py, 4 of Go's commands on 2 CPUs: --jobs 1 took 1.77x as long
as --jobs 2; forked processes were no faster than threads, docs/figures.md) - while the main
thread only waits and reports progress, so that Ctrl-C stops at once: the threads are
daemons, not waited for. Nothing here runs unless asked for (``inspect --compressed``, a
``max_compressed`` budget): the default ``inspect`` and ``build`` do not pay for it.

With ``cli`` the installed command-line tools compress instead of this process's libraries
(``--compressor-cli``): each size is then what that tool writes, counted as it comes out, and
labelled with the tool and its version.
"""

from __future__ import annotations

import queue
import re
import shutil
import signal
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from buildopt.binary import compressed
from buildopt.binary.facts import CompressedSizes
from buildopt.errors import UsageError
from buildopt.inputs import open_regular, size_or_zero
from buildopt.names import COMPRESSORS
from buildopt.system import proc

Progress = Callable[[str, str, int], None]  # (path, algorithm, size) as each size is known

_VERSION = re.compile(r"\bv?(\d+\.\d+(?:\.\d+)?)\b")


def cli_tools(algorithms: Iterable[str]) -> dict[str, str]:
    """algorithm -> "zstd CLI 1.5.4": the installed tool each algorithm would run, and its
    version; UsageError naming a tool that is not installed."""
    found = {}
    for algorithm in algorithms:
        name = COMPRESSORS[algorithm].argv[0]
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
        return proc.output_size([*COMPRESSORS[algorithm].argv, "--", path])
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
    .FORMATS), ``jobs`` at a time, by the libraries or (``cli``) the installed tools;
    None for a file that cannot be read."""
    tasks = [(str(path), a, cli) for path, algorithms in files for a in algorithms]
    tools = cli_tools(dict.fromkeys(a for _, a, _ in tasks)) if cli else None
    sizes = {path: size_or_zero(path) for path, _, _ in tasks}
    order = sorted(
        range(len(tasks)), key=lambda i: (-COMPRESSORS[tasks[i][1]].cost, -sizes[tasks[i][0]])
    )

    def report(index: int, size: int) -> None:
        if progress is not None and size != -1:
            progress(tasks[index][0], tasks[index][1], size)

    results = _map_threads(_one, tasks, jobs, order, report)
    found: list[dict[str, int]] = [{} for _ in files]
    owner = [i for i, (_, algorithms) in enumerate(files) for _ in algorithms]
    for i, ((_, algorithm, _), size) in enumerate(zip(tasks, results, strict=True)):
        found[owner[i]][algorithm] = size
    return [None if -1 in f.values() else compressed.sizes(f, tools) for f in found]


def _map_threads(
    func: Callable[[tuple[str, str, bool]], int],
    items: Sequence[tuple[str, str, bool]],
    workers: int,
    order: Sequence[int],
    on_result: Callable[[int, int], None],
) -> list[int]:
    """func over items on ``workers`` daemon threads, each taking the next index of ``order``
    when it is free; ``on_result(index, result)`` is called here as each result comes. What
    func raised is raised here."""
    todo = iter(order)
    taking = threading.Lock()
    done: queue.Queue[tuple[int, int | BaseException]] = queue.Queue()

    def work() -> None:
        # Ctrl-C, SIGTERM and SIGHUP go to the main thread, which waits to raise them at once.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
        while True:
            with taking:
                i = next(todo, None)
            if i is None:
                return
            try:
                done.put((i, func(items[i])))
            except BaseException as exc:  # raised in the main thread
                done.put((i, exc))

    for _ in range(max(1, min(workers, len(items)))):
        threading.Thread(target=work, name="compress", daemon=True).start()
    results: dict[int, int] = {}
    for _ in items:
        i, result = done.get()  # a Ctrl-C is raised here at once
        if isinstance(result, BaseException):
            raise result
        results[i] = result
        on_result(i, result)
    return [results[i] for i in range(len(items))]
