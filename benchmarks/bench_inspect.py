"""Benchmark `buildopt inspect` against readelf + go version -m on Go's own commands.

Builds cmd/go, cmd/compile, cmd/link, cmd/vet, cmd/pprof, cmd/trace and cmd/cover from GOROOT,
compiles buildopt's bytecode (as pip install does; PYTHONDONTWRITEBYTECODE would otherwise make
every run compile it), then times in turn (ours, ours with --jobs 1, theirs, ours, ...):

* one ``buildopt inspect --json`` call on all of them (a fresh process, start-up included),
  with the default --jobs (one decoding process per CPU) and with ``--jobs 1``;
* ``readelf -SWsdl FILE`` and ``go version -m FILE`` on every file;

and reports the medians of wall time and of CPU time (user + system of the child processes),
their ratios, the in-process decoding and attribution rates of .symtab and .gopclntab in
entries per second, and the single-file latency with its import cost.

With ``--venv DIR``, buildopt is also installed by pip into a fresh virtual environment there
and its ``buildopt`` command is timed the same way: the tool as users get it, without the
checkout's editable-install hook or the site hooks of the interpreter the checkout runs on.

Usage: python benchmarks/bench_inspect.py [--runs N] [--out DIR] [--venv DIR]
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


def decode_rates(files: list[Path], passes: int) -> dict[str, float]:
    """Seconds spent decoding .symtab and .gopclntab (to name offsets and sizes), and
    attributing them to packages, over every file - the median of several passes, after one
    to warm up (the patterns compile on first use) - and how many entries there were."""
    from buildopt.binary import inspect
    from buildopt.binary.elf.reader import open_elf
    from buildopt.binary.elf.symtab import decode_symbols
    from buildopt.binary.go.names import attribute

    keys = ("symtab", "pclntab", "symtab_attr", "pclntab_attr")
    samples: dict[str, list[float]] = {key: [] for key in keys}
    counts = {"symbols": 0.0, "functions": 0.0}
    for _ in range(passes + 1):
        spent = dict.fromkeys(keys, 0.0)
        counts = {"symbols": 0.0, "functions": 0.0}
        for path in files:
            with open_elf(path) as (f, layout):
                start = time.perf_counter()
                symbols = decode_symbols(f, layout)
                spent["symtab"] += time.perf_counter() - start
                start = time.perf_counter()
                table, _ = inspect.function_table(f, layout)
                spent["pclntab"] += time.perf_counter() - start
            if symbols is None or table is None:
                sys.exit(f"{path}: no .symtab or .gopclntab (was it built with -s?)")
            start = time.perf_counter()
            attribute(symbols.strtab, symbols.name_offsets, symbols.sizes, False, False)
            spent["symtab_attr"] += time.perf_counter() - start
            start = time.perf_counter()
            table.by_package()
            spent["pclntab_attr"] += time.perf_counter() - start
            counts["symbols"] += symbols.count
            counts["functions"] += len(table.sizes)
        for key in keys:
            samples[key].append(spent[key])
    return {**{key: statistics.median(values[1:]) for key, values in samples.items()}, **counts}


def install(venv: Path) -> Path:
    """The buildopt command of a fresh virtual environment with this checkout pip-installed."""
    if venv.exists():
        shutil.rmtree(venv)
    print(f"installing buildopt into {venv} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)]
    subprocess.run(pip, check=True)
    return venv / "bin" / "buildopt"


def median_of(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def batch_times(
    files: list[Path], commands: dict[str, list[str]], runs: int, go: str, readelf: str
) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) of each buildopt command line and of the C/Go tools, taken in turn."""

    def theirs() -> None:
        for f in files:
            run([readelf, "-SWsdl", str(f)])
            run([go, "version", "-m", str(f)])

    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in [*commands, "theirs"]}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(timed(lambda argv=argv: run(argv)))  # type: ignore[misc]
        samples["theirs"].append(timed(theirs))
    return {name: median_of(values) for name, values in samples.items()}


LABELS = {
    "ours": "buildopt inspect --json, all files (default --jobs: one decoding process per CPU)",
    "two": "the same with --jobs 1 (one decoding process)",
    "installed": "the same, installed by pip in a fresh venv",
}


def print_batch(times: dict[str, tuple[float, float]], runs: int) -> None:
    theirs_wall, theirs_cpu = times["theirs"]
    print(f"| measurement (median of {runs} runs) | wall | CPU | ratio wall | ratio CPU |")
    print("|---|---:|---:|---:|---:|")
    for name, label in LABELS.items():
        if name in times:
            wall, cpu = times[name]
            print(
                f"| {label} | {wall:.3f} s | {cpu:.3f} s | "
                f"{wall / theirs_wall:.2f}x | {cpu / theirs_cpu:.2f}x |"
            )
    label = "readelf -SWsdl + go version -m, each file"
    print(f"| {label} | {theirs_wall:.3f} s | {theirs_cpu:.3f} s | 1 | 1 |")


def print_rates(rates: dict[str, float]) -> None:
    symbols, functions = int(rates["symbols"]), int(rates["functions"])

    def rate(entries: int, *keys: str) -> str:
        return f"{entries / sum(rates[k] for k in keys) / 1e6:.2f} M/s"

    print("| in-process rate (median of passes over all files) | entries per second |")
    print("|---|---:|")
    print(f"| .symtab decoding (name offsets, sizes) | {rate(symbols, 'symtab')} |")
    print(f"| .symtab decoding + package attribution | {rate(symbols, 'symtab', 'symtab_attr')} |")
    print(f"| .gopclntab decoding (name offsets, sizes) | {rate(functions, 'pclntab')} |")
    both = rate(functions, "pclntab", "pclntab_attr")
    print(f"| .gopclntab decoding + package attribution | {both} |")


def print_latency(files: list[Path], runs: int) -> None:
    def median_wall(argv: list[str]) -> float:
        return statistics.median(timed(lambda: run(argv))[0] for _ in range(runs))

    print("| single file | wall |")
    print("|---|---:|")
    for path in (max(files, key=file_size), min(files, key=file_size)):
        argv = [sys.executable, "-m", "buildopt", "inspect", "--json", str(path)]
        label = f"buildopt inspect --json {path.name} ({file_size(path) / 2**20:.1f} MiB)"
        print(f"| {label} | {median_wall(argv) * 1000:.0f} ms |")
    modules = "buildopt.cli.commands.inspect, buildopt.binary.inspect"
    imports = [sys.executable, "-c", f"import {modules}"]
    label = f"python start-up + import {modules}"
    print(f"| {label} | {median_wall(imports) * 1000:.0f} ms |")
    bare = median_wall([sys.executable, "-c", "pass"])
    print(f"| bare python start-up | {bare * 1000:.0f} ms |")


def file_size(path: Path) -> int:
    return path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="where to build the commands")
    parser.add_argument("--venv", type=Path, default=None, help="also time a pip install there")
    args = parser.parse_args()
    go = shutil.which("go") or "/usr/local/go/bin/go"
    readelf = shutil.which("readelf")
    if readelf is None:
        sys.exit("readelf (binutils) is needed")
    out = args.out or Path(tempfile.mkdtemp(prefix="buildopt-bench-"))
    print(f"building {len(COMMANDS)} Go commands into {out} ...", file=sys.stderr)
    files = build_commands(go, out)
    compileall.compile_dir(str(ROOT / "buildopt"), quiet=1)
    ours = [sys.executable, "-m", "buildopt", "inspect", "--json", *map(str, files)]
    commands = {"ours": ours, "two": [*ours[:5], "--jobs", "1", *ours[5:]]}
    if args.venv:
        commands["installed"] = [str(install(args.venv)), *ours[3:]]
    times = batch_times(files, commands, args.runs, go, readelf)
    rates = decode_rates(files, args.runs)
    total = sum(map(file_size, files)) / 2**20
    print(
        f"files: {len(files)} Go commands, {total:.1f} MiB, {int(rates['symbols'])} symbols, "
        f"{int(rates['functions'])} functions ({go}, {os.cpu_count()} CPUs)"
    )
    print_batch(times, args.runs)
    print()
    print_rates(rates)
    print()
    print_latency(files, args.runs)


if __name__ == "__main__":
    main()
