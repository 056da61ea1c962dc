"""Benchmark `buildopt startup` against `hyperfine -N` on the same binaries, in one run.

For each program (the example's eager and lazy-init variants in --check mode, which initialise
and exit, and a trivial Go program), both tools measure warm starts to exit, in alternating
rounds (buildopt, hyperfine, buildopt, ...) so that drift of the machine hits both alike; the
script reports the median of each tool's round medians, their ratio, and the difference as the
harness's overhead per run. buildopt runs the program with GODEBUG=gctrace=1,inittrace=1 (its
GC and init figures need them) and reads its output through pipes; hyperfine discards it.

Usage: python benchmarks/bench_startup.py [--runs N]   (needs hyperfine: apt-get install hyperfine)
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # this checkout's buildopt


def build(go: str, out: Path) -> dict[str, list[str]]:
    example = REPO / "examples" / "billing-gateway"
    programs = {}
    for name, tags in (("eager", ""), ("lazy", "lazyinit")):
        binary = out / f"billing-gateway-{name}"
        subprocess.run(
            [go, "build", "-trimpath", f"-tags={tags}", "-o", str(binary), "."],
            cwd=example,
            check=True,
            env={**os.environ, "CGO_ENABLED": "0"},
        )
        programs[f"billing-gateway {name} --check"] = [str(binary), "--check"]
    probe = REPO / "tests" / "go" / "startprobe"
    binary = out / "startprobe"
    subprocess.run(
        [go, "build", "-o", str(binary), "."],
        cwd=probe,
        check=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    programs["trivial Go program"] = [str(binary), "-mode", "exit"]
    return programs


def buildopt_median(argv: list[str], runs: int, trace: bool = True) -> float:
    env = dict(os.environ) if trace else {**os.environ, "GODEBUG": "gctrace=0,inittrace=0"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "buildopt",
            "startup",
            argv[0],
            "--runs",
            str(runs),
            "--warmup",
            "3",
            "--no-cold",
            "--json",
            "--",
            *argv[1:],
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(json.loads(done.stdout)["variants"][0]["median_ms"])


def hyperfine_median(argv: list[str], runs: int, tmp: Path, output: str = "null") -> float:
    export = tmp / "hyperfine.json"
    subprocess.run(
        [
            "hyperfine",
            "-N",
            "--warmup",
            "3",
            "--runs",
            str(runs),
            "--export-json",
            str(export),
            "--style",
            "none",
            f"--output={output}",
            subprocess.list2cmdline(argv),
        ],
        check=True,
        capture_output=True,
    )
    return float(json.loads(export.read_text())["results"][0]["median"]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        sys.exit("hyperfine is needed (apt-get install hyperfine)")
    go = shutil.which("go") or "/usr/local/go/bin/go"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        programs = build(go, tmp)
        print(
            f"| program (warm, to exit; {args.rounds} x {args.runs} runs) | buildopt startup | "
            "hyperfine -N | ratio | buildopt - hyperfine |"
        )
        print("|---|---:|---:|---:|---:|")
        cases = [(name, argv, True, "null") for name, argv in programs.items()]
        trivial = programs["trivial Go program"]
        cases.append(("trivial Go program, no tracing, both through pipes", trivial, False, "pipe"))
        for name, argv, trace, output in cases:
            ours_rounds, their_rounds = [], []
            for _ in range(args.rounds):
                ours_rounds.append(buildopt_median(argv, args.runs, trace))
                their_rounds.append(hyperfine_median(argv, args.runs, tmp, output))
            ours, theirs = statistics.median(ours_rounds), statistics.median(their_rounds)
            print(
                f"| {name} | {ours:.2f} ms | {theirs:.2f} ms | {ours / theirs:.3f} | "
                f"{ours - theirs:+.2f} ms |"
            )


if __name__ == "__main__":
    main()
