"""Children that flood their output: buildopt keeps the head and tail, not the flood."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

MIB = 1024


def peak_rss_kib_of(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str, str, int]:
    """Run argv; (exit code, stdout, stderr, peak RSS of it in KiB)."""
    import os

    script = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(p.returncode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *argv],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    *rest, rss = done.stderr.rstrip("\n").split("\n")
    return done.returncode, done.stdout, "\n".join(rest), int(rss)


def test_startup_of_a_program_that_floods_stdout() -> None:
    """`startup` of `yes` grew buildopt to 2-5 GB before its time-out."""
    code, out, err, rss = peak_rss_kib_of(
        [
            sys.executable,
            "-m",
            "buildopt",
            "startup",
            shutil.which("yes") or "/usr/bin/yes",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--timeout",
            "4s",
            "--ready-port",  # nothing listens there: it reads for 4 s
            "1",
        ],
        REPO,
        {"COLUMNS": "300"},
    )
    assert code == 1, err
    assert "not ready within 4s" in out
    assert rss < 200 * MIB, f"buildopt reached {rss // MIB} MiB"


def test_a_go_build_that_floods_stderr(go: str, hello: Path, tmp_path: Path) -> None:
    """go build's output was read whole into memory (communicate): 300 MB of it, 300 MB of
    buildopt. Now its first and last MiB are kept, and the record's excerpt is short."""
    fake = tmp_path / "fake-go"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = build ]; then\n'
        "  echo 'main.go:1: the first error' >&2\n"
        "  head -c 300000000 /dev/zero | tr '\\0' x >&2\n"
        "  echo >&2; echo 'the last words' >&2; exit 1\n"
        "fi\n"
        f'exec {go} "$@"\n'
    )
    fake.chmod(0o755)
    code, out, err, rss = peak_rss_kib_of(
        [sys.executable, "-m", "buildopt", "build", "--profile", "p", "--variant", "a", "--json"],
        hello,
        {"BUILDOPT_GO": str(fake)},
    )
    assert code == 1, err
    assert rss < 200 * MIB, f"buildopt reached {rss // MIB} MiB"
    (entry,) = json.loads(out)["builds"]
    assert entry["reason"] == "go build exited with 1: main.go:1: the first error"
    assert entry["stderr_tail"].endswith("the last words")
    assert len(entry["stderr_tail"]) < 20_000
    assert (hello / "dist" / "p" / "build.json").stat().st_size < 100_000
