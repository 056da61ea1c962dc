"""Forked workers (buildopt.system.forkmap) with real forks: results in order, and a child that
fails in any way is replaced by the parent doing its share - errors surface as without it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.system.forkmap import Background, Helper, Job, TaskQueue, share_work
from tests.conftest import REPO

PARENT = os.getpid()


def pid_of(item: int) -> list[int]:
    time.sleep(0.01)  # long enough that every process gets some of the items
    return [item, os.getpid()]


def test_shared_queues_give_every_item_once_in_order() -> None:
    items = list(range(60))
    job = Job("pids", pid_of, items, TaskQueue(reversed(range(60))))
    results = share_work([job], [Helper([job]), Helper([job])])["pids"]
    assert [r[0] for r in results] == items  # type: ignore[index]
    workers = {r[1] for r in results}  # type: ignore[index]
    assert PARENT in workers
    assert len(workers) >= 2  # 0.6 s of work: the helpers took some (all three, as a rule)
    no_children_left()


def test_a_helper_moves_to_the_next_job_when_a_queue_is_empty() -> None:
    first = Job("first", pid_of, list(range(4)), TaskQueue(range(4)))
    second = Job("second", lambda item: item * 10, list(range(5)), TaskQueue(range(5)))
    results = Helper([first, second]).collect()  # nobody else takes: it does all of both
    assert sorted(results) == [
        *(("first", i) for i in range(4)),
        *(("second", i) for i in range(5)),
    ]
    assert [results["second", i] for i in range(5)] == [0, 10, 20, 30, 40]
    assert {results["first", i][1] for i in range(4)} - {PARENT}  # type: ignore[index]
    no_children_left()


@given(st.lists(st.integers(0, 10**6), max_size=300))
@settings(max_examples=30, deadline=None)
def test_a_queue_hands_out_each_index_once(order: list[int]) -> None:
    queue = TaskQueue(order)
    taken = [i for block in iter(queue.take, []) for i in block]
    queue.close()
    assert taken == order
    assert queue.take() == []


def test_a_queue_larger_than_any_pipe_hands_out_blocks() -> None:
    order = list(range(600_000))  # 2.4 MB of records: more than a pipe may hold
    queue = TaskQueue(order)
    blocks = list(iter(queue.take, []))
    queue.close()
    assert [i for block in blocks for i in block] == order
    assert len(blocks) < len(order)


def fails_in_children(item: int) -> int:
    if os.getpid() != PARENT:
        raise RuntimeError("a child fails")
    return item * 2


def dies_in_children(item: int) -> int:
    if os.getpid() != PARENT:
        os._exit(7)
    return item * 2


@pytest.mark.parametrize("func", [fails_in_children, dies_in_children])
def test_what_a_failing_helper_took_is_redone_by_the_parent(func: object) -> None:
    job = Job("double", func, [1, 2, 3, 4], TaskQueue(range(4)))  # type: ignore[arg-type]
    helper = Helper([job])
    assert helper.collect() == {}  # it took every item and delivered none
    assert share_work([job], [helper]) == {"double": [2, 4, 6, 8]}  # all redone here
    no_children_left()


def raises_on_three(item: int) -> int:
    if item == 3:
        raise ValueError("three")
    return item


def test_an_error_is_raised_here_and_helpers_are_reaped() -> None:
    job = Job("items", raises_on_three, list(range(6)), TaskQueue(range(6)))
    with pytest.raises(ValueError, match="three"):
        share_work([job], [Helper([job])])
    no_children_left()


def square_or_raise(item: int) -> int:
    if item == 3:
        raise ValueError("three")
    return item * item


def test_background_streams_results_and_raises_here() -> None:
    stream = Background(square_or_raise, [1, 2, 3, 4])
    try:
        assert stream.get(0) == 1
        assert stream.get(3) == 16
        with pytest.raises(ValueError, match="three"):  # computed again here: the real error
            stream.get(2)
    finally:
        stream.close()
    no_children_left()


def exits_at_two(item: int) -> int:
    if item == 2 and os.getpid() != PARENT:
        os._exit(1)
    return item + 100


def test_background_child_dying_midway() -> None:
    stream = Background(exits_at_two, [0, 1, 2, 3])
    try:
        assert [stream.get(i) for i in range(4)] == [100, 101, 102, 103]
    finally:
        stream.close()
    no_children_left()


def no_children_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_ctrl_c_while_the_child_forks_prints_nothing(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group. A child that got it while Python's at-fork
    hooks ran (random reseeds itself there) printed "Exception ignored in: <bound method
    Random.seed ...> KeyboardInterrupt" under buildopt's own "error: interrupted". Here the
    interrupt comes exactly then, from an at-fork hook: the child now dies of it silently
    and the parent does its work."""
    script = tmp_path / "fork_under_ctrl_c.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, signal
            from buildopt.system.forkmap import Background

            os.register_at_fork(after_in_child=lambda: os.kill(os.getpid(), signal.SIGINT))
            work = Background(lambda item: item * 2, [1, 2, 3])
            print([work.get(i) for i in range(3)])
            work.close()
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[2, 4, 6]\n", "")


def fails_in_children(item: int) -> list[int]:
    if os.getpid() != PARENT:
        raise RuntimeError("a child cannot")
    return [item, os.getpid()]


def test_map_apart_works_in_children_only_and_reports_each_result() -> None:
    """map_apart: the children do the work while this process waits (so that Ctrl-C is never
    held behind a long C call here); each result is reported as it comes, in any order, and
    the list is in item order."""
    from buildopt.system.forkmap import map_apart

    seen: list[int] = []
    results = map_apart(
        pid_of, list(range(20)), 2, list(reversed(range(20))), lambda i, _: seen.append(i)
    )
    assert [r[0] for r in results] == list(range(20))  # type: ignore[index]
    workers = {r[1] for r in results}  # type: ignore[index]
    assert PARENT not in workers and len(workers) == 2
    assert sorted(seen) == list(range(20))
    assert seen[0] >= 18  # taken in the order given: the last items first
    no_children_left()
    # what no child delivers is done here, so that an error is raised as without children
    done = map_apart(fails_in_children, [1, 2, 3], 2)
    assert [r[1] for r in done] == [PARENT] * 3  # type: ignore[index]
    no_children_left()
