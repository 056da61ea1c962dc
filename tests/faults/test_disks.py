"""Full and read-only disks under dist/ and the record: one line naming the path, exit 1 for
the variant that could not be written, 2 when the record cannot be; never a traceback.

The file systems are tmpfs mounts in a private mount namespace (``unshare -m``), so the test
needs the right to mount (root in the CI container); elsewhere it is skipped, saying why. (A
chmod'ed directory would not do: root writes to it anyway.)"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_probe = (
    subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    if shutil.which("unshare")
    else None
)
pytestmark = pytest.mark.skipif(
    _probe is None or _probe.returncode != 0,
    reason="needs `unshare -m` (root or CAP_SYS_ADMIN) to mount a small tmpfs",
)


def in_namespace(
    setup: str, args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run buildopt ARGS after the shell commands setup, in a private mount namespace."""
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "buildopt", *args])
    return subprocess.run(
        ["unshare", "-m", "sh", "-ec", f"{setup}\nexec {command}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "300", **(env or {})},
        timeout=600,
        check=False,
    )


def one_clean_error(stderr: str) -> str:
    assert "Traceback" not in stderr
    assert "internal error" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("error:")]
    return line


def test_a_full_dist_fails_the_variant(hello: Path) -> None:
    dist = hello / "small"
    dist.mkdir()
    done = in_namespace(
        f"mount -t tmpfs -o size=256k tmpfs {dist}",
        ["build", "--profile", "p", "--variant", "a", "--dist", str(dist), "--json"],
        hello,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    (entry,) = json.loads(done.stdout)["builds"]
    assert entry["status"] == "failed"
    assert "no space left on device" in entry["reason"]


def test_a_read_only_dist_is_one_line(hello: Path) -> None:
    dist = hello / "ro"
    dist.mkdir()
    done = in_namespace(
        f"mount -t tmpfs -o ro tmpfs {dist}",
        ["build", "--profile", "p", "--variant", "a", "--dist", str(dist)],
        hello,
    )
    assert done.returncode == 2, done.stderr
    line = one_clean_error(done.stderr)
    assert line.startswith(f"error: cannot write {dist}/p/")
    assert line.endswith("Read-only file system")


def test_a_record_on_a_full_disk_is_one_line_and_the_old_one_stays(hello: Path) -> None:
    full = hello / "full"
    full.mkdir()
    record = full / "build.json"
    done = in_namespace(
        f"mount -t tmpfs -o size=64k tmpfs {full}\n"
        f"echo '{{\"old\": true}}' > {record}\n"
        f"head -c 1000000 /dev/zero > {full}/filler || true",
        ["build", "--profile", "p", "--variant", "a", "--record", str(record)],
        hello,
    )
    assert done.returncode == 2, done.stderr
    line = one_clean_error(done.stderr)
    assert line.startswith(f"error: cannot write {full}/")
    assert line.endswith("No space left on device")
    assert (hello / "dist" / "p" / "a" / "linux-amd64" / "hello").is_file()  # built all the same
