"""The twin link (-dumpdep, unstripped) of a real variant: its layout is the shipped binary's,
and the linker's reach it prints is read whole."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from buildopt.config.profile import load_profile
from buildopt.pipeline.plan import make_plan
from buildopt.pipeline.twin import TwinFailed, same_layout, twin_link
from buildopt.system import proc
from buildopt.system.toolchain import load
from tests.integration.conftest import hello_project

pytestmark = pytest.mark.integration

PROFILE = (
    'package = "./hello"\ntargets = ["linux/amd64", "linux/arm64", "linux/arm/v7"]\n'
    'baseline = "small"\n[variants.small]\ncgo = false\nstrip = "all"\ntrimpath = true\n'
)


def _steps(project: Path):  # type: ignore[no-untyped-def]
    environ = dict(os.environ)
    return make_plan(load_profile("p", project), load(environ), environ).steps, environ


def test_the_twin_has_the_shipped_layout_on_each_architecture(tmp_path: Path, go: str) -> None:
    project = hello_project(tmp_path, PROFILE)
    steps, environ = _steps(project)
    assert len(steps) == 3
    group = proc.ProcessGroup()
    for step in steps:
        step.stage.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(step.argv, cwd=step.dir, env={**environ, **step.env}, check=True)
        with twin_link(step, environ, group, timeout=300) as twin:
            assert same_layout(step.stage, twin.binary) == (), step.id
            symbols = subprocess.run(
                [go, "tool", "nm", str(twin.binary)], capture_output=True, text=True, check=True
            ).stdout  # the twin keeps its symbol table; the shipped binary has none
            assert " T main.main\n" in symbols
            reach = twin.reach()
            chain = reach.chain("main.main")
            assert chain[-1] == "main.main" and reach.parent[chain[0]] == ""
            assert any(s.startswith('go:string."v=%s user=%s\\n"') for s in reach.parent)
            folder = twin.binary.parent
        assert not folder.exists()  # removed at the end of the block
    assert sorted(p.name for p in steps[0].stage.parent.iterdir()) == [steps[0].stage.name]


def test_another_binary_is_told_apart(tmp_path: Path) -> None:
    """A binary whose sections moved (another program) is refused with what differs."""
    project = hello_project(tmp_path, PROFILE)
    steps, environ = _steps(project)
    amd64, arm64 = steps[0], steps[1]
    for step in (amd64, arm64):
        step.stage.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(step.argv, cwd=step.dir, env={**environ, **step.env}, check=True)
    problems = same_layout(amd64.stage, arm64.stage)
    assert problems and any(p.startswith(".text: ") for p in problems)
    assert same_layout(amd64.stage, tmp_path / "missing")[0].startswith(str(tmp_path))


def test_a_failing_twin_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    project = hello_project(tmp_path, PROFILE)
    steps, environ = _steps(project)
    (project / "hello" / "main.go").write_text("package main\nfunc main() { undefined() }\n")
    with (
        pytest.raises(TwinFailed) as failed,
        twin_link(steps[0], environ, proc.ProcessGroup(), timeout=300),
    ):
        pass
    assert failed.value.exit_code == 1
    assert "undefined" in str(failed.value) and "\n" not in str(failed.value)
    assert not any(steps[0].stage.parent.iterdir())


def test_a_new_binary_is_linked_a_second_time_once(tmp_path: Path) -> None:
    """The owners of its bytes and its dead-code elimination come from the same twin link."""
    from tests.integration.conftest import buildopt

    one = PROFILE.replace('"linux/amd64", "linux/arm64", "linux/arm/v7"', '"linux/arm64"')
    project = hello_project(tmp_path, one)
    done = buildopt(["--debug", "build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    links = [line for line in done.stderr.splitlines() if "+ " in line and "-dumpdep" in line]
    assert len(links) == 1, links
    (told,) = [line for line in done.stderr.splitlines() if line.startswith("small@")]
    assert "attributed to packages (linker)" in told and "dead-code elimination on" in told
