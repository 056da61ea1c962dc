"""buildopt as a user gets it - the wheel installed by pip into a fresh virtual environment -
on a Go module of their own, from a subdirectory: init, invoke build, gate, scan, startup."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

MAIN = """package main

import (
	"fmt"
	"runtime"
)

func init() { runtime.GOMAXPROCS(4) }

func main() { fmt.Println("ready") }
"""


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with buildopt's wheel (and its dependencies from PyPI) installed."""
    where = tmp_path_factory.mktemp("venv")
    wheels = where / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("buildopt-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(where / "env")], check=True)
    pip = [str(where / "env" / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)]
    # without PYTHONPATH: a checkout on it (a worktree run with PYTHONPATH=$PWD) holds the
    # buildopt.egg-info that `pip wheel` leaves, and pip took buildopt as installed already
    alone = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run(pip, check=True, capture_output=True, env=alone)
    return where / "env" / "bin"


def test_init_build_gate_scan_startup_on_a_module_of_ones_own(
    go: str, venv: Path, tmp_path: Path
) -> None:
    module = tmp_path / "svc"
    (module / "cmd" / "svc").mkdir(parents=True)
    (module / "internal" / "deep").mkdir(parents=True)
    (module / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    (module / "cmd" / "svc" / "main.go").write_text(MAIN)
    (module / "internal" / "deep" / "x.go").write_text("package deep\n")
    env = {**os.environ, "NO_COLOR": "1", "PATH": f"{venv}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    deep = module / "internal" / "deep"  # everything from a subdirectory

    init = run([str(venv / "buildopt"), "init", "--budgets", "--tasks"], deep, env)
    assert init.returncode == 0, init.stderr
    profile = module / "profiles" / "svc.toml"
    text = profile.read_text()
    assert 'package = "./cmd/svc"' in text and "[variants.static-stripped]" in text
    assert '[[budget]]\nname = "static-stripped@' in text  # one per binary, its own size
    assert (module / "tasks.py").read_text().count("from buildopt.cli.tasks import ns") == 1
    again = run([str(venv / "buildopt"), "init"], deep, env)
    assert again.returncode == 2 and "exists already" in again.stderr

    built = run([str(venv / "invoke"), "build", "--profile=svc"], deep, env)
    assert built.returncode == 0, built.stderr
    assert "static-stripped@" in built.stdout and "ok" in built.stdout  # results on stdout
    record = json.loads((module / "dist" / "svc" / "build.json").read_text())
    ok = [b for b in record["builds"] if b["status"] == "ok"]
    assert {"default", "static", "static-stripped"} <= {b["variant"] for b in ok}
    assert all(Path(b["output"]).is_file() for b in ok)

    gate = run([str(venv / "buildopt"), "gate"], deep, env)  # --profile: the only one
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert "PASS" in gate.stdout and "FAIL" not in gate.stdout

    scan = run([str(venv / "buildopt"), "scan", "--json", str(module)], deep, env)
    assert scan.returncode == 1, scan.stderr  # an error-level finding: the GOMAXPROCS pin
    findings = json.loads(scan.stdout)["findings"]
    assert [f["rule"] for f in findings if f["rule"].startswith("gomaxprocs")] == [
        "gomaxprocs-constant"
    ]

    page = run([str(venv / "buildopt"), "docs", "profiles"], deep, env)  # shipped in the wheel
    assert page.returncode == 0 and page.stdout.startswith("# Build profiles")
    assert "\n## Variants that extend variants\n" in page.stdout  # the page as the repo has it

    startup = run(
        [str(venv / "buildopt"), "startup", "--profile", "svc", "--runs", "3", "--json"],
        deep,
        env,
    )
    assert startup.returncode == 0, startup.stderr
    measured = json.loads(startup.stdout)["variants"]
    assert measured and all(v["runs"] == 3 for v in measured)
