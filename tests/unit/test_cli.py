"""The command line: exit codes and one-line errors, run in-process (no subprocess)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from buildopt.cli.program import program
from buildopt.errors import ToolchainError
from buildopt.system import toolchain
from tests.conftest import write_profile


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        program.run(["buildopt", *argv])
    code = info.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


def test_unknown_flag_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(["build", "--bogus"], capsys)
    assert code == 2 and "error:" in err and "--bogus" in err


def test_an_unknown_option_of_a_command_points_to_its_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`gate --jnuit x` listed the commands, as if --jnuit were meant as one."""
    code, err = run(["gate", "--jnuit", "x.xml"], capsys)
    assert code == 2
    assert err == (
        "error: No idea what '--jnuit' is! (gate has no such option; did you mean '--junit'? "
        "'buildopt gate --help' lists them)\n"
    )


def test_missing_profile_argument(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, err = run(["plan"], capsys)
    assert code == 2 and "--profile is required" in err
    assert "Traceback" not in err


def test_broken_profile_is_one_line_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(project, "bad", 'package = "./app"\n[variants.a]\nstrip = 3\n')
    monkeypatch.chdir(project)
    code, err = run(["build", "--profile", "bad"], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert err.startswith(f"error: {project / 'profiles' / 'bad.toml'}: variants.a.strip")


def test_negative_jobs(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    code, err = run(["build", "--profile", "x", "--jobs", "-1"], capsys)
    assert code == 2 and "--jobs -1" in err


@pytest.mark.parametrize("port", ["99999", "65536"])
def test_ready_port_out_of_range_says_the_range(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["startup", "--ready-port", port, "--file", "/bin/true"], capsys)
    assert code == 2 and err == f"error: --ready-port {port}: a TCP port is 1-65535\n"


def test_missing_go_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain, "FALLBACK_GO", "/nonexistent/go")
    with pytest.raises(ToolchainError, match="Go toolchain not found"):
        toolchain.find_go({"PATH": ""})
    with pytest.raises(ToolchainError, match="BUILDOPT_GO=/nope/go: no such executable"):
        toolchain.find_go({"PATH": "", "BUILDOPT_GO": "/nope/go"})


def test_missing_go_through_the_cli(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.a]\n')
    monkeypatch.chdir(project)
    monkeypatch.setenv("BUILDOPT_GO", "/nope/go")
    code, err = run(["plan", "--profile", "p"], capsys)
    assert code == 2 and "BUILDOPT_GO=/nope/go" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        program.run(["buildopt", "--version"])
    assert "buildopt 0.1.0" in capsys.readouterr().out


def test_expand_variadic_files() -> None:
    from buildopt.cli.main import expand_variadic

    assert expand_variadic(["buildopt", "inspect", "a", "--packages", "5", "b", "--json"])[0] == [
        "buildopt",
        "inspect",
        "--file",
        "a",
        "--packages",
        "5",
        "--file",
        "b",
        "--json",
    ]
    assert expand_variadic(["buildopt", "build", "--profile", "x"])[0] == [
        "buildopt",
        "build",
        "--profile",
        "x",
    ]


@pytest.mark.parametrize(
    "argv",
    [
        ["buildopt", "inspect", "--help"],
        ["buildopt", "--debug", "inspect", "--file", "x"],
        ["buildopt", "inspect", "--file"],
        ["buildopt", "build", "--profile"],
        ["buildopt", "build", "--json=yes"],
        ["buildopt", "biuld", "--profile", "x"],
        ["buildopt", "startup", "--no-cold", "--file", "x"],
        ["buildopt", "gate", "--bogus"],
    ],
)
def test_anything_unusual_goes_through_the_program(argv: list[str]) -> None:
    from buildopt.cli.main import fast_command

    assert fast_command(argv) is None


def test_fast_command_reports_like_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from buildopt.cli.main import fast_command

    missing = tmp_path / "nope"
    assert fast_command(["buildopt", "inspect", "--file", str(missing), "--json"]) == 2
    fast = capsys.readouterr()
    code, err = run(["inspect", "--file", str(missing), "--json"], capsys)
    assert code == 2
    assert fast.err == f"error: {missing}: No such file or directory\n"
    assert err == fast.err


def test_help_shows_buildopt_options_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        program.run(["buildopt", "--help"])
    out = capsys.readouterr().out
    for shown in ("--debug", "--help", "--version", "--list", "Exit codes: 0 ok", "startup"):
        assert shown in out
    for hidden in ("--pty", "--echo", "--dry", "--warn-only", "sudo"):
        assert hidden not in out


def test_every_command_reports_like_the_program_without_invoke(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commands whose arguments are plain flags run without loading invoke: same errors, same
    exit codes as through the Program."""
    from buildopt.cli.main import fast_command

    monkeypatch.chdir(tmp_path)
    for argv in (
        ["build", "--profile", "nope"],
        ["gate", "--profile", "nope", "--json"],
        ["plan", "-p", "nope", "-v", "a@*"],
        ["compare", "--rows", "zero"],
    ):
        fast = fast_command(["buildopt", *argv])
        fast_err = capsys.readouterr().err
        code, err = run(argv, capsys)
        assert fast == code == 2, argv
        assert fast_err == err and err.startswith("error: "), argv


def test_fast_command_parses_jobs() -> None:
    from buildopt.cli.main import fast_command

    assert fast_command(["buildopt", "inspect", "--json", "--jobs", "x", "--file", "a"]) == 2
    assert fast_command(["buildopt", "inspect", "--json", "--jobs", "0", "--file", "a"]) == 2


def test_error_details_go_below_the_one_line_message(capsys: pytest.CaptureFixture[str]) -> None:
    """A long list (init's candidates) is not flattened into the error line: each detail is a
    line of its own below it, indented, and still one line whatever it holds."""
    from buildopt.errors import UsageError, run_guarded

    def fails() -> int:
        raise UsageError("init: --package x: not a main package", details=["./cmd/a", "./b\nc"])

    assert run_guarded(fails) == 2
    assert capsys.readouterr().err == (
        "error: init: --package x: not a main package\n  ./cmd/a\n  ./b\\nc\n"
    )


@pytest.mark.parametrize("tags", ["a b", "x;y", "-race", "lazy init,ok"])
def test_scan_tags_are_checked_as_a_profile_checks_them(
    tags: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["scan", "--tags", tags], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: scan: --tags: '")
    assert "is not a build tag (letters, digits, _ .)" in err


def test_more_cpus_than_the_machine_gives_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    """--cpus 999 on a 2-CPU machine measured on both, and said nothing."""
    usable = len(os.sched_getaffinity(0))
    code, err = run(["startup", "--cpus", str(usable + 1), "--file", "/bin/true"], capsys)
    assert code == 2
    assert err == f"error: --cpus {usable + 1}: buildopt may use {usable} CPU(s) here, at most\n"


def test_every_command_s_summary_is_one_whole_line() -> None:
    """`buildopt --help` lists each command by its docstring's first line: init's read
    "(with --tasks, a" and startup's stopped before "from separate traced runs."."""
    import inspect

    from buildopt.cli.options import COMMANDS

    for name in COMMANDS:
        summary = (inspect.getdoc(program.namespace[name]) or "").split("\n\n")[0]
        assert summary and "\n" not in summary and summary.endswith("."), (name, summary)
