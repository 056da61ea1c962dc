"""buildopt startup on real programs: every readiness mode, every failure, no orphans."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from buildopt.measure.startup import godebug
from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import (
    buildopt,
    copy_program,
    free_port,
    proc_text,
    processes_with_env,
)

pytestmark = pytest.mark.integration


def words(text: str) -> list[str]:
    """Command-line words, split as a shell splits them."""
    return shlex.split(text)


def startup(args: list[str], env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    done = buildopt(["startup", "--json", *args], env=env, timeout=300)
    data = json.loads(done.stdout) if done.stdout.strip() else None
    if data is not None:
        jsonschema.validate(data, load_schema("buildopt.startup/1"))
    return done.returncode, data, done.stderr


def test_exit_mode_with_stats_inits_and_rss(probe: Path) -> None:
    code, data, err = startup(
        [str(probe), "--runs", "5", "--warmup", "1", "--", "-mode", "exit", "-alloc", "40"]
    )
    assert code == 0, err
    (v,) = data["variants"]
    assert v["runs"] == 5 and v["failed_runs"] == 0 and v["ready"] == "process exit"
    assert v["min_ms"] <= v["median_ms"] <= v["p95_ms"] <= v["max_ms"]
    assert v["max_rss_kib"] > 40 * 1024  # the 40 MiB it touched, measured as its own
    assert v["max_rss_kib"] < 80 * 1024  # ... and not this Python process's memory
    assert v["gc_cycles"] >= 1
    assert "runtime" in {i["package"] for i in v["inits"]}  # from GODEBUG=inittrace=1
    assert v["cold"] is True and len(v["wall_ms"]) == 5


def test_ready_line_after_a_delay(probe: Path) -> None:
    code, data, err = startup(
        [
            str(probe),
            "--runs",
            "3",
            "--warmup",
            "0",
            "--ready-stdout",
            "^ready",
            "--",
            "-mode",
            "ready",
            "-delay",
            "150ms",
        ]
    )
    assert code == 0, err
    (v,) = data["variants"]
    assert v["min_ms"] >= 150 and v["max_ms"] < 150 + 500
    assert v["ready"] == "stdout line matching '^ready'"


def test_ready_port(probe: Path) -> None:
    port = free_port()
    code, data, err = startup(
        [
            str(probe),
            "--runs",
            "3",
            "--warmup",
            "0",
            "--ready-port",
            str(port),
            "--",
            "-mode",
            "port",
            "-port",
            str(port),
            "-delay",
            "100ms",
        ]
    )
    assert code == 0, err
    assert 100 <= data["variants"][0]["min_ms"] < 600


def test_crash_before_ready_is_exit_1_with_the_reason(probe: Path) -> None:
    code, data, err = startup(
        [
            str(probe),
            "--runs",
            "2",
            "--warmup",
            "0",
            "--ready-stdout",
            "^ready",
            "--",
            "-mode",
            "crash",
        ]
    )
    assert code == 1 and "Traceback" not in err
    (v,) = data["variants"]
    assert v["runs"] == 0 and v["failed_runs"] == 2
    assert v["errors"] == [
        "exited with 3 before ready (stdout line matching '^ready'): "
        "boom: the tariff database is missing"
    ]


def test_never_ready_times_out(probe: Path) -> None:
    started = time.monotonic()
    code, data, _ = startup(
        [
            str(probe),
            "--runs",
            "1",
            "--warmup",
            "0",
            "--timeout",
            "500ms",
            "--ready-stdout",
            "^ready",
            "--",
            "-mode",
            "never",
        ]
    )
    assert code == 1 and time.monotonic() - started < 30
    assert data["variants"][0]["errors"] == [
        "not ready within 0.5s (stdout line matching '^ready')"
    ]


def test_sigterm_ignoring_program_and_its_child_leave_no_orphan(probe: Path) -> None:
    marker = f"BUILDOPT_TEST_MARKER={os.getpid()}-{time.time_ns()}"
    key, value = marker.split("=")
    code, data, err = startup(
        [
            str(probe),
            "--runs",
            "2",
            "--warmup",
            "0",
            "--ready-stdout",
            "^ready",
            "--",
            "-mode",
            "ignore-term",
        ],
        env={key: value},
    )
    assert code == 0, err
    assert data["variants"][0]["runs"] == 2
    time.sleep(0.3)
    assert processes_with_env(marker) == []


def test_user_godebug_wins_and_is_kept(probe: Path) -> None:
    """The user's GODEBUG stays: inittrace=0 switches off init tracing, gctrace is still added."""
    code, data, err = startup(
        [str(probe), "--runs", "1", "--warmup", "0", "--", "-mode", "exit", "-alloc", "40"],
        env={"GODEBUG": "inittrace=0"},
    )
    assert code == 0, err
    (v,) = data["variants"]
    assert v["inits"] == [] and v["gc_cycles"] >= 1


def test_cpus_pins_the_program(probe: Path) -> None:
    """--cpus 1: the program sees one CPU, so the Go runtime sets GOMAXPROCS to 1."""
    args = ["--runs", "1", "--warmup", "0", "--no-cold", "--ready-stdout", "GOMAXPROCS=1$"]
    code, _, err = startup([str(probe), *args, "--cpus", "1", "--", "-mode", "env"])
    assert code == 0, err
    if (os.cpu_count() or 1) > 1:
        code, data, _ = startup([str(probe), *args, "--", "-mode", "env"])
        assert code == 1 and "before ready" in data["variants"][0]["errors"][0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: (d / "plain.txt").write_text("x") and d / "plain.txt", "not executable"),
    ],
)
def test_bad_files_are_exit_2(tmp_path: Path, make: Any, message: str) -> None:
    target = make(tmp_path)
    done = buildopt(["startup", str(target), "--runs", "1"])
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_binary_for_another_architecture(go: str, tmp_path: Path) -> None:
    src = copy_program("hello", tmp_path)
    out = tmp_path / "hello-arm64"
    subprocess.run(
        [go, "build", "-o", str(out), "."],
        cwd=src,
        check=True,
        capture_output=True,
        env={**os.environ, "CGO_ENABLED": "0", "GOARCH": "arm64"},
    )
    done = buildopt(["startup", str(out), "--runs", "1"])
    if "exec format error" not in done.stderr:  # binfmt_misc with qemu can run it
        pytest.skip("this machine runs arm64 binaries (binfmt_misc)")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_profile_measures_variants_and_fills_the_record(go: str, tmp_path: Path) -> None:
    shutil.copytree(REPO / "tests" / "go" / "startprobe", tmp_path / "probe")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text("""
package = "./probe"
baseline = "heavy"
[variants.heavy]
cgo = false
[variants.light]
cgo = false
strip = "all"
[startup]
args = ["-mode", "ready", "-alloc", "20"]
ready = { stdout = "^ready" }
runs = 4
warmup = 1
""")
    assert buildopt(["build", "--profile", "p"], cwd=tmp_path).returncode == 0
    done = buildopt(["startup", "--profile", "p", "--json"], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    names = [v["name"] for v in result["variants"]]
    assert names == ["heavy@linux-amd64", "light@linux-amd64"]
    light = result["variants"][1]
    assert light["vs_baseline"]["baseline"] == "heavy@linux-amd64"
    assert "peak memory" in done.stderr and "start-up P95" in done.stderr
    record = json.loads((tmp_path / "dist" / "p" / "build.json").read_text())
    assert record["builds"][1]["startup"]["runs"] == 4
    jsonschema.validate(record, load_schema("buildopt.build/1"))
    # the program's arguments after -- take the place of the profile's (this once crashed)
    given = ["startup", "-p", "p", "--runs", "1", "--warmup", "0", "--json", "--", "-mode"]
    done = buildopt([*given, "ready", "-alloc", "5"], cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["variants"][0]["runs"] == 1


def test_port_never_opened_times_out(probe: Path) -> None:
    port = free_port()
    code, data, err = startup(
        [
            str(probe),
            "--runs",
            "1",
            "--warmup",
            "0",
            "--timeout",
            "300ms",
            "--ready-port",
            str(port),
            "--",
            "-mode",
            "never",
        ]
    )
    assert code == 1 and "Traceback" not in err
    assert data["variants"][0]["errors"] == [
        f"not ready within 0.3s (port {port} accepting on 127.0.0.1)"
    ]


def test_exit_mode_nonzero_exit_is_a_failed_run(probe: Path) -> None:
    code, data, _ = startup([str(probe), "--runs", "1", "--warmup", "0", "--", "-mode", "crash"])
    assert code == 1
    assert data["variants"][0]["errors"] == ["exited with 3: boom: the tariff database is missing"]


def test_the_programs_arguments_reach_it_as_given(tmp_path: Path) -> None:
    """Everything after -- is the program's, even words that are buildopt's own flags (-p was
    read as --profile), and --arg adds one more; none of it is split or parsed."""
    record = tmp_path / "args.txt"
    program = tmp_path / "show-args"
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {record}\n')
    program.chmod(0o755)
    words = ["--addr=127.0.0.1", "-p", "14222", "--profile", "two words", "--json", "--"]
    code, data, err = startup(
        [
            str(program),
            "--runs",
            "1",
            "--warmup",
            "0",
            "--trace-runs",
            "0",
            "--no-cold",
            "--arg",
            "first",
            "--",
            *words,
        ]
    )
    assert code == 0, err
    assert data["variants"][0]["runs"] == 1
    assert record.read_text().splitlines() == ["first", *words]


@pytest.mark.parametrize(("processes", "repeat"), [(3, 1), (2, 5)], ids=["waiting", "starting"])
def test_sigterm_during_startup_stops_the_program_and_the_helper(
    probe: Path, processes: int, repeat: int
) -> None:
    """A CI cancel (SIGTERM to buildopt alone) left the spawn helper and the program running
    with ppid 1; now they are stopped as on Ctrl-C, and buildopt exits 143. "starting" sends it
    as soon as the helper exists, while it is still starting the program: that window leaked
    them too, one run in a few, until _Child cleaned up after itself."""
    import signal
    import sys
    import uuid

    for _ in range(repeat):
        mark = uuid.uuid4().hex
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "buildopt",
                "startup",
                str(probe),
                "--runs",
                "1",
                "--warmup",
                "0",
                "--timeout",
                "60s",
                "--ready-stdout",
                "^never$",
                "--",
                "-mode",
                "never",
            ],
            cwd=REPO,
            env={**os.environ, "BUILDOPT_TEST_MARK": mark},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        # buildopt and the helper (and the probe): the toolchain queries carry the mark too,
        # so wait for the helper's own name
        while (
            not any(
                "spawn-" in proc_text(p, "cmdline")
                for p in processes_with_env(f"BUILDOPT_TEST_MARK={mark}")
            )
            or len(processes_with_env(f"BUILDOPT_TEST_MARK={mark}")) < processes
        ):
            assert time.monotonic() < deadline and run.poll() is None, "the program never ran"
            time.sleep(0.001)
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 143 and err.endswith("error: interrupted (SIGTERM)\n"), err
        deadline = time.monotonic() + 10
        while processes_with_env(f"BUILDOPT_TEST_MARK={mark}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []


def test_a_port_another_process_holds_is_refused(probe: Path) -> None:
    """--ready-port P with P already taken: exit 0 with a 1.0 ms median while the program
    itself failed ("address already in use"). Now refused before any run, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, data, err = startup(
            [
                str(probe),
                "--runs",
                "2",
                "--warmup",
                "0",
                "--ready-port",
                str(port),
                "--",
                "-mode",
                "port",
                "-port",
                str(port),
            ]
        )
    assert code == 2 and data is None
    assert err == (
        f"error: --ready-port {port}: another process already listens there, so the program's "
        "own readiness could not be told apart; stop it or choose another port\n"
    )


def test_the_first_run_says_it_compiles_the_helper(tmp_path: Path) -> None:
    """The first scan or startup compiled a helper for ~40 s with no message."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    args = ["startup", "/bin/true", "--runs", "1", "--warmup", "0"]
    first = buildopt(args, env=env)
    assert first.returncode == 0, first.stderr
    assert "compiling buildopt's start-up helper for go" in first.stderr
    assert "(once)" in first.stderr
    again = buildopt(args, env=env)
    assert "compiling" not in again.stderr


def test_timed_runs_are_started_as_a_user_would(probe: Path, tmp_path: Path) -> None:
    """Every run carried GODEBUG=gctrace=1,inittrace=1 and wrote to pipes, so the tracing was
    part of the time measured. Now only the traced runs have it; the timed runs (and warm-ups)
    get the environment as it is and, ready at exit, /dev/null for stdout."""
    record = tmp_path / "starts.txt"
    code, data, err = startup(
        [
            str(probe),
            *words("--runs 4 --warmup 1 --trace-runs 2 --no-cold -- -mode exit -alloc 8 -record"),
            str(record),
        ],
    )
    assert code == 0, err
    users = os.environ.get("GODEBUG")  # this test's own environment, passed on as it is
    plain = f"GODEBUG={'(unset)' if users is None else users} stdout=/dev/null"
    traced = f"GODEBUG={godebug(users)} stdout=pipe"
    assert record.read_text().splitlines() == [plain, traced, traced, plain, plain, plain, plain]
    (v,) = data["variants"]
    assert v["runs"] == 4 and len(v["wall_ms"]) == 4
    assert v["traced_runs"] == 2 and len(v["traced_wall_ms"]) == 2
    assert v["traced_godebug"] == godebug(users)
    assert v["gc_cycles"] >= 1 and "runtime" in {i["package"] for i in v["inits"]}
    assert 0 < v["harness_ms"] < 1000


def test_the_users_godebug_reaches_timed_runs_unchanged(probe: Path, tmp_path: Path) -> None:
    record = tmp_path / "starts.txt"
    code, _, err = startup(
        [
            str(probe),
            *words("--runs 2 --warmup 0 --trace-runs 1 --no-cold --ready-stdout ^ready"),
            *words("-- -mode ready -record"),
            str(record),
        ],
        env={"GODEBUG": "madvdontneed=1"},
    )
    assert code == 0, err
    assert record.read_text().splitlines() == [
        "GODEBUG=madvdontneed=1,gctrace=1,inittrace=1 stdout=pipe",
        "GODEBUG=madvdontneed=1 stdout=pipe",  # a ready line is read from a pipe
        "GODEBUG=madvdontneed=1 stdout=pipe",
    ]


def test_no_traced_runs_means_no_gc_or_init_figures(probe: Path) -> None:
    code, data, err = startup(
        [str(probe), "--runs", "2", "--warmup", "0", "--trace-runs", "0", "--", "-mode", "exit"]
    )
    assert code == 0, err
    (v,) = data["variants"]
    assert v["traced_runs"] == 0 and v["runs"] == 2
    assert "gc_cycles" not in v and "inits" not in v and "traced_wall_ms" not in v


def test_ready_on_stderr_from_the_command_line(probe: Path) -> None:
    """--ready-stdout read only stdout; a server that logs its ready line on stderr could not
    be waited for from the command line."""
    code, data, err = startup(
        [
            str(probe),
            *words("--runs 2 --warmup 0 --trace-runs 1 --no-cold"),
            *words("--ready-stderr 'listening: ready$' -- -mode ready-stderr"),
        ]
    )
    assert code == 0, err
    (v,) = data["variants"]
    assert v["runs"] == 2 and v["ready"] == "stderr line matching 'listening: ready$'"
    code, data, _ = startup(
        [
            str(probe),
            *words("--runs 1 --warmup 0 --trace-runs 0 --timeout 300ms"),
            *words("--ready-stdout 'listening: ready$' -- -mode ready-stderr"),
        ]
    )
    assert code == 1 and data["variants"][0]["errors"][0].startswith("not ready within 0.3s")


def test_two_ways_to_tell_readiness_are_refused() -> None:
    done = buildopt(
        ["startup", "/bin/true", "--ready-stdout", "x", "--ready-stderr", "y"], timeout=60
    )
    assert done.returncode == 2
    assert (
        done.stderr == "error: --ready-stdout and --ready-stderr: give one way to tell readiness\n"
    )


def test_the_footer_says_what_eviction_did(probe: Path) -> None:
    """When no run succeeded the footer said 'eviction failed: warm', though it had worked."""
    done = buildopt(
        ["startup", str(probe), "--runs", "1", "--warmup", "0", "--", "-mode", "crash"],
        env={"COLUMNS": "200"},
        timeout=120,
    )
    assert done.returncode == 1
    assert "eviction failed" not in done.stdout
    assert "cold: the binary was evicted from the page cache before each run" in done.stdout
    warm = buildopt(
        ["startup", str(probe), "--runs", "1", "--warmup", "0", "--no-cold", "--", "-mode", "exit"],
        env={"COLUMNS": "200"},
        timeout=120,
    )
    assert "; warm (" in warm.stdout and "evicted" not in warm.stdout
