"""The report page from a hostile record: names reach the page as text, never as markup."""

from __future__ import annotations

import msgspec

from buildopt.analysis.compare import compare_variants
from buildopt.binary.facts import Attribution, Bucket, PackageShare
from buildopt.output.report import ReportInput, render
from tests.records import build, inspection, record

HOSTILE = "</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>"


def test_names_from_the_record_are_text_in_the_page() -> None:
    facts = inspection(1000, totals={"code": 600, "rodata": 400})
    share = PackageShare(
        package=HOSTILE,
        module=HOSTILE,
        file_bytes=600,
        code_bytes=600,
        pclntab_bytes=0,
        rodata_bytes=0,
        data_bytes=0,
        bss_bytes=0,
    )
    facts = msgspec.structs.replace(
        facts,
        attribution=Attribution(
            file_bytes=1000,
            file_bytes_attributed_to_packages=600,
            by_package=(share,),
            buckets=(Bucket(name=HOSTILE, file_bytes=400, what=HOSTILE),),
        ),
    )
    data = record(build("default@linux-amd64", facts, output="/dist/x"))
    page = render(ReportInput(data, "build.json", compare_variants(data), [], []))
    assert "<script>alert" not in page and "<img" not in page and "<!--<" not in page
    assert page.count("<script") == 2  # the tree's JSON and the zoom script: none injected
    assert "&lt;/script&gt;" in page  # shown, escaped


def test_control_characters_in_names_are_shown_as_escapes() -> None:
    """A budget or package name with ESC reached the page raw: invisible there, and the name
    shown was not the name it is."""
    name = "pkg\x1b[31m:smile:\nnext"
    facts = inspection(1000, totals={"code": 600, "rodata": 400})
    share = PackageShare(name, name, 600, 600, 0, 0, 0, 0)
    facts = msgspec.structs.replace(
        facts,
        attribution=Attribution(
            1000, 600, (share,), (Bucket(name=name, file_bytes=400, what=name),)
        ),
    )
    data = record(build("default@linux-amd64", facts, output="/dist/x"))
    page = render(ReportInput(data, "build.json", compare_variants(data), [], []))
    assert "\x1b" not in page
    assert "pkg\\x1b[31m:smile:\\nnext" in page


def test_a_verdict_on_a_build_the_record_lacks_has_a_row() -> None:
    """The header counted 5 skips of arm64 builds not in the record and no row named them."""
    from buildopt.analysis.gate import Check, word_figure

    data = record(build("a@linux-amd64/ctl", inspection(10)))
    note = "not in the record: build it (a@linux-arm64/ctl)"
    dash = word_figure("-")
    skip = Check("ctl", "a@linux-arm64/ctl", "-", "skip", dash, dash, None, note=note)
    page = render(ReportInput(data, "build.json", compare_variants(data), [skip], []))
    assert "1 skip" in page and '<td class="id">a@linux-arm64/ctl</td>' in page
    assert note in page
