"""What a person sees at 80 and 120 columns, piped, and in a browser window, on a real record.

At 80 columns the gate dropped actual, limit and headroom (the FAIL row no longer said by how
much) and was still 118 columns wide; compare's note named an empty column; a long tag list
made a line as long as the list; piped, a long build printed nothing until its first build
finished; the HTML report scrolled sideways in an 800-pixel window.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.conftest import buildopt, hello_project
from tests.integration.test_report import browse, chromium

TAGS = [f"feature_omit_{n:02d}" for n in range(12)]
BUDGET = "flash partition B (base-station image, the bootloader needs the rest)"
PROFILE = f"""
package = "./hello"
baseline = "plain"
[variants.plain]
cgo = false
[variants.static-stripped-every-feature-omitted]
cgo = false
strip = "all"
tags = {json.dumps(TAGS)}
[[budget]]
name = "{BUDGET}"
select = "*@*"
max_size = "1 MiB"
message = "Flash partition B holds 1 MiB; the bootloader and its recovery image need the rest of the chip"
"""
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = hello_project(tmp_path_factory.mktemp("screens"), PROFILE)
    done = buildopt(["build", "--profile", "p"], cwd=project)
    assert done.returncode == 0, done.stderr
    return project


def screen(project: Path, width: int, *args: str) -> tuple[int, str]:
    """The command on a terminal of width columns (rich: TTY_COMPATIBLE, COLUMNS)."""
    done = buildopt(list(args), cwd=project, env={"TTY_COMPATIBLE": "1", "COLUMNS": str(width)})
    return done.returncode, ANSI.sub("", done.stdout)


@pytest.mark.parametrize("width", [80, 120])
def test_the_gate_keeps_its_figures_and_its_width(project: Path, width: int) -> None:
    code, text = screen(project, width, "gate", "--profile", "p")
    assert code == 1, text  # every binary is over 1 MiB
    lines = text.splitlines()
    assert max(map(len, lines)) <= width, "\n".join(line for line in lines if len(line) > width)
    flat = " ".join(text.replace("│", " ").split())
    assert BUDGET in text  # whole, on a line: a heading (120) or in each block (80)
    for vid in ("plain@linux-amd64", "static-stripped-every-feature-omitted@linux-amd64"):
        assert vid in text
        row = re.search(rf"FAIL ({re.escape(BUDGET)} )?{re.escape(vid)} max_size (.{{0,80}})", flat)
        assert row, flat
        figures = row.group(2).replace("actual ", "").replace("limit ", "")
        assert re.match(r"\d+\.\d\d MiB 1\.00 MiB (headroom )?-\d", figures), row.group(0)
    # no figure is left out (the budget's message may be: its text is listed under the table)
    assert not re.search(r"not shown at \d+ columns: [^;]*(actual|limit|headroom)", text)
    assert "the bootloader and its recovery image need the rest of the chip" in flat


@pytest.mark.parametrize("width", [80, 120])
def test_compare_keeps_size_and_delta_and_summarises_long_lists(project: Path, width: int) -> None:
    code, text = screen(project, width, "compare", "--profile", "p")
    assert code == 0, text
    assert max(map(len, text.splitlines())) <= width, text
    assert "size" in text.splitlines()[2]  # the header row of the boxed table
    assert re.search(r"vs plain .*-\d+(\.\d+)? (KiB|MiB) -\d+\.\d%", text), text
    note = re.search(r"not shown at \d+ columns: ([^;]*);", text)
    if note:
        assert all(name.strip() for name in note.group(1).split(",")), note.group(0)
    flat = " ".join(text.split())
    assert "+12 tags: feature_omit_00, feature_omit_01, feature_omit_02, … (--json has all)" in flat
    assert "feature_omit_11" not in text
    whole = buildopt(["compare", "--profile", "p", "--json"], cwd=project)
    explained = " ".join(
        line for v in json.loads(whole.stdout)["variants"] for line in v["explanation"]
    )
    assert all(f"+{tag}" in explained for tag in TAGS)


def test_a_piped_build_says_what_runs(project: Path) -> None:
    """Piped: a line as each build starts and ends, and a heartbeat while they run (-a makes
    go rebuild every package, so that the builds outlast a 0.1 s heartbeat)."""
    done = buildopt(
        ["build", "--profile", "p"],
        cwd=project,
        env={"BUILDOPT_HEARTBEAT_SECONDS": "0.1", "GOFLAGS": "-a"},
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr
    for vid in ("plain@linux-amd64", "static-stripped-every-feature-omitted@linux-amd64"):
        assert f"started {vid}\n" in err and re.search(rf"\[\d/2\] ok {re.escape(vid)} \(", err)
        assert err.index(f"started {vid}") < err.index(f"ok {vid}")
    beat = re.search(r"still building \(\S+ in all, [01] of 2 done\): (.*)", err)
    assert beat, err
    assert "@linux-amd64 for " in beat.group(1)


def test_a_heartbeat_that_is_not_a_number_is_one_line(project: Path) -> None:
    done = buildopt(
        ["build", "--profile", "p"], cwd=project, env={"BUILDOPT_HEARTBEAT_SECONDS": "soon"}
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: BUILDOPT_HEARTBEAT_SECONDS='soon': expected a number of seconds above 0"
    ]


PROBE = (
    "<script>document.body.setAttribute('data-widths', "
    "document.documentElement.scrollWidth + ' ' + document.documentElement.clientWidth)</script>"
)


@pytest.mark.parametrize("width", [800, 1280])
def test_the_report_never_scrolls_sideways(project: Path, tmp_path: Path, width: int) -> None:
    chromium()
    page = tmp_path / "report.html"
    done = buildopt(["report", "--profile", "p", "-o", str(page)], cwd=project)
    assert done.returncode == 0, done.stderr
    page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = browse(page, f"--window-size={width},1000", "--dump-dom").stdout
    found = re.search(r'data-widths="(\d+) (\d+)"', dom)
    assert found, dom[-2000:]
    scroll, client = map(int, found.groups())
    assert client == width and scroll <= client, (scroll, client)


def test_a_piped_startup_says_when_its_runs_start_and_end(project: Path) -> None:
    binary = project / "dist" / "p" / "plain" / "linux-amd64" / "hello"
    assert binary.is_file(), sorted(p.name for p in (project / "dist" / "p").rglob("*"))
    done = buildopt(
        ["startup", str(binary), "--runs", "2", "--warmup", "1", "--trace-runs", "1"],
        cwd=project,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("startup: ")]
    assert lines[0].startswith("startup: 4 runs, "), done.stderr
    assert [line.split(" (")[0] for line in lines[1:-1]] == [
        "startup: warm-up runs",
        "startup: traced runs",
        "startup: timed runs",
    ], done.stderr
    assert lines[-1].startswith("startup: 4 of 4 runs done, "), done.stderr
