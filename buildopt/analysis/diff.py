"""Size diffs in the Linux kernel's bloat-o-meter shape (scripts/bloat-o-meter).

Two name -> size maps (symbols, packages, modules or sections) give: what was added, removed,
grew and shrank, the bytes up and down, the rows of every name whose size changed - largest
growth first, the largest shrink last, as bloat-o-meter sorts them - and the totals before and
after. The summary always agrees with the rows: both are computed from the same pairs.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec


class Row(msgspec.Struct, frozen=True):
    name: str
    old: int | None  # None: not in the old file
    new: int | None  # None: not in the new file

    @property
    def delta(self) -> int:
        return (self.new or 0) - (self.old or 0)


class SizeDiff(msgspec.Struct, frozen=True):
    kind: str  # what the rows are: function (symbols), package, module, section
    rows: tuple[Row, ...]  # every changed name, in bloat-o-meter's order
    added: int
    removed: int
    grown: int
    shrunk: int
    up: int  # bytes added and grown
    down: int  # bytes removed and shrunk (a positive number)
    before: int  # the sum of every old size
    after: int
    table: str = ""  # the header word: bloat-o-meter's Function, Data or RO Data (-c)

    @property
    def heading(self) -> str:
        """The table's first header cell: Function (as the kernel's script), or the view."""
        return self.table or HEADINGS.get(self.kind, self.kind)

    @property
    def net(self) -> int:
        return self.up - self.down

    @property
    def change_percent(self) -> float:
        """bloat-o-meter's "chg": (after - before) / before, 0 when there was nothing."""
        return (self.after - self.before) * 100.0 / self.before if self.before else 0.0

    def summary_line(self) -> str:
        """``add/remove: 1/0 grow/shrink: 3/1 up/down: 4812/-96 (4716)``: the kernel's line,
        which scripts parse (no sign on up, down printed negative)."""
        return (
            f"add/remove: {self.added}/{self.removed} grow/shrink: {self.grown}/{self.shrunk} "
            f"up/down: {self.up}/{-self.down} ({self.net})"
        )

    def total_line(self) -> str:
        return f"Total: Before={self.before}, After={self.after}, chg {self.change_percent:+.2f}%"


HEADINGS = {"function": "Function", "package": "Package", "module": "Module", "section": "Section"}


class FileSizes(msgspec.Struct, frozen=True):
    """The two whole files: the table sums symbols (or packages), never headers and padding."""

    before: int
    after: int

    def line(self) -> str:
        """``File: Before=X, After=Y, chg -69.40%``: the Total line's shape, of the files."""
        percent = (self.after - self.before) * 100.0 / self.before if self.before else 0.0
        return f"File: Before={self.before}, After={self.after}, chg {percent:+.2f}%"


def diff_sizes(
    old: Mapping[str, int], new: Mapping[str, int], kind: str, table: str = ""
) -> SizeDiff:
    """What changed from old to new, counted as bloat-o-meter counts it: a name only in new is
    added (its size up), only in old removed (its size down), in both grown or shrunk by the
    difference; unchanged names are in the totals only. A name of 0 bytes takes no room and
    counts as absent (the kernel counts it added or removed, without a row: then its summary
    and its table disagree)."""
    old = {k: v for k, v in old.items() if v}
    new = {k: v for k, v in new.items() if v}
    rows = [Row(name, old.get(name), new.get(name)) for name in old.keys() | new.keys()]
    added, removed = sum(r.old is None for r in rows), sum(r.new is None for r in rows)
    grew, shrank = [r.delta for r in rows if r.delta > 0], [r.delta for r in rows if r.delta < 0]
    # bloat-o-meter sorts (delta, name) pairs and reverses them: largest growth first, ties
    # by name backwards; unchanged names are not shown.
    changed = sorted((r for r in rows if r.delta), key=lambda r: (r.delta, r.name), reverse=True)
    return SizeDiff(
        kind=kind,
        rows=tuple(changed),
        added=added,
        removed=removed,
        grown=len(grew) - added,  # an added name grew from nothing, a removed one shrank to it
        shrunk=len(shrank) - removed,
        up=sum(grew),
        down=-sum(shrank),
        before=sum(old.values()),
        after=sum(new.values()),
        table=table,
    )


def rollup(sizes: Mapping[str, int], owner: Mapping[str, str]) -> dict[str, int]:
    """Sizes summed by owner (packages by module); a name without one is its own owner."""
    out: dict[str, int] = {}
    for name, size in sizes.items():
        key = owner.get(name, name)
        out[key] = out.get(key, 0) + size
    return out
