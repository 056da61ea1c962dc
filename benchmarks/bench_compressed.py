"""Benchmark `buildopt inspect --compressed` against the command-line compressors.

Seven of Go's own commands (cmd/go, compile, link, vet, pprof, trace, cover; ~100 MB) are
built once. Then, sides taken in turn, each run timed as a whole:

* ``buildopt inspect --compressed --json --jobs N FILES``: every file decoded, and compressed
  by gzip -9 -n, xz -9e and zstd -19 in N processes (zlib, liblzma, libzstd);
* the same three tools from Debian on every file - ``gzip -9 -n -c``, ``xz -9e -c``,
  ``zstd -19 -c`` - N at a time, slowest first as buildopt does, output counted in bytes.

Both sides do the same compressions; the ratio is what buildopt adds or saves. The sizes are
compared too: xz and zstd (when the zstandard package bundles the CLI's libzstd release) must be
equal, gzip is zlib's deflate against GNU gzip's own.

With ``--serial``, buildopt with ``--jobs 1`` is a side too (what the concurrency gains);
with ``--baseline DIR``, the buildopt of another checkout (the code before a change).
``--commands`` takes fewer of the commands (``cover,link,vet``: a quicker run).

Usage: python benchmarks/bench_compressed.py [--runs N] [--jobs N] [--serial] [--baseline DIR]
       [--commands go,compile,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

COMMANDS = ["cmd/go", "cmd/compile", "cmd/link", "cmd/vet", "cmd/pprof", "cmd/trace", "cmd/cover"]
TOOLS = {
    "xz": ["xz", "-9e", "-c"],
    "zstd": ["zstd", "-19", "-q", "-c"],
    "gzip": ["gzip", "-9", "-n", "-c"],
}


def build_commands(out: Path, commands: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["go", "build", "-o", str(out) + "/", *commands],
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return sorted(out / c.split("/")[1] for c in commands)


def ours(
    files: list[Path], jobs: int, checkout: Path | None = None
) -> tuple[float, dict[str, dict[str, int]]]:
    """buildopt (this checkout's, or that of ``checkout``) on every file."""
    argv = [sys.executable, "-m", "buildopt", "inspect", "--compressed", "--json"]
    env = {**os.environ, "PYTHONPATH": str(checkout or Path(__file__).resolve().parent.parent)}
    start = time.perf_counter()
    done = subprocess.run(
        [*argv, "--jobs", str(jobs), *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall = time.perf_counter() - start
    found = {b["path"]: b["compressed"] for b in json.loads(done.stdout)["binaries"]}
    return wall, found


def theirs(files: list[Path], jobs: int) -> tuple[float, dict[str, dict[str, int]]]:
    """The three tools on every file, jobs at a time, slowest first; bytes each wrote."""
    tasks = [(f, name) for name in TOOLS for f in sorted(files, key=lambda p: -p.stat().st_size)]
    found: dict[str, dict[str, int]] = {str(f): {} for f in files}
    start = time.perf_counter()

    def one(task: tuple[Path, str]) -> None:
        f, name = task
        counted = subprocess.run([*TOOLS[name], str(f)], stdout=subprocess.PIPE, check=True)
        found[str(f)][name] = len(counted.stdout)

    # as many tools at a time as buildopt has processes; the next starts when any ends
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, tasks))
    return time.perf_counter() - start, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--serial", action="store_true", help="also time buildopt --jobs 1")
    parser.add_argument("--baseline", type=Path, default=None, help="also time this checkout's")
    parser.add_argument("--commands", default=",".join(c.split("/")[1] for c in COMMANDS))
    args = parser.parse_args()
    sides: dict[str, Callable[[list[Path]], tuple[float, dict[str, dict[str, int]]]]] = {
        "buildopt": lambda files: ours(files, args.jobs),
        "tools": lambda files: theirs(files, args.jobs),
    }
    if args.serial:
        sides["buildopt --jobs 1"] = lambda files: ours(files, 1)
    if args.baseline:
        sides["baseline"] = lambda files: ours(files, args.jobs, args.baseline)
    with tempfile.TemporaryDirectory() as scratch:
        commands = [f"cmd/{name}" for name in args.commands.split(",")]
        files = build_commands(Path(scratch) / "bin", commands)
        total = sum(f.stat().st_size for f in files)
        mib = {f.name: f.stat().st_size / 2**20 for f in files}
        times: dict[str, list[float]] = {side: [] for side in sides}
        sizes: dict[str, dict[str, dict[str, int]]] = {}
        names = list(sides)
        for run in range(args.runs):  # the sides in turn, each run starting one further
            for side in names[run % len(names) :] + names[: run % len(names)]:
                wall, sizes[side] = sides[side](files)
                times[side].append(wall)
                print(f"run {run + 1}: {side} {wall:.1f} s", file=sys.stderr)
    import zstandard

    library = ".".join(map(str, zstandard.ZSTD_VERSION))
    print(
        f"{len(files)} Go commands, {total / 2**20:.1f} MiB, --jobs {args.jobs}, "
        f"median of {args.runs} (libzstd {library})"
    )
    print("| file | MiB | xz -9e | = | zstd -19 | = | gzip (zlib) | GNU gzip -9 -n |")
    print("|---|---:|---:|:-:|---:|:-:|---:|---:|")
    for f in files:
        a, b = sizes["buildopt"][str(f)], sizes["tools"][str(f)]
        print(
            f"| {f.name} | {mib[f.name]:.1f} | {a['xz']} | "
            f"{'yes' if a['xz'] == b['xz'] else 'NO'} | {a['zstd']} | "
            f"{'yes' if a['zstd'] == b['zstd'] else 'no'} | {a['gzip']} | {b['gzip']} |"
        )
    mine = statistics.median(times["buildopt"])
    print(f"\n| side | median | min-max | vs buildopt --jobs {args.jobs} |\n|---|---:|---:|---:|")
    for side, values in times.items():
        median = statistics.median(values)
        spread = f"{min(values):.1f}-{max(values):.1f} s"
        print(f"| {side} | {median:.1f} s | {spread} | {median / mine:.2f}x |")


if __name__ == "__main__":
    main()
