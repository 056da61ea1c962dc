"""Package attribution: the run-based fast path must equal debug/gosym's rule on every name."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from buildopt.binary.go import names as goname
from buildopt.binary.go.names import (
    GENERATED,
    attribute,
    is_init,
    module_of,
    package_of,
    package_path,
)

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


def reference(names: list[bytes], sizes: list[int], old: bool) -> dict[bytes, list[int]]:
    """The rule applied name by name: what attribute must equal."""
    expected: dict[bytes, list[int]] = defaultdict(lambda: [0, 0, 0])
    for n, size in zip(names, sizes, strict=True):
        package = package_of(n, old)
        expected[package][0] += size
        expected[package][1] += 1
        if package != G and is_init(n, package):
            expected[package][2] += size
    return dict(expected)


def table_of(names: list[bytes]) -> tuple[bytes, list[int]]:
    """A NUL-separated name table and where each name starts in it."""
    offsets, position = [], 0
    for n in names:
        offsets.append(position)
        position += len(n) + 1
    return b"\0".join(names) + b"\0", offsets


@settings(max_examples=600)
@example([(b"Finit", 5), (b"runtime.init", 3), (b"runtime.x/y.init", 2)], False, [])
@example(
    [(b"a/b.F", 1), (b"a/b.c/d.G", 2), (b"a/b.H[x/y.T]", 4), (b"a/b.map.init.0", 8)], False, []
)
@example([(b"go.x", 1), (b"go.y", 1), (b".x", 3), (b".a/b.c", 4)], True, [(0, 1)])
@example(
    [(b"x.init/y.init", 1), (b"x.init/y.F", 2), (b"a.F[b/c.T]", 4), (b"a.G[b]/c.H", 8)], False, []
)
@given(
    st.lists(st.tuples(name, st.integers(0, 1000)), max_size=60),
    st.booleans(),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10)), max_size=8),
)
def test_attribute_equals_the_rule_on_every_name(
    rows: list[tuple[bytes, int]], old: bool, extra: list[tuple[int, int]]
) -> None:
    """In table order, shuffled, repeated, and with offsets into the middle of names (tail
    sharing), the runs give what the rule gives name by name."""
    names, sizes = [n for n, _ in rows], [s for _, s in rows]
    blob, offsets = table_of(names)
    # Entries in another order, some named twice, some pointing at the tail of a name.
    for pick, size in extra:
        offset = pick % (len(blob) + 1)
        offsets.append(offset)
        sizes.append(size)
        names.append(blob[offset : blob.find(b"\0", offset) if offset < len(blob) else None])
    order = sorted(range(len(offsets)), key=lambda i: (i * 7919) % (len(offsets) or 1))
    shuffled = [offsets[i] for i in order], [sizes[i] for i in order]
    expected = reference(names, sizes, old)
    assert attribute(blob, *shuffled, old) == expected
    # Without inits (as for .symtab), the same with no init bytes.
    assert attribute(blob, *shuffled, old, inits=False) == {
        package: [size, count, 0] for package, (size, count, _) in expected.items()
    }
    # Extra columns are summed per package as the sizes are: here twice and three times them.
    doubled = [2 * s for s in shuffled[1]], [3 * s for s in shuffled[1]]
    assert attribute(blob, *shuffled, old, extra=doubled) == {
        package: [size, count, init, 2 * size, 3 * size]
        for package, (size, count, init) in expected.items()
    }


def test_attribute_on_a_table_without_final_nul() -> None:
    blob = b"main.main\0main.init\0runtime.x"
    got = attribute(blob, [0, 10, 20, len(blob)], [1, 2, 4, 8], False)
    assert got == {b"main": [3, 2, 2], b"runtime": [4, 1, 0], G: [8, 1, 0]}


@pytest.fixture
def without_possessive_repeats() -> Iterator[None]:
    """The patterns as Python 3.10 compiles them (no possessive repeats, ``*+``)."""
    saved = goname._POSSESSIVE
    goname._POSSESSIVE = False
    goname._patterns.cache_clear()
    yield
    goname._POSSESSIVE = saved
    goname._patterns.cache_clear()


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(name, st.integers(0, 1000)), max_size=40), st.booleans())
def test_attribute_without_possessive_repeats(
    without_possessive_repeats: None, rows: list[tuple[bytes, int]], old: bool
) -> None:
    names, sizes = [n for n, _ in rows], [s for _, s in rows]
    blob, offsets = table_of(names)
    assert attribute(blob, offsets, sizes, old) == reference(names, sizes, old)


def test_attribute_rejects_offsets_past_the_table() -> None:
    with pytest.raises(ValueError, match="past the end"):
        attribute(b"main.main\0", [11], [1], False)


def test_attribute_is_linear_on_hostile_names() -> None:
    """Long names full of slashes, dots and brackets (a corrupt or crafted table) must not make
    the regular expressions backtrack for ever: this finishes in well under a second."""
    hostile = [b"a/" * 20_000 + b"b", b"[" + b"]/" * 20_000, b"x." + b"/." * 20_000 + b"["]
    blob, offsets = table_of(hostile)
    got = attribute(blob, offsets, [1, 1, 1], False)
    assert got == reference(hostile, [1, 1, 1], False)


def path_to_prefix(path: bytes) -> bytes:
    """cmd/internal/objabi.PathToPrefix, as the Go linker escapes package paths in symbol
    names (the reference the inverse is checked against)."""
    slash = path.rfind(b"/")
    out = bytearray()
    for i, c in enumerate(path):
        if c <= 0x20 or (c == 0x2E and i > slash) or c in (0x25, 0x22) or c >= 0x7F:
            out += b"%%%02x" % c
        else:
            out.append(c)
    return bytes(out)


@given(st.text(min_size=1, max_size=40).map(str.encode))
def test_package_path_undoes_the_linkers_escaping(path: bytes) -> None:
    assert package_path(path_to_prefix(path)) == path.decode()


def test_package_path_of_a_versioned_std_package() -> None:
    assert package_path(b"crypto/internal/entropy/v1%2e0%2e0") == "crypto/internal/entropy/v1.0.0"
    assert package_path(b"gopkg.in/yaml%2ev3") == "gopkg.in/yaml.v3"
    assert package_path(b"net/http") == "net/http"
