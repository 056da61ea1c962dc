"""`buildopt init` on a real module with several main packages: which one it profiles, what it
says about the others, --package from a subfolder, the budgets of byte-identical binaries,
tasks.py only when asked, and a profile that points to `buildopt docs`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.integration.conftest import buildopt

MAINS = ("cmd/a", "cmd/b", "cmd/daemon", ".")


@pytest.fixture
def module(tmp_path: Path) -> Path:
    """example.com/svc: main packages in cmd/a, cmd/b, cmd/daemon and the root."""
    root = tmp_path / "svc"
    for folder in MAINS:
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "main.go").write_text(
            f'package main\n\nfunc main() {{ println("{folder}") }}\n'
        )
    (root / "internal" / "x").mkdir(parents=True)
    (root / "internal" / "x" / "x.go").write_text("package x\n")
    (root / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n")
    return root


def profiled_package(module: Path, name: str) -> str:
    match = re.search(
        r'^package = "(.*)"$', (module / "profiles" / f"{name}.toml").read_text(), re.M
    )
    assert match, "the profile names no package"
    return match.group(1)


def test_from_a_main_packages_folder_that_package_is_profiled(go: str, module: Path) -> None:
    done = buildopt(["init"], cwd=module / "cmd" / "daemon")
    assert done.returncode == 0, done.stderr
    assert profiled_package(module, "daemon") == "./cmd/daemon"
    assert "4 main packages; profiling ./cmd/daemon (the folder init runs in)" in done.stderr
    for other in ("./cmd/a", "./cmd/b", "."):
        assert f"  also: {other}\n" in done.stderr
    assert "--package DIR" in done.stderr


def test_from_the_root_the_choice_and_the_others_are_said(go: str, module: Path) -> None:
    (module / "main.go").unlink()  # no main in the root: chosen by name among cmd/*
    done = buildopt(["init"], cwd=module)
    assert done.returncode == 0, done.stderr
    assert profiled_package(module, "a") == "./cmd/a"
    assert "3 main packages; profiling ./cmd/a (the shortest path under ./cmd/)" in done.stderr
    assert "  also: ./cmd/b\n" in done.stderr and "  also: ./cmd/daemon\n" in done.stderr
    text = (module / "profiles" / "a.toml").read_text()
    assert "# Other main packages in this module: ./cmd/b, ./cmd/daemon." in text


def test_package_dot_from_a_subfolder_and_an_unknown_package(go: str, module: Path) -> None:
    daemon = module / "cmd" / "daemon"
    done = buildopt(["init", "--package", "."], cwd=daemon)
    assert done.returncode == 0, done.stderr
    assert profiled_package(module, "daemon") == "./cmd/daemon"
    by_root = buildopt(["init", "--package", "./cmd/b"], cwd=daemon)  # the module root's
    assert by_root.returncode == 0, by_root.stderr
    assert profiled_package(module, "b") == "./cmd/b"

    wrong = buildopt(["init", "--package", "./nonexistent"], cwd=daemon)
    assert wrong.returncode == 2, wrong.stderr
    errors = [line for line in wrong.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: init: --package ./nonexistent: not a main package of example.com/svc; "
        "its main packages:"
    ]
    assert all(len(line) < 200 for line in wrong.stderr.splitlines())
    listed = wrong.stderr.split(errors[0], 1)[1].split()
    assert listed == [".", "./cmd/a", "./cmd/b", "./cmd/daemon"]


def test_byte_identical_binaries_share_one_budget(go: str, module: Path) -> None:
    """For linux/arm64 without a cross C compiler, `default` builds without cgo: the same bytes
    as `static`. One budget selects both, with a note; the gate passes on it."""
    done = buildopt(["init", "--budgets"], cwd=module / "cmd" / "daemon")
    assert done.returncode == 0, done.stderr
    text = (module / "profiles" / "daemon.toml").read_text()
    assert "# static@linux-arm64: byte-identical to default@linux-arm64" in text
    assert 'select = ["default@linux-arm64", "static@linux-arm64"]' in text
    assert len(re.findall(r"^\[\[budget\]\]$", text, re.M)) == 7  # for 8 binaries
    assert "budgets: 7 for 8 binaries" in done.stderr
    gate = buildopt(["gate", "--profile", "daemon"], cwd=module)
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_budgets_when_the_builds_fail_is_a_failure(go: str, module: Path) -> None:
    """Every build failing printed "budgets: 0 for 0 binaries" and exited 0."""
    (module / "cmd" / "b" / "main.go").write_text("package main\n\nfunc main() { nope() }\n")
    done = buildopt(["init", "--budgets"], cwd=module / "cmd" / "b")
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors and re.search(r"(\d+) of \1 builds failed", errors[0]), errors
    assert len(errors[0]) < 200
    assert (module / "profiles" / "b.toml").is_file()  # the profile is kept, to fix and build


def test_tasks_py_only_with_tasks_and_no_repository_paths(go: str, module: Path) -> None:
    done = buildopt(["init"], cwd=module)
    assert done.returncode == 0, done.stderr
    assert not (module / "tasks.py").exists()
    text = (module / "profiles" / "svc.toml").read_text()
    assert "`buildopt docs profiles`" in text
    assert not re.search(r"docs/\w+\.md|buildopt's sources", text)
    again = buildopt(["init", "--tasks", "--package", "./cmd/b"], cwd=module)
    assert again.returncode == 0, again.stderr
    assert "from buildopt.cli.tasks import ns" in (module / "tasks.py").read_text()
