"""The build scheduler: the first build of each cache key runs alone, others fill the slots."""

from __future__ import annotations

from pathlib import Path

from buildopt.config.profile import load_profile
from buildopt.pipeline.build import Scheduler, cache_key
from buildopt.pipeline.plan import make_plan
from tests.conftest import write_profile
from tests.unit.test_plan import TOOLS

PROFILE = """
package = "./app"
targets = ["linux/amd64", "linux/arm64"]
[variants.static]
cgo = false
[variants.stripped]
cgo = false
strip = "all"
tags = ["lazyinit"]
[variants.pie]
cgo = false
buildmode = "pie"
"""


def steps(project: Path) -> Scheduler:
    write_profile(project, "p", PROFILE)
    return Scheduler(make_plan(load_profile("p", project), TOOLS, {}).steps)


def test_tags_and_strip_share_a_key_buildmode_and_target_do_not(project: Path) -> None:
    s = steps(project)
    keys = {step.id: cache_key(step) for step in s.queue}
    assert keys["static@linux-amd64"] == keys["stripped@linux-amd64"]
    assert keys["static@linux-amd64"] != keys["pie@linux-amd64"]
    assert keys["static@linux-amd64"] != keys["static@linux-arm64"]


def test_second_build_of_a_cold_key_waits_for_the_first(project: Path) -> None:
    s = steps(project)
    first = s.next_step()
    second = s.next_step()
    third = s.next_step()
    assert first is not None and second is not None and third is not None
    assert [first.id, second.id, third.id] == [
        "static@linux-amd64",
        "static@linux-arm64",
        "pie@linux-amd64",
    ]
    s.next_step(), s.next_step()  # pie@linux-arm64, and nothing else is free
    assert s.next_step() is None
    assert {st.id for st in s.queue} == {"stripped@linux-amd64", "stripped@linux-arm64"}
    s.done(first)
    nxt = s.next_step()
    assert nxt is not None and nxt.id == "stripped@linux-amd64"
    assert s.next_step() is None
    s.done(second)
    last = s.next_step()
    assert last is not None and last.id == "stripped@linux-arm64"
    assert s.queue == []


def test_a_key_built_here_before_is_warm(project: Path) -> None:
    """Unchanged rebuilds waited for each other as if the Go cache were cold: a configuration
    with a variant already built (its stage holds a binary) is taken as warm."""
    write_profile(project, "p", PROFILE)
    plan_steps = make_plan(load_profile("p", project), TOOLS, {}).steps
    static = next(s for s in plan_steps if s.id == "static@linux-amd64")
    s = Scheduler(plan_steps, frozenset({cache_key(static)}))
    taken = [s.next_step() for _ in range(3)]
    assert [t.id for t in taken if t] == [
        "static@linux-amd64",
        "static@linux-arm64",
        "stripped@linux-amd64",  # same key as static@linux-amd64: no waiting now
    ]
