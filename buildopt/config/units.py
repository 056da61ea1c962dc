"""Units: sizes (IEC KiB, MiB, GiB and SI kB, MB, GB kept distinct, bytes allowed), percentages
and durations (``10s``, ``500ms``)."""

from __future__ import annotations

import re
from typing import Annotated

from buildopt.config.keys import MAX_INT, Words, toml_value

UNITS = {
    "": 1,
    "b": 1,
    "byte": 1,
    "bytes": 1,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
}
_SIZE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*")


class UnitError(ValueError):
    """A size or percentage that cannot be read."""


def parse_size(value: object) -> int:
    """Bytes from ``6 MiB``, ``512 kB``, ``1.5MB``, ``4096`` or an integer (case of the unit
    letters is not significant, but KiB and kB are different units)."""
    if isinstance(value, bool):
        raise UnitError(f"{toml_value(value)} is not a size")
    if isinstance(value, int):
        number, unit = float(value), ""
    elif isinstance(value, str) and (m := _SIZE.fullmatch(value)):
        number, unit = float(m.group(1)), m.group(2).lower()
    else:
        raise UnitError(f"{toml_value(value)} is not a size (e.g. 6 MiB, 512 kB, 4096)")
    if unit not in UNITS:
        raise UnitError(
            f"{toml_value(value)}: unknown unit {unit!r} (use B, KiB, MiB, GiB, kB, MB, GB)"
        )
    if number < 0:
        raise UnitError(f"{toml_value(value)}: a size cannot be negative")
    size = value if isinstance(value, int) else round(number * UNITS[unit])
    if size > MAX_INT:
        raise UnitError(f"{toml_value(value)}: more than a size may be ({MAX_INT} bytes at most)")
    return size


def parse_percent(value: object) -> float:
    """A fraction from ``2%`` or ``2.5 %``."""
    if isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)):
        return float(m.group(1)) / 100
    raise UnitError(f"{toml_value(value)} is not a percentage (e.g. 2%)")


def format_size(n: int | None, signed: bool = False) -> str:
    """``8.39 MiB``, ``-512 B``; ``+`` on growth when signed."""
    if n is None:
        return "-"
    sign = "-" if n < 0 else ("+" if signed and n > 0 else "")
    value = abs(float(n))
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{sign}{value:.0f} {unit}" if unit == "B" else f"{sign}{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def parse_seconds(value: object) -> float:
    """``10s``, ``500ms``, ``2`` (seconds)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str) and (m := re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*", value)):
        number = float(m.group(1)) / (1000 if m.group(2) == "ms" else 1)
        if number > 0:
            return number
    raise UnitError(f"{toml_value(value)} is not a duration (e.g. 10s, 500ms)")


# Profile values in units, as the models (buildopt.config.keys.decode) read them
Size = Annotated[int, parse_size, Words("a size", "sizes")]
Seconds = Annotated[float, parse_seconds, Words("a duration", "durations")]
Milliseconds = Annotated[
    float, lambda value: parse_seconds(value) * 1000, Words("a duration", "durations")
]


def counted(n: int, noun: str) -> str:
    """``1 file``, ``2 files``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
