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

Usage: python benchmarks/bench_rebuild.py PROJECT_DIR PROFILE [--runs N] [--jobs N] [--cold]
       [--venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
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
    args = parser.parse_args()
    if args.venv is not None:
        COMMAND[:] = install(args.venv)
    plan = json.loads(buildopt(["plan", "--profile", args.profile, "--json"], args.project).stdout)
    steps = plan["steps"]
    build = ["build", "--profile", args.profile, "--jobs", str(args.jobs)]
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        out.mkdir()
        dist = Path(scratch) / "dist"
        build += ["--dist", str(dist)]
        times: dict[str, list[float]] = {"buildopt": [], "by hand": []}
        if not args.cold:
            buildopt(build, args.project)  # warm: the Go cache, the stages, the helpers
            by_hand(steps, out, args.jobs)
        for run in range(args.runs):
            for side in ("buildopt", "by hand") if run % 2 == 0 else ("by hand", "buildopt"):
                cache = Path(scratch) / f"cache-{run}-{side.replace(' ', '-')}"
                extra = {"GOCACHE": str(cache)} if args.cold else {}
                if args.cold:  # nothing built: every output goes
                    shutil.rmtree(dist, ignore_errors=True)
                    shutil.rmtree(out, ignore_errors=True)
                    out.mkdir()
                start = time.perf_counter()
                if side == "buildopt":
                    buildopt(build, args.project, {**os.environ, **extra})
                else:
                    by_hand(steps, out, args.jobs, extra)
                times[side].append(time.perf_counter() - start)
                shutil.rmtree(cache, ignore_errors=True)
    ours, theirs = statistics.median(times["buildopt"]), statistics.median(times["by hand"])
    kind = "cold (empty GOCACHE)" if args.cold else "unchanged"
    print(
        f"{args.profile}: {len(steps)} builds, {args.jobs} at a time, {kind}, median of {args.runs}"
    )
    print("| side | wall |\n|---|---:|")
    print(f"| buildopt build, {kind} | {ours:.2f} s |")
    print(f"| the same go build commands by hand | {theirs:.2f} s |")
    print(f"| ratio | {ours / theirs:.2f}x |")


if __name__ == "__main__":
    main()
