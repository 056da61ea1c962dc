"""Comparisons and their explanations, on small hand-made build records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from buildopt.analysis.compare import (
    RecordError,
    compare_records,
    compare_variants,
    load_record,
    summary_line,
)
from buildopt.errors import UsageError

BASE_TOTALS = {
    "code": 1000,
    "rodata": 500,
    "data": 100,
    "bss": 50,
    "gometa": 400,
    "symtab": 300,
    "dwarf": 700,
    "dynamic": 40,
}


def build(
    vid: str,
    totals: dict[str, int],
    *,
    static: bool = False,
    pie: bool = False,
    needed: tuple[str, ...] = ("libc.so.6",),
    packages: dict[str, int] | None = None,
    sections: dict[str, int] | None = None,
) -> dict[str, Any]:
    size = sum(v for k, v in totals.items() if k != "bss") + 64
    return {
        "id": vid,
        "variant": vid.split("@", maxsplit=1)[0],
        "target": "linux/amd64",
        "status": "ok",
        "inspect": {
            "size": size,
            "totals": totals,
            "linking": {"static": static, "pie": pie, "needed": list(needed)},
            "sections": [{"name": n, "size": s} for n, s in (sections or {}).items()],
            "packages": [{"package": p, "text_bytes": b} for p, b in (packages or {}).items()],
        },
    }


def record(
    *builds: dict[str, Any], variants: dict[str, Any] | None = None, name: str = "p"
) -> dict[str, Any]:
    return {
        "schema": "buildopt.build/1",
        "profile": {"name": name, "baseline": "default"},
        "variants": variants or {},
        "builds": list(builds),
    }


def test_strip_explained_by_flag() -> None:
    stripped = {**BASE_TOTALS, "symtab": 0, "dwarf": 0}
    rec = record(
        build("default@linux-amd64", BASE_TOTALS),
        build("small@linux-amd64", stripped),
        variants={"default": {"strip": "none"}, "small": {"strip": "all"}},
    )
    rows = {r.built.id: r for r in compare_variants(rec)}
    small = rows["small@linux-amd64"]
    assert small.deltas["size"] == -1000
    assert small.explanation == ("-w: DWARF -700 B", "-s: .symtab .strtab -300 B")
    assert rows["default@linux-amd64"].baseline is rows["default@linux-amd64"].built


def test_static_and_tags_explained() -> None:
    rec = record(
        build("default@linux-amd64", BASE_TOTALS),
        build(
            "static@linux-amd64", {**BASE_TOTALS, "code": 900, "dynamic": 0}, static=True, needed=()
        ),
        variants={
            "default": {"cgo": True, "tags": []},
            "static": {"cgo": False, "tags": ["netgo", "osusergo"]},
        },
    )
    (row,) = [r for r in compare_variants(rec) if r.built.variant == "static"]
    assert "cgo on->off; tags +netgo,+osusergo: now static, libc.so.6 dropped" in row.explanation
    assert (
        "cgo on->off; tags +netgo,+osusergo: code -100 B, dynamic -40 B = -140 B" in row.explanation
    )


def test_pie_explained() -> None:
    rec = record(
        build("default@linux-amd64", BASE_TOTALS),
        build("pie@linux-amd64", {**BASE_TOTALS, "dynamic": 5040}, pie=True),
        variants={"default": {}, "pie": {"buildmode": "pie"}},
    )
    (row,) = [r for r in compare_variants(rec) if r.built.variant == "pie"]
    assert row.explanation[0] == "pie: relocations and dynamic sections +4.88 KiB"


def test_two_records_and_bloat_o_meter_summary() -> None:
    old = record(
        build(
            "default@linux-amd64",
            BASE_TOTALS,
            packages={"main": 100, "fmt": 500, "gone": 10},
            sections={".text": 1000},
        )
    )
    new = record(
        build(
            "default@linux-amd64",
            {**BASE_TOTALS, "code": 1200},
            packages={"main": 150, "fmt": 480, "strings": 30},
            sections={".text": 1200},
        )
    )
    items = compare_records(old, new)
    packages = [i for i in items if i.kind == "package"]
    assert {(i.name, i.delta) for i in packages} == {
        ("main", 50),
        ("fmt", -20),
        ("gone", -10),
        ("strings", 30),
    }
    assert summary_line(packages) == "add/remove: 1/1 grow/shrink: 1/1 up/down: +80/-30 (+50)"
    assert [i.delta for i in items if i.kind == "section"] == [200]


def test_records_of_different_profiles_are_refused() -> None:
    with pytest.raises(UsageError, match="different profiles"):
        compare_records(record(name="a"), record(name="b"))


def test_load_record_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{")
    with pytest.raises(RecordError, match="not a JSON build record"):
        load_record(bad)
    bad.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(RecordError, match="not a buildopt build record"):
        load_record(bad)
    with pytest.raises(RecordError, match="cannot read"):
        load_record(tmp_path / "missing.json")
