"""``buildopt advise`` on the example gateway (the seed's story as the acceptance test): every
lever's figures are those of the plan's go build argv for ``default`` with that one change, run
by hand here, to the byte; cgo off is the profile's own ``static`` (its record agrees); with
--startup the lazy initialisation tag's gain is found with its interval; a second run reuses
every what-if; --write adds the what-if as a variant, every other byte of the profile kept.

One advise run (with --startup, few runs) is shared by every test of the module."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.conftest import buildopt, system_tool_missing
from tests.integration.test_report import browse

TARGET = "linux-amd64"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example with its profiles; start-up measured with 6 runs, not 20."""
    root = tmp_path_factory.mktemp("advise")
    for example in ("billing-gateway", "health-agent"):
        shutil.copytree(REPO / "examples" / example, root / "examples" / example)
    (root / "profiles").mkdir()
    for name in ("base", "health-agent"):
        shutil.copy(REPO / "profiles" / f"{name}.toml", root / "profiles" / f"{name}.toml")
    text = (REPO / "profiles" / "telecom-edge.toml").read_text()
    assert "runs = 20\nwarmup = 2\n" in text
    text = text.replace("runs = 20\nwarmup = 2\n", "runs = 6\nwarmup = 1\n")
    (root / "profiles" / "telecom-edge.toml").write_text(text)
    return root


@pytest.fixture(scope="module")
def built(project: Path) -> dict[str, Any]:
    """The profile's own default and static builds' record."""
    done = buildopt(
        ["build", "-p", "telecom-edge", "-v", f"default@{TARGET}", "-v", f"static@{TARGET}"],
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    record: dict[str, Any] = json.loads((project / "dist/telecom-edge/build.json").read_text())
    return record


@pytest.fixture(scope="module")
def advice(project: Path, built: dict[str, Any]) -> dict[str, Any]:
    done = buildopt(["advise", "-p", "telecom-edge", "--startup", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def lever(advice: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(row for row in advice["levers"] if row["lever"] == name)
    return found


def planned(project: Path) -> dict[str, Any]:
    done = buildopt(
        ["plan", "-p", "telecom-edge", "-v", f"default@{TARGET}", "--json"], cwd=project
    )
    assert done.returncode == 0, done.stderr
    (step,) = json.loads(done.stdout)["steps"]
    assert isinstance(step, dict)
    return step


def with_one_change(argv: list[str], env: dict[str, str], name: str) -> tuple[list, dict]:
    """The plan's argv and env of default, with lever name's change made here, by hand."""
    argv, env = list(argv), dict(env)
    if name == "s-w":
        i = next(i for i, a in enumerate(argv) if a.startswith("-ldflags="))
        argv[i] = "-ldflags=-s -w " + argv[i].removeprefix("-ldflags=")
    elif name == "cgo-off":
        env["CGO_ENABLED"] = "0"
    elif name.startswith("goamd64-"):
        env["GOAMD64"] = name.removeprefix("goamd64-")
    else:
        tag = name.removeprefix("tag-")
        argv.insert(argv.index("-trimpath") + 1, f"-tags={tag}")
    return argv, env


def test_every_lever_is_the_plans_argv_with_one_change_built_by_hand(
    advice: dict[str, Any], project: Path, go: str, tmp_path: Path
) -> None:
    step = planned(project)
    names = {row["lever"] for row in advice["levers"]}
    # default is cgo on, trimpath, not stripped, no tags; net and os/user are linked
    assert {"s-w", "cgo-off", "netgo", "osusergo", "tag-lazyinit"} <= names
    assert {"goamd64-v2", "goamd64-v3"} <= names  # --startup: the x86-64 levels
    assert "trimpath" not in names  # base.toml's [defaults] has it already
    for name in sorted(names):
        row = lever(advice, name)
        assert row["status"] == "ok", row
        argv, env = with_one_change(step["argv"], step["env"], name)
        out = tmp_path / name
        argv[argv.index("-o") + 1] = str(out)
        subprocess.run(argv, cwd=step["dir"], env={**os.environ, **env}, check=True)
        blob = out.read_bytes()
        assert row["figures"]["size"] == len(blob), name
        assert row["figures"]["sha256"] == hashlib.sha256(blob).hexdigest(), name
        assert row["saved_bytes"] == advice["base"]["size"] - len(blob)


def test_the_document_is_its_schemas(advice: dict[str, Any]) -> None:
    import jsonschema

    from buildopt.output.schemas import load_schema

    jsonschema.validate(advice, load_schema("buildopt.advice/1"))
    assert advice["schema"] == "buildopt.advice/1" and advice["base_id"] == f"default@{TARGET}"


def test_cgo_off_agrees_with_the_profiles_own_static_build(
    advice: dict[str, Any], built: dict[str, Any]
) -> None:
    by_id = {b["id"]: b for b in built["builds"]}
    static, default = by_id[f"static@{TARGET}"], by_id[f"default@{TARGET}"]
    cgo_off = lever(advice, "cgo-off")["figures"]
    assert (cgo_off["size"], cgo_off["sha256"]) == (static["size"], static["sha256"])
    assert (advice["base"]["size"], advice["base"]["sha256"]) == (
        default["size"],
        default["sha256"],
    )
    assert cgo_off["ram_static"] == static["inspect"]["memory"]["mapped_bytes"]
    assert lever(advice, "cgo-off")["same_as"] == f"static@{TARGET}"  # and the row says so
    assert "same_as" not in lever(advice, "s-w")


def test_startup_finds_the_lazy_init_tags_gain_with_its_interval(advice: dict[str, Any]) -> None:
    lazy = lever(advice, "tag-lazyinit")
    ratio = lazy["figures"]["vs_base"]
    _low, high = ratio["ci95"]
    assert ratio["significant"] and high < 1.0, ratio  # faster, with the whole interval
    assert lazy["saved_ms"] > 0
    assert advice["levers"][0]["lever"] == "tag-lazyinit"  # ranked first by time saved
    assert "feature" in lazy["caveat"]
    # [scan]: the lazy tag's sources no longer set GOMAXPROCS by hand (the seed's other lever)
    assert (advice["base"]["scan_errors"], lazy["figures"]["scan_errors"]) == (1, 0)
    assert "resolver" in lever(advice, "cgo-off")["caveat"]


def test_the_report_has_the_advice_in_a_real_browser(
    advice: dict[str, Any], project: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    done = buildopt(["report", "-p", "telecom-edge", "-o", str(page)], cwd=project)
    assert done.returncode == 0, done.stderr
    dom = browse(page, "--dump-dom").stdout
    section = dom[dom.index('id="advice"') :]
    for row in advice["levers"]:
        assert f'<td class="mono">{row["lever"]}</td>' in section
    ratio = lever(advice, "tag-lazyinit")["figures"]["vs_base"]
    low, high = ratio["ci95"]
    assert f"{ratio['ratio_of_medians']:.2f}x (95% CI {low:.2f}-{high:.2f})" in section
    assert "Advised on an earlier build" not in section  # the record's default is the one


def test_an_image_selecting_the_variant_is_made_with_each_what_if(
    advice: dict[str, Any], project: Path
) -> None:
    """static-stripped@linux-arm64 goes into the base-station image: its erase blocks with
    the variant are those of the image buildopt image makes; the enterprise tag's what-if
    breaks the flash budget, and the row says so."""
    import json as _json

    if shutil.which("mksquashfs") is None:
        system_tool_missing("mksquashfs", "squashfs-tools")
    arm = "static-stripped@linux-arm64"
    for args in (
        ["-p", "health-agent", "-v", "agent@linux-arm64"],
        ["-p", "telecom-edge", "-v", arm],
    ):
        done = buildopt(["build", *args], cwd=project)
        assert done.returncode == 0, done.stderr
    image = buildopt(["image", "-p", "telecom-edge"], cwd=project)
    assert image.returncode == 0, image.stderr
    made = _json.loads((project / "dist/telecom-edge/images/base-station-arm64.json").read_text())
    done = buildopt(
        ["advise", "-p", "telecom-edge", "-v", arm, "--tag", "enterprise", "--json"], cwd=project
    )
    assert done.returncode == 0, done.stderr
    found = _json.loads(done.stdout)
    assert found["base"]["erase_blocks"] == {"base-station-arm64": made["erase_blocks"]}
    (row,) = found["levers"]
    assert row["lever"] == "tag-enterprise" and row["figures"]["erase_blocks"]["base-station-arm64"]
    changed = {(v["budget"], v["check"]): (v["before"], v["after"]) for v in row["verdicts"]}
    assert changed[("flash partition B", "max_size")] == ("pass", "fail")


def test_the_what_ifs_live_under_dist_and_a_second_run_rebuilds_none(
    advice: dict[str, Any], project: Path
) -> None:
    advise_dir = project / "dist" / "telecom-edge" / ".advise"
    record = json.loads((advise_dir / "build.json").read_text())
    before = {b["id"]: b["built"] for b in record["builds"]}
    assert all(b["output"].startswith(str(advise_dir)) for b in record["builds"])
    own = json.loads((project / "dist" / "telecom-edge" / "build.json").read_text())
    assert not any("+" in b["id"] for b in own["builds"])  # never in the profile's record
    again = buildopt(["advise", "-p", "telecom-edge", "--json"], cwd=project)
    assert again.returncode == 0, again.stderr
    record = json.loads((advise_dir / "build.json").read_text())
    assert {b["id"]: b["built"] for b in record["builds"]} == before  # go found them up to date
    assert json.loads((advise_dir / "advice.json").read_text()) == json.loads(again.stdout)
    # without --startup, the timings the first run recorded are neither shown nor ranked by
    plain = json.loads(again.stdout)
    assert plain["base"].get("startup_median_ms") is None
    rows = [r for r in plain["levers"] if r.get("figures")]
    assert all(r["figures"].get("startup_median_ms") is None for r in rows)
    saved = [r.get("saved_bytes") or 0 for r in rows]
    assert saved == sorted(saved, reverse=True)


def test_write_adds_the_what_if_as_a_variant_and_keeps_every_other_byte(
    advice: dict[str, Any], project: Path
) -> None:
    path = project / "profiles" / "telecom-edge.toml"
    path.chmod(0o640)
    original = path.read_bytes()
    done = buildopt(
        ["advise", "-p", "telecom-edge", "--write", "lean", "--lever", "s-w"], cwd=project
    )
    assert done.returncode == 0, done.stderr
    after = path.read_bytes()
    assert after.startswith(original) and b"[variants.lean]" in after[len(original) :]
    assert path.stat().st_mode & 0o777 == 0o640
    assert "[[budget]]" in done.stdout and 'select = "lean@linux-amd64"' in done.stdout
    plan = buildopt(["plan", "-p", "telecom-edge", "-v", f"lean@{TARGET}", "--json"], cwd=project)
    (step,) = json.loads(plan.stdout)["steps"]
    row = lever(advice, "s-w")
    assert step["argv"][4:] == row["argv"][4:] and step["env"] == row["env"]  # but -o OUT
    # the proposed budget is one the profile takes: pasted, the gate reads it
    path.write_bytes(after + b"\n" + done.stdout.encode())
    checked = buildopt(["plan", "-p", "telecom-edge", "-v", f"lean@{TARGET}"], cwd=project)
    assert checked.returncode == 0, checked.stderr
    again = buildopt(
        ["advise", "-p", "telecom-edge", "--write", "lean", "--lever", "s-w"], cwd=project
    )
    assert again.returncode == 2 and "already has a variant 'lean'" in again.stderr


def test_write_keeps_a_crlf_profiles_line_ends(advice: dict[str, Any], project: Path) -> None:
    path = project / "profiles" / "crlf.toml"
    source = (project / "profiles" / "telecom-edge.toml").read_text()
    path.write_bytes(source.split("\n[variants.lean]")[0].replace("\n", "\r\n").encode())
    done = buildopt(["advise", "-p", "crlf", "--write", "lean2", "--lever", "s-w"], cwd=project)
    assert done.returncode == 0, done.stderr
    text = path.read_bytes()
    assert b"[variants.lean2]\r\n" in text and b"\n" not in text.replace(b"\r\n", b"")
