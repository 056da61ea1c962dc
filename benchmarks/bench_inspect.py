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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's buildopt

COMMANDS = ["cmd/go", "cmd/compile", "cmd/link", "cmd/vet", "cmd/pprof", "cmd/trace", "cmd/cover"]


def build_commands(go: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "build", "-o", str(out) + "/", *COMMANDS],
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return sorted(out / c.split("/")[1] for c in COMMANDS)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def decode_rates(files: list[Path]) -> dict[str, float]:
    """Seconds spent decoding .symtab and .gopclntab (names and sizes), and attributing them
    to packages, over every file; and how many entries there were."""
    from buildopt import pclntab
    from buildopt.elfread import open_elf, section_bytes
    from buildopt.goname import attribute
    from buildopt.symtab import decode_symbols

    out = dict.fromkeys(("symbols", "functions", "symtab", "pclntab", "attribution"), 0.0)
    for path in files:
        with open_elf(path) as (f, layout):
            start = time.perf_counter()
            symbols = decode_symbols(f, layout)
            out["symtab"] += time.perf_counter() - start
            section = layout.section(".gopclntab")
            if symbols is None or section is None:
                sys.exit(f"{path}: no .symtab or .gopclntab (was it built with -s?)")
            data = section_bytes(f, section)
            start = time.perf_counter()
            table = pclntab.decode(data)
            out["pclntab"] += time.perf_counter() - start
            start = time.perf_counter()
            attribute(symbols.names, symbols.sizes, old_prefixes=False)
            attribute(table.names, table.sizes, old_prefixes=False)
            out["attribution"] += time.perf_counter() - start
            out["symbols"] += symbols.count
            out["functions"] += len(table.names)
    return out


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
    bare = statistics.median(
        timed(lambda: run([sys.executable, "-c", "pass"])) for _ in range(args.runs)
    )
    rates = decode_rates(files)
    symbols, functions = int(rates["symbols"]), int(rates["functions"])

    print(
        f"files: {len(files)} Go commands, {total / 2**20:.1f} MiB, "
        f"{symbols} symbols, {functions} functions ({go})"
    )
    print(f"| measurement | median of {args.runs} runs |")
    print("|---|---:|")
    print(f"| buildopt inspect --json (one call, all files) | {ours:.3f} s |")
    print(f"| readelf -SWsdl + go version -m (per file) | {theirs_median:.3f} s |")
    print(f"| ratio buildopt / C+Go tools | {ours / theirs_median:.2f}x |")
    print(
        f"| .symtab decoding (names, sizes) | {symbols / rates['symtab'] / 1e6:.2f} M symbols/s |"
    )
    print(
        f"| .gopclntab decoding (names, sizes) | "
        f"{functions / rates['pclntab'] / 1e6:.2f} M functions/s |"
    )
    print(
        f"| package attribution of both | "
        f"{(symbols + functions) / rates['attribution'] / 1e6:.2f} M names/s |"
    )
    print(f"| single file: buildopt inspect --json {files[0].name} | {single * 1000:.0f} ms |")
    print(
        f"| of which python start-up + import buildopt.cli | {imports * 1000:.0f} ms "
        f"(bare python: {bare * 1000:.0f} ms) |"
    )


if __name__ == "__main__":
    main()
