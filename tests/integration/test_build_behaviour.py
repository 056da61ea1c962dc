"""Failures, verification, literal values, interruption: the real command on real builds."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import (
    buildopt,
    copy_program,
    go_version_m,
    hello_project,
    processes_with_env,
)

pytestmark = pytest.mark.integration


STAGE = ".buildopt-stage"  # where go writes; the binary is published from it


def make_project(tmp_path: Path, profile: str) -> Path:
    copy_program("hello", tmp_path)
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "p.toml").write_text(profile)
    return tmp_path


def test_values_reach_go_build_literally(tmp_path: Path, go: str) -> None:
    marker = tmp_path / "pwned"
    evil = f"$(touch {marker}) `touch {marker}` ; touch {marker} && echo 'quoted'"
    project = make_project(
        tmp_path,
        f"""
package = "./hello"
[variants.evil]
cgo = false
x = {{ "main.v" = {json.dumps(evil)} }}
""",
    )
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    binary = project / "dist" / "p" / "evil" / "linux-amd64" / "hello"
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    assert out.startswith(f"v={evil} user=")
    assert not marker.exists()
    # -ldflags is recorded (no -trimpath here) exactly as passed:
    assert go_version_m(go, binary)["-ldflags"].startswith('-X "main.v=$(touch')


def test_an_x_value_with_a_newline_verifies(tmp_path: Path, go: str) -> None:
    """Go records build settings with newlines as spaces (cmd/go appendBuildSetting): the binary
    was right, but verification compared with the newline and failed the variant."""
    project = make_project(
        tmp_path, 'package = "./hello"\n[variants.a]\ncgo = false\nx = { "main.v" = "one\\ntwo" }\n'
    )
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    binary = project / "dist" / "p" / "a" / "linux-amd64" / "hello"
    out = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    assert out.startswith("v=one\ntwo user=")
    assert "main.v=one two" in go_version_m(go, binary)["-ldflags"]


def test_one_failure_does_not_stop_the_others(tmp_path: Path, go: str) -> None:
    project = make_project(
        tmp_path,
        """
package = "./hello"
[defaults]
cgo = false
[variants.good]
strip = "all"
[variants.badflag]
ldflags = ["-definitely-not-a-linker-flag"]
[variants.liar]
env = { GOARCH = "386" }
""",
    )
    done = buildopt(["build", "--profile", "p", "--jobs", "2"], cwd=project)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    record = json.loads((project / "dist" / "p" / "build.json").read_text())
    status = {b["id"]: b for b in record["builds"]}
    assert status["good@linux-amd64"]["status"] == "ok"
    bad = status["badflag@linux-amd64"]
    assert bad["status"] == "failed" and bad["reason"].startswith("go build exited with 1")
    assert "definitely-not-a-linker-flag" in bad["stderr_tail"]
    assert bad["output"] is None
    assert not (project / "dist" / "p" / "badflag").exists()  # not even an empty directory
    liar = status["liar@linux-amd64"]
    assert liar["status"] == "failed"
    assert "GOARCH is '386', the variant asked for 'amd64'" in liar["reason"]
    assert "1 ok, 2 failed, 0 skipped" in done.stdout
    assert "[3/3] failed" in done.stderr  # progress
    assert done.stdout.count("badflag@linux-amd64") == 1  # the result once: a row of the table
    leftovers = [p for p in (project / "dist").rglob("*") if ".buildopt-tmp-" in p.name]
    assert leftovers == []


def test_strip_and_pie_verified_against_the_binary(tmp_path: Path, go: str) -> None:
    project = make_project(
        tmp_path,
        """
package = "./hello"
[variants.dwarfless]
cgo = false
strip = "dwarf"
buildmode = "pie"
gcflags = ["all=-l"]
""",
    )
    done = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    (b,) = json.loads(done.stdout)["builds"]
    ref = go_version_m(go, Path(b["output"]))
    assert ref["-buildmode"] == "pie" and ref["-gcflags"] == "all=-l" and ref["-ldflags"] == "-w"
    assert {"-buildmode", "-gcflags", "-ldflags", "symbols", "dwarf"} <= set(
        b["verification"]["checked"]
    )


# Python leaves SIGINT ignored when its parent ignored it (a background job, some CI runners);
# a user at a terminal has the default handler, which this restores.
WITH_SIGINT = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv = ['buildopt', *sys.argv[1:]]; runpy.run_module('buildopt', run_name='__main__')"
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_leaves_no_partial_binary_and_no_orphans(
    tmp_path: Path, go: str, sig: signal.Signals
) -> None:
    """Ctrl-C or SIGTERM during a cold build: exit 130 or 143 (128 + the signal), no temp
    files, no go processes left."""
    cache = tmp_path / "gocache"
    dist = tmp_path / "dist"
    argv = ["build", "--profile", "telecom-edge", "--variant", "static@linux-amd64"]
    proc = subprocess.Popen(
        [sys.executable, "-c", WITH_SIGINT, *argv, "--dist", str(dist)],
        cwd=REPO,
        env={**os.environ, "GOCACHE": str(cache), "NO_COLOR": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    seen = 0  # python, go, and at least one compiler (they come and go: keep the maximum)
    while time.monotonic() < deadline and seen < 3:
        seen = max(seen, len(processes_with_env(f"GOCACHE={cache}")))
        time.sleep(0.05)
    assert seen >= 3, "go build never started"
    time.sleep(1.0)  # let the compilers get going
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "interrupted" in err
    assert "Traceback" not in err
    time.sleep(0.5)
    assert processes_with_env(f"GOCACHE={cache}") == []
    # no binary, staged or not, and no record: only the (empty) lock files of the builds
    assert {p.parent.name for p in dist.rglob("*") if p.is_file()} <= {".locks"}
    assert not (dist / "telecom-edge" / "build.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "--profile", "nope"], "--profile nope: no profile profiles/nope.toml"),
        (["build", "--profile", "telecom-edge", "--variant", "zzz*"], "matches no variant"),
        (["plan", "--profile", "telecom-edge", "--frobnicate"], "--frobnicate"),
        (["build", "--profile", "/etc/hostname.toml"], "no such file"),
    ],
)
def test_cli_bad_input_exit_2_one_line(args: list[str], message: str) -> None:
    done = buildopt(args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    # one error line; what it could list (the variant ids) on indented detail lines below it
    assert lines[0].startswith("error: ") and all(line.startswith("  ") for line in lines[1:])
    assert all(len(line) < 200 for line in lines)


def test_debug_shows_the_traceback() -> None:
    done = buildopt(["--debug", "build", "--profile", "nope"])
    assert done.returncode == 2
    assert "Traceback" in done.stderr


def test_bad_profile_via_cli(tmp_path: Path) -> None:
    project = make_project(tmp_path, 'package = "./hello"\n[variants.a]\nlinkmode = "dynamic"\n')
    done = buildopt(["plan", "--profile", "p"], cwd=project)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f'error: {project}/profiles/p.toml: variants.a.linkmode: expected one of "internal", '
        "\"external\", got 'dynamic'"
    )


def test_missing_go_via_cli(tmp_path: Path) -> None:
    done = buildopt(["plan", "--profile", "telecom-edge"], env={"BUILDOPT_GO": "/no/go"})
    assert done.returncode == 2
    assert done.stderr.strip() == "error: BUILDOPT_GO=/no/go: no such executable"


def test_repo_tasks_expose_the_same_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "invoke", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    for name in ("build", "plan", "test", "lint"):
        assert f"  {name} " in done.stdout or f"  {name}\n" in done.stdout, done.stdout


def test_help_and_version() -> None:
    done = buildopt(["build", "--help"])
    assert done.returncode == 0 and "--profile" in done.stdout and "--jobs" in done.stdout
    done = buildopt(["--version"])
    assert done.stdout.strip() == "buildopt 0.1.0"


def test_compare_two_records(tmp_path: Path) -> None:
    project = make_project(tmp_path, 'package = "./hello"\n[variants.pure]\ncgo = false\n')
    assert (
        buildopt(["build", "--profile", "p", "--record", "old.json"], cwd=project).returncode == 0
    )
    main = project / "hello" / "main.go"
    main.write_text(
        main.read_text()
        .replace('"os/user"', '"os/user"\n\t"strings"')
        .replace(
            'fmt.Printf("v=%s user=%s\\n", v, name)',
            'fmt.Printf("v=%s user=%s\\n", strings.ToUpper(v), name)',
        )
    )
    assert (
        buildopt(["build", "--profile", "p", "--record", "new.json"], cwd=project).returncode == 0
    )
    done = buildopt(["compare", "old.json", "new.json", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    jsonschema.validate(result, load_schema("buildopt.compare-records/2"))
    (summary,) = result["variants"]
    assert summary["id"] == "pure@linux-amd64" and summary["summary"].startswith("add/remove: ")
    assert summary["after"] - summary["before"] == summary["up"] - summary["down"]
    variant = next(i for i in result["items"] if i["kind"] == "variant")
    old = json.loads((project / "old.json").read_text())["builds"][0]["size"]
    new = json.loads((project / "new.json").read_text())["builds"][0]["size"]
    assert variant["delta"] == new - old
    people = buildopt(["compare", "old.json", "new.json"], cwd=project)
    assert "up/down:" in people.stdout


def test_compare_explains_pie_and_strip_on_real_builds(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        """
package = "./hello"
baseline = "plain"
[defaults]
cgo = true
[variants.plain]
[variants.pie]
buildmode = "pie"
[variants.small]
strip = "all"
""",
    )
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    done = buildopt(["compare", "--profile", "p", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    rows = {r["variant"]: r for r in json.loads(done.stdout)["variants"]}
    pie = rows["pie"]
    assert pie["pie"] and pie["delta"]["dynamic"] > 0
    assert pie["explanation"][0].startswith("pie: relocations and dynamic sections +")
    small = rows["small"]
    assert small["delta"]["symtab"] < 0 and small["delta"]["dwarf"] < 0
    assert {line.split(":")[0] for line in small["explanation"]} >= {"-s", "-w"}


def test_hostile_names_and_flags_write_nothing_outside_dist(tmp_path: Path) -> None:
    """The cases of issue 11 that escaped dist/: a generated name with '/' and '..', and -o in
    raw flags. The first builds inside dist/, the second is refused before anything runs."""
    project = tmp_path / "project"
    (project / "profiles").mkdir(parents=True)
    shutil.copytree(REPO / "tests" / "go" / "hello", project / "hello")
    escaped = tmp_path / "ESCAPED"
    (project / "profiles" / "m.toml").write_text(
        'package = "./hello"\n[defaults]\ncgo = false\n[matrix]\n'
        f'ldflags = [["-X=main.version=x/../../../..{escaped}"]]\n'
    )
    done = buildopt(["build", "--profile", "m"], cwd=project)
    assert done.returncode == 0, done.stderr
    written = {p for p in tmp_path.rglob("*") if p.is_file()}
    outside = {p for p in written if not p.is_relative_to(project)}
    assert outside == set() and not escaped.exists()
    binaries = [p for p in (project / "dist" / "m").rglob("hello") if STAGE not in p.parts]
    assert len(binaries) == 1 and ".." not in str(binaries[0].relative_to(project))
    (project / "profiles" / "o.toml").write_text(
        f'package = "./hello"\n[variants.a]\nflags = ["-o", "{escaped}"]\n'
    )
    refused = buildopt(["build", "--profile", "o"], cwd=project)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "buildopt sets the output path" in refused.stderr
    assert not escaped.exists() and not (project / "dist" / "o").exists()


@pytest.mark.parametrize(
    ("write", "reason"),
    [
        # a new file, as go writes its output (it never writes into the old one, which is the
        # published binary's other name: cmd/go/internal/work/shell.go)
        ('rm -f "$out"; printf \'not an elf\' > "$out"', "verification: cannot read the binary"),
        (":", "go build exited with 0 but wrote no binary"),
    ],
)
def test_a_failed_build_leaves_the_last_good_binary(
    go: str, tmp_path: Path, write: str, reason: str
) -> None:
    """A go that writes garbage (or nothing) and exits 0: the variant fails, exit 1, the table
    says why, and the binary the last good build left is still there - and so is its entry in
    the build record, which describes what dist/ holds."""
    project = hello_project(tmp_path, 'package = "./hello"\n[variants.a]\ncgo = false\n')
    good = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert good.returncode == 0, good.stderr
    (good_entry,) = json.loads(good.stdout)["builds"]
    (binary,) = [p for p in (project / "dist" / "p").rglob("hello") if STAGE not in p.parts]
    before = binary.read_bytes()
    if write == ":":  # a go that writes nothing into a fresh stage (one with a binary in it is
        shutil.rmtree(binary.parent / STAGE)  # go's up-to-date target: nothing to write)
    fake = tmp_path / "fake-go"
    fake.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = build ]; then\n'
        '  while [ $# -gt 0 ]; do [ "$1" = -o ] && out="$2"; shift; done\n'
        f"  {write}\n  exit 0\nfi\n"
        f'exec {go} "$@"\n'
    )
    fake.chmod(0o755)
    done = buildopt(
        ["build", "--profile", "p", "--json"], cwd=project, env={"BUILDOPT_GO": str(fake)}
    )
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    assert reason in " ".join(done.stderr.split())  # the table (wrapped to the terminal)
    (entry,) = json.loads(done.stdout)["builds"]
    assert entry == good_entry
    assert json.loads((project / "dist" / "p" / "build.json").read_text())["builds"] == [entry]
    assert binary.read_bytes() == before
    assert sorted(p.name for p in binary.parent.iterdir()) == [STAGE, "hello"]  # no temp file


def test_an_unchanged_rebuild_is_gos_up_to_date_check(go: str, tmp_path: Path) -> None:
    """buildopt built into a fresh temporary name each time, so go could never skip the link:
    an unchanged rebuild took 5-8x the time of the same go build commands by hand. Now go
    builds into the variant's stage and finds it up to date; what was verified and published
    then is reused, and the published binary is not rewritten."""
    project = hello_project(tmp_path, 'package = "./hello"\n[variants.a]\ncgo = false\n')
    first = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert first.returncode == 0, first.stderr
    (entry,) = json.loads(first.stdout)["builds"]
    binary = Path(entry["output"])
    published = binary.stat()
    record = (project / "dist" / "p" / "build.json").stat()
    time.sleep(1.1)  # the record's time (whole seconds) would change: it is not rewritten
    again = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert again.returncode == 0, again.stderr
    now = (project / "dist" / "p" / "build.json").stat()
    assert (now.st_ino, now.st_mtime_ns) == (record.st_ino, record.st_mtime_ns)
    (same,) = json.loads(again.stdout)["builds"]
    assert {k: v for k, v in same.items() if k != "wall_seconds"} == {
        k: v for k, v in entry.items() if k != "wall_seconds"
    }  # the same facts, the same build time
    assert (binary.stat().st_ino, binary.stat().st_mtime_ns) == (
        published.st_ino,
        published.st_mtime_ns,
    )
    binary.write_bytes(binary.read_bytes())  # the published file written by hand: verify again
    touched = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    (checked,) = json.loads(touched.stdout)["builds"]
    assert (checked["sha256"] == entry["sha256"] and checked["built"] != entry["built"]) or (
        checked["built"] == entry["built"] and binary.stat().st_ino != published.st_ino
    )
    main = project / "hello" / "main.go"
    main.write_text(main.read_text().replace("hello", "hello again"))
    changed = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    (rebuilt,) = json.loads(changed.stdout)["builds"]
    assert rebuilt["sha256"] != entry["sha256"]
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == rebuilt["sha256"]


def test_windows_builds_are_listed_not_dropped(tmp_path: Path) -> None:
    """Windows and darwin builds said "ok" and were silently left out of compare and the
    gate. Now they are listed as not inspected, with their format and size."""
    project = hello_project(
        tmp_path,
        'package = "./hello"\ntargets = ["linux/amd64", "windows/amd64"]\n'
        "[variants.default]\ncgo = false\n"
        '[[budget]]\nselect = "*"\nmax_size = "100 MiB"\n',
        "w",
    )
    assert buildopt(["build", "--profile", "w"], cwd=project).returncode == 0
    compared = buildopt(["compare", "--profile", "w", "--json"], cwd=project)
    (entry,) = json.loads(compared.stdout)["not_inspected"]
    assert entry["id"] == "default@windows-amd64" and entry["size"] > 0
    assert entry["reason"].startswith("not inspected: PE (windows binaries are not ELF")
    people = buildopt(["compare", "--profile", "w"], cwd=project)
    assert "default@windows-amd64:" in people.stdout and "not inspected: PE" in people.stdout
    gated = buildopt(["gate", "--profile", "w", "--json"], cwd=project)
    checks = {c["target"]: c for c in json.loads(gated.stdout)["checks"]}
    assert checks["default@windows-amd64"]["verdict"] == "skip"
    assert checks["default@windows-amd64"]["note"].startswith("not inspected: PE")
    assert checks["default@linux-amd64"]["verdict"] == "pass"


def test_dist_holds_each_binary_once(go: str, tmp_path: Path) -> None:
    """dist/ held every binary twice (the stage go writes and a copy of it): now the published
    binary is the stage's other name. A rebuild is a new file renamed into place: a reader of
    the old one keeps the old bytes. A byte written into the published file (so into the
    stage) makes go build again, not call it up to date."""
    project = hello_project(tmp_path, 'package = "./hello"\n[variants.a]\ncgo = false\n')
    first = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    assert first.returncode == 0, first.stderr
    (entry,) = json.loads(first.stdout)["builds"]
    binary = Path(entry["output"])
    stage = binary.parent / STAGE / binary.name
    assert binary.stat().st_ino == stage.stat().st_ino and binary.stat().st_nlink == 2
    files = [p for p in (project / "dist").rglob("*") if p.is_file() and p.stat().st_size > 1e5]
    assert len({p.stat().st_ino for p in files}) == 1  # one binary's bytes, once
    old_bytes = binary.read_bytes()
    with open(binary, "rb") as held:
        main = project / "hello" / "main.go"
        main.write_text(main.read_text().replace("hello", "hello again"))
        changed = buildopt(["build", "--profile", "p", "--json"], cwd=project)
        assert changed.returncode == 0, changed.stderr
        assert held.read() == old_bytes and os.fstat(held.fileno()).st_nlink == 0
    (rebuilt,) = json.loads(changed.stdout)["builds"]
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == rebuilt["sha256"]
    assert binary.stat().st_ino == stage.stat().st_ino
    with open(binary, "ab") as f:  # written in place: the stage is the same file
        f.write(b"\0")
    again = buildopt(["build", "--profile", "p", "--json"], cwd=project)
    (healed,) = json.loads(again.stdout)["builds"]
    assert healed["sha256"] == rebuilt["sha256"]
    assert hashlib.sha256(binary.read_bytes()).hexdigest() == rebuilt["sha256"]
