"""Dependency lists: the line format, file names, drift, and the gate's rows."""

from __future__ import annotations

import pytest

from buildopt.analysis.deps import (
    Dep,
    DepsListError,
    Judged,
    deps_checks,
    drift,
    file_name,
    from_graph,
    id_of,
    parse,
    render,
)
from buildopt.record.model import CutSaving, WhyCost

GRAPH = [
    {"ImportPath": "runtime", "Standard": True, "Name": "runtime"},
    {"ImportPath": "bytes", "Standard": True, "Name": "bytes"},
    {"ImportPath": "encoding/json", "Standard": True, "Name": "json", "Imports": ["bytes"]},
    {
        "ImportPath": "golang.org/x/sys/cpu",
        "Name": "cpu",
        "Module": {"Path": "golang.org/x/sys", "Version": "v0.42.0"},
    },
    {
        "ImportPath": "golang.org/x/net/html",
        "Name": "html",
        "Module": {
            "Path": "golang.org/x/net",
            "Version": "v0.60.0",
            "Replace": {"Path": "../net"},
        },
    },
    {
        "ImportPath": "example.com/app",
        "Name": "main",
        "Module": {"Path": "example.com/app", "Main": True, "Version": "v0.0.0-2026+dirty"},
        "Imports": ["encoding/json", "golang.org/x/sys/cpu", "golang.org/x/net/html", "runtime"],
    },
]
LINES = [
    "bytes",
    "encoding/json",
    "example.com/app example.com/app",
    "golang.org/x/net/html golang.org/x/net@v0.60.0 => ../net",
    "golang.org/x/sys/cpu golang.org/x/sys@v0.42.0",
    "runtime",
]


def test_a_graph_becomes_sorted_lines_and_reads_back() -> None:
    deps = from_graph(GRAPH)
    assert [d.line() for d in deps] == LINES  # the main module's VCS version is left out
    text = render(deps, "a@linux-amd64", {"GOOS": "linux", "GOARCH": "amd64"}, ())
    assert text.startswith("# a@linux-amd64: the packages its go build links")
    assert parse(text.encode(), "x.txt") == deps
    crlf = text.replace("\n", "\r\n").encode()
    assert parse(crlf, "x.txt") == deps


def test_a_package_go_could_not_load_is_one_line() -> None:
    broken = [{"ImportPath": "example.com/gone", "Error": {"Err": "no required module"}}]
    with pytest.raises(DepsListError, match=r"go list: example.com/gone: no required module"):
        from_graph(broken)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (b"runtime\nruntime\n", r"x.txt:2: runtime is listed twice \(line 1 too\)"),
        (b"a b c\n", r"x.txt:1: expected PACKAGE \[MODULE\[@VERSION\] \[=> REPLACEMENT\]\]"),
        (b"a\x1b[31m\n", r"x.txt:1: a control character \(U\+001B\) in 'a\\\\x1b\[31m'"),
        (b"\xff\n", r"x.txt: not UTF-8 text \(byte 0\)"),
        (b"a  m@v\n", r"x.txt:1: expected"),
    ],
)
def test_a_bad_line_is_named(text: bytes, said: str) -> None:
    with pytest.raises(DepsListError, match=said):
        parse(text, "x.txt")


@pytest.mark.parametrize(
    ("vid", "name"),
    [
        ("static@linux-arm-v7", "static@linux-arm-v7.txt"),
        ("a.b_c+d@linux-arm64-v9.0+lse@go1.25.0", "a.b_c+d@linux-arm64-v9.0+lse@go1.25.0.txt"),
        ("static@linux-arm64/billing-ctl", "static@linux-arm64/billing-ctl.txt"),  # POINT/PROGRAM
        ("odd/id %/x", "odd/id%20%25%2Fx.txt"),  # one folder: the point's
        ("/x", "%2Fx.txt"),
    ],
)
def test_file_names_give_the_id_back(vid: str, name: str) -> None:
    assert file_name(vid) == name
    assert id_of(name) == vid


def test_names_that_no_id_has() -> None:
    assert id_of("notes.md") is None and id_of(".hidden.txt") is None
    assert id_of("a%2fb.txt") is None  # not as file_name spells it (%2F)
    assert id_of("%ff.txt") is None
    assert id_of("a@b/.hidden.txt") is None and id_of("a/b/c.txt") is None
    assert file_name("../x") == "..%2Fx.txt"  # never a folder above deps/PROFILE/
    with pytest.raises(DepsListError, match="more than a file system holds"):
        file_name("v" * 300 + "@linux-amd64")


def _judged(listed: tuple[Dep, ...] | None, cut: CutSaving | None = None) -> Judged:
    costs = {"encoding/json": 1000, "bytes": 24}
    return Judged(
        vid="a@linux-amd64",
        listed_as="deps/p/a@linux-amd64.txt",
        listed=listed,
        linked=from_graph(GRAPH),
        graph=GRAPH,
        cost=lambda p: WhyCost(bytes=costs.get(p, 0), kind="file"),
        cut=lambda p: cut if cut is not None and p == cut.package else None,
    )


def test_a_new_package_fails_with_its_chain_and_the_cost_of_what_it_brings() -> None:
    listed = tuple(d for d in from_graph(GRAPH) if d.package not in ("bytes", "encoding/json"))
    (check,) = deps_checks(_judged(listed))
    assert (check.check, check.verdict) == ("new_package[encoding/json]", "fail")
    assert check.chain == ("example.com/app", "encoding/json")
    assert check.actual.value == 1024 and check.limit.value == "deps/p/a@linux-amd64.txt"
    assert "brings 1 more new packages: bytes" in check.note
    assert "about" not in check.note  # without why's estimate: what they own, said as such


def test_a_new_package_costs_what_removing_it_saves_when_why_can_say() -> None:
    """The figure is why's estimate of the cut (it brings in more than it owns), said as one."""
    listed = tuple(d for d in from_graph(GRAPH) if d.package not in ("bytes", "encoding/json"))
    cut = CutSaving(
        package="encoding/json",
        importers=("example.com/app",),
        bytes=3000,
        attributed_bytes=2900,
        packages=2,
        unattributed=0,
    )
    (check,) = deps_checks(_judged(listed, cut))
    assert check.actual.value == 3000
    assert "; about +2.93 KiB: what removing it saves, 2 packages only it brings in" in check.note


def test_a_new_package_the_recorded_binary_lacks_has_no_cost_not_zero() -> None:
    """A record built before the import: its packages own nothing there, which says nothing of
    what they cost (the figure was "+0 B")."""
    listed = tuple(d for d in from_graph(GRAPH) if d.package not in ("bytes", "encoding/json"))
    cut = CutSaving(
        package="encoding/json",
        importers=("example.com/app",),
        bytes=0,
        attributed_bytes=0,
        packages=2,
        unattributed=2,
    )
    (check,) = deps_checks(_judged(listed, cut))
    assert check.actual.value is None
    assert "; not in the record's binary, built before the import?: build, then" in check.note


def test_left_and_changed_are_warnings_and_current_passes() -> None:
    linked = from_graph(GRAPH)
    older = tuple(
        Dep(d.package, d.module, "v0.41.0") if d.module == "golang.org/x/sys" else d for d in linked
    )
    checks = deps_checks(_judged((*older, Dep("os/user"))))
    assert [(c.check, c.verdict) for c in checks] == [
        ("left_packages", "warn"),
        ("module[golang.org/x/sys/cpu]", "warn"),
    ]
    assert "no longer linked: os/user" in checks[0].note
    assert checks[1].actual.value == "golang.org/x/sys@v0.42.0"
    (current,) = deps_checks(_judged(linked))
    assert (current.verdict, current.actual.value) == ("pass", 6)
    (none,) = deps_checks(_judged(None))
    assert none.verdict == "fail" and "buildopt deps --update writes it" in none.note


def test_drift_of_equal_lists_is_none() -> None:
    deps = from_graph(GRAPH)
    assert drift(deps, deps).none
    assert not drift(deps, deps[1:]).none
