"""Sources go would wait on forever (issue 22, item 4): a FIFO named *.go in a module made
scan, init, build and why hang in go list for 120 s and more. Now the module's source files
are checked before go starts: exit 2 at once, the file named. Every go command has a deadline
that names it. Each run has a subprocess timeout, so that a regression fails, not hangs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.conftest import buildopt

pytestmark = pytest.mark.integration

GUARD = 60  # seconds: far more than any of these takes, far less than a hang


def fifo_module(tmp_path: Path, fifo: str) -> Path:
    """A module whose main package (app/) imports lib/, with a FIFO at fifo, and profile p."""
    root = tmp_path / "m"
    for folder in ("app", "lib", "profiles"):
        (root / folder).mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (root / "app" / "main.go").write_text(
        'package main\n\nimport _ "example.com/m/lib"\n\nfunc main() {}\n'
    )
    (root / "lib" / "lib.go").write_text("package lib\n")
    (root / "profiles" / "p.toml").write_text('package = "./app"\n[variants.a]\ncgo = false\n')
    os.mkfifo(root / fifo)
    return root


@pytest.mark.parametrize("fifo", ["app/x.go", "lib/x.go"])
@pytest.mark.parametrize(
    "args",
    [["scan"], ["init"], ["build", "--profile", "p"], ["why", "fmt", "--profile", "p"]],
    ids=["scan", "init", "build", "why"],
)
def test_a_fifo_source_is_refused_at_once(tmp_path: Path, fifo: str, args: list[str]) -> None:
    root = fifo_module(tmp_path, fifo)
    done = buildopt(args, cwd=root, timeout=GUARD)
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last == f"error: {fifo}: not a regular file (a FIFO); go would wait on it forever"
    assert not (root / "profiles" / "app.toml").exists()  # init wrote nothing


def test_a_fifo_outside_any_module_is_skipped_with_a_note(tmp_path: Path) -> None:
    """scan outside a module walks the folders for modules: a FIFO named *.go (or go.mod) in
    a folder of no module is skipped, and said, never opened."""
    root = fifo_module(tmp_path, "lib/ok.txt")
    (root / "lib" / "ok.txt").unlink()
    loose = tmp_path / "loose"
    loose.mkdir()
    os.mkfifo(loose / "y.go")
    os.mkfifo(loose / "go.mod")
    done = buildopt(["scan"], cwd=tmp_path, timeout=GUARD)
    assert done.returncode == 0, done.stderr
    assert "note: loose/y.go: not a regular file (a FIFO); skipped" in done.stderr
    assert "note: loose/go.mod: not a regular file (a FIFO); skipped" in done.stderr
    assert "2 files: " in done.stdout  # the module was scanned


def test_go_list_has_a_deadline_that_names_it(go: str, tmp_path: Path) -> None:
    """go list of the scan had a fixed 300 s; it now has BUILDOPT_GO_TIMEOUT, and its
    message names the command."""
    root = fifo_module(tmp_path, "lib/ok.txt")
    fake = tmp_path / "slow-go"
    fake.write_text(f'#!/bin/sh\n[ "$1" = list ] && exec sleep 300\nexec {go} "$@"\n')
    fake.chmod(0o755)
    done = buildopt(
        ["scan"],
        cwd=root,
        env={"BUILDOPT_GO": str(fake), "BUILDOPT_GO_TIMEOUT": "2"},
        timeout=GUARD,
    )
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert " list -e -json ./... did not finish within 2 s and was stopped" in last, last
