"""Benchmark `buildopt inspect` against readelf + go version -m on Go's own commands.

Builds cmd/go, cmd/compile, cmd/link, cmd/vet, cmd/pprof, cmd/trace and cmd/cover from GOROOT,
compiles buildopt's bytecode (as pip install does; PYTHONDONTWRITEBYTECODE would otherwise make
every run compile it), then times in turn (ours, ours with --jobs 1, theirs, ours, ...):

* one ``buildopt inspect --json`` call on all of them (a fresh process, start-up included),
  and one ``buildopt inspect`` (tables for people, to /dev/null);
* ``readelf -SWsdl FILE`` and ``go version -m FILE`` on every file;

and reports the medians of wall time and of CPU time (user + system of the child processes),
their ratios, the in-process decoding and attribution rates of .symtab and .gopclntab in
entries per second, and the single-file latency with its import cost.

With ``--venv DIR``, buildopt is also installed by pip into a fresh virtual environment there
and its ``buildopt`` command is timed the same way: the tool as users get it, without the
checkout's editable-install hook or the site hooks of the interpreter the checkout runs on.

With ``--baseline DIR`` (repeatable), the buildopt of another checkout (the code before a
change) is timed in the same turns, with --json and as tables for people.

Usage: python benchmarks/bench_inspect.py [--runs N] [--out DIR] [--venv DIR] [--baseline DIR]
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


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def decode_rates(files: list[Path], passes: int) -> dict[str, float]:
    """Seconds spent decoding .symtab and .gopclntab (to name offsets and sizes), and
    attributing them to packages, over every file - the median of several passes, after one
    to warm up (the patterns compile on first use) - and how many entries there were."""
    from buildopt.binary.elf.reader import open_elf
    from buildopt.binary.elf.symtab import decode_symbols
    from buildopt.binary.go.functab import function_table
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
                table, _ = function_table(f, layout)
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


Command = tuple[str, list[str], dict[str, str] | None]  # (label, argv, environment)


def batch_times(
    files: list[Path], commands: list[Command], runs: int, go: str, readelf: str
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) of each run of each buildopt command line and of the C/Go tools, in turn."""

    def theirs() -> None:
        for f in files:
            run([readelf, "-SWsdl", str(f)])
            run([go, "version", "-m", str(f)])

    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _, _ in commands}
    samples[THEIRS] = []
    for _ in range(runs):
        for label, argv, env in commands:
            samples[label].append(timed(lambda argv=argv, env=env: run(argv, env)))  # type: ignore[misc]
        samples[THEIRS].append(timed(theirs))
    return samples


THEIRS = "readelf -SWsdl + go version -m, each file"


def print_batch(samples: dict[str, list[tuple[float, float]]], runs: int) -> None:
    theirs_wall, theirs_cpu = median_of(samples[THEIRS])
    print(
        f"| measurement (median of {runs} runs) | wall | wall min-max | CPU | ratio wall "
        "| ratio CPU |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for label, values in samples.items():
        wall, cpu = median_of(values)
        walls = [v[0] for v in values]
        print(
            f"| {label} | {wall:.3f} s | {min(walls):.3f}-{max(walls):.3f} s | {cpu:.3f} s | "
            f"{wall / theirs_wall:.2f}x | {cpu / theirs_cpu:.2f}x |"
        )


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
    parser.add_argument(
        "--baseline",
        type=Path,
        action="append",
        default=[],
        help="also time the buildopt of this checkout (repeatable)",
    )
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
    tables = [*ours[:4], *ours[5:]]
    here = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands: list[Command] = [
        ("buildopt inspect --json, all files", ours, here),
        ("buildopt inspect (tables for people), all files", tables, here),
    ]
    if args.venv:
        argv = [str(install(args.venv)), *ours[3:]]
        commands.append(("the same --json, installed by pip in a fresh venv", argv, None))
    for checkout in args.baseline:  # other checkouts of buildopt (the code before a change)
        compileall.compile_dir(str(checkout / "buildopt"), quiet=1)
        there = {**os.environ, "PYTHONPATH": str(checkout)}
        commands.append((f"buildopt inspect --json, {checkout}", ours, there))
        commands.append((f"buildopt inspect (tables), {checkout}", tables, there))
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
