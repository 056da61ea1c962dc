"""Shared helpers: the repository root and a way to write profiles for tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

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
