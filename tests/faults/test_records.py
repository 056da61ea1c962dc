"""Records never lie: dist/<profile>/build.json describes what dist/ holds after any run -
one variant built, a variant failing, an interrupt between variants, two runs at once."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path

from tests.faults.conftest import (
    buildopt,
    processes_with_env,
    record_matches_dist,
    start_buildopt,
)


def test_building_one_variant_keeps_the_entries_of_the_others(hello: Path) -> None:
    """Before, `build --variant a` wrote a record of a alone while b's binary stayed in dist/."""
    assert buildopt(["build", "--profile", "p"], cwd=hello).returncode == 0
    record = hello / "dist" / "p" / "build.json"
    before = record_matches_dist(record)
    assert set(before) == {"a@linux-amd64", "b@linux-amd64"}
    (hello / "hello" / "main.go").write_text(
        (hello / "hello" / "main.go").read_text().replace("hello", "hello again")
    )
    done = buildopt(["build", "--profile", "p", "--variant", "a"], cwd=hello)
    assert done.returncode == 0, done.stderr
    after = record_matches_dist(record)
    assert after["b@linux-amd64"] == before["b@linux-amd64"]
    assert after["a@linux-amd64"] != before["a@linux-amd64"]


def test_an_interrupt_after_one_variant_landed(go: str, hello: Path, tmp_path: Path) -> None:
    """SIGTERM after variant a was rebuilt: the kept record said a had the old sha256 while
    dist/ held the new binary. Now a's entry is written as soon as its binary is in place."""
    assert buildopt(["build", "--profile", "p"], cwd=hello).returncode == 0
    record = hello / "dist" / "p" / "build.json"
    before = record_matches_dist(record)
    (hello / "hello" / "main.go").write_text(
        (hello / "hello" / "main.go").read_text().replace("hello", "hello again")
    )
    fake = tmp_path / "fake-go"  # b (the -trimpath variant) never finishes
    fake.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" -trimpath "*) [ "$1" = build ] && exec sleep 300;; esac\n'
        f'exec {go} "$@"\n'
    )
    fake.chmod(0o755)
    mark = uuid.uuid4().hex
    running = start_buildopt(
        ["build", "--profile", "p"],
        hello,
        {"BUILDOPT_GO": str(fake), "BUILDOPT_TEST_MARK": mark},
    )
    deadline = time.monotonic() + 120
    while json.loads(record.read_text())["builds"][0]["sha256"] == before["a@linux-amd64"]:
        assert running.poll() is None, running.communicate()
        assert time.monotonic() < deadline, "a's new entry never reached the record"
        time.sleep(0.05)
    running.send_signal(signal.SIGTERM)
    _out, err = running.communicate(timeout=30)
    assert running.returncode == 143, err  # 128 + SIGTERM
    assert "the build record holds the builds that finished" in err
    after = record_matches_dist(record)
    assert after["a@linux-amd64"] != before["a@linux-amd64"]
    assert after["b@linux-amd64"] == before["b@linux-amd64"]
    assert processes_with_env(f"BUILDOPT_TEST_MARK={mark}") == []


def test_two_builds_at_once_merge_their_entries(hello: Path) -> None:
    """Two builds of different variants at once: the later record replaced the earlier one's
    entries. Now each entry is merged in under the record's lock."""
    runs = [start_buildopt(["build", "--profile", "p", "--variant", v], hello, {}) for v in "ab"]
    for run in runs:
        _out, err = run.communicate(timeout=600)
        assert run.returncode == 0, err
    entries = record_matches_dist(hello / "dist" / "p" / "build.json")
    assert set(entries) == {"a@linux-amd64", "b@linux-amd64"}


def test_a_record_of_another_profile_is_replaced_and_said_so(hello: Path) -> None:
    other = hello / "other.json"
    assert buildopt(["build", "--profile", "p", "--record", str(other)], cwd=hello).returncode == 0
    (hello / "profiles" / "q.toml").write_text('package = "./hello"\n[variants.c]\ncgo = false\n')
    done = buildopt(["build", "--profile", "q", "--record", str(other)], cwd=hello)
    assert done.returncode == 0, done.stderr
    assert f"replacing {other}: a record of profile 'p' with binaries in" in done.stderr
    assert [b["id"] for b in json.loads(other.read_text())["builds"]] == ["c@linux-amd64"]


def test_a_binary_removed_by_hand_loses_its_entry(hello: Path) -> None:
    assert buildopt(["build", "--profile", "p"], cwd=hello).returncode == 0
    record = hello / "dist" / "p" / "build.json"
    gone = Path(json.loads(record.read_text())["builds"][1]["output"])
    gone.unlink()
    assert buildopt(["build", "--profile", "p", "--variant", "a"], cwd=hello).returncode == 0
    assert set(record_matches_dist(record)) == {"a@linux-amd64"}


def test_a_failed_variant_is_in_its_record_and_the_merge_names_a_missing_one(
    hello: Path,
) -> None:
    """A CI job whose build fails still writes its record (the reason in it); merged with the
    ids the matrix expected, a job that left no record is named, and a bad matrix is one line."""
    (hello / "hello" / "zz_broken.go").write_text("package main\n\nfunc broken( {\n")
    done = buildopt(["build", "--profile", "p", "--variant", "a", "--record", "a.json"], cwd=hello)
    assert done.returncode == 1
    (entry,) = json.loads((hello / "a.json").read_text())["builds"]
    assert entry["status"] == "failed" and "syntax error" in entry["reason"]
    matrix = hello / "matrix.json"
    matrix.write_text(buildopt(["matrix", "--profile", "p"], cwd=hello).stdout)
    merged = buildopt(
        ["merge", "a.json", "--expect-matrix", "matrix.json", "-o", "m.json"], cwd=hello
    )
    assert merged.returncode == 0, merged.stderr
    assert "missing b@linux-amd64: its job uploaded no record" in merged.stderr
    missing = json.loads((hello / "m.json").read_text())["missing"]
    assert [m["id"] for m in missing] == ["b@linux-amd64"]
    matrix.write_text('{"include": [{"variant": "a"}]}')
    bad = buildopt(["merge", "a.json", "--expect-matrix", "matrix.json", "-o", "m.json"], cwd=hello)
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "error: matrix.json: not a buildopt matrix: include[0].id: required, but missing"
    )
    matrix.write_text("[1")  # cut short: said to be, not "expected an object, got an array"
    cut = buildopt(["merge", "a.json", "--expect-matrix", "matrix.json", "-o", "m.json"], cwd=hello)
    assert cut.returncode == 2
    assert cut.stderr.startswith("error: matrix.json: not JSON: "), cut.stderr
    assert len(cut.stderr.strip().splitlines()) == 1
    gone = buildopt(["merge", "a.json", "--expect-matrix", "nope.json", "-o", "m.json"], cwd=hello)
    assert gone.returncode == 2
    assert gone.stderr.strip() == (
        "error: --expect-matrix nope.json: cannot read: No such file or directory"
    )
