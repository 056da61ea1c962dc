"""How forkmap splits work: every item once, groups of similar weight, none empty."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from buildopt.system.forkmap import shares


def test_largest_first_to_the_lightest_group() -> None:
    assert shares([30, 10, 10, 10], 2) == [[0], [1, 2, 3]]
    assert shares([5, 5, 5], 5) == [[0], [1], [2]]  # no empty groups
    assert shares([], 3) == []


@given(st.lists(st.integers(0, 10**9), max_size=50), st.integers(1, 8))
def test_every_item_once_and_balanced(weights: list[int], jobs: int) -> None:
    groups = shares(weights, jobs)
    assert sorted(i for g in groups for i in g) == list(range(len(weights)))
    assert all(g == sorted(g) and g for g in groups)
    assert len(groups) <= jobs
    loads = [sum(weights[i] for i in g) for g in groups]
    if loads:  # greedy: no group exceeds the lightest by more than the largest item
        assert max(loads) - min(loads) <= max(weights)
