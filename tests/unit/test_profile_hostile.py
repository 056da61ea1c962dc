"""Property test: profiles with hostile names and values. Whatever the names, flags, -X values,
env and [matrix] axes hold, loading and planning either refuses the profile in one line (exit
2, naming the file) or plans every binary inside the output root. No process is started."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.profile import load_profile
from buildopt.errors import EXIT_BAD_INPUT, BuildoptError
from buildopt.pipeline.plan import Plan, make_plan
from tests.unit.test_plan import TOOLS

# Any text a TOML string can hold (surrogates cannot be encoded), NUL and newlines included.
text = st.text(st.characters(codec="utf-8"), max_size=24)
valid_name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,12}", fullmatch=True)
hostile = st.one_of(
    text,
    st.sampled_from(
        ["..", "../../tmp/x", "/tmp/x", "-o", "-o=/tmp/x", "-toolexec=sh", "a/b", "x" * 300, "\0"]
    ),
)


def toml(value: object) -> str:
    """A TOML value for a str or a list of them: JSON's string escapes are TOML's."""
    return json.dumps(value)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.one_of(valid_name, hostile),
    flags=st.lists(hostile, max_size=3),
    x_value=hostile,
    env_value=hostile,
    output=st.one_of(st.none(), hostile),
    axis=st.lists(st.lists(hostile, max_size=2), min_size=1, max_size=2),
    profile_name=st.sampled_from(["p", "..", ".x", "a.b"]),
)
def test_hostile_profiles_plan_inside_dist_or_are_refused_in_one_line(
    tmp_path_factory: object,
    name: str,
    flags: list[str],
    x_value: str,
    env_value: str,
    output: str | None,
    axis: list[list[str]],
    profile_name: str,
) -> None:
    root = Path(tmp_path_factory.mktemp("hostile"))  # type: ignore[attr-defined]
    (root / "app").mkdir()
    (root / "app" / "go.mod").write_text("module example.com/app\n")
    (root / "profiles").mkdir()
    lines = [
        'package = "./app"',
        f"[variants.{toml(name)}]",
        f"flags = {toml(flags)}",
        f'x = {{ "main.v" = {toml(x_value)} }}',
        f"env = {{ V = {toml(env_value)} }}",
    ]
    if output is not None:
        lines.append(f"output = {toml(output)}")
    lines += ["[matrix]", f"ldflags = {toml(axis)}"]
    path = root / "profiles" / f"{profile_name}.toml"
    path.write_text("\n".join(lines) + "\n")
    outcome = plan_or_error(path, root)
    shutil.rmtree(root)
    if isinstance(outcome, BuildoptError):
        assert outcome.exit_code == EXIT_BAD_INPUT
        assert "\n" not in outcome.message
        assert outcome.message.startswith(str(path))
        return
    PLANNED.append(len(outcome.steps))
    dist = (root / "dist").resolve()
    for step in outcome.steps:
        assert step.output.resolve().is_relative_to(dist), step.output
        assert len(step.variant.name.encode()) <= 255
        assert "\0" not in "".join(step.argv) + "".join(step.env.values())


PLANNED: list[int] = []


def plan_or_error(path: Path, root: Path) -> Plan | BuildoptError:
    try:
        return make_plan(load_profile(str(path), root), TOOLS, {})
    except BuildoptError as exc:
        return exc


def test_the_property_test_also_reaches_planning(tmp_path_factory: object) -> None:
    """The hostile inputs must not all be refused early: some profiles get planned."""
    if not PLANNED:  # run apart from it (another xdist worker): exercise it here
        test_hostile_profiles_plan_inside_dist_or_are_refused_in_one_line(tmp_path_factory)
    assert any(PLANNED)
