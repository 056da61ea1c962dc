"""Inputs that hung buildopt or were read without limit (issue 11): FIFOs, devices and
directories where a file is expected, and profiles shaped to make the TOML parser take minutes
or recurse. Each is one line and exit 2, at once, with no process left behind."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from tests.faults.conftest import buildopt, processes_with_env
from tests.integration.conftest import hello_project

pytestmark = pytest.mark.integration


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["inspect", "{fifo}"], "{fifo}: not a regular file (a FIFO), not an ELF file"),
        (["inspect", "--json", "{fifo}"], "{fifo}: not a regular file (a FIFO)"),
        (["inspect", "/dev/zero"], "/dev/zero: not a regular file (a character device)"),
        (["compare", "{fifo}"], "{fifo}: not a regular file (a FIFO), not a build record"),
        (["compare", "/dev/zero"], "/dev/zero: not a regular file (a character device)"),
        (["merge", "{fifo}", "-o", "{dir}/m.json"], "{fifo}: not a regular file (a FIFO)"),
        (["compare", "{dir}"], "{dir}: not a regular file (a directory), not a build record"),
        (["plan", "--profile", "{fifo}"], "--profile {fifo}: {fifo} is not a regular file"),
        (["plan", "--profile", "/dev/null"], "--profile /dev/null: /dev/null is not a regular"),
    ],
)
def test_not_a_regular_file_is_refused_at_once(
    fifo: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    mark = uuid.uuid4().hex  # unique across xdist workers, whose tmp_path names repeat
    filled = [a.format(fifo=fifo, dir=tmp_path) for a in args]
    started = time.monotonic()
    done = buildopt(filled, env={"BUILDOPT_TEST_MARK": mark}, timeout=30)
    assert time.monotonic() - started < 20
    assert done.returncode == 2
    assert done.stderr.startswith("error: " + expected.format(fifo=fifo, dir=tmp_path))
    assert done.stderr.count("\n") == 1
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []


def test_a_bad_file_before_a_good_one_still_reports_the_good_one(fifo: Path) -> None:
    import json
    import shutil

    good = str(Path(shutil.which("go") or "/usr/local/go/bin/go").resolve())
    done = buildopt(["inspect", "--json", str(fifo), "/dev/zero", good], timeout=60)
    assert done.returncode == 2
    first, second, third = json.loads(done.stdout)["binaries"]
    assert "FIFO" in first["error"] and "character device" in second["error"]
    assert third["path"] == good and third["packages"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (".".join(["k"] * 100_000) + " = 1\n", "a dotted key of more than 64 parts"),
        ("a = " + "[" * 100_000 + "]" * 100_000 + "\n", "arrays or tables nested too deeply"),
        (
            "a = " + "{b = " * 50_000 + "1" + "}" * 50_000 + "\n",
            "arrays or tables nested too deeply",
        ),
        ("# padding\n" * 200_000, "larger than the 1,048,576 bytes allowed"),
    ],
)
def test_profiles_shaped_against_the_parser(tmp_path: Path, text: str, expected: str) -> None:
    """A 100,000-part dotted key once ran 300 s and took 23.6 GB; deep nesting raised
    RecursionError (exit 3)."""
    profile = tmp_path / "hostile.toml"
    profile.write_text(text)
    started = time.monotonic()
    done = buildopt(["plan", "--profile", str(profile)], timeout=60)
    assert time.monotonic() - started < 20
    assert done.returncode == 2
    assert done.stderr == f"error: {profile}: {expected}\n"


def test_the_record_size_limit_is_documented_and_overridable(tmp_path: Path) -> None:
    record = tmp_path / "build.json"
    record.write_text('{"schema": "buildopt.build/1"}' + " " * 2048)
    done = buildopt(["compare", str(record)], env={"BUILDOPT_MAX_JSON": "1 KiB"})
    assert done.returncode == 2
    assert "larger than the 1,024 bytes allowed for a build record (BUILDOPT_MAX_JSON)" in (
        done.stderr
    )
    over = buildopt(["compare", str(record)])  # the default limit: read, then found short
    assert over.returncode == 2 and "buildopt: required, but missing" in over.stderr


def test_outputs_that_cannot_be_written_are_one_line(tmp_path: Path) -> None:
    """--record, merge -o, --markdown and --dist at a directory or under a file crashed with
    exit 3; now each is one line naming the path, exit 2 (with --dist, the variant fails first
    because its binary cannot be written)."""

    project = hello_project(
        tmp_path,
        'package = "./hello"\n[variants.a]\ncgo = false\n'
        '[[budget]]\nselect = "*"\nmax_size = "100 MiB"\n',
    )
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    a_dir = tmp_path / "a-dir"
    a_dir.mkdir()
    built = buildopt(["build", "--profile", "p"], cwd=project)
    assert built.returncode == 0, built.stderr
    record = project / "dist" / "p" / "build.json"
    cases = [
        (["build", "--profile", "p", "--record", str(a_dir)], 2, f"--record {a_dir}: a directory"),
        (["merge", str(record), "-o", str(a_file / "m.json")], 2, f"cannot write {a_file}/m.json"),
        (["gate", "--profile", "p", "--markdown", str(a_dir)], 2, f"{a_dir}: a directory, not"),
        (["gate", "--profile", "p", "--junit", str(a_file / "j.xml")], 2, "cannot write"),
        (["build", "--profile", "p", "--dist", str(a_file)], 2, f"cannot write {a_file}/p/"),
    ]
    for args, code, message in cases:
        done = buildopt(args, cwd=project)
        assert done.returncode == code, (args, done.stderr)
        assert "internal error" not in done.stderr and "Traceback" not in done.stderr
        assert message in done.stderr, (args, done.stderr)


def test_a_time_out_is_not_reported_as_could_not_start() -> None:
    from buildopt.system import proc

    with pytest.raises(proc.CommandFailed) as info:
        proc.run(["sleep", "5"], timeout=0.2)
    assert "did not finish within 0.2 s and was stopped" in info.value.message
    with pytest.raises(proc.CommandFailed, match="could not start"):
        proc.run(["/nonexistent/tool"], timeout=5)


def test_a_script_whose_interpreter_is_missing(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_text("#!/nonexistent/interpreter\necho hi\n")
    script.chmod(0o755)
    done = buildopt(["startup", str(script), "--runs", "1", "--warmup", "0"])
    assert done.returncode == 2
    assert (
        done.stderr == f"error: {script}: its #! interpreter was not found (exec: no such file)\n"
    )


def test_a_go_build_that_hangs_is_stopped(go: str, tmp_path: Path) -> None:
    """go build had no time-out: a hung one hung buildopt. BUILDOPT_BUILD_TIMEOUT stops its
    whole process group; the variant fails with the reason."""
    import json

    project = hello_project(tmp_path, 'package = "./hello"\n[variants.a]\n')
    fake = tmp_path / "fake-go"
    fake.write_text(f'#!/bin/sh\n[ "$1" = build ] && exec sleep 300\nexec {go} "$@"\n')
    fake.chmod(0o755)
    mark = uuid.uuid4().hex
    started = time.monotonic()
    done = buildopt(
        ["build", "--profile", "p", "--json"],
        cwd=project,
        env={"BUILDOPT_GO": str(fake), "BUILDOPT_BUILD_TIMEOUT": "1s", "BUILDOPT_TEST_MARK": mark},
    )
    assert time.monotonic() - started < 30
    assert done.returncode == 1, done.stderr
    (entry,) = json.loads(done.stdout)["builds"]
    assert entry["reason"] == (
        "go build did not finish within 1 s and was stopped (BUILDOPT_BUILD_TIMEOUT)"
    )
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []


def test_a_go_env_that_hangs_is_stopped(go: str, tmp_path: Path) -> None:
    """plan with a go env -json that hangs answered only after 121 s."""
    fake = tmp_path / "fake-go"
    fake.write_text(f'#!/bin/sh\n[ "$1" = env ] && exec sleep 300\nexec {go} "$@"\n')
    fake.chmod(0o755)
    profile = tmp_path / "p.toml"
    profile.write_text(f'package = "{tmp_path}"\n[variants.a]\n')
    started = time.monotonic()
    done = buildopt(
        ["plan", "--profile", str(profile)],
        env={"BUILDOPT_GO": str(fake), "BUILDOPT_GO_TIMEOUT": "1"},
    )
    assert time.monotonic() - started < 20
    assert done.returncode == 2
    assert "did not finish within 1 s and was stopped" in done.stderr
    assert done.stderr.count("\n") == 1


def test_queries_run_together_end_together(tmp_path: Path) -> None:
    """Toolchain queries run at the same time; when one fails or hangs, the others are ended
    (not left running) and the failure names the one that failed."""
    from buildopt.system import proc

    marker = tmp_path / "survivor"
    slow = ["sh", "-c", f"sleep 3; touch {marker}"]
    started = time.monotonic()
    with pytest.raises(proc.CommandFailed, match="exited with 3"):
        proc.run_together([["sh", "-c", "exit 3"], slow])
    with pytest.raises(proc.CommandFailed, match=r"did not finish within 0\.5 s"):
        proc.run_together([slow, ["sleep", "5"]], timeout=0.5)
    assert time.monotonic() - started < 2.5  # one deadline for all, not one each
    time.sleep(3)
    assert not marker.exists(), "a query outlived the failure of another"
    both = proc.run_together([["echo", "a"], ["sh", "-c", "echo b >&2"]])
    assert [(d.stdout, d.stderr) for d in both] == [("a\n", ""), ("", "b\n")]
