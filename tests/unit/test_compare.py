"""Comparisons and their explanations, on small hand-made build records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from buildopt.analysis.compare import compare_records, compare_variants
from buildopt.errors import UsageError
from buildopt.record.model import Build, Record, VariantSettings
from buildopt.record.store import RecordError, load
from tests.records import inspection, record, settings

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
) -> Build:
    from tests.records import build as make_build

    size = sum(v for k, v in totals.items() if k != "bss") + 64
    facts = inspection(
        size,
        totals=totals,
        static=static,
        pie=pie,
        needed=needed,
        packages=packages,
        sections=sections,
    )
    return make_build(vid, facts)


def variants(**tables: dict[str, Any]) -> dict[str, VariantSettings]:
    return {name: settings(**table) for name, table in tables.items()}


def test_strip_explained_by_flag() -> None:
    stripped = {**BASE_TOTALS, "symtab": 0, "dwarf": 0}
    rec = record(
        build("default@linux-amd64", BASE_TOTALS),
        build("small@linux-amd64", stripped),
        variants=variants(default={"strip": "none"}, small={"strip": "all"}),
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
        variants=variants(
            default={"cgo": True, "tags": []}, static={"cgo": False, "tags": ["netgo", "osusergo"]}
        ),
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
        variants=variants(default={}, pie={"buildmode": "pie"}),
    )
    (row,) = [r for r in compare_variants(rec) if r.built.variant == "pie"]
    assert row.explanation[0] == "pie: relocations and dynamic sections +4.88 KiB"


def test_a_variants_programs_never_explain_a_delta() -> None:
    """programs chooses which packages a variant builds: it changes no binary, so a delta
    beside it is "other changes" (it read "programs default->('billing-gateway',)")."""
    rec = record(
        build("default@linux-amd64", BASE_TOTALS),
        build("one@linux-amd64", {**BASE_TOTALS, "code": 900}),
        variants=variants(default={}, one={"programs": ["app"]}),
    )
    (row,) = [r for r in compare_variants(rec) if r.built.variant == "one"]
    assert row.explanation == ("other changes: code -100 B = -100 B",)


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
    result = compare_records(old, new)
    packages = [i for i in result.items if i.kind == "package"]
    assert {(i.name, i.delta) for i in packages} == {
        ("main", 50),
        ("fmt", -20),
        ("gone", -10),
        ("strings", 30),
    }
    ((vid, diff),) = result.summaries
    assert vid == "default@linux-amd64"
    assert diff.summary_line() == "add/remove: 1/1 grow/shrink: 1/1 up/down: 80/-30 (50)"
    assert diff.total_line() == "Total: Before=610, After=660, chg +8.20%"
    assert [i.delta for i in result.items if i.kind == "section"] == [200]


def test_a_variant_of_one_record_is_listed_not_counted() -> None:
    """compare OLD NEW where NEW held one variant reported the others as -100% and their bytes
    as removed ("add/remove: 0/1236 ... (-47320230)"), pooled over all variants."""
    old = record(
        build("default@linux-amd64", BASE_TOTALS, packages={"main": 100, "fmt": 500}),
        build("small@linux-amd64", BASE_TOTALS, packages={"main": 90, "fmt": 400}),
    )
    new = record(build("small@linux-amd64", BASE_TOTALS, packages={"main": 95, "fmt": 400}))
    result = compare_records(old, new)
    assert result.only_old == ("default@linux-amd64",) and result.only_new == ()
    assert {i.id for i in result.items} == {"small@linux-amd64"}
    ((vid, diff),) = result.summaries
    assert (vid, diff.summary_line()) == (
        "small@linux-amd64",
        "add/remove: 0/0 grow/shrink: 1/0 up/down: 5/0 (5)",
    )


def test_records_of_different_profiles_are_refused() -> None:
    with pytest.raises(UsageError, match="different profiles"):
        compare_records(record(name="a"), record(name="b"))


def test_load_record_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{")
    with pytest.raises(RecordError, match="not a JSON build record"):
        load(bad)
    bad.write_text(json.dumps({"schema": "other"}))
    with pytest.raises(RecordError, match="not a buildopt build record"):
        load(bad)
    with pytest.raises(RecordError, match="cannot read"):
        load(tmp_path / "missing.json")
    with pytest.raises(RecordError, match=r"not a regular file \(a directory\)"):
        load(tmp_path)


def _shaped(tmp_path: Path, change: Any) -> RecordError:
    """The error of loading a valid record after change(data) edited its JSON."""
    from buildopt.record.store import encode

    data = json.loads(encode(record(build("default@linux-amd64", BASE_TOTALS))))
    change(data)
    path = tmp_path / "build.json"
    path.write_text(json.dumps(data))
    with pytest.raises(RecordError) as info:
        load(path)
    assert info.value.exit_code == 2
    assert "\n" not in info.value.message
    assert info.value.message.startswith(f"{path}: ")
    return info.value


def test_a_record_of_the_wrong_shape_names_the_json_path(tmp_path: Path) -> None:
    def size_text(d: dict[str, Any]) -> None:
        d["builds"][0]["inspect"]["size"] = "big"

    def no_linking(d: dict[str, Any]) -> None:
        del d["builds"][0]["inspect"]["linking"]

    def bad_status(d: dict[str, Any]) -> None:
        d["builds"][0]["status"] = "done"

    def builds_object(d: dict[str, Any]) -> None:
        d["builds"] = {}

    assert _shaped(tmp_path, size_text).message.endswith(
        "builds[0].inspect.size: expected an integer, got a string"
    )
    assert _shaped(tmp_path, no_linking).message.endswith(
        "builds[0].inspect.linking: required, but missing"
    )
    assert "builds[0].status: invalid enum value 'done'" in _shaped(tmp_path, bad_status).message
    assert _shaped(tmp_path, builds_object).message.endswith(
        "builds: expected an array, got an object"
    )


def test_a_record_round_trips_unchanged(tmp_path: Path) -> None:
    from buildopt.record.store import save

    original: Record = record(build("default@linux-amd64", BASE_TOTALS, packages={"main": 5}))
    save(tmp_path / "r.json", original)
    assert load(tmp_path / "r.json") == original


def test_a_missing_baseline_is_said() -> None:
    """compare of a record without the baseline variant said 'variants against default' with
    no baseline row and no warning."""
    from buildopt.analysis.compare import compare_report, compare_variants, missing_baselines
    from tests.records import build, inspection, record

    only_small = record(
        build("small@linux-amd64", inspection(100)), build("small@linux-arm64", inspection(90))
    )
    rows = compare_variants(only_small)
    assert missing_baselines(only_small, rows) == ["linux/amd64", "linux/arm64"]
    assert compare_report(only_small, rows).baseline_missing == ("linux/amd64", "linux/arm64")
    with_default = record(
        build("default@linux-amd64", inspection(120)), build("small@linux-amd64", inspection(100))
    )
    assert missing_baselines(with_default, compare_variants(with_default)) == []


def test_package_names_of_an_older_record_are_unescaped() -> None:
    """Records written before package names were unescaped say v1%2e0%2e0: compared with a new
    record, those packages seemed removed and added again."""
    old = record(build("default@linux-amd64", BASE_TOTALS, packages={"x.org/m/v1%2e0%2e0": 7}))
    new = record(build("default@linux-amd64", BASE_TOTALS, packages={"x.org/m/v1.0.0": 7}))
    assert compare_records(old, new).items == ()


def test_modules_of_escaped_packages_are_found_again() -> None:
    from buildopt.binary.facts import GoFacts, ModuleVersion

    facts = build("default@linux-amd64", BASE_TOTALS, packages={"gopkg.in/yaml%2ev3": 5}).inspect
    assert facts is not None
    go = GoFacts(
        version="go1.26.8",
        path="example.com/x",
        main=None,
        deps=(ModuleVersion(path="gopkg.in/yaml.v3", version="v3.0.1"),),
        settings={},
    )
    facts = msgspec.structs.replace(facts, go=go)
    assert facts.package_modules() == {"gopkg.in/yaml.v3": "gopkg.in/yaml.v3"}


def test_a_record_keeps_a_variant_s_settings_as_the_profile_model_has_them(tmp_path: Path) -> None:
    """A record's variants are config's VariantSettings: the Go releases a variant is built
    with are kept too; a key a later buildopt adds is passed over (a profile's is refused);
    a wrong value is named by its path in the record."""
    from buildopt.record.store import encode

    data = json.loads(encode(record(build("default@linux-amd64", BASE_TOTALS))))
    kept = msgspec.to_builtins(settings(cgo=False))
    assert kept["toolchain"] is None
    data["variants"] = {"default": {**kept, "later": 1}}
    path = tmp_path / "build.json"
    path.write_text(json.dumps(data))
    assert load(path).variants["default"] == settings(cgo=False)

    def wrong_cgo(d: dict[str, Any]) -> None:
        d["variants"] = {"default": {**kept, "cgo": "yes"}}

    assert _shaped(tmp_path, wrong_cgo).message.endswith(
        "variants[...].cgo: expected true or false or null, got a string"
    )


@pytest.mark.parametrize(
    ("change", "said"),
    [
        # bytes that are not UTF-8 where no field reads them (msgspec's decoder skips them)
        (lambda t: t.replace("{", '{"note": "caf\udce9", ', 1), "not a JSON build record: 'utf-8'"),
        # what Python's json reads and no UTF-8 output can hold: every later print failed
        (lambda t: t.replace('"default@', '"default\\ud800@', 1), "surrogate"),
        (
            lambda t: t.replace('"wall_seconds": ', '"wall_seconds": Infinity, "x": ', 1),
            "malformed",
        ),
        (
            lambda t: t.replace('"wall_seconds": ', '"wall_seconds": 1e999, "x": ', 1),
            "out of range",
        ),
    ],
)
def test_a_record_is_strict_json(tmp_path: Path, change: Any, said: str) -> None:
    """What msgspec's decoder refuses is refused, in one line, whichever check found it."""
    from buildopt.record.store import encode

    text = encode(record(build("default@linux-amd64", BASE_TOTALS)))
    assert '"wall_seconds": ' in text
    path = tmp_path / "build.json"
    path.write_bytes(change(text).encode("utf-8", "surrogateescape"))
    with pytest.raises(RecordError, match=said) as info:
        load(path)
    assert info.value.message.startswith(f"{path}: ") and "\n" not in info.value.message


def test_a_utf16_record_says_why(tmp_path: Path) -> None:
    """Python's json reads UTF-16; the record refused said 'not a JSON build record: None'."""
    from buildopt.record.store import encode

    path = tmp_path / "build.json"
    path.write_bytes(encode(record(build("default@linux-amd64", BASE_TOTALS))).encode("utf-16"))
    with pytest.raises(RecordError, match="not a JSON build record: 'utf-8' codec can't decode"):
        load(path)
