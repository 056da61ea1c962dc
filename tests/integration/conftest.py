"""Integration tests run the real Go toolchain and compare with independent tools."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from buildopt.system.toolchain import find_go
from tests.conftest import REPO

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def go() -> str:
    """The go command; integration tests fail (never skip) without it."""
    try:
        return find_go(os.environ)
    except Exception as exc:
        pytest.fail(f"integration tests need Go: {exc}")


def buildopt(
    args: Sequence[str], cwd: Path = REPO, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run the real command line: python -m buildopt ARGS."""
    return subprocess.run(
        [sys.executable, "-m", "buildopt", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=timeout,
        check=False,
    )


def go_version_m(go: str, binary: Path) -> dict[str, str]:
    """Build settings as `go version -m` prints them (the independent reference)."""
    out = subprocess.run(
        [go, "version", "-m", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    settings = {}
    for line in out.splitlines():
        fields = line.strip().split("\t")
        if fields[0] == "build":
            key, _, value = fields[1].partition("=")
            # go version -m prints values with spaces or quotes strconv.Quote'd
            settings[key] = ast.literal_eval(value) if value.startswith('"') else value
    return settings


def system_tool_missing(what: str, package: str) -> None:
    """A tool pip cannot install is missing: skip, naming the Debian package that has it - but
    under CI (CI=true), where .ci/run installs it, fail: nothing is skipped silently there."""
    message = f"needs {what} (Debian package {package})"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message}: .ci/run installs it")
    pytest.skip(message)


def readelf(*args: str) -> str:
    exe = shutil.which("readelf")
    if exe is None:
        pytest.fail("integration tests need readelf (binutils)")
    return subprocess.run([exe, "-W", *args], capture_output=True, text=True, check=True).stdout


def processes_with_env(needle: str) -> list[int]:
    """Pids of the processes whose environment contains needle (to find leftovers of a run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def copy_program(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(REPO / "tests" / "go" / name, target)
    return target


def hello_project(tmp_path: Path, profile: str, name: str = "p") -> Path:
    """A project with the hello program and one profile (text), not built yet."""
    project = tmp_path / "project"
    (project / "profiles").mkdir(parents=True)
    shutil.copytree(REPO / "tests" / "go" / "hello", project / "hello")
    (project / "profiles" / f"{name}.toml").write_text(profile)
    return project


@pytest.fixture(scope="session")
def probe(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/go/startprobe built: a program that behaves as start-up measurement must handle."""
    out = tmp_path_factory.mktemp("probe") / "startprobe"
    subprocess.run(
        [go, "build", "-o", str(out), "."],
        cwd=REPO / "tests" / "go" / "startprobe",
        check=True,
        capture_output=True,
        env={**os.environ, "CGO_ENABLED": "0"},
    )
    return out


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_text(pid: int, name: str) -> str:
    """/proc/PID/NAME (cmdline, comm, ...); "" once the process has ended."""
    try:
        return Path(f"/proc/{pid}/{name}").read_text(errors="replace").strip()
    except OSError:
        return ""
