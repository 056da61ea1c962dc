"""Sizes and percentages with units."""

from __future__ import annotations

import pytest

from buildopt.config.units import UnitError, format_size, parse_percent, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6 MiB", 6 * 1024 * 1024),
        ("6MiB", 6291456),
        ("512 kB", 512_000),
        ("512 KiB", 524_288),
        ("1.5 MB", 1_500_000),
        ("4096", 4096),
        (4096, 4096),
        (0, 0),
        ("2 GiB", 2 << 30),
        ("10 B", 10),
        ("3 kib", 3072),
    ],
)
def test_sizes(text: object, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("bad", ["6 MeB", "-1 KiB", "lots", True, None, 1.5, "1 2 MiB", ""])
def test_bad_sizes(bad: object) -> None:
    with pytest.raises(UnitError):
        parse_size(bad)


def test_percent_and_format() -> None:
    assert parse_percent("2%") == pytest.approx(0.02)
    assert parse_percent(" 2.5 % ") == pytest.approx(0.025)
    with pytest.raises(UnitError):
        parse_percent("2")
    assert format_size(1536) == "1.50 KiB"
    assert format_size(-512, signed=True) == "-512 B"
    assert format_size(2 << 20, signed=True) == "+2.00 MiB"
    assert format_size(None) == "-"
