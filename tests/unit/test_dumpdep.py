"""The linker's -dumpdep output read as a reach tree."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from buildopt.binary.go.dumpdep import parse

SAMPLE = """\
# example.com/hello
_ -> _rt0_amd64_linux
_rt0_amd64_linux -> runtime.rt0_go
runtime.rt0_go -> main.main <ReflectMethod>
main.main <ReflectMethod> -> go:string."a -> b"
go:string."a -> b" -> type:bool
main.main <ReflectMethod> -> type:bool <UsedInIface>
runtime.rt0_go -> runtime.osyield
main.main -> runtime.osyield
"""


def test_edges_markers_and_chains() -> None:
    reach = parse(SAMPLE.splitlines())
    assert len(reach) == 6
    assert reach.parent["_rt0_amd64_linux"] == ""
    assert reach.chain("type:bool") == (
        "_rt0_amd64_linux",
        "runtime.rt0_go",
        "main.main",
        'go:string."a -> b"',
        "type:bool",
    )
    assert list(reach.marked("ReflectMethod")) == ["main.main"]
    assert reach.flags["type:bool"] == {
        "UsedInIface"
    }  # from its second line; the first edge stands
    assert reach.parent["runtime.osyield"] == "runtime.rt0_go"
    assert reach.chain("nowhere") == () and "nowhere" not in reach


# Go's symbol names: a string's is its quoted contents (strconv.Quote: one line, any text);
# others have no " -> " and no line break, and never end in a marker.
_plain = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20
).filter(lambda n: n != "_" and " -> " not in n and not n.endswith(">") and n.strip() == n)
_strings = st.text(max_size=30).map(lambda t: "go:string." + json.dumps(t))
names = st.one_of(_plain, _strings)


@given(st.lists(names, min_size=1, max_size=30, unique=True), st.data())
def test_any_names_give_back_the_tree(symbols: list[str], data: st.DataObject) -> None:
    """Names with ' -> ' inside (strings) or spaces: each line's edge is the one printed."""
    parents: dict[str, str] = {}
    lines = []
    for i, name in enumerate(symbols):
        parent = "" if i == 0 else data.draw(st.sampled_from(["", *symbols[:i]]))
        parents[name] = parent
        lines.append(f"{parent or '_'} -> {name}")
    reach = parse(lines)
    assert dict(reach.parent) == parents
