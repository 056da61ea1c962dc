"""The GitHub Actions workflows: valid per actionlint (built from its Go module), pinned, minimal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from buildopt.output.gate import md_text
from buildopt.record.store import save
from tests.conftest import REPO
from tests.integration.conftest import buildopt
from tests.integration.workflow_runner import (
    JobResult,
    Runner,
    Scope,
    UnknownForm,
    condition,
    seed_cache,
    substitute,
)
from tests.records import record

pytestmark = pytest.mark.integration

ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint(go: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    gobin = tmp_path_factory.mktemp("gobin")
    done = subprocess.run(
        [go, "install", ACTIONLINT],
        env={**os.environ, "GOBIN": str(gobin)},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, f"go install {ACTIONLINT} failed: {done.stderr[-500:]}"
    return gobin / "actionlint"


def test_there_are_workflows() -> None:
    assert {w.name for w in WORKFLOWS} >= {"ci.yml", "size.yml"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(actionlint: Path, workflow: Path) -> None:
    done = subprocess.run(
        [str(actionlint), "-no-color", str(workflow)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_does_fail_on_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - run: echo ${{ matrix.nope }}\n"
    )
    done = subprocess.run(
        [str(actionlint), "-no-color", str(broken)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_pinned_minimal_and_cancellable(workflow: Path) -> None:
    text = workflow.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), f"not pinned: {action}"
    assert re.search(r"^permissions:\n  contents: read$", text, re.M)
    assert re.search(r"^concurrency:", text, re.M)


# --- size.yml run as a runner would (tests/integration/workflow_runner.py) -----------------

SIZE = REPO / ".github" / "workflows" / "size.yml"
MARKER = "<!-- buildopt-size -->"
ACK = "the new TLS stack is needed for 5G NSA"
BROKEN = "static@linux-arm64"  # its build fails on the bad day
LOST = "static@linux-amd64"  # its job dies before its record is uploaded on the bad day
# ~200 KB more in every variant: +4% of the stripped gateway, over the 2% growth budget
GROWTH = (
    'package main\n\nimport "os"\n\nconst padding = "' + "0123456789abcdef" * 12_800 + '"\n\n'
    "func init() {\n\tif len(os.Args) > 1000 {\n\t\tprint(padding)\n\t}\n}\n"
)

NEW_IMPORT = 'package main\n\nimport "encoding/xml"\n\nvar _, _ = xml.Marshal(1)\n'


@dataclass(frozen=True)
class Day:
    runner: Runner
    jobs: dict[str, JobResult]
    gh_calls: list[dict[str, Any]]

    def artifact(self, name: str) -> Path:
        return self.runner.artifacts / name


def _stub(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture(scope="module")
def stand_in(go: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The stubs on PATH and the cache store, seeded with an older entry of this Go release
    (a copy of this machine's Go build cache) that the jobs' restore-keys fall back to."""
    root = tmp_path_factory.mktemp("runner")
    stubs = root / "bin"
    stubs.mkdir()
    python = sys.executable
    _stub(
        stubs / "sudo",
        '#!/bin/sh\ncase "$1" in apt-get) echo "stand-in sudo: $* (the packages are present)";'
        ' exit 0;; esac\nexec "$@"\n',
    )
    _stub(
        stubs / "python",
        '#!/bin/sh\nif [ "$1" = -m ] && [ "$2" = pip ]; then\n'
        '  echo "stand-in: $* (buildopt is on PYTHONPATH)"; exit 0\nfi\n'
        f'exec {python} "$@"\n',
    )
    _stub(stubs / "buildopt", f'#!/bin/sh\nexec {python} -m buildopt "$@"\n')
    _stub(stubs / "gh", f'#!/bin/sh\nexec {python} {Path(__file__).parent / "gh_stub.py"} "$@"\n')
    toolchain = subprocess.run(
        [go, "env", "GOVERSION", "GOCACHE"], capture_output=True, text=True, check=True
    ).stdout.split()
    caches = root / "caches"
    seed_cache(
        caches, [f"go-Linux-{toolchain[0]}-older", "go-Linux-gate-older"], [Path(toolchain[1])]
    )
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "GO"))
    }
    environ |= {"PATH": f"{stubs}:{Path(go).parent}:{os.environ['PATH']}", "NO_COLOR": "1"}
    return caches, environ


def _day(
    root: Path,
    stand_in: tuple[Path, dict[str, str]],
    github: dict[str, Any],
    scenario: dict[str, Any],
    sabotage: dict[str, Callable[[Path], None]] | None = None,
    lose: frozenset[str] = frozenset(),
) -> Day:
    caches, environ = stand_in
    scenario = {**scenario, "log": str(root / "gh.log")}
    (root / "gh.json").write_text(json.dumps(scenario))
    runner = Runner(
        root=root,
        repo=REPO,
        caches=caches,
        github={
            "token": "t0ken",
            "repository": "example/buildopt",
            "server_url": "https://github.example",
            "run_id": "1",
            "sha": "0123456789abcdef0123456789abcdef01234567",
            "base_ref": "",
            **github,
        },
        environ={**environ, "GH_STUB": str(root / "gh.json")},
        sabotage=sabotage or {},
        lose_artifacts=lose,
    )
    jobs = runner.run(SIZE)
    log = root / "gh.log"
    calls = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return Day(runner, jobs, calls)


def run_good_day(
    stand_in: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Day:
    """A push to main; GitHub's API is down, so there is no baseline."""
    return _day(
        tmp_path_factory.mktemp("good-day"),
        stand_in,
        {"event_name": "push", "ref_name": "main", "run_id": "101", "event": {}},
        {"run_list_error": "HTTP 503: Service Unavailable (https://api.github.com/graphql)"},
    )


def run_bad_day(
    good_day: Day, stand_in: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Day:
    """A pull request against main (the good day's run is its baseline) that grows every
    variant, breaks the build of one and loses the record of another, with a Binary-Size:
    line in its body and the gate's comment of an earlier push to update."""

    def imports(tree: Path) -> None:  # a package no dependency list has
        (tree / "examples" / "billing-gateway" / "zz_xml.go").write_text(NEW_IMPORT)

    def grow(tree: Path) -> None:
        (tree / "examples" / "billing-gateway" / "zz_padding.go").write_text(GROWTH)
        imports(tree)

    def breaks(tree: Path) -> None:
        grow(tree)
        (tree / "examples" / "billing-gateway" / "zz_broken.go").write_text(
            "package main\n\nfunc broken( {\n"
        )

    pull = {
        "number": 27,
        "body": f"Grows the gateway.\r\n\r\nBinary-Size: {ACK}\r\n",
        "head": {"repo": {"full_name": "example/buildopt"}},
    }
    return _day(
        tmp_path_factory.mktemp("bad-day"),
        stand_in,
        {
            "event_name": "pull_request",
            "ref_name": "27/merge",
            "base_ref": "main",
            "run_id": "102",
            "event": {"pull_request": pull},
        },
        {
            "runs": [{"id": 101, "branch": "main"}],
            "artifacts": {
                "101": {
                    "build-record": str(good_day.artifact("build-record")),
                    "size-history": str(good_day.artifact("size-history")),
                }
            },
            "comments": [
                {"id": 3, "user": {"login": "alice"}, "body": "looks good"},
                {"id": 4, "user": {"login": "mallory"}, "body": f"{MARKER}\nnot the gate's"},
                {
                    "id": 555,
                    "user": {"login": "github-actions[bot]"},
                    "body": f"{MARKER}\n### buildopt gate: telecom-edge - PASS",
                },
            ],
        },
        sabotage={
            "": imports,  # the jobs outside the matrix: plan and gate check out the same commit
            BROKEN: breaks,
            **{job: grow for job in _matrix_ids() if job != BROKEN},
        },
        lose=frozenset({f"record-{LOST}"}),
    )


def _matrix_ids() -> list[str]:
    done = buildopt(["matrix", "--profile", "telecom-edge"])
    return [job["id"] for job in json.loads(done.stdout)["include"]]


def _failures(day: Day) -> str:
    return "\n\n".join(day.runner.log[-8:])


def check_a_good_day_builds_every_job_and_gates_with_the_baseline_skipped(good_day: Day) -> None:
    jobs = good_day.jobs
    ids = _matrix_ids()
    assert len(ids) == 12 and all(jobs[f"build {i}"].result == "success" for i in ids), _failures(
        good_day
    )
    gate = jobs["gate"]
    assert gate.result == "success", _failures(good_day)
    assert jobs["comment"].result == "skipped"  # a push: no pull request to comment on
    summary = gate.summary
    assert summary.startswith("### buildopt gate: telecom-edge - PASS"), summary[:500]
    # the API was down: growth is not judged, and the summary says why - never a PASS
    assert "**No baseline**: gh run list failed: HTTP 503: Service Unavailable" in summary
    growth = [line for line in summary.splitlines() if "| max_growth |" in line]
    assert growth and all(line.startswith("| ⏭️ |") for line in growth)
    assert "gh run list failed: HTTP 503" in growth[0]
    assert "#### JUnit: buildopt gate telecom-edge" in summary and "0 failed" in summary
    # the checked-in dependency lists: current in the plan job, and a PASS row per variant
    lists = jobs["plan"].step("Dependency lists")
    assert lists.outcome == "success", lists.output
    assert lists.output.count("current deps/telecom-edge/") == 12, lists.output
    record = json.loads((good_day.artifact("build-record") / "build.json").read_text())
    assert {b["id"] for b in record["builds"]} == set(ids) and record["missing"] == []
    assert all(b["status"] == "ok" or b["reason"] for b in record["builds"])
    # the gate checked the list of each variant built (a skipped one has no binary to judge)
    built = [b["id"] for b in record["builds"] if b["status"] == "ok"]
    passed = [line for line in summary.splitlines() if "| dependency list |" in line]
    assert len(passed) == len(built) >= 6, passed
    assert all(line.startswith("| ✅ |") for line in passed), passed
    # start-up measured in CI: every linux/amd64 variant, judged by the gate
    measured = {b["id"] for b in record["builds"] if b.get("startup")}
    assert measured == {i for i in ids if i.endswith("@linux-amd64")}
    startup = [line for line in summary.splitlines() if "| max_startup_p95 |" in line]
    assert startup and not any(line.startswith("| ⏭️ |") for line in startup)
    # a push to main keeps the size history; the cache saved one entry per job
    assert len(list(good_day.artifact("size-history").glob("*.json"))) == 1
    saved = [line for line in good_day.runner.log if line.startswith("stand-in cache: saved")]
    assert len(saved) == 12 + 1


def check_a_bad_day_still_gates_naming_the_failed_and_the_missing_job(bad_day: Day) -> None:
    jobs = bad_day.jobs
    assert jobs[f"build {BROKEN}"].result == "failure"
    build_step = jobs[f"build {BROKEN}"].step(f"Build {BROKEN}")
    assert build_step.outcome == "failure" and "syntax error" in build_step.output
    # the failed job still uploaded its record (the lost one did not)
    assert (bad_day.artifact(f"record-{BROKEN}") / f"record-{BROKEN}.json").is_file()
    assert not bad_day.artifact(f"record-{LOST}").exists()
    gate = jobs["gate"]
    assert gate.result == "failure", _failures(bad_day)  # it ran, and failed
    assert gate.step("Gate").outcome == "failure"
    merged = jobs["gate"].step("Merge the per-job records")
    assert f"missing {LOST}: its job uploaded no record" in merged.output
    summary = gate.summary
    assert summary.startswith("### buildopt gate: telecom-edge - FAIL")
    rows = {
        line.split("|")[3].strip(" `"): line for line in summary.splitlines() if "| built |" in line
    }
    assert set(rows) == {BROKEN, LOST}
    assert (
        rows[BROKEN].startswith("| ❌ |") and "build failed: go build exited with 1" in rows[BROKEN]
    )
    assert "missing: its job uploaded no record (failed or cancelled)" in rows[LOST]
    record = json.loads((bad_day.artifact("build-record") / "build.json").read_text())
    assert record["missing"] == [
        {"id": LOST, "reason": "its job uploaded no record (failed or cancelled)"}
    ]
    assert "gate-junit.xml" in {p.name for p in bad_day.artifact("build-record").iterdir()}


def check_a_bad_day_measures_growth_against_main_and_quotes_the_acknowledgement(
    bad_day: Day,
) -> None:
    summary = bad_day.jobs["gate"].summary
    assert f"> Binary-Size: {ACK}" in summary
    growth = [line for line in summary.splitlines() if "| max_growth |" in line]
    over = [line for line in growth if line.startswith("| ⚠️ |")]
    assert over and all(f"acknowledged: Binary-Size: {ACK}" in line for line in over)
    assert all(re.search(r"\| \+\d+\.\d\d% \| \+2\.0% \|", line) for line in over)
    assert not any(line.startswith("| ❌ |") for line in growth)  # acknowledged: none fails
    assert "**No baseline**" not in summary
    fetched = [c["argv"] for c in bad_day.gh_calls if c["argv"][:2] == ["run", "download"]]
    assert ["run", "download", "101", "--name", "build-record", "--dir", "baseline"] in fetched


def check_a_new_package_fails_the_gate_with_its_chain(bad_day: Day) -> None:
    lists = bad_day.jobs["plan"].step("Dependency lists")
    assert lists.outcome == "success", lists.output  # a warning there: the builds still run
    assert "stale   deps/telecom-edge/static@linux-amd64.txt: 1 new" in lists.output
    assert "  + encoding/xml" in lists.output
    check = md_text("new_package[encoding/xml]")
    summary = bad_day.jobs["gate"].summary
    rows = [x for x in summary.splitlines() if check in x and x.startswith("| ")]  # the table
    assert rows and all(x.startswith("| ❌ | dependency list |") for x in rows), rows
    assert f"- ❌ dependency list `default@linux-amd64`: {check}" in summary  # the JUnit list
    chain = md_text("example.com/billing-gateway -> encoding/xml")  # as the Markdown has it
    assert all(chain in x for x in rows), rows


def check_the_pull_request_hears_it_in_one_comment_updated_in_place(bad_day: Day) -> None:
    assert bad_day.jobs["comment"].result == "success", _failures(bad_day)
    writes = [c for c in bad_day.gh_calls if "--method" in c["argv"]]
    assert [c["argv"][:3] for c in writes] == [
        ["api", "--method", "PATCH"]
    ]  # the earlier comment (id 555), not a new one, nor one that only starts like it (4)
    assert writes[0]["argv"][3] == "repos/example/buildopt/issues/comments/555"
    body = writes[0]["body"]
    assert body.startswith(f"{MARKER}\n### buildopt gate: telecom-edge - FAIL")
    assert BROKEN in body and LOST in body and f"> Binary-Size: {ACK}" in body
    # the step summary of the gate job and the comment say the same
    assert body.removeprefix(MARKER + "\n") in bad_day.jobs["gate"].summary


def test_size_yml_gates_a_good_day_and_a_bad_one(
    stand_in: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """size.yml's steps as a runner runs them: a push to main while GitHub's API is down, then
    a pull request that grows every variant, breaks one build and loses another job's record.
    One test, so that parallel test workers never run the days twice (the bad day's baseline
    is the good day's record)."""
    good = run_good_day(stand_in, tmp_path_factory)
    check_a_good_day_builds_every_job_and_gates_with_the_baseline_skipped(good)
    bad = run_bad_day(good, stand_in, tmp_path_factory)
    check_a_bad_day_still_gates_naming_the_failed_and_the_missing_job(bad)
    check_a_bad_day_measures_growth_against_main_and_quotes_the_acknowledgement(bad)
    check_a_new_package_fails_the_gate_with_its_chain(bad)
    check_the_pull_request_hears_it_in_one_comment_updated_in_place(bad)


def test_the_runner_refuses_expression_forms_it_does_not_know(tmp_path: Path) -> None:
    scope = Scope({"github": {"ref": "x"}}, tmp_path)
    assert condition("${{ github.ref == 'X' }}", scope)  # GitHub compares strings loosely
    with pytest.raises(UnknownForm):
        condition("contains(github.ref, 'x')", scope)
    with pytest.raises(UnknownForm):
        substitute("${{ secrets.TOKEN }}", scope)


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ("garbage\n", "not a JSON build record"),
        ('{"schema": "buildopt.build/99"}\n', "buildopt.build/99"),
    ],
)
def test_a_baseline_that_cannot_be_used_is_missing_and_the_gate_still_speaks(
    tmp_path: Path, stored: str, why: str
) -> None:
    """A damaged build record of main's last run, or one of a buildopt with another schema,
    was passed to the gate as --baseline: exit 2 before any Markdown, so the Gate step failed
    on its own `cat gate.md`, and the pull request heard nothing."""
    workflow = yaml.safe_load(SIZE.read_text())
    steps = {s.get("name"): s for s in workflow["jobs"]["gate"]["steps"]}
    stubs, work = tmp_path / "bin", tmp_path / "work"
    stubs.mkdir()
    stored_at = tmp_path / "artifact"
    stored_at.mkdir()
    (stored_at / "build.json").write_text(stored)
    _stub(stubs / "buildopt", f'#!/bin/sh\nexec {sys.executable} -m buildopt "$@"\n')
    gh = Path(__file__).parent / "gh_stub.py"
    _stub(stubs / "gh", f'#!/bin/sh\nexec {sys.executable} {gh} "$@"\n')
    scenario = {
        "log": str(tmp_path / "gh.log"),
        "runs": [{"id": 101, "branch": "main"}],
        "artifacts": {"101": {"build-record": str(stored_at)}},
    }
    (tmp_path / "gh.json").write_text(json.dumps(scenario))
    (work / "dist" / "telecom-edge").mkdir(parents=True)
    save(work / "dist" / "telecom-edge" / "build.json", record(name="telecom-edge"))
    output = tmp_path / "output"
    environ = {
        **os.environ,
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "GH_STUB": str(tmp_path / "gh.json"),
        "GH_TOKEN": "t0ken",
        "GH_REPO": "example/buildopt",
        "BASE_REF": "main",
        "PROFILE": "telecom-edge",
        "GITHUB_OUTPUT": str(output),
    }
    script = steps["Baseline record of the target branch"]["run"]
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        check=False,
        cwd=work,
        env=environ,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    said = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert said["missing"].startswith("the build record of run 101 cannot be used: ")
    assert why in said["missing"] and not (work / "baseline").exists()
    # and a gate that stops on bad input (here: no profile in this folder) still says FAIL
    summary = tmp_path / "summary.md"
    environ |= {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_EVENT_NAME": "push"}
    environ |= {"BASELINE_MISSING": said["missing"], "RUN_URL": "https://github.example/run/1"}
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", steps["Gate"]["run"]],
        check=False,
        cwd=work,
        env=environ,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "error: " in done.stderr, done.stderr
    assert summary.read_text().startswith(
        "### buildopt gate: telecom-edge - FAIL\n\n`buildopt gate` exited with 2 "
    )
