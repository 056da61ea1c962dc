"""buildopt report, opened in a real browser: Debian's chromium, headless, without network."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image

from buildopt.config.units import format_size
from tests.integration.conftest import buildopt, hello_project, system_tool_missing

PROFILE = """package = "./hello"
[variants.default]
cgo = false
[variants.small]
cgo = false
strip = "all"

[startup]
runs = 5
warmup = 1
trace_runs = 1
cold = false

[[budget]]
name = "flash partition A"
select = "small"
max_size = "{limit}"

[[budget]]
name = "no DWARF on the device"
select = "small"
max_dwarf = 0
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        system_tool_missing("chromium", "chromium")
    return str(found)


def browse(page: Path, *args: str, url_suffix: str = "") -> subprocess.CompletedProcess[str]:
    """Headless chromium on the page, with every network name unresolvable and no proxy: a page
    that needed the network would show nothing of it."""
    return subprocess.run(
        [
            chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--virtual-time-budget=3000",
            *args,
            page.as_uri() + url_suffix,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.fixture(scope="module")
def reports(go: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two reports of one project: before and after its binary grew (with the first record
    as --baseline and both as --history)."""
    chromium()
    tmp = tmp_path_factory.mktemp("report")
    project = hello_project(tmp, PROFILE.format(limit="1 MiB"))
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    startup = buildopt(["startup", "--profile", "p"], cwd=project)
    assert startup.returncode == 0, startup.stderr
    first = tmp / "first.json"
    shutil.copy(project / "dist" / "p" / "build.json", first)
    before = buildopt(["report", "--profile", "p", "-o", str(tmp / "before.html")], cwd=project)
    assert before.returncode == 0, before.stderr
    main = project / "hello" / "main.go"
    main.write_text(main.read_text().replace("import (", 'import (\n\t_ "net/http"'))
    assert buildopt(["build", "--profile", "p"], cwd=project).returncode == 0
    after = buildopt(
        [
            "report",
            "--profile",
            "p",
            "--baseline",
            str(first),
            "--history",
            str(first),
            "--history",
            "dist/p/build.json",
            "-o",
            str(tmp / "after.html"),
        ],
        cwd=project,
    )
    assert after.returncode == 0, after.stderr
    return {"before": tmp / "before.html", "after": tmp / "after.html", "project": project}


def test_the_page_asks_for_nothing_outside_itself(reports: dict[str, Path]) -> None:
    for name in ("before", "after"):
        text = reports[name].read_text()
        assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
        assert "<link" not in text and "@import" not in text and "url(" not in text
    assert reports["after"].stat().st_size < 1_500_000


def test_the_dom_holds_every_variant_package_and_budget(reports: dict[str, Path]) -> None:
    dom = browse(reports["after"], "--dump-dom").stdout
    record = json.loads((reports["project"] / "dist" / "p" / "build.json").read_text())
    for build in record["builds"]:
        assert build["id"] in dom
        for share in build["inspect"]["attribution"]["by_package"][:5]:
            assert share["package"] in dom
    for budget in ("flash partition A", "no DWARF on the device"):
        assert budget in dom
    assert "History" in dom and "vs baseline record" in dom
    # start-up results stay with the binary they measured: the rebuilt ones have none yet
    assert "Start-up" not in dom
    before = browse(reports["before"], "--dump-dom").stdout
    assert "Start-up" in before and "peak RSS" in before


def test_each_binary_lists_its_heaviest_cuttable_dependencies(reports: dict[str, Path]) -> None:
    """The record's cuttable list under each treemap, as the browser's DOM holds it: hello's
    blank import of net/http is its heaviest, imported by hello's main package alone."""
    dom = browse(reports["after"], "--dump-dom").stdout
    record = json.loads((reports["project"] / "dist" / "p" / "build.json").read_text())
    for n, build in enumerate(b for b in record["builds"] if b["status"] == "ok"):
        heaviest = build["cuttable"][0]
        assert heaviest["package"] == "net/http"
        table = re.search(rf'<table class="cuts" id="cuts-treemap-{n}">.*?</table>', dom, re.S)
        assert table is not None, build["id"]
        row = re.search(
            r"<tr><td[^>]*>(.*?)</td><td[^>]*>(.*?)</td>", table.group(0).split("<tbody>")[1]
        )
        assert row is not None and row.group(1) == "net/http"
        assert row.group(2) == format_size(heaviest["bytes"])


def test_a_module_zooms_with_javascript(reports: dict[str, Path]) -> None:
    plain = browse(reports["after"], "--dump-dom").stdout
    assert 'class="leaf zoomed"' not in plain  # (the script names the class too)
    zoomed = browse(reports["after"], "--dump-dom", url_suffix="#zoom=treemap-0:std").stdout
    assert zoomed.count('class="leaf zoomed"') > 10  # std's packages fill the box
    assert "back to the whole binary" in zoomed


def pixels(png: Path) -> Image.Image:
    return Image.open(png).convert("RGB")


def test_screenshots_show_a_picture_that_follows_the_record(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    shots = {}
    for name in ("before", "after"):
        shot = tmp_path / f"{name}.png"
        browse(reports[name], f"--screenshot={shot}", "--window-size=1200,2400")
        shots[name] = pixels(shot)
    colours = shots["after"].getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # text, bars, a treemap: not a blank page
    white = max(colours)[0] / (shots["after"].width * shots["after"].height)
    assert white < 0.9
    assert shots["before"].tobytes() != shots["after"].tobytes()


def test_treemap_areas_are_proportional_to_bytes(reports: dict[str, Path]) -> None:
    """Read back from the SVG: every leaf's area over its bytes equals the whole box's area
    over the file's bytes, within 1%."""
    text = reports["after"].read_text()
    svgs = re.findall(r'<svg class="treemap".*?</svg>', text, re.S)
    assert svgs
    for source in svgs:
        root = ElementTree.fromstring(source)
        _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
        total = int(root.attrib["data-total"])
        ratio = width * height / total
        leaves = [r for r in root.iter("rect") if r.attrib.get("class") == "leaf"]
        assert sum(int(r.attrib["data-bytes"]) for r in leaves) == total  # every byte shown
        for rect in leaves:
            area = float(rect.attrib["width"]) * float(rect.attrib["height"])
            size = int(rect.attrib["data-bytes"])
            assert abs(area / size - ratio) <= 0.01 * ratio, rect.attrib


def test_history_draws_each_variant_and_its_budget(reports: dict[str, Path]) -> None:
    """Two records in --history: a line per variant through both, and the max_size budget's
    limit across (1 MiB = 1048576 bytes, at the height the axis gives it)."""
    text = reports["after"].read_text()
    (chart,) = re.findall(r'<svg class="history".*?</svg>', text, re.S)
    root = ElementTree.fromstring(chart)
    lines = {p.attrib["data-variant"]: p.attrib["points"] for p in root.iter("polyline")}
    assert set(lines) == {"default@linux-amd64", "small@linux-amd64"}
    assert all(len(points.split()) == 2 for points in lines.values())  # one point a record
    (limit,) = [el for el in root.iter("line") if el.attrib.get("class") == "limit"]
    assert "flash partition A" in "".join(limit.itertext())
