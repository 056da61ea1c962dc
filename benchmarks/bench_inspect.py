"""Benchmark `buildopt inspect` against readelf + go version -m on Go's own commands.

Builds cmd/go, cmd/compile, cmd/link, cmd/vet, cmd/pprof, cmd/trace and cmd/cover from GOROOT,
then, in turn (ours, theirs, ours, theirs ...):

* one ``buildopt inspect --json`` call on all of them (a fresh process, start-up included);
* ``readelf -SWsdl FILE`` and ``go version -m FILE`` on every file;

and reports the medians and their ratio, the decoding rate of .symtab and .gopclntab in
entries per second (in-process), and the single-file latency with its import cost.

Usage: python benchmarks/bench_inspect.py [--runs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

COMMANDS = ["cmd/go", "cmd/compile", "cmd/link", "cmd/vet", "cmd/pprof", "cmd/trace", "cmd/cover"]


def build_commands(go: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([go, "build", "-o", str(out) + "/", *COMMANDS], check=True,
                   env={**os.environ, "CGO_ENABLED": "0"})
    return sorted(out / c.split("/")[1] for c in COMMANDS)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def decode_rates(files: list[Path]) -> tuple[int, float, int, float]:
    """(symbols, seconds, functions, seconds) decoding every file's .symtab and .gopclntab."""
    from buildopt import pclntab
    from buildopt.elfread import open_elf, section_bytes
    from buildopt.symtab import read_symbols

    symbols = functions = 0
    sym_time = pcln_time = 0.0
    for path in files:
        with open_elf(path) as (f, layout):
            start = time.perf_counter()
            facts = read_symbols(f, layout, old_prefixes=False)
            sym_time += time.perf_counter() - start
            symbols += facts.count
            section = layout.section(".gopclntab")
            assert section is not None
            start = time.perf_counter()
            table = pclntab.decode(section_bytes(f, section))
            pcln_time += time.perf_counter() - start
            functions += len(table.names)
    return symbols, sym_time, functions, pcln_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="where to build the commands")
    args = parser.parse_args()
    go = shutil.which("go") or "/usr/local/go/bin/go"
    readelf = shutil.which("readelf")
    if readelf is None:
        sys.exit("readelf (binutils) is needed")
    out = args.out or Path(tempfile.mkdtemp(prefix="buildopt-bench-"))
    print(f"building {len(COMMANDS)} Go commands into {out} ...", file=sys.stderr)
    files = build_commands(go, out)
    total = sum(f.stat().st_size for f in files)

    ours_argv = [sys.executable, "-m", "buildopt", "inspect", "--json", *map(str, files)]

    def theirs() -> None:
        for f in files:
            run([readelf, "-SWsdl", str(f)])
            run([go, "version", "-m", str(f)])

    ours_times, their_times = [], []
    for _ in range(args.runs):
        ours_times.append(timed(lambda: run(ours_argv)))
        their_times.append(timed(theirs))
    ours, theirs_median = statistics.median(ours_times), statistics.median(their_times)

    single = statistics.median(
        timed(lambda: run([sys.executable, "-m", "buildopt", "inspect", "--json", str(files[0])]))
        for _ in range(args.runs)
    )
    imports = statistics.median(
        timed(lambda: run([sys.executable, "-c", "import buildopt.cli"])) for _ in range(args.runs)
    )
    bare = statistics.median(timed(lambda: run([sys.executable, "-c", "pass"]))
                             for _ in range(args.runs))
    symbols, sym_s, functions, pcln_s = decode_rates(files)

    print(f"files: {len(files)} Go commands, {total / 2**20:.1f} MiB, "
          f"{symbols} symbols, {functions} functions ({go})")
    print("| measurement | median of %d runs |" % args.runs)
    print("|---|---:|")
    print(f"| buildopt inspect --json (one call, all files) | {ours:.3f} s |")
    print(f"| readelf -SWsdl + go version -m (per file) | {theirs_median:.3f} s |")
    print(f"| ratio buildopt / C+Go tools | {ours / theirs_median:.2f}x |")
    print(f"| .symtab decoding | {symbols / sym_s / 1e6:.2f} M symbols/s |")
    print(f"| .gopclntab decoding | {functions / pcln_s / 1e6:.2f} M functions/s |")
    print(f"| single file: buildopt inspect --json {files[0].name} | {single * 1000:.0f} ms |")
    print(f"| of which python start-up + import buildopt.cli | {imports * 1000:.0f} ms "
          f"(bare python: {bare * 1000:.0f} ms) |")


if __name__ == "__main__":
    main()
