"""The rules of docs/architecture.md that import-linter cannot see: which calls may start or
signal a process, and that every module sits in its stage's folder."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "buildopt"
STAGES = {
    "cli",
    "config",
    "pipeline",
    "record",
    "binary",
    "analysis",
    "measure",
    "system",
    "output",
}
# os functions that start, replace or signal a process
PROCESS_CALLS = frozenset(
    {
        "fork",
        "forkpty",
        "kill",
        "killpg",
        "wait",
        "wait3",
        "wait4",
        "waitpid",
        "system",
        "popen",
        "posix_spawn",
        "posix_spawnp",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "spawnv",
    }
)


def process_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    return [
        f"{path.relative_to(REPO)}:{node.lineno}: os.{node.func.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "os"
        and node.func.attr in PROCESS_CALLS
    ]


def test_processes_are_started_and_signalled_only_in_system() -> None:
    found = [
        call
        for path in PACKAGE.rglob("*.py")
        if "system" not in path.relative_to(PACKAGE).parts
        for call in process_calls(path)
    ]
    assert found == []
    assert process_calls(PACKAGE / "system" / "proc.py")  # the check sees such calls


def test_every_module_is_in_a_stage_folder() -> None:
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == {"__init__.py", "__main__.py", "errors.py", "inputs.py", "names.py"}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == STAGES | {"schemas", "docs"}  # data: JSON Schemas, the docs (a link)


def test_no_module_is_over_600_lines() -> None:
    """A module past 600 lines holds more than one concern: split it (docs/architecture.md)."""
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert len(sizes) > 100
    assert {p: n for p, n in sizes.items() if n > 600} == {}


def test_models_are_structs_not_dataclasses() -> None:
    """docs/architecture.md: every model is a msgspec Struct - a dataclass costs ~0.5 ms to
    define, and each command's start pays for the classes it imports."""
    found = [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and node.module == "dataclasses")
        or (isinstance(node, ast.Import) and any(a.name == "dataclasses" for a in node.names))
    ]
    assert not found, f"dataclasses imported (make the model a msgspec.Struct): {found}"
