"""Method dead-code elimination read from a twin link's -dumpdep -v=2 output (hand-written
lines in the linker's own format; tests/integration/test_deadcode.py reads real links)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from buildopt.analysis.deadcode import judge, package_to_fix, why_off
from buildopt.analysis.gate import evaluate
from buildopt.binary.go.costs import SymbolCosts, string_bytes
from buildopt.binary.go.dumpdep import parse
from buildopt.binary.go.linkerlog import read_methods
from buildopt.config.budgets import check_selectors, parse_budgets
from buildopt.errors import ProfileError
from buildopt.output.deadcode import dead_code_text
from buildopt.output.gate import junit, markdown
from buildopt.record.model import DeadCode
from buildopt.record.store import put_builds
from tests.records import build, inspection, record

SHA = "a" * 64
# main.lookup calls MethodByName with a run-time name. *main.T has Apply (called by nothing),
# Close (called through io.Closer from main.main), Read (called through io.Reader only from
# code Apply reaches) and Find (named by a constant MethodByName).
DUMP = """\
# example.com/p
_ -> _rt0_amd64_linux
_rt0_amd64_linux -> runtime.main
runtime.main -> main.main
main.main -> main.lookup <ReflectMethod>
main.lookup <ReflectMethod> -> reflect.Value.MethodByName
type:reflect.Value <UsedInIface> -> reflect.(*Value).Method <ReflectMethod>
reached iface method: {Close 11}
main.main -> type:*main.T <UsedInIface>
markable method: {Apply 10} of sym 5 type:*main.T
markable method: {Close 11} of sym 5 type:*main.T
markable method: {Read 13} of sym 5 type:*main.T
markable method: {Find 14} of sym 5 type:*main.T
markable method: {helper 12} of sym 5 type:*main.T
reached generic iface method: Find
type:*main.T <UsedInIface> -> main.(*T).Apply
reached iface method: {Read 13}
main.(*T).Apply -> io.ReadAll
main.(*T).Apply -> go:string."a -> b"
type:*main.T <UsedInIface> -> main.(*T).Close
type:*main.T <UsedInIface> -> main.(*T).Read
type:*main.T <UsedInIface> -> main.(*T).Find
ldobj: $WORK/b001/_pkg_.a (main)
"""
COSTS = SymbolCosts(
    {
        "main.(*T).Apply": 100,
        "io.ReadAll": 20,
        "main.(*T).Read": 30,
        "main.(*T).Close": 40,
        "main.(*T).Find": 50,
        "main.main": 1000,
    },
    table=True,
)


def judged(text: str = DUMP, costs: SymbolCosts | None = COSTS, **given: Any) -> DeadCode:
    lines = text.splitlines(keepends=True)
    return judge(parse(lines), read_methods(lines), costs, sha256=SHA, **given)


def test_off_names_the_first_reflect_call_and_costs_what_only_reflection_keeps() -> None:
    found = judged(main_module="example.com/p")
    assert (found.state, found.reason, found.fix) == ("off", "reflect-method", "main")
    # the cause is the first <ReflectMethod> reached, not reflect's own method kept after it
    assert found.chain[-3:] == ("main.main", "main.lookup", "reflect.Value.MethodByName")
    assert found.chain[0] == "_rt0_amd64_linux"
    # Apply and Read (its only interface call comes from Apply), io.ReadAll and the string:
    # Close (called from main.main) and Find (a constant name) are kept anyway
    assert found.methods == 2
    assert found.estimate == 100 + 30 + 20 + len("a -> b")
    assert found.counted.startswith("150 bytes of code and function table and sized data of")
    assert dead_code_text(found).startswith(
        "off - main.main -> main.lookup -> reflect.Value.MethodByName (fix: package main); "
        "costs about 156 B (2 methods kept)"
    )


def test_an_interface_call_outside_what_reflection_keeps_keeps_its_methods() -> None:
    """Read is called through io.Reader from main.main too: kept anyway, not counted."""
    text = DUMP.replace(
        "main.main -> type:*main.T <UsedInIface>",
        "reached iface method: {Read 13}\nmain.main -> type:*main.T <UsedInIface>",
    )
    found = judged(text)
    assert found.methods == 1 and found.estimate == 100 + 20 + 6


def unmarked(text: str = DUMP) -> str:
    """The dump as a linker that prints no markers writes it (Go 1.20)."""
    return text.replace(" <ReflectMethod>", "").replace(" <UsedInIface>", "")


def test_on_when_nothing_reflects() -> None:
    """No marked function, and no exported method kept that only reflection calls."""
    kept = ("type:*main.T -> main.(*T).Apply\n", "type:*main.T -> main.(*T).Read\n")
    text = unmarked()
    for line in kept:
        text = text.replace(line, "")
    assert judged(text) == DeadCode(sha256=SHA, state="on", reason="")
    assert dead_code_text(judged(text)) == "on"


def test_off_by_what_the_linker_kept_when_it_marks_nothing() -> None:
    """A linker that prints no <ReflectMethod> (Go 1.20) still keeps Apply, which only
    reflection calls: off, the estimate as before, no chain."""
    found = judged(unmarked())
    assert (found.state, found.chain, found.fix, found.estimate) == ("off", (), "", 156)
    assert found.counted.startswith("the linker kept exported methods only reflection calls")
    assert dead_code_text(found).startswith(
        "off - a function calls reflect's Method or MethodByName (the linker did not say which);"
    )


def test_an_unexported_method_kept_means_a_dynamic_link() -> None:
    """Only a dynamic link (plugin with cgo) keeps a method no interface call names that is
    not exported: state off, the chain to package plugin, no estimate."""
    text = (
        DUMP.replace(" <ReflectMethod>", "")
        + "type:*main.T <UsedInIface> -> main.(*T).helper\n"
        + "main.main -> plugin.Open\nldobj: $WORK/b063/_pkg_.a (plugin)\n"
    )
    found = judged(text)
    assert (found.state, found.reason, found.estimate) == ("off", "plugin", None)
    assert found.chain[-2:] == ("main.main", "plugin.Open") and found.fix == "main"
    assert found.counted.startswith("no estimate: linking dynamically")


def test_without_costs_or_method_log_only_what_is_certain() -> None:
    found = judged(costs=None, no_costs="the second link's layout differs (.text: ...)")
    assert found.state == "off" and found.estimate is None and found.methods == 2
    assert found.counted == "no estimate: the second link's layout differs (.text: ...)"
    plain = "".join(
        line
        for line in DUMP.splitlines(keepends=True)
        if not line.startswith(("markable", "reached"))
    )
    assert judged(plain).counted.startswith("no estimate: the second link did not log")
    assert "costs about" not in dead_code_text(judged(plain))


@pytest.mark.parametrize(
    ("chain", "fix"),
    [
        (("main.main", "main.lookup"), "main"),
        (
            (
                "main.main",
                "example.com/p/report.Render",
                "text/template.(*Template).execute",
                "text/template.(*state).evalField",
                "reflect.Value.MethodByName",
            ),
            "example.com/p/report",
        ),
        (("main.main", "corp/cfg.(*Loader).Load", "reflect.Value.Method"), "corp/cfg"),
        (("runtime.main", "type:*text/template.state", "reflect.Value.Method"), ""),
    ],
)
def test_the_package_to_fix_is_the_nearest_outside_the_standard_library(
    chain: tuple[str, ...], fix: str
) -> None:
    """A module path without a dot (corp/cfg) is told from the standard library by the build
    info's modules."""
    assert package_to_fix(chain, ("corp/cfg",), "example.com/p") == fix


@pytest.mark.parametrize(
    ("symbol", "size"),
    [
        ('go:string."abc"', 3),
        ('go:string."a\\n\\"b"', 4),
        ('go:string."\\xff\\x00"', 2),  # strconv.Quote's bytes that are not UTF-8
        ('go:string."é\\u00e9\\U0001F600"', 8),
        ('go:string."a -> b"', 6),
        ("go:string..gostring.200.5KDkyFdMMweKe7ta18teUQ==", 200),  # hashed: over 100 bytes
        ("type:string", None),
        ("go:string.*", None),
    ],
)
def test_a_string_symbol_says_its_size(symbol: str, size: int | None) -> None:
    assert string_bytes(symbol) == size


def test_the_method_log_names_each_interface_calls_caller() -> None:
    log = read_methods(DUMP.splitlines(keepends=True))
    assert log.callers[("Close", "11")] == ("main.main",)
    assert log.callers[("Read", "13")] == ("main.(*T).Apply",)
    assert log.named == {"Find"} and log.loaded == {"main"}
    assert len(log.markable) == 5 and log.logged


# --- the budget -------------------------------------------------------------------------------


def _budgets(table: dict[str, Any]) -> Any:
    profile = Path("/p/profiles/edge.toml")
    parsed, images = parse_budgets(profile, profile.parent.parent, {"budget": [table]})
    check_selectors(parsed, images, ["v@linux-amd64"])
    return parsed


def _record(found: DeadCode | None) -> Any:
    entry = build("v@linux-amd64", inspection(1000), sha256=SHA, dead_code=found)
    return record(entry)


def test_the_budget_fails_with_the_chain_and_passes_when_on() -> None:
    budget = _budgets({"select": "*", "dead_code": "required"})
    (failed,) = evaluate(budget, [], _record(judged()), None)
    assert (failed.check, failed.verdict) == ("dead_code", "fail")
    assert failed.note == why_off(judged())
    assert "main.main -\\> main.lookup" in markdown([failed], "edge")  # Markdown-escaped
    assert "main.lookup -&gt; reflect.Value.MethodByName" in junit([failed], "edge")
    on = DeadCode(sha256=SHA, state="on", reason="")
    assert evaluate(budget, [], _record(on), None)[0].verdict == "pass"


def test_the_budget_skips_what_the_record_cannot_say() -> None:
    budget = _budgets({"select": "*", "dead_code": "required"})
    unknown = DeadCode(sha256=SHA, state="unknown", reason="", problem="go build failed")
    stale = msgspec.structs.replace(judged(), sha256="b" * 64)
    for found, note in ((None, "build it again"), (stale, "build it again"), (unknown, "failed")):
        (check,) = evaluate(budget, [], _record(found), None)
        assert check.verdict == "skip" and note in check.note


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"select": "*", "dead_code": "yes"}, 'budget[1].dead_code: expected "required"'),
        ({"select": "*", "dead_cod": "required"}, "did you mean 'dead_code'?"),
    ],
)
def test_a_bad_dead_code_key_names_file_and_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError) as info:
        _budgets(table)
    assert message in info.value.message


def test_an_entry_keeps_its_answer_for_the_same_binary_only(tmp_path: Path) -> None:
    """A new entry for the very same binary (go relinked it byte for byte: another stamp)
    keeps the answer; one for another binary does not take the old one."""
    out = tmp_path / "v"
    out.write_bytes(b"x" * 10)
    old = build("v@linux-amd64", inspection(10), output=str(out), sha256=SHA, dead_code=judged())
    same = msgspec.structs.replace(old, dead_code=None, built="2026-12-07T21:00:00+00:00")
    (kept,) = put_builds(record(old), record(), [same], ["v@linux-amd64"]).builds
    assert kept.dead_code == judged() and kept.built == same.built
    other = msgspec.structs.replace(same, sha256="b" * 64)
    (fresh,) = put_builds(record(old), record(), [other], ["v@linux-amd64"]).builds
    assert fresh.dead_code is None
