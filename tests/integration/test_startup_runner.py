"""buildopt startup through a runner: argv0, a real sshd on localhost as the device, qemu-user.

The sshd is started by the test (its own host key, user key, port and TMPDIR, so that what the
runs leave "on the device" is one folder the test owns), and killed mid-series for the faults.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt, free_port, system_tool_missing

SSHD = "/usr/sbin/sshd"
OPTIONS = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"]
OPTIONS += ["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]


def tool(name: str, package: str) -> str:
    found = shutil.which(name) or (name if Path(name).is_file() else None)
    if found is None:
        system_tool_missing(name, package)
    return str(found)


@dataclass
class Device:
    """A localhost sshd the test started: ssh argv to it, its TMPDIR, its process."""

    runner: list[str]
    tmpdir: Path
    process: subprocess.Popen[bytes]

    def sessions(self) -> list[int]:
        """The sshd processes serving connections (not the listener): they descend from it."""
        return [p for p in descendants(self.process.pid) if "sshd" in comm(p)]


def comm(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/comm").read_text().strip()
    return ""


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = (entry / "stat").read_text()
            parents[int(entry.name)] = int(text[text.rindex(")") + 2 :].split()[1])
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        kids = [child for child, parent in parents.items() if parent == pid]
        found += kids
        todo += kids
    return found


def running_from(folder: Path) -> list[int]:
    """Processes whose executable is in folder (the helper and the programs on the device)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and os.readlink(entry / "exe").startswith(str(folder)):
                found.append(int(entry.name))
    return found


def gone(folder: Path, seconds: float = 10.0) -> list[int]:
    """What still runs from folder after up to seconds (a killed parent's PDEATHSIG takes a
    moment to reach the helper)."""
    deadline = time.monotonic() + seconds
    while (left := running_from(folder)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.fixture
def device(tmp_path: Path) -> Iterator[Device]:
    """sshd -D -e -f CONFIG on a free port of 127.0.0.1, with keys made here."""
    keygen = tool("ssh-keygen", "openssh-client")
    ssh = tool("ssh", "openssh-client")
    if not Path(SSHD).is_file():
        system_tool_missing("sshd", "openssh-server")
    keys, tmpdir = tmp_path / "keys", tmp_path / "device-tmp"
    keys.mkdir()
    tmpdir.mkdir()
    for name in ("host", "user"):
        subprocess.run(
            [keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)], check=True
        )
    shutil.copy(keys / "user.pub", keys / "authorized_keys")
    port = free_port()
    (keys / "config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys / 'host'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\nPidFile none\nStrictModes no\n"
        "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        f"PermitRootLogin prohibit-password\nLogLevel ERROR\nSetEnv TMPDIR={tmpdir}\n"
    )
    if os.geteuid() == 0:  # root's sshd needs its privilege separation folder
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    process = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(keys / "config")],
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.fail(f"sshd did not start: {process.stderr.read().decode()}")  # type: ignore[union-attr]
    runner = [ssh, "-p", str(port), "-i", str(keys / "user"), *OPTIONS, "127.0.0.1"]
    try:
        yield Device(runner, tmpdir, process)
    finally:
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        process.wait()


def startup(args: list[str], **kw: Any) -> tuple[int, Any, str]:
    done = buildopt(["startup", "--json", *args], timeout=300, **kw)
    data = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, data, done.stderr


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_argv0_is_the_programs_argv0_here(probe: Path) -> None:
    """Without a runner: the helper execs the binary with argv[0] = --argv0."""
    ready = ["--ready-stdout", "^argv0=billing-ctl$"]
    code, data, err = startup(
        [
            str(probe),
            "--argv0",
            "billing-ctl",
            *ready,
            "--runs",
            "3",
            "--warmup",
            "0",
            "--trace-runs",
            "1",
            "--",
            "-mode",
            "argv0",
        ]
    )
    assert code == 0, err
    (result,) = data["variants"]
    assert result["runs"] == 3 and result["argv0"] == "billing-ctl"
    assert "argv[0]: billing-ctl" in err
    # the default stays the binary's path
    code, data, err = startup(
        [
            str(probe),
            "--ready-stdout",
            f"^argv0={probe}$",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--trace-runs",
            "0",
            "--",
            "-mode",
            "argv0",
        ]
    )
    assert code == 0, err
    assert data["variants"][0]["argv0"] == str(probe)


def test_runs_on_the_device_through_ssh(probe: Path, device: Device) -> None:
    """Copied to a fresh folder in the device's TMPDIR, run there by the helper, removed."""
    code, data, err = startup(
        [
            str(probe),
            "--runner",
            " ".join(device.runner),
            "--argv0",
            "billing-ctl",
            "--ready-stdout",
            "^argv0=billing-ctl$",
            "--runs",
            "4",
            "--warmup",
            "1",
            "--trace-runs",
            "1",
            "--",
            "-mode",
            "argv0",
        ]
    )
    assert code == 0, err
    (result,) = data["variants"]
    assert result["runs"] == 4 and result["failed_runs"] == 0
    assert result["argv0"] == "billing-ctl" and result["runner"] == device.runner
    assert "emulated" not in result  # (false is the default, left out)
    assert result["evicted"] is True  # by the helper on the device: fadvise there
    assert result["max_rss_kib"] > 1000 and result["traced_runs"] == 1
    assert "- on the device" in err and f"on the device through {device.runner[0]} -p" in err
    jsonschema.validate(data, load_schema("buildopt.startup/1"))
    assert list(device.tmpdir.iterdir()) == []
    assert gone(device.tmpdir, 0) == []


def test_the_default_argv0_on_the_device_is_its_copy(probe: Path, device: Device) -> None:
    """Its copy keeps the binary's own name (it was 1-startprobe: a busybox-style binary,
    Tailscale's, dispatches on the base name of argv[0])."""
    code, data, err = startup(
        [
            str(probe),
            "--runner",
            " ".join(device.runner),
            "--ready-stdout",
            f"^argv0={device.tmpdir}/buildopt-startup\\.[^/]+/1/startprobe$",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--trace-runs",
            "0",
            "--no-cold",
            "--",
            "-mode",
            "argv0",
        ]
    )
    assert code == 0, err
    assert data["variants"][0]["argv0"].startswith(f"{device.tmpdir}/buildopt-startup.")
    assert list(device.tmpdir.iterdir()) == []


def slow_series(probe: Path, device: Device, *options: str) -> subprocess.Popen[str]:
    """A series of 200 runs that each take 50 ms, on the device, started in the background."""
    argv = [
        sys.executable,
        "-m",
        "buildopt",
        "startup",
        *options,
        str(probe),
        "--runner",
        " ".join(device.runner),
        "--ready-stdout",
        "^ready",
        "--runs",
        "200",
        "--warmup",
        "0",
        "--trace-runs",
        "0",
        "--",
        "-mode",
        "ready",
        "-delay",
        "50ms",
    ]
    return subprocess.Popen(
        argv,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )


def wait_for_runs(device: Device) -> None:
    deadline = time.monotonic() + 60
    while len(running_from(device.tmpdir)) < 2:  # the helper and a program it started
        assert time.monotonic() < deadline, "the series never started on the device"
        time.sleep(0.05)


def test_connection_lost_mid_series(probe: Path, device: Device) -> None:
    """The device's sshd sessions are killed (the network dropped) while the listener stays:
    one line, exit 1; the helper there ends what it ran; the folder is removed."""
    series = slow_series(probe, device)
    wait_for_runs(device)
    for pid in device.sessions():
        os.kill(pid, signal.SIGKILL)
    _, err = series.communicate(timeout=120)
    assert series.returncode == 1, err
    assert "spawn helper ended" in one_error_line(err)
    assert gone(device.tmpdir) == []
    assert list(device.tmpdir.iterdir()) == []


def test_device_gone_mid_series(probe: Path, device: Device) -> None:
    """All of sshd killed: the folder cannot be removed, and the message says where it is."""
    series = slow_series(probe, device)
    wait_for_runs(device)
    for pid in [device.process.pid, *device.sessions()]:
        os.kill(pid, signal.SIGKILL)
    _, err = series.communicate(timeout=120)
    assert series.returncode == 1, err
    one_error_line(err)
    (left,) = device.tmpdir.iterdir()
    assert f"{left} is left on the device" in err
    assert gone(device.tmpdir) == []  # the helper's parent died: it ended its program, itself


def test_a_stalled_link_ends_with_one_line(probe: Path, device: Device) -> None:
    """The device's sessions stopped (SIGSTOP: a link that carries nothing any more): the run
    times out, the helper does not answer the stop, exit 1 with one line; the folder is
    removed through a new connection. Once the sessions go on, they find the connection gone
    and the helper ends what it ran."""
    series = slow_series(probe, device, "--timeout", "1s")
    wait_for_runs(device)
    stopped = device.sessions()
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        _, err = series.communicate(timeout=120)
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    assert series.returncode == 1, err
    assert "spawn helper did not" in one_error_line(err)
    assert list(device.tmpdir.iterdir()) == []
    assert gone(device.tmpdir) == []


def test_ctrl_c_mid_series_cleans_the_device(probe: Path, device: Device) -> None:
    series = slow_series(probe, device)
    wait_for_runs(device)
    series.send_signal(signal.SIGINT)
    _, err = series.communicate(timeout=120)
    assert series.returncode == 130, err
    assert "Traceback" not in err
    assert gone(device.tmpdir) == []
    assert list(device.tmpdir.iterdir()) == []


def test_a_runner_that_does_not_exist_is_exit_2(probe: Path) -> None:
    code, _, err = startup([str(probe), "--runner", "no-such-ssh host", "--runs", "1"])
    assert code == 2
    assert "--runner: no-such-ssh: no such program on PATH" in one_error_line(err)


@pytest.mark.parametrize(
    ("runner", "why"), [("/etc/passwd", "not executable"), ("/tmp", "a folder")]
)
def test_a_runner_that_is_no_program_says_what_it_is(probe: Path, runner: str, why: str) -> None:
    """Both were "no such program"; and one in a profile named neither the file nor the key."""
    code, _, err = startup([str(probe), "--runner", runner, "--runs", "1"])
    assert code == 2
    assert f"--runner: {runner}: {why}" in one_error_line(err)


def test_a_profiles_runner_is_named_by_its_file_and_key(tmp_path: Path) -> None:
    from buildopt.config.startup import parse_config

    config = parse_config(tmp_path / "p.toml", {"runner": ["ssh2", "host"]})
    assert config.runner_from == f"{tmp_path / 'p.toml'}: startup.runner"


def test_a_runner_that_exits_255_is_exit_1(probe: Path) -> None:
    ssh = tool("ssh", "openssh-client")
    closed = free_port()  # nothing listens there: ssh exits 255
    runner = " ".join([ssh, "-p", str(closed), *OPTIONS, "127.0.0.1"])
    code, _, err = startup([str(probe), "--runner", runner, "--runs", "1"])
    assert code == 1
    line = one_error_line(err)
    assert "exited with 255" in line and "Connection refused" in line


def test_arm64_build_emulated_by_qemu(go: str, tmp_path: Path) -> None:
    """A real arm64 build run by qemu-aarch64-static: argv0 through qemu's -0, figures labelled
    emulated, the amd64 builds skipped (they are never beside the emulated ones)."""
    qemu = tool("qemu-aarch64-static", "qemu-user-static")
    shutil.copytree(REPO / "tests" / "go" / "startprobe", tmp_path / "probe")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text(f"""
package = "./probe"
baseline = "plain"
targets = ["linux/amd64", "linux/arm64"]
[variants.plain]
cgo = false
[variants.stripped]
cgo = false
strip = "all"
[startup]
args = ["-mode", "argv0"]
argv0 = "billing-ctl"
runner = ["{qemu}"]
ready = {{ stdout = "^argv0=billing-ctl$" }}
runs = 3
warmup = 0
trace_runs = 1
""")
    assert buildopt(["build", "--profile", "p"], cwd=tmp_path).returncode == 0
    code, data, err = startup(["--profile", "p"], cwd=tmp_path)
    assert code == 0, err
    names = [v["name"] for v in data["variants"]]
    assert names == ["plain@linux-arm64", "stripped@linux-arm64"]
    assert all(v["emulated"] is True and v["argv0"] == "billing-ctl" for v in data["variants"])
    assert all(v["runs"] == 3 for v in data["variants"])
    assert "a linux/amd64 binary cannot run on linux/arm64" in err
    assert "start-up (ms, to ready) - emulated by qemu-aarch64-static" in err
    record = json.loads((tmp_path / "dist" / "p" / "build.json").read_text())
    jsonschema.validate(record, load_schema("buildopt.build/1"))
    emulated = [b["id"] for b in record["builds"] if b.get("startup", {}).get("emulated")]
    assert emulated == ["plain@linux-arm64", "stripped@linux-arm64"]
    # measured natively too, the report keeps the two apart, and a budget skips emulated figures
    profile = tmp_path / "profiles" / "p.toml"
    text = profile.read_text().replace(f'runner = ["{qemu}"]', "")
    profile.write_text(text + '[[budget]]\nname = "fast"\nselect = "*"\nmax_startup_p95 = "5s"\n')
    code, data, err = startup(["--profile", "p"], cwd=tmp_path)
    assert code == 0, err
    assert [v["name"] for v in data["variants"]] == ["plain@linux-amd64", "stripped@linux-amd64"]
    assert not any(v.get("emulated") for v in data["variants"])
    assert buildopt(["report", "-p", "p", "-o", "r.html"], cwd=tmp_path).returncode == 0
    page = (tmp_path / "r.html").read_text()
    native, emulated_part = page.split("Start-up - emulated by qemu-aarch64-static")
    assert "linux-amd64" in native.split('<h2 id="startup">')[1]
    assert "linux-arm64" not in native.split('<h2 id="startup">')[1]
    assert "linux-amd64" not in emulated_part.split("<h2")[0]
    gate = buildopt(["gate", "-p", "p", "--json"], cwd=tmp_path)
    checks = {(c["target"], c["verdict"]) for c in json.loads(gate.stdout)["checks"]}
    assert ("plain@linux-arm64", "skip") in checks and ("plain@linux-amd64", "pass") in checks


@pytest.mark.parametrize(
    ("goarch", "emulator"),
    [("arm64", "aarch64"), ("arm", "arm"), ("mipsle", "mipsel"), ("mips", "mips"), ("386", "")],
)
def test_the_helper_evicts_on_each_kind_of_device(
    goarch: str, emulator: str, probe: Path, tmp_path: Path
) -> None:
    """The spawn helper copied to a device evicts there: its posix_fadvise call is written per
    architecture (arm's and mips's argument orders differ), so each runs for real - under qemu
    (which hands the call to this kernel), or here for 386 (qemu-i386 crashes every Go
    program) - and fincore (util-linux) says the file's pages left the page cache."""
    from buildopt.measure.helpers import build_helper

    fincore = tool("fincore", "util-linux")
    helper = build_helper("spawn", os.environ, target=("linux", goarch))
    command = [tool(f"qemu-{emulator}-static", "qemu-user-static")] if emulator else []
    cached = tmp_path / "binary"
    shutil.copy(probe, cached)
    cached.read_bytes()

    def resident() -> int:
        said = subprocess.run(
            [fincore, "-nb", "-o", "RES", str(cached)], capture_output=True, check=True
        )
        return int(said.stdout)

    assert resident() > 0
    name = os.fsencode(cached) + b"\0"
    requests = b"evict %d\n" % len(name) + name + b"evict 7\n/nope/\0"
    done = subprocess.run(
        [*command, str(helper)], input=requests, capture_output=True, timeout=60, check=True
    )
    first, second = done.stdout.decode().splitlines()
    assert first.startswith("evicted 0 ") and int(first.split()[2]) > 0
    assert second == "evicted 2 0 no such file or directory"
    assert resident() == 0
