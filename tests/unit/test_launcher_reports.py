"""The spawn helper's report stream, parsed: every event comes out whole and the same however
the pipe cut the bytes, output chunks with any bytes in them (newlines, NULs, 'done 0' lines)
included; a line the helper would never write is one clear error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.measure.launcher import (
    Alone,
    Done,
    Event,
    Evicted,
    ExecFailed,
    Exited,
    HelperGone,
    Output,
    PortOpen,
    Reports,
    Started,
)
from buildopt.measure.startup import explained

NS = st.integers(0, 2**62)
EVENTS = st.one_of(
    st.builds(Started, st.integers(1, 2**22), NS),
    st.builds(ExecFailed, st.integers(0, 200), st.just("no such file or directory")),
    st.builds(Output, st.sampled_from([1, 2]), NS, st.binary(min_size=1, max_size=300)),
    st.builds(PortOpen, NS),
    st.builds(Exited, NS, st.integers(0, 65535), NS, NS, st.integers(0, 2**40), st.integers(0, 9)),
    st.builds(Alone, NS),
    st.builds(Done, st.booleans()),
    st.builds(Evicted, st.just(0), NS, st.just("")),
    st.builds(Evicted, st.integers(1, 200), st.just(0), st.just("function not implemented")),
)


def encoded(event: Event) -> bytes:  # noqa: PLR0911 - one return per kind of report
    """The event as buildopt/measure/helpers/spawn/main.go writes it."""
    if isinstance(event, Output):
        return b"out %d %d %d\n" % (event.stream, event.ns, len(event.data)) + event.data
    if isinstance(event, Started):
        return b"start %d %d\n" % (event.pid, event.ns)
    if isinstance(event, ExecFailed):
        return f"error {event.errno} {event.message}\n".encode()
    if isinstance(event, PortOpen):
        return b"ready %d\n" % event.ns
    if isinstance(event, Exited):
        e = event
        return b"exit %d %d %d %d %d %d\n" % (
            e.ns,
            e.status,
            e.user_us,
            e.sys_us,
            e.max_rss_kib,
            e.left,
        )
    if isinstance(event, Alone):
        return b"alone %d\n" % event.ns
    if isinstance(event, Evicted):
        return f"evicted {event.errno} {event.ns} {event.message}".strip().encode() + b"\n"
    assert isinstance(event, Done)
    return b"done %d\n" % event.cut


@settings(max_examples=300)
@given(st.lists(EVENTS, max_size=30), st.lists(st.integers(0, 20_000), max_size=15))
def test_chunking_does_not_change_the_events(events: list[Event], cuts: list[int]) -> None:
    data = b"".join(encoded(e) for e in events)
    reports, got, last = Reports(), [], 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        reports.feed(data[last:cut])
        last = cut
        while (event := reports.pop()) is not None:
            got.append(event)
    assert got == events


def test_an_output_chunk_that_looks_like_reports_is_data() -> None:
    reports = Reports()
    reports.feed(b"out 1 5 15\ndone 0\nexit 1 \nstart 7 9\n")
    assert reports.pop() == Output(1, 5, b"done 0\nexit 1 \n")
    assert reports.pop() == Started(7, 9)
    assert reports.pop() is None


@pytest.mark.parametrize("line", [b"bogus 1\n", b"start 1\n", b"exit 1 2 3\n", b"done x\n"])
def test_a_line_the_helper_never_writes_is_one_error(line: bytes) -> None:
    reports = Reports()
    reports.feed(line)
    with pytest.raises(HelperGone, match="the spawn helper said something unexpected"):
        reports.pop()


def test_exit_code_of_a_wait_status() -> None:
    assert Exited(0, 3 << 8, 0, 0, 0, 0).code == 3
    assert Exited(0, 9, 0, 0, 0, 0).code == -9  # killed by SIGKILL


def test_an_error_explained_by_a_longer_one_is_shown_once() -> None:
    """A timed run ready at exit writes to /dev/null: "exited with 3" says less than the traced
    run's "exited with 3: boom", which is shown instead; other errors stay."""
    assert explained(["exited with 3", "exited with 3: boom", "exited with 3"]) == (
        "exited with 3: boom",
    )
    assert explained(["exited with 3", "exited with 4: boom"]) == (
        "exited with 3",
        "exited with 4: boom",
    )
