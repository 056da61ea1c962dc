"""The one check of a TOML table's keys: an unknown key is named in full, with the allowed key
it is closest to (or, when none is close, the allowed keys)."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable

from buildopt.errors import ProfileError


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'strip'?`` for the choice closest to word; '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(where: str, table: Iterable[str], allowed: Collection[str]) -> str | None:
    """The message for the first key of table that is not allowed; None when all are."""
    for key in table:
        if key not in allowed:
            name = f"{where}.{key}" if where else key
            hint = did_you_mean(key, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
            return f"unknown key {name!r}{hint}"
    return None


def check_keys(path: object, where: str, table: Iterable[str], allowed: Collection[str]) -> None:
    """ProfileError naming path and the first key of table (at where) that is not allowed."""
    problem = unknown_key(where, table, allowed)
    if problem:
        raise ProfileError(path, problem)
