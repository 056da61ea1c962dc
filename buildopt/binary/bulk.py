"""C-level helpers over bulk tables (.symtab columns, the pclntab's function table): one call
for what would otherwise be a Python loop per entry."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import TypeVar

_T = TypeVar("_T")


def gather(values: Sequence[_T], indices: Sequence[int]) -> tuple[_T, ...]:
    """values[i] for every i in indices, in one C-level call."""
    if len(indices) > 1:
        return operator.itemgetter(*indices)(values)  # type: ignore[no-any-return]
    return tuple(values[i] for i in indices)
