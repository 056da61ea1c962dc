"""Benchmark `buildopt inspect` against readelf + go version -m on Go's own commands.

Builds cmd/go, cmd/compile, cmd/link, cmd/vet, cmd/pprof, cmd/trace and cmd/cover from GOROOT,
compiles buildopt's bytecode (as pip install does; PYTHONDONTWRITEBYTECODE would otherwise make
every run compile it), then times in turn (ours, ours with --jobs 1, theirs, ours, ...):

* one ``buildopt inspect --json`` call on all of them (a fresh process, start-up included),
  with the default jobs (one forked process per CPU) and with ``--jobs 1``;
* ``readelf -SWsdl FILE`` and ``go version -m FILE`` on every file;

and reports the medians of wall time and of CPU time (user + system of the child processes),
their ratios, the in-process decoding and attribution rates of .symtab and .gopclntab in
entries per second, and the single-file latency with its import cost.

Usage: python benchmarks/bench_inspect.py [--runs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's buildopt

COMMANDS = ["cmd/go", "cmd/compile", "cmd/link", "cmd/vet", "cmd/pprof", "cmd/trace", "cmd/cover"]


def build_commands(go: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "build", "-o", str(out) + "/", *COMMANDS],
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return sorted(out / c.split("/")[1] for c in COMMANDS)


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child processes it ran)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    action()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def decode_rates(files: list[Path]) -> dict[str, float]:
    """Seconds spent decoding .symtab and .gopclntab (to name offsets and sizes), and
    attributing them to packages, over every file; and how many entries there were."""
    from buildopt import inspect
    from buildopt.elfread import open_elf
    from buildopt.goname import attribute
    from buildopt.symtab import decode_symbols

    keys = ("symbols", "functions", "symtab", "pclntab", "symtab_attr", "pclntab_attr")
    out = dict.fromkeys(keys, 0.0)
    for path in files:
        with open_elf(path) as (f, layout):
            start = time.perf_counter()
            symbols = decode_symbols(f, layout)
            out["symtab"] += time.perf_counter() - start
            start = time.perf_counter()
            table = inspect._pclntab(f, layout)
            out["pclntab"] += time.perf_counter() - start
        if symbols is None or table is None:
            sys.exit(f"{path}: no .symtab or .gopclntab (was it built with -s?)")
        start = time.perf_counter()
        attribute(symbols.strtab, symbols.name_offsets, symbols.sizes, False, False)
        out["symtab_attr"] += time.perf_counter() - start
        start = time.perf_counter()
        table.by_package()
        out["pclntab_attr"] += time.perf_counter() - start
        out["symbols"] += symbols.count
        out["functions"] += len(table.sizes)
    return out


def median_of(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


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
    compileall.compile_dir(str(ROOT / "buildopt"), quiet=1)

    ours_argv = [sys.executable, "-m", "buildopt", "inspect", "--json", *map(str, files)]
    serial_argv = [*ours_argv[:5], "--jobs", "1", *ours_argv[5:]]

    def theirs() -> None:
        for f in files:
            run([readelf, "-SWsdl", str(f)])
            run([go, "version", "-m", str(f)])

    samples: dict[str, list[tuple[float, float]]] = {"ours": [], "serial": [], "theirs": []}
    for _ in range(args.runs):
        samples["ours"].append(timed(lambda: run(ours_argv)))
        samples["serial"].append(timed(lambda: run(serial_argv)))
        samples["theirs"].append(timed(theirs))
    (ours, ours_cpu), (serial, serial_cpu) = (
        median_of(samples["ours"]),
        median_of(samples["serial"]),
    )
    theirs_wall, theirs_cpu = median_of(samples["theirs"])

    def latency(path: Path) -> float:
        argv = [sys.executable, "-m", "buildopt", "inspect", "--json", str(path)]
        return statistics.median(timed(lambda: run(argv))[0] for _ in range(args.runs))

    biggest = max(files, key=lambda f: f.stat().st_size)
    smallest = min(files, key=lambda f: f.stat().st_size)
    imports = statistics.median(
        timed(lambda: run([sys.executable, "-c", "import buildopt.commands, buildopt.inspect"]))[0]
        for _ in range(args.runs)
    )
    bare = statistics.median(
        timed(lambda: run([sys.executable, "-c", "pass"]))[0] for _ in range(args.runs)
    )
    rates = decode_rates(files)
    symbols, functions = int(rates["symbols"]), int(rates["functions"])

    def rate(entries: int, *keys: str) -> str:
        return f"{entries / sum(rates[k] for k in keys) / 1e6:.2f} M/s"

    print(
        f"files: {len(files)} Go commands, {total / 2**20:.1f} MiB, "
        f"{symbols} symbols, {functions} functions ({go}, {os.cpu_count()} CPUs)"
    )
    print(f"| measurement (median of {args.runs} runs) | wall | CPU |")
    print("|---|---:|---:|")
    print(f"| buildopt inspect --json, all files | {ours:.3f} s | {ours_cpu:.3f} s |")
    print(f"| the same with --jobs 1 | {serial:.3f} s | {serial_cpu:.3f} s |")
    print(
        f"| readelf -SWsdl + go version -m, each file | {theirs_wall:.3f} s | {theirs_cpu:.3f} s |"
    )
    print(
        f"| ratio buildopt / C+Go tools | {ours / theirs_wall:.2f}x | "
        f"{ours_cpu / theirs_cpu:.2f}x |"
    )
    print(f"| ratio with --jobs 1 | {serial / theirs_wall:.2f}x | {serial_cpu / theirs_cpu:.2f}x |")
    print()
    print("| in-process rate | entries per second |")
    print("|---|---:|")
    print(f"| .symtab decoding (name offsets, sizes) | {rate(symbols, 'symtab')} |")
    print(f"| .symtab decoding + package attribution | {rate(symbols, 'symtab', 'symtab_attr')} |")
    print(f"| .gopclntab decoding (name offsets, sizes) | {rate(functions, 'pclntab')} |")
    print(
        f"| .gopclntab decoding + package attribution | "
        f"{rate(functions, 'pclntab', 'pclntab_attr')} |"
    )
    print()
    print("| single file | wall |")
    print("|---|---:|")
    print(
        f"| buildopt inspect --json {biggest.name} ({biggest.stat().st_size / 2**20:.1f} MiB) "
        f"| {latency(biggest) * 1000:.0f} ms |"
    )
    print(
        f"| buildopt inspect --json {smallest.name} ({smallest.stat().st_size / 2**20:.1f} MiB) "
        f"| {latency(smallest) * 1000:.0f} ms |"
    )
    print(
        f"| python start-up + import buildopt.commands, buildopt.inspect | {imports * 1000:.0f} ms |"
    )
    print(f"| bare python start-up | {bare * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
