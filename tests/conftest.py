"""Shared helpers: the repository root and a way to write profiles for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import settings

# No time limit per example: speed is measured in benchmarks/, not asserted in tests (the
# default 200 ms deadline failed a parser test on a loaded 2-core machine).
settings.register_profile("buildopt", deadline=None)
settings.load_profile("buildopt")

REPO = Path(__file__).resolve().parent.parent
GO_PROGRAMS = REPO / "tests" / "go"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project: profiles/ and a main package directory with a go.mod."""
    (tmp_path / "profiles").mkdir()
    app = tmp_path / "app"
    app.mkdir()
    (app / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (app / "main.go").write_text("package main\n\nfunc main() {}\n")
    return tmp_path


def write_profile(project: Path, name: str, text: str) -> Path:
    path = project / "profiles" / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path
