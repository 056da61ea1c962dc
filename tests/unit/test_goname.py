"""Package attribution: the run-based fast path must equal debug/gosym's rule on every name."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import example, given, settings
from hypothesis import strategies as st

from buildopt.goname import GENERATED, attribute, is_init, module_of, package_of

G = GENERATED.encode()


def test_package_rules() -> None:
    assert package_of(b"runtime.mallocgc") == b"runtime"
    assert package_of(b"net/http.(*Server).Serve") == b"net/http"
    assert package_of(b"slices.Sort[go.shape.int]") == b"slices"
    assert package_of(b"slices.Sort[net/http.Header]") == b"slices"
    assert package_of(b"gopkg.in/yaml.v3.Unmarshal") == b"gopkg.in/yaml"  # as gosym does
    assert package_of(b"type:.eq.main.T") == G
    assert package_of(b"go:buildid") == G
    assert package_of(b"type.eq.main.T", old_prefixes=True) == G
    assert package_of(b"type.eq.main.T") == b"type"
    assert package_of(b"nodot") == G


def test_init_names() -> None:
    for name in (b"main.init", b"main.init.0", b"main.init.func1", b"main.map.init.0"):
        assert is_init(name, b"main")
    for name in (b"main.initTable", b"main.Init", b"main.x.init"):
        assert not is_init(name, b"main")


def test_modules() -> None:
    mods = ("golang.org/x/net", "golang.org/x/net/http2", "example.com/app")
    assert (
        module_of("golang.org/x/net/http2/hpack", mods, "example.com/app")
        == "golang.org/x/net/http2"
    )
    assert module_of("main", mods, "example.com/app") == "example.com/app"
    assert module_of("net/http", mods, "example.com/app") == "std"
    assert module_of("github.com/x/y", mods, "") == "(unknown)"
    assert module_of(GENERATED, mods, "") == GENERATED


part = st.sampled_from(
    [
        b"runtime",
        b"net",
        b"net/http",
        b"main",
        b"a.b/c",
        b"x",
        b"go:",
        b"type:",
        b"go.",
        b"type.",
        b".",
        b"/",
        b"[",
        b"]",
        b"init",
        b"map.init.0",
        b"F",
        b"(*T)",
        b"func1",
        b"shape",
    ]
)
name = st.lists(part, min_size=1, max_size=6).map(b"".join)


@settings(max_examples=400)
@example([(b"Finit", 5), (b"runtime.init", 3), (b"runtime.x/y.init", 2)], False)
@given(st.lists(st.tuples(name, st.integers(0, 1000)), max_size=60), st.booleans())
def test_attribute_equals_the_rule_on_every_name(rows: list[tuple[bytes, int]], old: bool) -> None:
    expected: dict[bytes, list[int]] = defaultdict(lambda: [0, 0, 0])
    for n, size in rows:
        package = package_of(n, old)
        expected[package][0] += size
        expected[package][1] += 1
        if package != G and is_init(n, package):
            expected[package][2] += size
    got = attribute([n for n, _ in rows], [s for _, s in rows], old)
    assert got == dict(expected)
