"""The gate on real builds: pass, a broken budget, CI outputs, the matrix -> merge round trip."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt

pytestmark = pytest.mark.integration


def child_profile(tmp_path: Path, extra: str) -> Path:
    """A profile that extends the shipped telecom-edge one and adds budgets; of the same name,
    so that it gates telecom-edge's records (a record of another profile is refused)."""
    path = tmp_path / "telecom-edge.toml"
    path.write_text(f'extends = "{REPO}/profiles/telecom-edge.toml"\nroot = "{REPO}"\n{extra}')
    return path


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped profile gated with no record yet: gate --build builds first."""
    out = tmp_path_factory.mktemp("gate") / "build.json"
    missing = buildopt(["gate", "--profile", "telecom-edge", "--record", str(out)])
    assert missing.returncode == 2
    assert missing.stderr == (
        f"error: gate: no build record at {out} (build first, or gate --build)\n"
    )
    done = buildopt(["gate", "--profile", "telecom-edge", "--record", str(out), "--build"])
    assert done.returncode == 0, done.stderr
    assert "building telecom-edge first (--build)" in done.stderr
    return out


def test_shipped_budgets_pass(record: Path) -> None:
    done = buildopt(
        [
            "gate",
            "--profile",
            "telecom-edge",
            "--record",
            str(record),
            "--json",
            "--baseline",
            str(record.parent / "missing.json"),
        ]
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    jsonschema.validate(result, load_schema("buildopt.gate/1"))
    assert result["result"] == "pass" and result["counts"]["fail"] == 0
    growth = [c for c in result["checks"] if c["check"] == "max_growth"]
    assert growth and all(
        c["verdict"] == "skip" and "no baseline record at" in c["note"] for c in growth
    )
    assert "missing.json" in result["baseline_missing"]
    flash = [
        c
        for c in result["checks"]
        if c["budget"] == "flash partition B" and c["check"] == "max_size"
    ]
    built = {b["id"]: b["size"] for b in json.loads(record.read_text())["builds"]}
    assert {c["target"]: int(c["actual"]) for c in flash} == {
        k: v for k, v in built.items() if k.startswith("static-stripped@linux-arm")
    }


def test_broken_budget_fails_with_ci_outputs(record: Path, tmp_path: Path) -> None:
    profile = child_profile(
        tmp_path,
        """
[[budget]]
name = "tiny flash"
select = "static-stripped@linux-amd64"
max_size = "5 MiB"
message = "the tiny flash holds 5 MiB"
""",
    )
    done = buildopt(
        [
            "gate",
            "--profile",
            str(profile),
            "--record",
            str(record),
            "--markdown",
            str(tmp_path / "summary.md"),
            "--junit",
            str(tmp_path / "j.xml"),
            "--baseline",
            str(record),
        ],
        env={"GITHUB_ACTIONS": "true"},
    )
    assert done.returncode == 1, done.stderr
    assert "FAIL" in done.stdout and "tiny flash" in done.stdout
    assert "::error file=" in done.stderr and "the tiny flash holds 5 MiB" in done.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### buildopt gate: telecom-edge - FAIL") and "❌" in summary
    suite = ET.fromstring((tmp_path / "j.xml").read_text())
    assert suite.get("failures") == "1"
    # with itself as baseline, growth is 0 everywhere
    assert "no baseline" not in done.stderr


def test_bad_budget_is_exit_2(tmp_path: Path, record: Path) -> None:
    profile = child_profile(tmp_path, '[[budget]]\nselect = "static@*"\nmax_size = "6 MeB"\n')
    done = buildopt(["gate", "--profile", str(profile), "--record", str(record)])
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {profile}: budget[1].max_size: '6 MeB': unknown unit "
        "'meb' (use B, KiB, MiB, GiB, kB, MB, GB)"
    )


def test_matrix_jobs_merge_and_gate(tmp_path: Path) -> None:
    done = buildopt(["matrix", "--profile", "telecom-edge", "--variant", "static-stripped@*arm*"])
    assert done.returncode == 0, done.stderr
    include = json.loads(done.stdout)["include"]
    assert [j["id"] for j in include] == [
        "static-stripped@linux-arm64",
        "static-stripped@linux-arm-v7",
    ]
    jobs = []
    for job in include:
        out = tmp_path / f"{job['id']}.json"
        built = buildopt(
            [
                "build",
                "--profile",
                "telecom-edge",
                "--variant",
                job["id"],
                "--record",
                str(out),
                "--dist",
                str(tmp_path / "dist"),
            ]
        )
        assert built.returncode == 0, built.stderr
        jobs.append(str(out))
    merged = tmp_path / "build.json"
    done = buildopt(["merge", *jobs, "-o", str(merged)])
    assert done.returncode == 0, done.stderr
    data = json.loads(merged.read_text())
    jsonschema.validate(data, load_schema("buildopt.build/1"))
    assert [b["id"] for b in data["builds"]] == [j["id"] for j in include]
    again = buildopt(["merge", jobs[0], jobs[0], "-o", str(tmp_path / "x.json")])
    assert again.returncode == 2 and "is also in" in again.stderr
    gated = buildopt(["gate", "--profile", "telecom-edge", "--record", str(merged), "--json"])
    assert gated.returncode == 0, gated.stderr
    assert {c["target"] for c in json.loads(gated.stdout)["checks"]} >= {
        "static-stripped@linux-arm64",
        "static-stripped@linux-arm-v7",
    }


def test_dwarf_per_package_budget_records_what_it_gates(tmp_path: Path) -> None:
    """A max_dwarf_package budget makes the build count DWARF per package (readelf-checked in
    test_inspect), keeps it in the record, and the gate sums the matching packages."""
    profile = tmp_path / "profiles" / "dw.toml"
    profile.parent.mkdir()
    profile.write_text(
        f"""
package = "{REPO}/tests/go/hello"
[variants.default]
cgo = false
[variants.small]
cgo = false
strip = "all"
[[budget]]
name = "debug info"
select = "*"
max_dwarf_package = {{ "runtime*" = "2 MiB", "main" = "1 B" }}
"""
    )
    done = buildopt(["gate", "--profile", str(profile), "--json", "--build"], cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    checks = {(c["target"].split("@")[0], c["check"]): c for c in json.loads(done.stdout)["checks"]}
    runtime = checks[("default", "max_dwarf_package[runtime*]")]
    assert runtime["verdict"] == "pass" and int(runtime["actual"]) > 100_000
    assert checks[("default", "max_dwarf_package[main]")]["verdict"] == "fail"
    assert checks[("small", "max_dwarf_package[main]")]["actual"] == "0"  # -s -w: no DWARF
    record = json.loads((tmp_path / "dist" / "dw" / "build.json").read_text())
    jsonschema.validate(record, load_schema("buildopt.build/1"))
    (default,) = [b for b in record["builds"] if b["variant"] == "default"]
    by_package = {u["package"]: u for u in default["inspect"]["dwarf"]["by_package"]}
    assert runtime["actual"] == str(
        sum(
            u["info_bytes"] + u["line_bytes"]
            for p, u in by_package.items()
            if p.startswith("runtime")
        )
    )


def test_dist_moves_the_record_for_every_command(tmp_path: Path) -> None:
    """build --dist X writes X/P/build.json; compare and gate --dist X read it there (gate used
    to rebuild into dist/), and without --dist they look in dist/ and say where."""
    project = tmp_path / "project"
    (project / "profiles").mkdir(parents=True)
    (project / "profiles" / "p.toml").write_text(
        f'package = "{REPO}/tests/go/hello"\n[variants.default]\ncgo = false\n'
        '[[budget]]\nselect = "*"\nmax_size = "100 MiB"\n'
    )
    out = tmp_path / "elsewhere"
    built = buildopt(["build", "--profile", "p", "--dist", str(out)], cwd=project)
    assert built.returncode == 0, built.stderr
    assert (out / "p" / "build.json").is_file() and not (project / "dist").exists()
    compared = buildopt(["compare", "--profile", "p", "--dist", str(out), "--json"], cwd=project)
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["variants"][0]["id"].startswith("default@")
    gated = buildopt(["gate", "-p", "p", "--dist", str(out)], cwd=project)
    assert gated.returncode == 0, gated.stderr
    assert "first (--build)" not in gated.stderr and not (project / "dist").exists()
    missing = buildopt(["compare", "--profile", "p"], cwd=project)
    assert missing.returncode == 2
    assert missing.stderr == (
        f"error: compare --profile p: no build record {project / 'dist' / 'p' / 'build.json'}; "
        "run buildopt build\n"
    )


def test_markdown_appends_to_the_step_summary_and_files_follow_the_umask(
    record: Path, tmp_path: Path
) -> None:
    """--markdown "$GITHUB_STEP_SUMMARY" replaced the file (earlier steps' summaries were lost),
    and every file buildopt wrote was 0600 whatever the umask."""
    import os
    import stat

    summary = tmp_path / "summary.md"
    summary.write_text("## an earlier step\n")
    done = buildopt(
        ["gate", "--profile", "telecom-edge", "--record", str(record), "--markdown", str(summary)],
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert done.returncode == 0, done.stderr
    text = summary.read_text()
    assert text.startswith("## an earlier step\n") and "telecom-edge" in text
    elsewhere = tmp_path / "gate.md"
    elsewhere.write_text("an older report\n")
    for _ in range(2):  # not the step summary: written whole, each time
        done = buildopt(
            ["gate", "-p", "telecom-edge", "--record", str(record), "--markdown", str(elsewhere)],
        )
        assert done.returncode == 0, done.stderr
    assert "an older report" not in elsewhere.read_text()
    assert elsewhere.read_text().count("telecom-edge") == summary.read_text().count("telecom-edge")
    appended = buildopt(
        [
            "gate",
            "-p",
            "telecom-edge",
            "--record",
            str(record),
            "--markdown",
            str(elsewhere),
            "--markdown-mode",
            "append",
        ],
    )
    assert appended.returncode == 0, appended.stderr
    assert elsewhere.read_text().count("telecom-edge") == 2 * summary.read_text().count(
        "telecom-edge"
    )
    junit = tmp_path / "junit.xml"
    script = (
        "import os, runpy, sys; os.umask(0o002); sys.argv[0] = 'buildopt'; "
        "runpy.run_module('buildopt', run_name='__main__')"
    )
    import subprocess
    import sys

    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            "gate",
            "-p",
            "telecom-edge",
            "--record",
            str(record),
            "--junit",
            str(junit),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert stat.S_IMODE(junit.stat().st_mode) == 0o664
    assert stat.S_IMODE(record.stat().st_mode) == 0o666 & ~0o022  # written under umask 022


def test_matrix_lists_what_this_machine_cannot_build(tmp_path: Path) -> None:
    """`buildopt matrix` listed only what the planning machine could build: without a cross
    compiler there, default@linux-arm64 never got a job and the gate never mentioned it."""
    import os
    import shutil

    bare = tmp_path / "bin"  # go, and nothing else: no C cross compilers
    bare.mkdir()
    go = shutil.which("go") or "/usr/local/go/bin/go"
    (bare / "go").symlink_to(go)
    done = buildopt(["matrix", "--profile", "telecom-edge"], env={"PATH": f"{bare}:{os.defpath}"})
    assert done.returncode == 0, done.stderr
    jobs = {j["id"]: j for j in json.loads(done.stdout)["include"]}
    assert len(jobs) == 12  # every variant x target the profile declares
    assert jobs["default@linux-arm64"]["needs"] == [
        "gcc-aarch64-linux-gnu",
        "libc6-dev-arm64-cross",
    ]
    assert jobs["default@linux-arm64"]["cc"] == "aarch64-linux-gnu-gcc"
    assert jobs["static@linux-arm64"]["needs"] == [] and jobs["default@linux-amd64"]["needs"] == []


def test_why_there_is_no_baseline_is_printed_as_text(record: Path) -> None:
    """--baseline-missing comes from the network (gh's error): an ESC in it reached the
    terminal and the log as itself."""
    done = buildopt(
        [
            "gate",
            "--profile",
            "telecom-edge",
            "--record",
            str(record),
            "--baseline-missing",
            "HTTP 503 \x1b[2J\x1b]0;owned\x07",
        ]
    )
    assert done.returncode == 0, done.stderr
    assert "no baseline: HTTP 503 \\x1b[2J\\x1b]0;owned\\x07: growth budgets are SKIP" in (
        done.stderr
    )
    assert "\x1b" not in done.stderr + done.stdout
