"""Forked workers (buildopt.system.forkmap) with real forks: results in order, and a child that
fails in any way is replaced by the parent doing its share - errors surface as without it."""

from __future__ import annotations

import os

import pytest

from buildopt.system.forkmap import Background, fork_batches

PARENT = os.getpid()


def pids(items: list[int]) -> list[list[int]]:
    return [[item, os.getpid()] for item in items]


def test_batches_come_back_in_order_from_several_processes() -> None:
    items = list(range(9))
    results = fork_batches(pids, items, weights=[1] * 9, jobs=3)
    assert [r[0] for r in results] == items  # type: ignore[index]
    workers = {r[1] for r in results}  # type: ignore[index]
    assert PARENT in workers
    assert len(workers) == 3


def fails_in_children(items: list[int]) -> list[int]:
    if os.getpid() != PARENT:
        raise RuntimeError("a child fails")
    return [item * 2 for item in items]


def dies_in_children(items: list[int]) -> list[int]:
    if os.getpid() != PARENT:
        os._exit(7)
    return [item * 2 for item in items]


@pytest.mark.parametrize("batch", [fails_in_children, dies_in_children])
def test_a_failing_child_is_redone_by_the_parent(batch: object) -> None:
    assert fork_batches(batch, [1, 2, 3, 4], weights=[1, 1, 1, 1], jobs=2) == [2, 4, 6, 8]  # type: ignore[arg-type]
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
