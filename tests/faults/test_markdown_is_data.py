"""The gate's Markdown (the step summary and the pull request's comment) shows what a pull
request, a profile, a record or the network says as text, never as markup: a ``Binary-Size:``
line with ``<!--`` hid every row after it, ``</details>`` closed the fold, ``| a | b |`` made
cells, ``@someone`` pinged, ``<img>`` loaded. Checked by rendering it with a CommonMark
renderer with GitHub's tables (markdown-it-py) and reading what comes out."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from buildopt.analysis.gate import Check, Figure, byte_figure
from buildopt.errors import visible
from buildopt.output.gate import junit, markdown

HOSTILE = (
    "<!-- buildopt-size -->",
    "<!--",
    "</details>",
    "| a | b |",
    "`x`",
    "@octocat",
    "#27",
    "<img src=x>",
    "_em_ **b** [l](http://x) ~~s~~ :smile: :_a:",
    "\x1b[31m",
    "a\nb",
    "\\|",
    "&lt;",
)
REPO = Path(__file__).resolve().parents[2]
RENDER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
OURS = {"<details><summary>", "</details>"}
# a mention or an issue reference as GitHub links it (@ or # and a word character right after),
# or an emoji code
LINK = re.compile(r"(^|[^\w])[@#]\w|:[\w+-]+:")


GROWTH = tuple(Figure(n, "percent", change=True) for n in (0.03, 0.02, -0.01))


def sizes(actual: int, limit: int) -> tuple[Figure, Figure, Figure]:
    return byte_figure(actual), byte_figure(limit), byte_figure(limit - actual, change=True)


def checks(text: str) -> list[Check]:
    return [
        Check(text, f"v{text}@linux-amd64", "max_size", "fail", *sizes(5, 1), note=text),
        Check(text, text, "max_growth", "warn", *GROWTH, message=text),
        Check("ok", "v@linux-amd64", "max_size", "pass", *sizes(1, 5), note=text),
    ]


def rendered(text: str) -> list[Token]:
    """The tokens of the gate's Markdown with text in every place a name or a reason goes."""
    md = markdown(checks(text), text, acknowledged=text, baseline_missing=text)
    return RENDER.parse(md)


def texts_of(tokens: list[Token]) -> list[str]:
    """The text of each paragraph or cell."""
    return [
        "".join(c.content for c in t.children or () if c.type == "text")
        for t in tokens
        if t.type == "inline"
    ]


def texts(tokens: list[Token]) -> str:
    """The text of each paragraph or cell, one a line (no newline of its own in any)."""
    return "\n".join(texts_of(tokens))


def assert_text_only(tokens: list[Token], text: str) -> None:
    html = [t.content.strip() for t in tokens if t.type == "html_block"]
    assert all(any(h.startswith(o) for o in OURS) for h in html), html
    inline = [c for t in tokens if t.type == "inline" for c in t.children or ()]
    kinds = {c.type for c in inline}
    assert kinds <= {"text", "code_inline", "softbreak", "strong_open", "strong_close"}, kinds
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 2 + 2 + 1  # two headers, two problems, one folded
    cells = [t for t in tokens if t.type in ("td_open", "th_open")]
    assert len(cells) == 8 * len(rows)
    shown = texts(tokens)
    assert not LINK.search(shown), shown
    assert "\x1b" not in shown and not any("\n" in t for t in texts_of(tokens))
    quote = visible(" ".join(text.split()))
    assert f"Binary-Size: {quote}" in shown.replace("\u200b", ""), shown


def test_hostile_text_is_shown_as_text() -> None:
    text = " ".join(HOSTILE)
    assert_text_only(rendered(text), text)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from([*"<>!-/|`*_[]()&#@\\~ \n\x1bab:+"]), min_size=1))
def test_any_text_is_shown_as_text(text: str) -> None:
    assume(text.strip())
    assert_text_only(rendered(text), text)


def test_a_unicode_line_separator_is_shown_not_kept() -> None:
    """A message holding U+2028 split the row for any reader that takes it as a line end."""
    md = markdown(checks("a\u2028b\u2029c"), "p")
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(rows) == 2 + 2 + 1 and all(row.endswith(" |") for row in rows), md
    assert "a\\\\u2028b\\\\u2029c" in md


def test_size_yml_publishes_junit_failures_as_text(tmp_path: Path) -> None:
    """The JUnit step of size.yml printed a failure's budget, variant and go's reason (which
    quotes the pull request's sources) into the step summary as Markdown."""
    text = " ".join(HOSTILE)
    (tmp_path / "gate-junit.xml").write_text(junit(checks(text), text))
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "size.yml").read_text())
    (step,) = [s for s in workflow["jobs"]["gate"]["steps"] if s.get("name") == "JUnit results"]
    summary = tmp_path / "summary.md"
    environ = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary), "PYTHONPATH": str(REPO)}
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=environ, check=True)
    tokens = RENDER.parse(summary.read_text())
    assert not [t for t in tokens if t.type.startswith("html")]
    inline = [c for t in tokens if t.type == "inline" for c in t.children or ()]
    assert {c.type for c in inline} <= {"text", "code_inline", "softbreak"}
    items = [t for t in tokens if t.type == "list_item_open"]
    assert len(items) == 1  # the one failed case, its reason on its line
    shown = texts(tokens)
    assert not LINK.search(shown) and "<img src=x>" in shown, shown
