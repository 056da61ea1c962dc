"""Statistics and start-up configuration, without starting anything."""

from __future__ import annotations

import pytest

from buildopt.analysis.stats import outliers, percentile, ratio_of_medians, summarize
from buildopt.config.startup import Ready, StartupConfig, parse_config
from buildopt.config.units import UnitError, parse_seconds
from buildopt.errors import UsageError
from buildopt.measure.startup import godebug, parse_inits


def test_summary_and_percentiles() -> None:
    values = [10.0, 11.0, 12.0, 13.0, 100.0]
    s = summarize(values)
    assert (s.n, s.min, s.median, s.max) == (5, 10.0, 12.0, 100.0)
    assert s.mean == pytest.approx(29.2)
    assert s.p95 == pytest.approx(82.6)  # linear interpolation, as numpy
    assert s.outliers == 1
    assert percentile([1.0, 2.0], 0.5) == 1.5
    assert outliers([5.0, 5.0, 5.0]) == 0


def test_ratio_ci_separates_real_differences_from_noise() -> None:
    fast = [20.0 + (i % 5) * 0.3 for i in range(30)]
    slow = [300.0 + (i % 7) * 9 for i in range(30)]
    r = ratio_of_medians(fast, slow)
    assert r.ratio == pytest.approx(20.6 / 327.0, rel=0.05)
    assert r.high < 1.0 and r.significant
    same = ratio_of_medians(slow[::-1], slow)
    assert same.low <= 1.0 <= same.high and not same.significant
    assert ratio_of_medians(fast, slow) == r  # a fixed seed: reproducible


def test_godebug_is_merged_never_clobbered() -> None:
    assert godebug(None) == "gctrace=1,inittrace=1"
    assert godebug("madvdontneed=1") == "madvdontneed=1,gctrace=1,inittrace=1"
    assert godebug("gctrace=2,x=1") == "gctrace=2,x=1,inittrace=1"


def test_init_lines() -> None:
    text = (
        b"init internal/bytealg @0.006 ms, 0 ms clock, 0 bytes, 0 allocs\n"
        b"gc 1 @0.1s 1%: ...\n"
        b"init main @1.2 ms, 245.5 ms clock, 76223208 bytes, 492415 allocs\n"
    )
    inits = parse_inits(text)
    assert [(i.package, i.clock_ms, i.bytes, i.allocs) for i in inits] == [
        ("internal/bytealg", 0.0, 0, 0),
        ("main", 245.5, 76223208, 492415),
    ]


def test_config_from_a_profile_table() -> None:
    c = parse_config(
        "p.toml",
        {
            "args": ["--addr", "127.0.0.1:0"],
            "ready": {"stdout": "^ready"},
            "runs": 5,
            "warmup": 0,
            "timeout": "500ms",
            "cold": False,
        },
    )
    assert c.args == ("--addr", "127.0.0.1:0") and c.ready == Ready("stdout", pattern="^ready")
    assert (c.runs, c.warmup, c.timeout, c.cold) == (5, 0, 0.5, False)
    assert parse_config("p.toml", {"ready": {"port": 8080}}).ready.describe() == (
        "port 8080 accepting on 127.0.0.1"
    )
    assert parse_config("p.toml", None).ready.kind == "exit"
    assert parse_config("p.toml", None) == StartupConfig()  # the defaults are the model's


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"rnus": 3}, "unknown key 'startup.rnus'"),
        ({"runs": 0}, "startup.runs: expected a whole number >= 1"),
        ({"ready": {"stdout": "("}}, "startup.ready.stdout: bad regex"),
        ({"ready": {"port": 70000}}, "startup.ready.port 70000: a TCP port is 1-65535"),
        ({"timeout": "soon"}, "startup.timeout"),
        ({"args": "--check"}, "startup.args: expected a list of strings"),
    ],
)
def test_bad_startup_tables(table: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_config("profiles/p.toml", table)
    assert info.value.message.startswith("profiles/p.toml: ")
    assert message in info.value.message


def test_durations() -> None:
    assert parse_seconds("10s") == 10 and parse_seconds("250ms") == 0.25 and parse_seconds(2) == 2
    with pytest.raises(UnitError):
        parse_seconds("0s")


def test_the_startup_options_say_the_model_s_defaults() -> None:
    """The defaults of [startup] are defined once (buildopt.config.defaults): the option
    spec's help says the ones a run gets."""
    from buildopt.cli.options import COMMANDS

    helps = {f.name: f.help for f in COMMANDS["startup"].flags}
    d = StartupConfig()
    assert f"(default {d.runs}," in helps["runs"]
    assert f"(default {d.warmup})" in helps["warmup"]
    assert f"(default {d.trace_runs};" in helps["trace_runs"]
    assert f"(default {d.timeout:g}s)" in helps["timeout"]
