"""Size diffs: bloat-o-meter's counts, order and text, on hand-made maps."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from buildopt.analysis.diff import FileSizes, diff_sizes, rollup
from buildopt.output.diff import bloat_o_meter, markdown, summary_line

SIZES = st.dictionaries(st.sampled_from([f"f{i}" for i in range(12)]), st.integers(0, 5000))


@given(SIZES, SIZES)
def test_the_summary_agrees_with_the_rows(old: dict[str, int], new: dict[str, int]) -> None:
    d = diff_sizes(old, new, "function")
    assert d.added == sum(r.old is None for r in d.rows)
    assert d.removed == sum(r.new is None for r in d.rows)
    assert d.grown == sum(r.old is not None and r.new is not None and r.delta > 0 for r in d.rows)
    assert d.shrunk == sum(r.old is not None and r.new is not None and r.delta < 0 for r in d.rows)
    assert d.up == sum(r.delta for r in d.rows if r.delta > 0)
    assert d.down == -sum(r.delta for r in d.rows if r.delta < 0)
    assert d.after - d.before == d.up - d.down == d.net
    assert [(r.delta, r.name) for r in d.rows] == sorted(
        ((r.delta, r.name) for r in d.rows), reverse=True
    )
    assert all(r.delta for r in d.rows)


def test_the_kernels_own_example() -> None:
    """The sample output of the patch that added scripts/bloat-o-meter to the kernel (2005),
    reproduced from the sizes it shows."""
    old = {
        "__copy_to_user_ll": 59,
        "__copy_from_user_ll": 59,
        "fill_note": 32,
        "maydump": 58,
        "dump_seek": 67,
        "writenote": 180,
        "elf_dump_thread_status": 274,
        "fill_psinfo": 308,
        "fill_prstatus": 466,
        "elf_core_dump": 3039,
    }
    new = {"__copy_to_user_ll": 103, "__copy_from_user_ll": 103}
    text = bloat_o_meter(diff_sizes(old, new, "function"))
    assert text.splitlines()[:-1] == [
        "add/remove: 0/8 grow/shrink: 2/0 up/down: 88/-4424 (-4336)",
        "Function                                     old     new   delta",
        "__copy_to_user_ll                             59     103     +44",
        "__copy_from_user_ll                           59     103     +44",
        "fill_note                                     32       -     -32",
        "maydump                                       58       -     -58",
        "dump_seek                                     67       -     -67",
        "writenote                                    180       -    -180",
        "elf_dump_thread_status                       274       -    -274",
        "fill_psinfo                                  308       -    -308",
        "fill_prstatus                                466       -    -466",
        "elf_core_dump                               3039       -   -3039",
    ]
    assert text.splitlines()[-1] == "Total: Before=4542, After=206, chg -95.46%"


def test_no_sign_where_the_kernel_prints_none() -> None:
    """compare printed `up/down: +1852288/+0 (+1852288)`; the kernel prints
    `up/down: 1852288/0 (1852288)`, which scripts parse."""
    d = diff_sizes({}, {"big": 1852288}, "package")
    assert summary_line(d) == "add/remove: 1/0 grow/shrink: 0/0 up/down: 1852288/0 (1852288)"
    assert bloat_o_meter(d).splitlines()[-1] == "Total: Before=0, After=1852288, chg +0.00%"


def test_rows_limit_and_markdown() -> None:
    d = diff_sizes({f"p{i}": 10 for i in range(5)}, {f"p{i}": 10 + i for i in range(5)}, "package")
    text = bloat_o_meter(d, rows=2)
    assert "... 2 more rows (--rows)" in text and text.count("\n") == 6
    md = markdown("static@linux-amd64", d, rows=1)
    assert "`add/remove: 0/0 grow/shrink: 4/0 up/down: 10/0 (10)`" in md
    assert "| `p4` | 10 | 14 | +4 |" in md and "| ... 3 more | | | |" in md


def test_headers_are_the_kernels_words() -> None:
    """The kernel's script heads its table "Function" (and "Data", "RO Data" with -c)."""
    header = bloat_o_meter(diff_sizes({"a": 1}, {"a": 2}, "function")).splitlines()[1]
    assert header.split() == ["Function", "old", "new", "delta"]
    header = bloat_o_meter(diff_sizes({"a": 1}, {}, "function", "RO Data")).splitlines()[1]
    assert header == "RO Data                                      old     new   delta"
    assert bloat_o_meter(diff_sizes({}, {}, "package")).splitlines()[1].startswith("Package ")


def test_the_file_line_is_the_files_change() -> None:
    assert FileSizes(2504156, 766178).line() == "File: Before=2504156, After=766178, chg -69.40%"
    assert FileSizes(0, 10).line() == "File: Before=0, After=10, chg +0.00%"
    md = markdown("x", diff_sizes({"a": 1}, {"a": 2}, "function"), files=FileSizes(10, 5))
    assert "`File: Before=10, After=5, chg -50.00%`" in md


def test_rollup_by_module() -> None:
    sizes = {"a/x": 1, "a/y": 2, "b": 4}
    assert rollup(sizes, {"a/x": "a", "a/y": "a"}) == {"a": 3, "b": 4}
