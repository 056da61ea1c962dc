"""Benchmark an unchanged rebuild: `buildopt build` against the same go build commands by hand.

After one build to warm everything up, times in turn (sides alternating, median of --runs):

* ``buildopt build --profile P`` (a fresh process: start-up, toolchain query, plan, builds,
  verification or reuse, record);
* the plan's own ``go build`` commands (``buildopt plan --json``: the same argv, env and
  directory), run by hand into output paths of their own that persist from run to run, as
  many at a time as buildopt runs (``--jobs``, default: the CPUs).

Both sides let go find its outputs up to date; the ratio is what buildopt adds to that.
With ``--cold``, every run of either side starts from an empty Go build cache (GOCACHE) and
without its outputs: everything is compiled and linked again, as on a fresh CI runner.

With ``--venv DIR``, buildopt is first installed by pip into a fresh virtual environment there
and that ``buildopt`` is timed: the tool as users get it, without this checkout's editable
install and the development interpreter's site hooks.

With ``--baseline DIR``, the buildopt of another checkout (the code before a change) is timed
too, as a third side in the same turns, into its own output directory.

Usage: python benchmarks/bench_rebuild.py PROJECT_DIR PROFILE [--runs N] [--jobs N] [--cold]
       [--venv DIR] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMAND = [sys.executable, "-m", "buildopt"]  # or an installed buildopt (--venv)


def install(venv: Path) -> list[str]:
    """The buildopt command of a fresh virtual environment with this checkout pip-installed."""
    root = Path(__file__).resolve().parent.parent
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(root)]
    subprocess.run(pip, check=True)
    return [str(venv / "bin" / "buildopt")]


def buildopt(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )


def by_hand(
    steps: list[dict[str, object]], out: Path, jobs: int, extra: dict[str, str] | None = None
) -> None:
    """The plan's go build commands, ``jobs`` at a time, each into its own lasting path."""
    running: list[subprocess.Popen[bytes]] = []
    for step in steps:
        argv = [str(a) for a in step["argv"]]  # type: ignore[attr-defined]
        argv[argv.index("-o") + 1] = str(out / str(step["id"]))
        env = {**os.environ, **(extra or {}), **step["env"]}  # type: ignore[dict-item]
        running.append(subprocess.Popen(argv, cwd=str(step["dir"]), env=env))
        if len(running) >= jobs and running.pop(0).wait():
            raise SystemExit("a go build failed")
    for proc in running:
        if proc.wait():
            raise SystemExit("a go build failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("profile")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--cold", action="store_true", help="an empty GOCACHE for every run")
    parser.add_argument("--venv", type=Path, default=None, help="time a pip install there")
    parser.add_argument("--baseline", type=Path, default=None, help="also time this checkout's")
    args = parser.parse_args()
    if args.venv is not None:
        COMMAND[:] = install(args.venv)
    plan = json.loads(buildopt(["plan", "--profile", args.profile, "--json"], args.project).stdout)
    steps = plan["steps"]
    sides = ["buildopt", "by hand", *(["baseline"] if args.baseline else [])]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        out.mkdir()
        dist = {side: Path(scratch) / f"dist-{side.replace(' ', '-')}" for side in sides}

        def build(side: str, extra: dict[str, str]) -> None:
            env = {**os.environ, **extra}
            if side == "baseline":
                env["PYTHONPATH"] = str(args.baseline)
            argv = [*build_args, "--dist", str(dist[side])]
            buildopt(argv, args.project, env)

        build_args = ["build", "--profile", args.profile, "--jobs", str(args.jobs)]
        times: dict[str, list[float]] = {side: [] for side in sides}
        cpu: dict[str, list[float]] = {side: [] for side in sides}
        if not args.cold:  # warm: the Go cache, the stages, the helpers
            for side in sides:
                if side == "by hand":
                    by_hand(steps, out, args.jobs)
                else:
                    build(side, {})
        for run in range(args.runs):
            for side in sides[run % len(sides) :] + sides[: run % len(sides)]:
                cache = Path(scratch) / f"cache-{run}-{side.replace(' ', '-')}"
                extra = {"GOCACHE": str(cache)} if args.cold else {}
                if args.cold:  # nothing built: every output goes
                    shutil.rmtree(dist[side], ignore_errors=True)
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                start, used = time.perf_counter(), cpu_of_children()
                if side == "by hand":
                    by_hand(steps, out, args.jobs, extra)
                else:
                    build(side, extra)
                times[side].append(time.perf_counter() - start)
                cpu[side].append(cpu_of_children() - used)
                shutil.rmtree(cache, ignore_errors=True)
    report(args, len(steps), times, cpu)


def cpu_of_children() -> float:
    """User + system seconds of the waited-for child processes so far (go's included)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def report(
    args: argparse.Namespace,
    builds: int,
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
) -> None:
    theirs = statistics.median(times["by hand"])
    theirs_cpu = statistics.median(cpu["by hand"])
    kind = "cold (empty GOCACHE)" if args.cold else "unchanged"
    print(f"{args.profile}: {builds} builds, {args.jobs} at a time, {kind}, median of {args.runs}")
    print("| side | wall (median) | min-max | ratio | CPU (median) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    labels = {
        "buildopt": f"buildopt build, {kind}",
        "baseline": f"buildopt build of {args.baseline}, {kind}",
        "by hand": "the same go build commands by hand",
    }
    for side, values in times.items():
        ours, used = statistics.median(values), statistics.median(cpu[side])
        print(
            f"| {labels[side]} | {ours:.3f} s | {min(values):.3f}-{max(values):.3f} s "
            f"| {ours / theirs:.3f}x | {used:.3f} s | {used / theirs_cpu:.3f}x |"
        )


if __name__ == "__main__":
    main()
