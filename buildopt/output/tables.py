"""Tables for people that never cut what says which row is which.

A variant id, a target, a budget name or a verdict is never truncated or wrapped: those columns
are ``keep``. When a table is wider than the terminal, the other columns go, least important
first (a footnote says which, and that ``--json`` has everything), and free-text columns
(``note``: a skip reason, a failure) are cut to the room left with their full text listed under
the table. Piped (not a terminal), a table is plain text without box drawing, one row per line
at whatever width it needs, so that ``grep`` finds a row whole.

Every text is data: a cell, a title or a footer is never read as rich markup or an emoji code
(``main.go:100:2`` stays itself), and a control character in it is shown as its escape
(``\\x1b``, ``\\n``), so that a name can neither drive the terminal nor forge a line."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, TypeVar

from rich import box
from rich.cells import cell_len
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from buildopt.errors import visible
from buildopt.output.pipes import DataConsole

MIN_NOTE = 12  # a free-text column narrower than this is not worth showing: listed below instead
ELLIPSIS = "…"


class Column(NamedTuple):
    name: str
    right: bool = False  # numbers
    keep: bool = False  # identifies the row (or is its verdict): never dropped, never cut
    drop: int = 0  # among the others: the highest goes first when the table is too wide
    note: bool = False  # free text: cut to the room left, the whole text listed under the table
    # kept, and the rows come in its order: when the kept columns do not fit, its value heads
    # each run of rows (a table each, aligned) instead of taking a column's room
    group: bool = False


class Cell(NamedTuple):
    """A cell's text (plain, not markup) and its style."""

    text: str
    style: str = ""


CellLike = str | Cell
T = TypeVar("T")
Spec = Sequence[tuple[Column, Callable[[T], CellLike]]]  # a column and its cell of an item


def tabulate(spec: Spec[T], items: Iterable[T]) -> tuple[list[Column], list[list[CellLike]]]:
    """The columns of spec and a row per item, each cell made by its column's function."""
    return [column for column, _ in spec], [[cell(item) for _, cell in spec] for item in items]


def data(*parts: str | tuple[str, str]) -> Text:
    """A line of data: each part a text, or a (text, style) pair; nothing in it is markup or
    an emoji code, control characters are shown as escapes."""
    line = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        line.append(visible(text), style=style or None)
    return line


def say(console: DataConsole, *parts: str | tuple[str, str]) -> None:
    """A line of data (see data): wrapped on a terminal, whole on one line in a log (for grep)."""
    console.print(data(*parts), soft_wrap=not console.is_terminal)


BLOCKS = " ▏▎▍▌▋▊▉█"


def bar(fraction: float, width: int = 10) -> str:
    """A compact bar of ``width`` characters for a share from 0 to 1, in eighths of a block
    (a proportion a person sees at a glance; the number stays in its own column)."""
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


def _cell(value: CellLike) -> Cell:
    return value if isinstance(value, Cell) else Cell(value)


class Layout(NamedTuple):
    """Which columns are shown, how wide the free-text ones may be, and what was left out."""

    shown: tuple[int, ...]
    note_width: int | None  # None: notes whole
    dropped: tuple[str, ...]
    width: int  # the table's width


def _natural(columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> list[int]:
    return [
        max([cell_len(visible(c.name)), *(cell_len(visible(row[i].text)) for row in rows)])
        for i, c in enumerate(columns)
    ]


def _table_width(widths: Sequence[int], boxed: bool) -> int:
    """Width of a rich table with these column widths: padding 1 each side and a rule between
    (boxed: and at both edges), or two spaces between columns (plain)."""
    if not widths:
        return 0
    return sum(widths) + (3 * len(widths) + 1 if boxed else 2 * (len(widths) - 1))


def layout(
    columns: Sequence[Column], rows: Sequence[Sequence[Cell]], width: int | None, boxed: bool
) -> Layout:
    """Fit the table into width (None: any width): drop the least important columns, then cut
    the free-text ones; the kept columns stay whole even if they alone are wider."""
    natural = _natural(columns, rows)
    shown = list(range(len(columns)))
    note_width: int | None = None
    dropped: list[str] = []

    def total(note: int | None) -> int:
        return _table_width(_shown_widths(columns, natural, shown, note), boxed)

    if width is not None:
        optional = sorted(
            (i for i, c in enumerate(columns) if not c.keep and not c.note),
            key=lambda i: (-columns[i].drop, -i),
        )
        notes = [i for i in shown if columns[i].note]
        while total(None) > width:
            if notes:  # first cut the free text to the room left
                rest = total(0) - sum(natural[i] for i in notes)
                room = (width - rest) // len(notes)
                if room >= MIN_NOTE:
                    note_width = min(room, max(natural[i] for i in notes))
                    break
            if not optional:
                break
            gone = optional.pop(0)
            shown.remove(gone)
            dropped.append(columns[gone].name)
        if note_width is None and total(None) > width:  # not even a narrow note fits
            for i in notes:
                shown.remove(i)
                dropped.append(columns[i].name)
    return Layout(tuple(shown), note_width, tuple(dropped), total(note_width))


def _without_empty(
    columns: Sequence[Column], cells: list[list[Cell]], key: int | None
) -> tuple[Sequence[Column], list[list[Cell]], int | None]:
    """A column with nothing in it (no row failed: no notes) is not shown, and not missed."""
    used = [i for i, c in enumerate(columns) if c.keep or any(row[i].text for row in cells)]
    if len(used) == len(columns):
        return columns, cells, key
    if key is not None:
        key = used.index(key) if key in used else None
    return [columns[i] for i in used], [[row[i] for i in used] for row in cells], key


def _plain(table: Table, width: int) -> str:
    """The table as plain text lines of their own width (no trailing blanks)."""
    out = DataConsole(file=io.StringIO(), width=max(1, width), color_system=None, emoji=False)
    out.print(table, crop=False)
    text = out.file.getvalue()  # type: ignore[attr-defined]
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def _wide(console: DataConsole, width: int) -> DataConsole:
    """console itself if the table fits; else a console on the same file, as wide as the table
    (rich never prints wider than a console's width: it would cut the kept columns)."""
    if width <= console.width:
        return console
    same = {
        "file": console.file,
        "color_system": console.color_system,
        "no_color": console.no_color,
    }
    return DataConsole(emoji=False, width=width, force_terminal=console.is_terminal, **same)


def render(
    console: DataConsole,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[CellLike]],
    footer: Sequence[CellLike] = (),
    *,
    key: int | None = None,
) -> None:
    """Print the table on console, fitted to its width (see the module's docstring). A note
    listed under the table is labelled with the row's ``key`` column (default: the first
    kept one). When even the kept columns are wider than a terminal, each row is printed as
    a block instead (its identities, then its figures, each whole on a line)."""
    columns = [c._replace(name=visible(c.name)) for c in columns]
    cells = [[Cell(visible(c.text), c.style) for c in map(_cell, row)] for row in rows]
    columns, cells, key = _without_empty(columns, cells, key)
    title = visible(title)
    boxed = console.is_terminal
    fit = layout(columns, cells, console.width if boxed else None, boxed)
    if key is None:
        key = next((i for i, c in enumerate(columns) if c.keep), 0)
    too_wide = boxed and fit.width > console.width
    grouped = _grouped(columns, cells, console.width) if too_wide else None
    if too_wide and grouped is None:
        _blocks(console, title, columns, cells)
    else:
        listed: list[str] = []
        if grouped is None:
            _table(console, title, columns, cells, fit=fit, key=key, listed=listed)
        else:
            group, columns, fit = grouped
            if key >= group:  # the group column's own value heads the notes' table anyway
                key = key - 1 if key > group else next(i for i, c in enumerate(columns) if c.keep)
            if title:
                console.print(Text(title, style="table.title"), soft_wrap=True)
            natural = _natural(columns, [row[:group] + row[group + 1 :] for row in cells])
            widths = _shown_widths(columns, natural, fit.shown, fit.note_width)
            for n, (head, rows_of) in enumerate(_runs(cells, group)):
                _table(
                    console, head, columns, rows_of, fit=fit, key=key, listed=listed, widths=widths,
                    header=n == 0,
                )  # fmt: skip
        # under the table: wrapped on a terminal, whole lines in a log (for grep)
        wrap = not boxed
        for n, text in enumerate(listed, 1):
            prefix = f"[{n}] " if fit.note_width is not None else "  "
            console.print(Text(prefix + text), crop=False, soft_wrap=wrap)
        if fit.dropped:
            names = ", ".join(name or "the bar" for name in fit.dropped)
            note = f"(not shown at {console.width} columns: {names}; "
            note += "a wider terminal shows them, --json has everything)"
            console.print(Text(note, style="dim"), soft_wrap=wrap)
    for line in footer:
        text, style = _cell(line)
        console.print(Text(visible(text), style=style or ""), soft_wrap=not boxed)


def _table(
    console: DataConsole,
    title: str,
    columns: Sequence[Column],
    cells: Sequence[Sequence[Cell]],
    *,
    fit: Layout,
    key: int,
    listed: list[str],
    widths: Sequence[int] | None = None,
    header: bool = True,
) -> None:
    """Print the fitted table (``widths``: of its shown columns, to align it with the tables
    of other groups); add the notes to list under it to ``listed``."""
    boxed = console.is_terminal
    table = Table(
        title=Text(title) if title and boxed else None,
        title_justify="left",
        title_style="table.title" if header else "bold",
        box=box.HEAVY_HEAD if boxed else None,
        show_edge=boxed,
        pad_edge=boxed,
        padding=(0, 1),
        show_header=header,
    )
    for n, i in enumerate(fit.shown):
        column = columns[i]
        table.add_column(
            Text(column.name),
            justify="right" if column.right else "left",
            no_wrap=True,
            overflow="ignore",
            width=widths[n] if widths else None,
        )
    for row in cells:
        shown = []
        for i in fit.shown:
            text, style = row[i]
            if columns[i].note and fit.note_width is not None and cell_len(text) > fit.note_width:
                listed.append(f"{row[key].text}: {text}")
                text = f"{text[: max(1, fit.note_width - 5)].rstrip()}{ELLIPSIS}[{len(listed)}]"
            shown.append(Text(text, style=style or ""))
        table.add_row(*shown)
    for i in (i for i, c in enumerate(columns) if c.note and i not in fit.shown):
        listed += [f"{row[key].text}: {row[i].text}" for row in cells if row[i].text]
    if boxed:
        _wide(console, max(fit.width, cell_len(title))).print(table, crop=False)
    else:  # plain: the title on a line of its own, rows without trailing blanks
        if title:
            console.print(Text(title), soft_wrap=True)
        console.file.write(_plain(table, fit.width))


def _grouped(
    columns: Sequence[Column], cells: Sequence[Sequence[Cell]], width: int
) -> tuple[int, list[Column], Layout] | None:
    """The group column, the other columns and their layout, when without the group column
    the table fits width (None: it has none, or it does not fit even so)."""
    group = next((i for i, c in enumerate(columns) if c.group), None)
    if group is None:
        return None
    rest = [c for i, c in enumerate(columns) if i != group]
    fit = layout(rest, [[*row[:group], *row[group + 1 :]] for row in cells], width, boxed=True)
    return None if fit.width > width else (group, rest, fit)


def _runs(cells: Sequence[Sequence[Cell]], group: int) -> list[tuple[str, list[list[Cell]]]]:
    """The rows in runs of one group value, without the group column."""
    runs: list[tuple[str, list[list[Cell]]]] = []
    for row in cells:
        if not runs or runs[-1][0] != row[group].text:
            runs.append((row[group].text, []))
        runs[-1][1].append([*row[:group], *row[group + 1 :]])
    return runs


def _shown_widths(
    columns: Sequence[Column], natural: Sequence[int], shown: Sequence[int], note: int | None
) -> list[int]:
    """The widths of the shown columns, a note cut to note (None: whole)."""
    return [min(natural[i], note) if columns[i].note and note else natural[i] for i in shown]


BLOCK_INDENT = "    "


def _blocks(
    console: DataConsole, title: str, columns: Sequence[Column], cells: Sequence[Sequence[Cell]]
) -> None:
    """Each row as a block: its identities (the kept text columns) whole, filled into lines
    of the console's width; then its figures and other values as ``name value``, indented;
    then its note, wrapped. Nothing is dropped or cut."""
    if title:
        console.print(Text(title, style="table.title"), soft_wrap=True)
    for row in cells:
        names, values = [], []
        for column, (text, style) in zip(columns, row, strict=True):
            if not text or column.note or not column.name:  # (a nameless column: a bar)
                continue
            if column.keep and not column.right:
                names.append(Text(text, style=style or ""))
            else:
                values.append(Text.assemble((f"{column.name} ", "dim"), (text, style or "")))
        lines = _fill(names, console.width, "") + _fill(values, console.width, BLOCK_INDENT)
        for line in lines:
            console.print(line, crop=False, soft_wrap=True)
        for column, (text, _) in zip(columns, row, strict=True):
            if column.note and text:
                note = Text(f"{column.name}: {text}")
                indented = Padding(note, (0, 0, 0, len(BLOCK_INDENT)), expand=False)
                console.print(indented, soft_wrap=False)


def _fill(units: Sequence[Text], width: int, indent: str) -> list[Text]:
    """units joined by two spaces into lines no wider than width (a unit never breaks; a
    unit wider than the line has one of its own)."""
    lines: list[Text] = []
    line = Text(indent)
    for unit in units:
        if line.plain.strip() and cell_len(line.plain) + 2 + unit.cell_len > width:
            lines.append(line)
            line = Text(indent)
        if line.plain.strip():
            line.append("  ")
        line.append_text(unit)
    if line.plain.strip():
        lines.append(line)
    return lines
