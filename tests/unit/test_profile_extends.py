"""Variants that extend variants, and tags read from a file (issue 25, part 3): how a chain
resolves, what it refuses and how it says so, and - by property - that any chain of layers
across [defaults], variants and profile files gives what applying them one by one gives."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.cli.reads import profile_inputs
from buildopt.config.profile import Profile, load_profile
from buildopt.config.tags import BadLine, parse_tags
from buildopt.config.variant import ListEdit, VariantSettings
from buildopt.errors import EXIT_BAD_INPUT, BuildoptError, ProfileError
from buildopt.system.outputs import OutputError, output_to
from tests.conftest import write_profile


def load(project: Path, text: str, name: str = "p") -> Profile:
    write_profile(project, name, text)
    return load_profile(name, project)


def error_of(project: Path, text: str, name: str = "p") -> str:
    with pytest.raises(ProfileError) as info:
        load(project, text, name)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert "\n" not in info.value.message
    return info.value.message


# --- extends ---------------------------------------------------------------------------------


def test_a_variant_is_its_parent_resolved_then_its_own_layer(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        [defaults]
        trimpath = true
        tags = ["netgo"]
        x = { "main.v" = "1" }
        [variants.minimal]
        strip = "all"
        cgo = false
        tags = { append = ["omit_a", "omit_b"] }
        ldflags = ["-bindnow"]
        x = { "main.w" = "min" }
        [variants.box]
        extends = "minimal"
        cgo = true
        tags = { remove = ["omit_b"], append = ["box"] }
        x = { "main.w" = "box", "main.z" = "2" }
        [variants.crate]
        extends = "box"
        ldflags = ["-s"]
        """,
    )
    minimal, box, crate = profile.variants
    assert minimal.tags == ("netgo", "omit_a", "omit_b")
    # scalars replaced, a list edited, a map merged key by key; the rest inherited
    assert (box.strip, box.cgo, box.trimpath) == ("all", True, True)
    assert box.tags == ("netgo", "omit_a", "box")
    assert box.x == {"main.v": "1", "main.w": "box", "main.z": "2"}
    assert box.ldflags == ("-bindnow",)
    assert crate.tags == box.tags and crate.ldflags == ("-s",)  # a list replaces
    assert [v.name for v in profile.variants] == ["minimal", "box", "crate"]  # the ids' names
    assert crate.origin == "variants.crate"


def test_a_variant_may_extend_one_written_after_it(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        [variants.box]
        extends = "minimal"
        tags = { append = ["box"] }
        [variants.minimal]
        tags = ["a"]
        """,
    )
    assert profile.variant("box").tags == ("a", "box")
    assert [v.name for v in profile.variants] == ["box", "minimal"]  # file order kept


def test_an_inherited_mistake_is_named_where_it_was_written(project: Path) -> None:
    message = error_of(
        project,
        """
        package = "./app"
        [variants.box]
        extends = "minimal"
        [variants.minimal]
        flags = ["-o=x"]
        """,
    )
    assert "p.toml: variants.minimal.flags: '-o=x': buildopt sets the output path" in message


def test_the_record_holds_settings_with_no_extends(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        [variants.a]
        strip = "all"
        [variants.b]
        extends = "a"
        """,
    )
    settings = profile.variant("b").settings()
    assert settings == VariantSettings(strip="all")
    assert "extends" not in VariantSettings.__struct_fields__
    assert "tags_file" not in VariantSettings.__struct_fields__


def test_a_child_profile_s_variant_extends_its_parent_s(project: Path) -> None:
    write_profile(
        project,
        "base",
        """
        package = "./app"
        [defaults]
        tags = ["base"]
        [variants.minimal]
        strip = "all"
        tags = { append = ["omit_a"] }
        """,
    )
    profile = load(
        project,
        """
        extends = "base"
        [variants.minimal]
        tags = { append = ["omit_b"] }
        [variants.box]
        extends = "minimal"
        tags = { remove = ["omit_a"] }
        """,
    )
    # box sees minimal as the two files make it together
    assert profile.variant("minimal").tags == ("base", "omit_a", "omit_b")
    assert profile.variant("box").tags == ("base", "omit_b")
    assert profile.variant("box").strip == "all"


def test_a_child_profile_may_change_what_a_variant_extends(project: Path) -> None:
    write_profile(
        project,
        "base",
        'package = "./app"\n[variants.a]\ntags = ["a"]\n[variants.b]\ntags = ["b"]\n'
        '[variants.c]\nextends = "a"\n',
    )
    profile = load(project, 'extends = "base"\n[variants.c]\nextends = "b"\n')
    assert profile.variant("c").tags == ("b",)


def test_matrix_variants_layer_over_defaults_alone(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        [defaults]
        tags = ["d"]
        [variants.a]
        tags = { append = ["a"] }
        [variants.b]
        extends = "a"
        [matrix]
        strip = ["none", "all"]
        """,
    )
    assert profile.variant("b").tags == ("d", "a")
    assert profile.variant("strip-all").tags == ("d",)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[variants.a]\nextends = "a"\n',
            "variants.a.extends: variants extend each other in a cycle: a -> a",
        ),
        (
            '[variants.a]\nextends = "b"\n[variants.b]\nextends = "a"\n',
            "variants.b.extends: variants extend each other in a cycle: a -> b -> a",
        ),
        (
            '[variants.x]\nextends = "a"\n[variants.a]\nextends = "b"\n'
            '[variants.b]\nextends = "c"\n[variants.c]\nextends = "a"\n',
            "variants.c.extends: variants extend each other in a cycle: a -> b -> c -> a",
        ),
        (
            '[variants.extra-small]\n[variants.box]\nextends = "extra-smal"\n',
            "variants.box.extends: no variant 'extra-smal'; did you mean 'extra-small'?",
        ),
        ('[variants.box]\nextends = ""\n', "variants.box.extends: no variant ''"),
        (
            '[variants.box]\nextends = "cgo-on"\n[matrix]\ncgo = [true, false]\n',
            "variants.box.extends: 'cgo-on' is a [matrix] variant; only a [variants.NAME] can",
        ),
        ("[variants.box]\nextends = 1\n", "variants.box.extends: expected a string, got 1"),
        ('[defaults]\nextends = "a"\n[variants.a]\n', "unknown key 'defaults.extends'"),
        ("[variants.a]\n[matrix]\nextends = ['a']\n", "matrix.extends: not a matrix axis"),
        ("[variants.a]\nextend = 'b'\n", "unknown key 'variants.a.extend'; did you mean 'ext"),
    ],
)
def test_extends_mistakes_are_one_line_naming_the_key(
    project: Path, text: str, expected: str
) -> None:
    message = error_of(project, 'package = "./app"\n' + text)
    assert message.startswith(f"{project / 'profiles' / 'p.toml'}: {expected}"), message


def test_a_cycle_is_named_in_the_file_that_wrote_the_extends(project: Path) -> None:
    write_profile(project, "base", 'package = "./app"\n[variants.a]\nextends = "b"\n')
    message = error_of(project, 'extends = "base"\n[variants.b]\nextends = "a"\n')
    assert message.startswith(f"{project / 'profiles' / 'p.toml'}: variants.b.extends: ")
    message = error_of(project, 'extends = "base"\n[variants.c]\n')
    assert message.startswith(f"{project / 'profiles' / 'base.toml'}: variants.a.extends: no ")


def test_a_long_chain_resolves_without_recursion(project: Path) -> None:
    count = 3000  # deeper than Python's recursion limit
    text = 'package = "./app"\n[variants.v0]\ntags = ["t0"]\n' + "".join(
        f'[variants.v{i}]\nextends = "v{i - 1}"\ntags = {{ append = ["t{i % 7}"] }}\n'
        for i in range(1, count)
    )
    profile = load(project, text)
    assert profile.variant(f"v{count - 1}").tags == tuple(f"t{i}" for i in range(7))


# --- tags_file -------------------------------------------------------------------------------

FEATURES = """\
# the feature-omit tags of the service, one a line
omit_a
  omit_b\t# trailing comment, blanks around

omit_c
omit_a
"""


def test_tags_file_lines_comments_blanks_and_duplicates() -> None:
    assert parse_tags(FEATURES.encode()) == ("omit_a", "omit_b", "omit_c")
    assert parse_tags(b"\xef\xbb\xbfa\r\nb\r\n") == ("a", "b")  # a BOM, CRLF lines
    assert parse_tags(b"") == ()


@pytest.mark.parametrize(
    ("blob", "number", "reason"),
    [
        (b"a\nb c\n", 2, "'b c' is not one build tag"),
        (b"a\n\nomit-x\n", 3, "'omit-x' is not one build tag"),
        (b"a\x1b[31m\n", 1, '"a\\u001b[31m" is not one build tag'),
        (b"ok\n\xff\xfe\n", 2, "not UTF-8 text"),
        (b"a\x0bb\n", 1, "is not one build tag"),
    ],
)
def test_a_bad_line_is_numbered(blob: bytes, number: int, reason: str) -> None:
    with pytest.raises(BadLine) as info:
        parse_tags(blob)
    assert info.value.number == number and reason in info.value.reason


def test_tags_file_then_the_layer_s_tags_as_an_edit(project: Path) -> None:
    (project / "profiles" / "features.txt").write_text(FEATURES)
    profile = load(
        project,
        """
        package = "./app"
        [defaults]
        tags = ["netgo"]
        [variants.full]
        [variants.minimal]
        tags_file = "features.txt"
        tags = { append = ["netgo"], remove = ["omit_c"] }
        [variants.box]
        extends = "minimal"
        tags = { remove = ["omit_b"], append = ["box"] }
        """,
    )
    full, minimal, box = profile.variants
    assert full.tags == ("netgo",)
    assert minimal.tags == ("omit_a", "omit_b", "netgo")  # the file replaces what [defaults] gave
    assert box.tags == ("omit_a", "netgo", "box")
    assert profile.tags_files == (project / "profiles" / "features.txt",)


def test_a_child_s_tags_file_replaces_the_parent_s_tags(project: Path) -> None:
    (project / "box.txt").write_text("b1\nb2\n")
    profile = load(
        project,
        """
        package = "./app"
        [variants.minimal]
        tags = ["m"]
        [variants.box]
        extends = "minimal"
        tags_file = "../box.txt"
        """,
    )
    assert profile.variant("box").tags == ("b1", "b2")
    assert profile.tags_files == (project / "box.txt",)  # the project root holds it


def test_defaults_may_name_the_tags_file(project: Path) -> None:
    (project / "profiles" / "f.txt").write_text("a\nb\n")
    profile = load(
        project,
        """
        package = "./app"
        [defaults]
        tags_file = "f.txt"
        [variants.all]
        [variants.less]
        tags = { remove = ["a"] }
        """,
    )
    assert [v.tags for v in profile.variants] == [("a", "b"), ("b",)]


def test_a_tags_file_is_relative_to_the_profile_that_names_it(tmp_path: Path) -> None:
    """A parent profile in a shared folder reads its tags file beside it, not the child's."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "features.txt").write_text("shared_tag\n")
    (shared / "base.toml").write_text('[variants.minimal]\ntags_file = "features.txt"\n')
    project = tmp_path / "project"
    (project / "profiles").mkdir(parents=True)
    (project / "app").mkdir()
    (project / "profiles" / "features.txt").write_text("child_tag\n")
    (project / "profiles" / "p.toml").write_text(
        'extends = "../../shared/base.toml"\npackage = "./app"\n'
        '[variants.box]\nextends = "minimal"\ntags = { append = ["box"] }\n'
    )
    profile = load_profile("p", project)
    assert profile.variant("box").tags == ("shared_tag", "box")
    assert profile.tags_files == (shared / "features.txt",)


@pytest.mark.parametrize(
    ("layer", "files", "expected"),
    [
        (
            'tags_file = "features.txt"\ntags = ["x"]',
            {},
            "p.toml: variants.a.tags: a list would replace the tags of tags_file; edit them",
        ),
        ('tags_file = "none.txt"', {}, "p.toml: variants.a.tags_file: no file {profiles}/none.txt"),
        ('tags_file = ""', {}, "p.toml: variants.a.tags_file: {profiles}: not a regular file (a"),
        ("tags_file = 3", {}, "p.toml: variants.a.tags_file: expected a string, got 3"),
        (
            'tags_file = "f.txt"',
            {"f.txt": "ok\n# fine\nnot-a-tag\n"},
            "{profiles}/f.txt:3: 'not-a-tag' is not one build tag (letters, digits, _ .) "
            "(read for variants.a.tags_file of {profiles}/p.toml)",
        ),
        (
            'tags_file = "/etc/hostname"',
            {},
            "p.toml: variants.a.tags_file: '/etc/hostname' leads to /etc/hostname, outside the",
        ),
        (
            'tags_file = "../../x.txt"',
            {},
            "p.toml: variants.a.tags_file: '../../x.txt' leads to",
        ),
    ],
)
def test_tags_file_mistakes_name_the_file_and_the_key(
    project: Path, layer: str, files: dict[str, str], expected: str
) -> None:
    (project / "profiles" / "features.txt").write_text(FEATURES)
    for name, text in files.items():
        (project / "profiles" / name).write_text(text)
    message = error_of(project, f'package = "./app"\n[variants.a]\n{layer}\n')
    assert expected.format(profiles=project / "profiles") in message, message


def test_a_tags_file_is_an_input_no_output_may_replace(project: Path) -> None:
    (project / "profiles" / "features.txt").write_text("a\n")
    profile = load(project, 'package = "./app"\n[variants.a]\ntags_file = "features.txt"\n')
    inputs = profile_inputs(profile)
    assert [i.path for i in inputs][-1] == project / "profiles" / "features.txt"
    with pytest.raises(OutputError, match="a tags file of the profile"):
        output_to("-o", "profiles/features.txt", project, inputs)
    (project / "link.txt").symlink_to(project / "profiles" / "features.txt")
    with pytest.raises(OutputError, match="a tags file of the profile"):
        output_to("-o", "link.txt", project, inputs)


# --- properties ------------------------------------------------------------------------------

WORDS = ["a", "b", "c", "d"]
words = st.lists(st.sampled_from(WORDS), max_size=4)
# a layer's value of a list key: absent, a list, or an edit (append, remove)
list_values = st.none() | words | st.tuples(words, words)
# tags may also come from a file, with an edit beside it
tags_values = list_values | st.tuples(st.just("file"), words, st.none() | st.tuples(words, words))
layers = st.fixed_dictionaries(
    {
        "tags": tags_values,
        "ldflags": list_values,
        "x": st.none() | st.dictionaries(st.sampled_from(WORDS), st.sampled_from(WORDS)),
        "strip": st.none() | st.sampled_from(["none", "dwarf", "all"]),
    }
)


def edited(base: list[str] | None, append: list[str], remove: list[str]) -> list[str]:
    """An edit as docs/profiles.md says it: drop remove's words, then add append's that are
    not there yet."""
    kept = [w for w in base or [] if w not in remove]
    return kept + [w for w in append if w not in kept]


def layered(base: list[str] | None, value: object) -> list[str] | None:
    """One layer's list value over the list it inherits (the reference, one layer at a time)."""
    if value is None:
        return base
    if isinstance(value, list):
        return value
    if isinstance(value, tuple) and value[0] == "file":
        _, lines, edit = value
        return edited(lines, *edit) if edit else list(lines)
    append, remove = value  # type: ignore[misc]
    return edited(base, append, remove)


def toml_layer(layer: dict[str, object], files: Path, label: str) -> str:
    lines = []
    for key, written in layer.items():
        value = written
        if isinstance(written, tuple) and written[0] == "file":
            _, tags, value = written
            (files / f"{label}.txt").write_text("".join(f"{t}\n" for t in tags))
            lines.append(f'tags_file = "{label}.txt"')
        if value is None:
            continue
        if isinstance(value, tuple):
            append, remove = value
            lines.append(
                f"{key} = {{ append = {json.dumps(append)}, remove = {json.dumps(remove)} }}"
            )
        elif isinstance(value, dict):
            items = ", ".join(f'"main.{k}" = "{v}"' for k, v in value.items())
            lines.append(f"{key} = {{ {items} }}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


@st.composite
def chains(draw: st.DrawFn) -> tuple[list[int | None], list[dict[str, dict[str, object]]]]:
    """Variants v0..vN-1, each extending an earlier one or none, written in a random order; the
    layers of [defaults] and of each variant in a parent profile file and in its child."""
    count = draw(st.integers(1, 4))
    parents = [None] + [draw(st.none() | st.integers(0, i - 1)) for i in range(1, count)]
    files = [
        {"defaults": draw(layers), **{f"v{i}": draw(layers) for i in range(count)}}
        for _ in ("base", "p")
    ]
    return parents, files


def expected_of(
    parents: list[int | None], files: list[dict[str, dict[str, object]]], index: int
) -> dict[str, object]:
    chain = [index]
    while (parent := parents[chain[-1]]) is not None:
        chain.append(parent)
    order = [f["defaults"] for f in files] + [f[f"v{i}"] for i in reversed(chain) for f in files]
    tags: list[str] | None = None
    ldflags: list[str] | None = None
    x: dict[str, str] = {}
    strip = "none"
    for layer in order:
        tags = layered(tags, layer["tags"])
        ldflags = layered(ldflags, layer["ldflags"])
        x |= {f"main.{k}": v for k, v in (layer["x"] or {}).items()}  # type: ignore[attr-defined]
        strip = layer["strip"] or strip  # type: ignore[assignment]
    return {
        "tags": tuple(dict.fromkeys(tags or [])),  # each tag once, first place kept
        "ldflags": tuple(ldflags or []),
        "x": x,
        "strip": strip,
    }


def write_chain(
    root: Path,
    parents: list[int | None],
    files: list[dict[str, dict[str, object]]],
    order: list[int],
) -> None:
    (root / "app").mkdir()
    (root / "profiles").mkdir()
    for file, layers_of in zip(("base", "p"), files, strict=True):
        head = 'package = "./app"\n' if file == "base" else 'extends = "base"\n'
        text = (
            head
            + "[defaults]\n"
            + toml_layer(layers_of["defaults"], root / "profiles", f"{file}-d")
        )
        for i in order:
            text += f"[variants.v{i}]\n"
            if file == "base" and parents[i] is not None:
                text += f'extends = "v{parents[i]}"\n'
            text += toml_layer(layers_of[f"v{i}"], root / "profiles", f"{file}-v{i}")
        (root / "profiles" / f"{file}.toml").write_text(text)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(chain=chains(), data=st.data())
def test_any_chain_of_layers_is_each_layer_applied_in_turn(
    tmp_path_factory: pytest.TempPathFactory,
    chain: tuple[list[int | None], list[dict[str, dict[str, object]]]],
    data: st.DataObject,
) -> None:
    """[defaults] of the parent file, then the child's, then each variant of the chain from
    the farthest, the parent file's layer before the child's: whatever each layer holds (a
    list, an edit, a tags file with an edit, nothing), the variant is what applying them one
    by one gives - edits composed across files equal edits applied in turn."""
    parents, files = chain
    order = data.draw(st.permutations(range(len(parents))))
    root = tmp_path_factory.mktemp("chain")
    try:
        write_chain(root, parents, files, order)
        profile = load_profile("p", root)
    finally:
        shutil.rmtree(root)
    for i in range(len(parents)):
        v = profile.variant(f"v{i}")
        got = {"tags": v.tags, "ldflags": v.ldflags, "x": v.x, "strip": v.strip}
        assert got == expected_of(parents, files, i), (i, parents)


def broken(parents: list[str | None], names: list[str]) -> bool:
    """Whether some variant's chain reaches an unknown name or itself again."""
    index = dict(zip(names, parents, strict=True))
    for name in names:
        seen = {name}
        current = index[name]
        while current is not None:
            if current not in index or current in seen:
                return True
            seen.add(current)
            current = index[current]
    return False


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_extends_graph_loads_or_is_refused_at_an_extends_key(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Each variant extends any name, its own, another's, or one that is not there: the
    profile loads exactly when no chain reaches an unknown name or runs in a circle, and is
    otherwise refused in one line at a variant's extends key."""
    names = [f"v{i}" for i in range(data.draw(st.integers(1, 5)))]
    parents = [data.draw(st.none() | st.sampled_from([*names, "gone"])) for _ in names]
    root = tmp_path_factory.mktemp("graph")
    (root / "app").mkdir()
    text = 'package = "./app"\n' + "".join(
        f"[variants.{n}]\n"
        + (f'extends = "{p}"\n' if p else "")
        + f'tags = {{ append = ["{n}"] }}\n'
        for n, p in zip(names, parents, strict=True)
    )
    (root / "p.toml").write_text(text)
    try:
        outcome: Profile | BuildoptError = load_profile(str(root / "p.toml"), root)
    except BuildoptError as exc:
        outcome = exc
    finally:
        shutil.rmtree(root)
    if isinstance(outcome, BuildoptError):
        assert broken(parents, names), outcome.message
        assert outcome.exit_code == EXIT_BAD_INPUT and "\n" not in outcome.message
        assert outcome.message.startswith(f"{root / 'p.toml'}: variants.v")
        assert ".extends: " in outcome.message
    else:
        assert not broken(parents, names)


@given(first=st.tuples(words, words), later=st.tuples(words, words), base=words)
def test_an_edit_of_an_edit_is_the_two_in_turn(
    first: tuple[list[str], list[str]], later: tuple[list[str], list[str]], base: list[str]
) -> None:
    """ListEdit.then is how a child's edit composes with its parent's when no list lies under
    them yet: it must give what applying the two in turn gives, duplicates included (a flag
    appended by both was passed twice)."""
    one, two = ListEdit(*map(tuple, first)), ListEdit(*map(tuple, later))
    assert one.then(two).apply(base) == two.apply(one.apply(base))
