"""``buildopt sweep`` on a small module whose feature tags each omit a file that links a known
standard package: every figure is the size and sha256 of the same go build run by hand with
those tags, to the byte; a tag that breaks the build is a row with go's error; a second run
rebuilds nothing; Ctrl-C (exit 130) keeps what finished and the next run resumes from it.

The module's sweep is run once for the module's tests (go's build cache makes the others
quick)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import buildopt

TARGET = "linux-amd64"
# tag: the standard package its feature links (the file is built without the tag)
FEATURES = {
    "noxml": ("encoding/xml", "xml.Name{}"),
    "nohttp": ("net/http", "http.MethodGet"),
    "notemplate": ("text/template", 'template.New("x")'),
    "nopng": ("image/png", "png.BestSpeed"),
}
TAGS = [*FEATURES, "nobroken"]  # nobroken without noxml does not compile
PROFILE = f"""package = "./app"

[variants.default]
cgo = false

[sweep]
tags = {json.dumps(TAGS)}
"""


def make_project(root: Path) -> Path:
    app = root / "app"
    app.mkdir(parents=True)
    (root / "profiles").mkdir()
    (app / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (app / "main.go").write_text(
        'package main\n\nimport "fmt"\n\nvar features []string\n\n'
        "func main() { fmt.Println(features) }\n"
    )
    for tag, (package, expr) in FEATURES.items():
        (app / f"f_{tag}.go").write_text(
            f'//go:build !{tag}\n\npackage main\n\nimport (\n\t"fmt"\n\t"{package}"\n)\n\n'
            f"func init() {{ features = append(features, fmt.Sprint({expr})) }}\n"
        )
    (app / "broken.go").write_text(
        '//go:build nobroken && !noxml\n\npackage main\n\nvar broken int = "not an int"\n'
    )
    (root / "profiles" / "p.toml").write_text(PROFILE)
    return root


def sweep(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return buildopt(["sweep", "-p", "p", "--json", *args], cwd=root)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def swept(project: Path) -> dict[str, Any]:
    done = sweep(project)
    assert done.returncode == 0, done.stderr  # nobroken breaks two builds: findings
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def by_hand(root: Path, tags: list[str], out: Path) -> tuple[int, str]:
    """go build of the profile's default, as buildopt plan says, with -tags added here."""
    done = buildopt(["plan", "-p", "p", "-v", f"default@{TARGET}", "--json"], cwd=root)
    (step,) = json.loads(done.stdout)["steps"]
    argv = list(step["argv"])
    argv[argv.index("-o") + 1] = str(out)
    if tags:
        argv.insert(-1, "-tags=" + ",".join(tags))
    subprocess.run(argv, cwd=step["dir"], env={**os.environ, **step["env"]}, check=True)
    blob = out.read_bytes()
    return len(blob), hashlib.sha256(blob).hexdigest()


def rows(report: dict[str, Any], mode: str) -> dict[str, dict[str, Any]]:
    return {row["tag"]: row for row in report[mode]}


def figures(row: dict[str, Any]) -> tuple[object, ...]:
    return row["tag"], row["status"], row.get("size"), row.get("sha256"), row.get("delta")


def test_every_figure_is_the_go_build_by_hand_to_the_byte(
    swept: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    full = by_hand(project, [], tmp_path / "full")
    minimal = by_hand(project, TAGS, tmp_path / "minimal")
    assert (swept["full"]["size"], swept["full"]["sha256"]) == full
    assert (swept["minimal"]["size"], swept["minimal"]["sha256"]) == minimal
    for tag in FEATURES:
        removed = rows(swept, "remove")[tag]
        size, sha = by_hand(project, [tag], tmp_path / f"remove-{tag}")
        assert (removed["size"], removed["sha256"]) == (size, sha), tag
        assert removed["delta"] == size - full[0] == -removed["feature_bytes"] < 0
    for tag in ("nohttp", "notemplate", "nopng", "nobroken"):
        added = rows(swept, "add")[tag]
        size, sha = by_hand(project, [t for t in TAGS if t != tag], tmp_path / f"add-{tag}")
        assert (added["size"], added["sha256"]) == (size, sha), tag
        assert added["delta"] == size - minimal[0] == added["feature_bytes"]


def test_the_document_is_its_schemas(swept: dict[str, Any], project: Path) -> None:
    import jsonschema

    from buildopt.output.schemas import load_schema

    jsonschema.validate(swept, load_schema("buildopt.sweep/1"))
    written = json.loads((project / "dist/p/.sweep/sweep.json").read_text())
    jsonschema.validate(written, load_schema("buildopt.sweep/1"))
    for mode in ("remove", "add"):  # the file the report reads: the run's tables
        assert list(map(figures, written[mode])) == list(map(figures, swept[mode]))


def test_the_tables_are_ranked_by_what_the_feature_weighs(swept: dict[str, Any]) -> None:
    for mode in ("remove", "add"):
        weights = [row["feature_bytes"] for row in swept[mode] if row["status"] == "ok"]
        assert weights == sorted(weights, reverse=True), mode
        assert swept[mode][0]["tag"] == "nohttp"  # net/http is by far the largest
        assert swept[mode][-1]["status"] == "failed"  # failures last
    assert swept["kind"] == "omit" and "removes a feature" in swept["caveat"]


def test_a_tag_that_breaks_the_build_is_a_row_with_gos_error(swept: dict[str, Any]) -> None:
    broken = rows(swept, "remove")["nobroken"]
    assert broken["status"] == "failed" and "broken.go" in broken["error"]
    assert "size" not in broken and "feature_bytes" not in broken
    # adding noxml back to the minimal build leaves nobroken without noxml: it breaks too
    assert rows(swept, "add")["noxml"]["status"] == "failed"


def test_the_tables_on_stdout_without_json(swept: dict[str, Any], project: Path) -> None:
    done = buildopt(["sweep", "-p", "p", "--mode", "remove", "--bytes"], cwd=project)
    assert "remove one from the full build: default@linux-amd64" in done.stdout
    assert "add one back" not in done.stdout
    line = next(x for x in done.stdout.splitlines() if x.startswith("nohttp "))
    assert str(rows(swept, "remove")["nohttp"]["feature_bytes"]) in line
    assert "about" in done.stderr and "builds to go" in done.stderr  # the estimate, up front


def test_a_second_run_rebuilds_nothing(swept: dict[str, Any], project: Path) -> None:
    record = project / "dist/p/.sweep/build.json"
    before = {b["id"]: b.get("built") for b in json.loads(record.read_text())["builds"]}
    again = json.loads(sweep(project).stdout)
    after = {b["id"]: b.get("built") for b in json.loads(record.read_text())["builds"]}
    assert after == before  # every binary go found up to date: its entry kept as it was
    for mode in ("remove", "add"):
        assert list(map(figures, again[mode])) == list(map(figures, swept[mode]))
    assert (project / "dist/p/.sweep/sweep.json").is_file()
    assert not (project / "dist/p/build.json").exists()  # never the profile's own record


def test_ctrl_c_keeps_what_finished_and_the_next_run_resumes(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-m", "buildopt", "sweep", "-p", "p", "-j", "1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert child.stderr is not None
    seen: list[str] = []
    for line in child.stderr:
        seen.append(line)
        if any("builds to go" in x for x in seen[:-1]) and line.startswith("[3/"):
            child.send_signal(signal.SIGINT)
            break
    _out, err = child.communicate(timeout=120)
    assert child.returncode == 130, "".join(seen) + err
    assert "run the same command again to resume" in err
    record = root / "dist/p/.sweep/build.json"
    kept = {b["id"]: b.get("built") for b in json.loads(record.read_text())["builds"]}
    assert 3 <= len(kept) < len(TAGS) * 2 + 2  # what finished, not the whole sweep
    done = sweep(root)
    assert "recorded by an earlier run" in done.stderr
    report = json.loads(done.stdout)
    assert all(row["status"] != "skipped" for row in report["remove"] + report["add"])
    after = {b["id"]: b.get("built") for b in json.loads(record.read_text())["builds"]}
    assert {i: after[i] for i in kept} == kept  # resumed: what finished was not built again


def test_the_report_shows_the_sweep(swept: dict[str, Any], project: Path) -> None:
    built = buildopt(["build", "-p", "p"], cwd=project)
    assert built.returncode == 0, built.stderr
    done = buildopt(["report", "-p", "p", "-o", "-"], cwd=project)
    assert done.returncode == 0, done.stderr
    page = done.stdout
    assert "Feature tags: what each feature weighs" in page
    assert "remove one from the full build" in page and "add one back to the minimal build" in page
    section = page[page.index('id="sweep"') :]
    assert section.index(">nohttp<") < section.index(">notemplate<")  # ranked as swept
    assert "broken.go" in section  # the failed row, with go's error


def test_add_tags_full_has_every_feature_and_each_row_is_the_build_by_hand(
    tmp_path: Path,
) -> None:
    """kind = "add": a tag adds a feature, so the full build has every tag, the minimal none."""
    app = tmp_path / "app"
    app.mkdir()
    (tmp_path / "profiles").mkdir()
    (app / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (app / "main.go").write_text("package main\n\nvar features []any\n\nfunc main() {}\n")
    for tag, (package, expr) in {
        "withxml": ("encoding/xml", "xml.Name{}"),
        "withpng": ("image/png", "png.BestSpeed"),
        "withtemplate": ("text/template", 'template.New("x")'),
    }.items():
        (app / f"f_{tag}.go").write_text(
            f'//go:build {tag}\n\npackage main\n\nimport "{package}"\n\n'
            f"func init() {{ features = append(features, {expr}) }}\n"
        )
    tags = ["withxml", "withpng", "withtemplate"]
    (tmp_path / "profiles" / "p.toml").write_text(
        PROFILE.partition("[sweep]")[0] + f'[sweep]\nkind = "add"\ntags = {json.dumps(tags)}\n'
    )
    done = sweep(tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    full = by_hand(tmp_path, tags, tmp_path / "full")
    minimal = by_hand(tmp_path, [], tmp_path / "minimal")
    assert (report["full"]["size"], report["full"]["sha256"]) == full
    assert (report["minimal"]["size"], report["minimal"]["sha256"]) == minimal
    for tag in tags:
        removed, added = rows(report, "remove")[tag], rows(report, "add")[tag]
        without = by_hand(tmp_path, [t for t in tags if t != tag], tmp_path / f"r-{tag}")
        alone = by_hand(tmp_path, [tag], tmp_path / f"a-{tag}")
        assert (removed["size"], removed["sha256"]) == without, tag
        assert (added["size"], added["sha256"]) == alone, tag
        assert removed["feature_bytes"] == full[0] - without[0] > 0
        assert added["feature_bytes"] == alone[0] - minimal[0] > 0
    assert report["remove"][0]["tag"] == report["add"][0]["tag"] == "withtemplate"
