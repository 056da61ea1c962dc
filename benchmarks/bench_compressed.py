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

Usage: python benchmarks/bench_compressed.py [--runs N] [--jobs N]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

COMMANDS = ["cmd/go", "cmd/compile", "cmd/link", "cmd/vet", "cmd/pprof", "cmd/trace", "cmd/cover"]
TOOLS = {
    "xz": ["xz", "-9e", "-c"],
    "zstd": ["zstd", "-19", "-q", "-c"],
    "gzip": ["gzip", "-9", "-n", "-c"],
}


def build_commands(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["go", "build", "-o", str(out) + "/", *COMMANDS],
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return sorted(out / c.split("/")[1] for c in COMMANDS)


def ours(files: list[Path], jobs: int) -> tuple[float, dict[str, dict[str, int]]]:
    argv = [sys.executable, "-m", "buildopt", "inspect", "--compressed", "--json"]
    start = time.perf_counter()
    done = subprocess.run(
        [*argv, "--jobs", str(jobs), *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        files = build_commands(Path(scratch) / "bin")
        total = sum(f.stat().st_size for f in files)
        mib = {f.name: f.stat().st_size / 2**20 for f in files}
        times: dict[str, list[float]] = {"buildopt": [], "tools": []}
        sizes: dict[str, dict[str, dict[str, int]]] = {}
        for run in range(args.runs):
            for side in ("buildopt", "tools") if run % 2 == 0 else ("tools", "buildopt"):
                wall, sizes[side] = (ours if side == "buildopt" else theirs)(files, args.jobs)
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
    mine, tools = statistics.median(times["buildopt"]), statistics.median(times["tools"])
    print(f"\nbuildopt {mine:.1f} s, the three tools {tools:.1f} s: ratio {mine / tools:.2f}x")


if __name__ == "__main__":
    main()
