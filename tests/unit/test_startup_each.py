"""[[startup.each]]: per-build start-up settings chosen by selector, and the command line over
them; the baseline a series is compared with follows the program it ran as (issue 26)."""

from __future__ import annotations

import pytest

from buildopt.config.startup import Ready, StartupOverrides, apply_overrides, parse_config
from buildopt.errors import UsageError
from buildopt.pipeline.startup_runs import baselines

TABLE = {
    "args": ["--addr", "127.0.0.1:0"],
    "ready": {"stdout": "^ready"},
    "env": {"A": "1", "B": "2"},
    "each": [
        {"select": "combined@*", "argv0": "ctl", "args": ["version"], "ready": "exit"},
        {"select": "*/ctl", "args": ["version"], "ready": "exit", "env": {"B": "3"}},
        {"select": "*/ctl", "args": ["never"]},  # the first table that selects a build wins
    ],
}


def test_the_first_each_that_selects_a_build_sets_its_keys_over_startups() -> None:
    config = parse_config("p.toml", TABLE)
    gateway = config.for_build("static@linux-amd64/gw")
    assert (gateway.args, gateway.ready, gateway.argv0) == (
        ("--addr", "127.0.0.1:0"),
        Ready("stdout", "^ready"),
        None,
    )
    ctl = config.for_build("static@linux-amd64/ctl")
    assert (ctl.args, ctl.ready, ctl.env) == (("version",), Ready(), {"A": "1", "B": "3"})
    combined = config.for_build("combined@linux-arm64/gw")
    assert (combined.argv0, combined.args, combined.env) == (
        "ctl",
        ("version",),
        {"A": "1", "B": "2"},
    )


def test_the_command_line_wins_over_each() -> None:
    config = apply_overrides(parse_config("p.toml", TABLE), StartupOverrides(argv0="x"))
    assert config.for_build("combined@linux-arm64/gw").argv0 == "x"
    assert config.for_build("combined@linux-arm64/gw").args == ("version",)  # not given: kept


@pytest.mark.parametrize(
    ("each", "message"),
    [
        ({"args": ["x"]}, r"startup\.each\[1\]\.select: required"),
        ({"select": "*", "runs": 3}, r"unknown key 'startup\.each\[1\]\.runs'"),
        ({"select": "*", "ready": "soon"}, r"startup\.each\[1\]\.ready"),
        ({"select": "", "argv0": "x"}, r"startup\.each\[1\]\.select"),
        ({"select": "*", "env": {"A=B": "1"}}, r"startup\.each\[1\]\.env"),
    ],
)
def test_a_bad_each_table_is_one_line_naming_its_key(each: object, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_config("p.toml", {"each": [each]})


def test_each_must_be_tables() -> None:
    with pytest.raises(UsageError, match=r"startup\.each: expected \[\[startup\.each\]\] tables"):
        parse_config("p.toml", {"each": "x"})


def test_a_combined_binary_started_as_its_cli_is_compared_with_the_baselines_cli() -> None:
    names = ["static@a/gw", "static@a/ctl", "combined@a/gw"]
    assert baselines(names, "static@a/gw", {"combined@a/gw": "ctl"}) == {
        "static@a/gw": "static@a/gw",
        "static@a/ctl": "static@a/ctl",
        "combined@a/gw": "static@a/ctl",
    }
    assert baselines(names, "static@a/gw")["combined@a/gw"] == "static@a/gw"  # argv0 unset
