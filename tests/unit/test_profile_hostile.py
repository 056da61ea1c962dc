"""Property test: profiles with hostile names and values. Whatever the names, flags, -X values,
env and [matrix] axes hold, loading and planning either refuses the profile in one line (exit
2, naming the file) or plans every binary inside the output root. No process is started."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.profile import Profile, load_profile
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


IMAGED: list[str] = []


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    image_name=st.one_of(valid_name, hostile),
    place=st.one_of(st.sampled_from(["/usr/bin/a", "/etc/a.conf"]), hostile),
    source=st.one_of(st.just("app/go.mod"), hostile),
    compressor=st.one_of(st.sampled_from(["xz", "zstd", "gzip"]), hostile),
    block=st.one_of(st.sampled_from(["128 KiB", "4 KiB", "1 MiB"]), hostile),
    releases=st.lists(
        st.one_of(st.sampled_from(["go1.24.13", "go1.26.8"]), hostile), min_size=1, max_size=3
    ),
)
def test_hostile_images_and_releases_are_refused_in_one_line_or_stay_inside(
    tmp_path_factory: object,
    image_name: str,
    place: str,
    source: str,
    compressor: str,
    block: str,
    releases: list[str],
) -> None:
    """[[image]] names, places, files, compressors and block sizes, and Go releases: a profile
    is refused in one line naming its file, or its image would be written inside images/, its
    places are absolute paths without . or .., and every release is a Go release name."""
    root = Path(tmp_path_factory.mktemp("hostile-image"))  # type: ignore[attr-defined]
    (root / "app").mkdir()
    (root / "app" / "go.mod").write_text("module example.com/app\n")
    (root / "profiles").mkdir()
    text = "\n".join(
        [
            'package = "./app"',
            "[variants.a]",
            f"toolchain = {toml(releases)}",
            "[[image]]",
            f"name = {toml(image_name)}",
            'select = "a"',
            'filesystem = "squashfs"',
            f"compressor = {toml(compressor)}",
            f"block_size = {toml(block)}",
            f"files = {{ {toml(place)} = {toml(source)} }}",
            f"layout = {{ a = {toml(place)} }}",
            'max_size = "8 MiB"',
        ]
    )
    path = root / "profiles" / "p.toml"
    path.write_text(text + "\n")
    outcome: object
    try:
        outcome = load_profile(str(path), root)
    except BuildoptError as exc:
        outcome = exc
    finally:
        shutil.rmtree(root)
    if isinstance(outcome, BuildoptError):
        assert outcome.exit_code == EXIT_BAD_INPUT
        assert "\n" not in outcome.message and outcome.message.startswith(str(path))
        return
    assert isinstance(outcome, Profile)
    profile = outcome
    (image,) = profile.images
    images = (root / "dist" / "p" / "images").resolve()
    assert (images / f"{image.name}.squashfs").resolve().parent == images
    for where in (*image.layout.values(), *image.files):
        assert where.startswith("/") and not {".", ".."} & set(where.split("/"))
    for release in profile.variants[0].toolchain or ():
        assert release.startswith("go1.")
    IMAGED.append(image.name)


def test_the_image_property_test_also_accepts_some(tmp_path_factory: object) -> None:
    if not IMAGED:
        test_hostile_images_and_releases_are_refused_in_one_line_or_stay_inside(tmp_path_factory)
    assert IMAGED
