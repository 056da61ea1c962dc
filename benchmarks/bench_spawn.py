"""Benchmark what buildopt adds to starting an owned command (go build, mksquashfs).

Runs ``/bin/true`` through ``ProcessGroup.run`` - the way every go build is started, guard
included - many times in a fresh process, and reports the median, min and max time per
command. With ``--baseline DIR`` the buildopt of another checkout (the code before a change)
does the same, the sides taken in turn for --rounds rounds: a per-command figure that the
noise of a shared machine blurs less than a whole rebuild does (benchmarks/bench_rebuild.py).

Usage: python benchmarks/bench_spawn.py [--runs N] [--rounds N] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOOP = """
import json, os, sys, time
from buildopt.system import proc
group, env, times = proc.ProcessGroup(), dict(os.environ), []
for _ in range(int(sys.argv[1]) + 1):  # the first starts the guard of a run: not counted
    start = time.perf_counter()
    assert group.run(["/bin/true"], env=env, cwd="/").returncode == 0
    times.append(time.perf_counter() - start)
print(json.dumps(times[1:]))
"""


def per_command(checkout: Path, runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [sys.executable, "-c", LOOP, str(runs)], env=env, cwd="/", capture_output=True, check=True
    )
    return list(json.loads(done.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=50, help="commands per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args()
    sides = {
        "this checkout": ROOT,
        **({str(args.baseline): args.baseline} if args.baseline else {}),
    }
    times: dict[str, list[float]] = {side: [] for side in sides}
    names = list(sides)
    for n in range(args.rounds):
        for side in names[n % len(names) :] + names[: n % len(names)]:
            times[side] += per_command(sides[side], args.runs)
    print(f"/bin/true by ProcessGroup.run, {args.rounds} rounds of {args.runs}, sides in turn")
    print("| buildopt | median | min | max |\n|---|---:|---:|---:|")
    for side, values in times.items():
        ms = [v * 1000 for v in values]
        print(f"| {side} | {statistics.median(ms):.2f} ms | {min(ms):.2f} ms | {max(ms):.2f} ms |")


if __name__ == "__main__":
    main()
