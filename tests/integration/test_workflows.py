"""The GitHub Actions workflows: valid per actionlint (built from its Go module), pinned, minimal."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    gobin = tmp_path_factory.mktemp("gobin")
    done = subprocess.run(
        [go, "install", ACTIONLINT],
        env={**os.environ, "GOBIN": str(gobin)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"go install {ACTIONLINT} failed: {done.stderr[-500:]}"
    return gobin / "actionlint"


def test_there_are_workflows() -> None:
    assert {w.name for w in WORKFLOWS} >= {"ci.yml", "size.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(actionlint: Path, workflow: Path) -> None:
    done = subprocess.run(
        [str(actionlint), "-no-color", str(workflow)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_fail_on_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ matrix.nope }}\n"
    )
    done = subprocess.run(
        [str(actionlint), "-no-color", str(broken)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_pinned_minimal_and_cancellable(workflow: Path) -> None:
    text = workflow.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"not pinned: {action}"
    assert re.search(r"^permissions:\n  contents: read$", text, re.M)
    assert re.search(r"^concurrency:", text, re.M)
