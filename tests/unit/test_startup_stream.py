"""The measured program's output, read in bounded memory: the facts do not depend on how the
pipe cut it into chunks, and a flood or an endless line keeps buildopt's memory flat."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.measure.startup import LINE_LIMIT, TAIL_BYTES, _Stream

READY = re.compile(rb"^listening on \d+$", re.M)
LINES = st.sampled_from(
    [
        b"gc 1 @0.003s 2%: 0.01+0.2+0.01 ms clock",
        b"init main @1.2 ms, 105.3 ms clock, 76000000 bytes, 492430 allocs",
        b"init net/http @0.5 ms, 0.1 ms clock, 1024 bytes, 12 allocs",
        b"listening on 8080",
        b"panic: runtime error: index out of range",
        b"just talking",
        b"",
    ]
)


def facts(stream: _Stream) -> tuple[object, ...]:
    return stream.matched, stream.gc_lines, stream.inits, stream.crash, stream.last_words()


def fed(data: bytes, cuts: list[int]) -> _Stream:
    stream = _Stream(READY)
    last = 0
    for cut in sorted(c % (len(data) + 1) for c in cuts):
        stream.feed(data[last:cut])
        last = cut
    stream.feed(data[last:])
    stream.close()
    return stream


@settings(max_examples=200)
@given(st.lists(LINES, max_size=40), st.lists(st.integers(0, 10_000), max_size=12), st.booleans())
def test_chunking_does_not_change_the_facts(lines: list[bytes], cuts: list[int], end: bool) -> None:
    data = b"\n".join(lines) + (b"\n" if end else b"")
    assert facts(fed(data, cuts)) == facts(fed(data, []))


def test_what_the_lines_say() -> None:
    stream = fed(
        b"gc 1 @0.1s\ninit a @1 ms, 2.5 ms clock, 10 bytes, 1 allocs\nlistening on 9\nbye", [7, 30]
    )
    assert stream.matched and stream.gc_lines == 1
    assert [(i.package, i.clock_ms) for i in stream.inits] == [("a", 2.5)]
    assert stream.last_words() == "bye"


def test_a_prompt_without_a_newline_is_ready() -> None:
    stream = _Stream(READY)
    stream.feed(b"listening on 80")
    assert stream.matched


def test_a_flood_keeps_memory_flat() -> None:
    stream = _Stream(READY)
    chunk = b"y\n" * (1 << 15)
    for _ in range(2000):  # 128 MiB of `yes`
        stream.feed(chunk)
    assert len(stream.tail) <= TAIL_BYTES and not stream.partial
    assert stream.last_words() == "y"


def test_an_endless_line_is_cut() -> None:
    stream = _Stream(READY)
    for _ in range(1000):
        stream.feed(b"x" * 65536)
    assert len(stream.partial) == LINE_LIMIT
    stream.feed(b"x\nlistening on 1\n")
    assert stream.matched
    assert stream.last_words() == "listening on 1"
