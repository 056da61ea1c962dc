"""Benchmark `buildopt startup` against `hyperfine -N` on the same programs, in one run.

Four programs (benchmarks/startprog, built here with the Go on PATH): one that exits at once,
one that works ~5 ms, prints "ready" and exits, one of ~20 ms, and one of ~120 ms that builds a
map with many allocations. Each is timed warm (buildopt --no-cold; plain hyperfine -N) and cold
(buildopt's default eviction before every run; hyperfine --prepare with the same eviction, `dd
iflag=nocache count=0`, which is posix_fadvise(DONTNEED) of the whole file). The ~5 ms program
is timed by buildopt to its ready line and by hyperfine to its exit (it exits right after).

The two tools take turns: round 1 buildopt then hyperfine, round 2 hyperfine then buildopt, ...
so that drift of the machine hits both alike. Per case the script prints each tool's median of
round medians, their ratio and difference, and buildopt's own cost per run beyond the program
(`harness_ms`: page-cache eviction, the helper's fork/exec, reading the reports and stopping;
the median over runs), and the whole `buildopt startup` wall time per start.

Usage: python benchmarks/bench_startup.py [--runs N] [--rounds N] [--only warm|cold]
                                          [--buildopt CMD]
(needs hyperfine: apt-get install hyperfine). --buildopt runs another installation, e.g.
"/tmp/venv/bin/buildopt"; the default is this checkout's (python -m buildopt).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    ready_line: bool = False


CASES = (
    Case("exits at once", ()),
    Case("~5 ms, ready line, exit", ("-work", "cpu", "-n", "120"), ready_line=True),
    Case("~20 ms", ("-work", "cpu", "-n", "600")),
    Case("~120 ms, many allocations", ("-work", "alloc", "-n", "550000")),
)


def build(go: str, out: Path) -> Path:
    binary = out / "startprog"
    subprocess.run(
        [go, "build", "-trimpath", "-o", str(binary), "."],
        cwd=REPO / "benchmarks" / "startprog",
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return binary


@dataclass(frozen=True)
class Ours:
    median_ms: float
    harness_ms: float
    wall_per_start_ms: float


def buildopt_round(
    command: list[str], binary: Path, case: Case, runs: int, *, cold: bool, env: dict[str, str]
) -> Ours:
    argv = [
        *command,
        "startup",
        str(binary),
        "--runs",
        str(runs),
        "--warmup",
        "3",
        "--json",
        *(() if cold else ("--no-cold",)),
        *(("--ready-stdout", "^ready") if case.ready_line else ()),
        "--",
        *case.args,
    ]
    began = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, check=True, env=env)
    wall = time.monotonic() - began
    variant = json.loads(done.stdout)["variants"][0]
    starts = 3 + runs + variant["traced_runs"] + variant["failed_traced_runs"]
    return Ours(variant["median_ms"], variant["harness_ms"], wall * 1000 / starts)


def hyperfine_round(binary: Path, case: Case, runs: int, *, cold: bool, tmp: Path) -> float:
    export = tmp / "hyperfine.json"
    prepare = ["--prepare", f"dd if={binary} iflag=nocache count=0 status=none"] if cold else []
    subprocess.run(
        [
            "hyperfine",
            "-N",
            "--warmup",
            "3",
            "--runs",
            str(runs),
            *prepare,
            "--export-json",
            str(export),
            "--style",
            "none",
            shlex.join([str(binary), *case.args]),
        ],
        check=True,
        capture_output=True,
    )
    return float(json.loads(export.read_text())["results"][0]["median"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--only", choices=("warm", "cold"))
    parser.add_argument("--buildopt", help="command that runs buildopt (default: this checkout)")
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is needed (apt-get install hyperfine)")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    command = shlex.split(args.buildopt) if args.buildopt else [sys.executable, "-m", "buildopt"]
    env = dict(os.environ)
    if not args.buildopt:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    modes = [m for m in ("warm", "cold") if args.only in (None, m)]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        binary = build(go, tmp)
        print(
            f"{os.cpu_count()} CPUs; {args.rounds} rounds x {args.runs} runs per tool and case, "
            "tools taking turns; medians of round medians\n"
        )
        print(
            "| program | mode | buildopt startup | hyperfine -N | ratio | difference "
            "| harness per run | buildopt wall per start |"
        )
        print("|---|---|---:|---:|---:|---:|---:|---:|")
        for mode in modes:
            cold = mode == "cold"
            for case in CASES:
                ours: list[Ours] = []
                theirs: list[float] = []
                for round_no in range(args.rounds):
                    sides = ["buildopt", "hyperfine"]
                    for side in sides if round_no % 2 == 0 else reversed(sides):
                        if side == "buildopt":
                            ours.append(
                                buildopt_round(command, binary, case, args.runs, cold=cold, env=env)
                            )
                        else:
                            theirs.append(
                                hyperfine_round(binary, case, args.runs, cold=cold, tmp=tmp)
                            )
                a = statistics.median(o.median_ms for o in ours)
                b = statistics.median(theirs)
                harness = statistics.median(o.harness_ms for o in ours)
                per_start = statistics.median(o.wall_per_start_ms for o in ours)
                print(
                    f"| {case.name} | {mode} | {a:.2f} ms | {b:.2f} ms | {a / b:.3f} | "
                    f"{a - b:+.2f} ms | {harness:.2f} ms | {per_start:.1f} ms |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
