"""The linker's -dumpdep -v=2 output as the dead-code analysis reads it, however mangled: lines
cut anywhere, names holding " -> ", markers, braces or nothing, a method log without edges or
edges without a log. Reading it never raises; the answer is on, off or (without a method log)
off with no estimate, and an estimate is never negative."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.analysis.deadcode import judge
from buildopt.binary.go.costs import SymbolCosts, name_bytes, string_bytes
from buildopt.binary.go.dumpdep import parse
from buildopt.binary.go.linkerlog import read_methods
from buildopt.output.deadcode import dead_code_text

SHA = "0" * 64
NAMES = st.sampled_from(
    [
        "_",
        "main.main",
        "main.f <ReflectMethod>",
        "type:*main.T <UsedInIface>",
        "main.(*T).M",
        "main.(*T).m",
        'go:string."a -> b"',
        "go:string..gostring.300.x==",
        "type:.namedata.M.",
        "",
        "plugin.Open",
    ]
)
LINES = st.one_of(
    st.builds(lambda a, b: f"{a} -> {b}", NAMES, NAMES),
    st.builds(
        lambda n, i, r: f"markable method: {{{n} {i}}} of sym 1 {r}",
        st.sampled_from(["M", "m", "", "X Y"]),
        st.integers(-1, 3),
        NAMES,
    ),
    st.builds(lambda n: f"reached iface method: {{{n} 1}}", st.sampled_from(["M", "m", "}"])),
    st.just("reached generic iface method: M"),
    st.just("ldobj: x (plugin)"),
    st.text(max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINES, max_size=40), cut=st.integers(0, 5))
def test_any_output_is_read_without_an_error(lines: list[str], cut: int) -> None:
    text = [line[: len(line) - cut] + "\n" for line in lines]
    costs = SymbolCosts({"main.(*T).M": 10, "main.main": 5}, table=True, types=1000)
    found = judge(parse(text), read_methods(text), costs, sha256=SHA)
    assert found.state in ("on", "off")
    assert found.estimate is None or found.estimate >= 0
    assert dead_code_text(found)


@given(st.text(max_size=60))
def test_a_symbol_name_never_makes_a_size_raise(name: str) -> None:
    for symbol in ('go:string."' + name + '"', "go:string.." + name, "type:.namedata." + name):
        for size in (string_bytes(symbol), name_bytes(symbol)):
            assert size is None or size >= 0
