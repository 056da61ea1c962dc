"""Profile loading: every key, every merge rule, every error message names file and key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import tomllib

from buildopt.config.profile import load_profile
from buildopt.config.starter import choose_main, module_binary_name, starter_profile
from buildopt.config.target import Target
from buildopt.errors import EXIT_BAD_INPUT, ProfileError, UsageError
from tests.conftest import REPO, write_profile

MINIMAL = """
    schema = 1
    package = "./app"
    [variants.default]
"""


def load(project: Path, text: str, name: str = "p") -> object:
    write_profile(project, name, text)
    return load_profile(name, project)


def error_of(project: Path, text: str) -> str:
    with pytest.raises(ProfileError) as info:
        load(project, text)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert str(project / "profiles") in info.value.message
    return info.value.message


def test_minimal_profile_defaults(project: Path) -> None:
    profile = load_profile(str(write_profile(project, "p", MINIMAL)), project)
    assert profile.name == "p"
    assert profile.root == project
    assert profile.package == project / "app"
    assert profile.binary == "app"
    assert profile.baseline == "default"
    assert profile.targets == ()
    (v,) = profile.variants
    assert (v.cgo, v.strip, v.linkmode, v.buildmode, v.trimpath) == (
        None,
        "none",
        None,
        None,
        False,
    )
    assert v.tags == v.flags == v.ldflags == ()


def test_every_variant_key(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        binary = "svc"
        targets = ["linux/amd64", "linux/arm/v7"]
        [variants.all]
        description = "everything"
        cgo = true
        strip = "dwarf"
        linkmode = "external"
        extldflags = ["-static", "-Wl,--gc-sections"]
        buildmode = "pie"
        trimpath = true
        tags = ["netgo", "osusergo", "netgo"]
        x = { "main.version" = "1.0", "main.commit" = "abc" }
        gcflags = ["all=-N", "-l"]
        asmflags = ["-trimpath"]
        ldflags = ["-bindnow"]
        flags = ["-v"]
        env = { GOFLAGS = "-mod=mod" }
        buildid = ""
        output = "svc-all"
        targets = ["linux/arm64"]
        """,
    )
    v = profile.variant("all")
    assert v.description == "everything"
    assert v.cgo is True and v.strip == "dwarf" and v.linkmode == "external"
    assert v.extldflags == ("-static", "-Wl,--gc-sections")
    assert v.buildmode == "pie" and v.trimpath is True
    assert v.tags == ("netgo", "osusergo")  # duplicates dropped, order kept
    assert v.x == {"main.commit": "abc", "main.version": "1.0"}
    assert v.gcflags == ("all=-N", "-l") and v.asmflags == ("-trimpath",)
    assert v.ldflags == ("-bindnow",) and v.flags == ("-v",)
    assert v.env == {"GOFLAGS": "-mod=mod"}
    assert v.buildid == "" and v.output == "svc-all"
    assert v.parsed_targets == (Target("linux", "arm64"),)
    assert profile.targets == (Target("linux", "amd64"), Target("linux", "arm", "v7"))


def test_defaults_apply_and_variants_override(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        [defaults]
        trimpath = true
        tags = ["a"]
        x = { "main.v" = "1" }
        [variants.one]
        [variants.two]
        trimpath = false
        tags = ["b"]
        x = { "main.w" = "2" }
        [variants.three]
        tags = { append = ["c"], remove = ["a"] }
        """,
    )
    one, two, three = profile.variants
    assert one.trimpath and one.tags == ("a",) and one.x == {"main.v": "1"}
    assert not two.trimpath and two.tags == ("b",)
    assert two.x == {"main.v": "1", "main.w": "2"}  # maps merge key by key
    assert three.tags == ("c",)


def test_extends_merges_files_parent_first(project: Path) -> None:
    write_profile(
        project,
        "base",
        """
        package = "./app"
        targets = ["linux/amd64"]
        [defaults]
        tags = ["base"]
        ldflags = ["-bindnow"]
        [variants.default]
        cgo = true
        [variants.small]
        strip = "all"
        """,
    )
    profile = load(
        project,
        """
        extends = "base"
        targets = { append = ["linux/arm64"] }
        [defaults]
        tags = { append = ["child"] }
        [variants.small]
        tags = { append = ["lazy"], remove = ["base"] }
        [variants.extra]
        cgo = false
        """,
    )
    assert [t.spec for t in profile.targets] == ["linux/amd64", "linux/arm64"]
    default, small, extra = profile.variants
    assert default.cgo is True and default.tags == ("base", "child")
    assert default.ldflags == ("-bindnow",)
    assert small.strip == "all" and small.tags == ("child", "lazy")
    assert extra.cgo is False
    assert [p.name for p in profile.chain] == ["p.toml", "base.toml"]


def test_extends_edit_over_an_edit_composes(project: Path) -> None:
    write_profile(
        project,
        "base",
        'package = "./app"\n[defaults]\ntags = ["a", "b"]\n'
        '[variants.v]\ntags = { append = ["c"], remove = ["a"] }\n',
    )
    profile = load(
        project, 'extends = "base"\n[variants.v]\ntags = { remove = ["c"], append = ["d"] }\n'
    )
    assert profile.variant("v").tags == ("b", "d")


def test_matrix_generates_variants_with_exclude(project: Path) -> None:
    profile = load(
        project,
        """
        package = "./app"
        [matrix]
        cgo = [true, false]
        strip = ["none", "all"]
        tags = [[], ["netgo", "osusergo"]]
        exclude = [{ cgo = false, tags = ["netgo", "osusergo"] }]
        """,
    )
    names = [v.name for v in profile.variants]
    assert names == [
        "cgo-on_strip-none_tags-none",
        "cgo-on_strip-none_tags-netgo+osusergo",
        "cgo-on_strip-all_tags-none",
        "cgo-on_strip-all_tags-netgo+osusergo",
        "cgo-off_strip-none_tags-none",
        "cgo-off_strip-all_tags-none",
    ]
    assert profile.variant("cgo-on_strip-all_tags-netgo+osusergo").tags == ("netgo", "osusergo")
    assert profile.baseline == names[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'package = "./app"\n[variants.a]\ncgo = "yes"\n',
            "variants.a.cgo: expected true or false",
        ),
        (
            'package = "./app"\n[variants.a]\nstrip = "some"\n',
            'variants.a.strip: expected one of "none"',
        ),
        ('package = "./app"\n[variants.a]\ntags = "netgo"\n', "variants.a.tags: expected a list"),
        ('package = "./app"\n[variants.a]\ntags = { add = ["x"] }\n', "unknown list edit 'add'"),
        (
            'package = "./app"\n[variants.a]\nx = { "main.v" = 1 }\n',
            "variants.a.x.main.v: expected a string, got 1",
        ),
        (
            'package = "./app"\n[variants.a]\nstrp = "all"\n',
            "unknown key 'variants.a.strp'; did you mean 'strip'?",
        ),
        (
            'package = "./app"\npakage = "x"\n[variants.a]\n',
            "unknown key 'pakage'; did you mean 'package'?",
        ),
        (
            'package = "./app"\n[defaults]\ntargets = ["linux/amd64"]\n[variants.a]\n',
            "unknown key 'defaults.targets'",
        ),
        ('package = "./app"\n[variants."a/b"]\n', "may not contain '/'"),
        ('package = "./app"\n[variants."a..b"]\n', "may not contain '..'"),
        ('package = "./app"\n[variants." a"]\n', "a variant name is letters"),
        (
            'schema = 2\npackage = "./app"\n[variants.a]\n',
            "schema: this buildopt reads schema 1, not 2",
        ),
        ("[variants.a]\n", "package: required"),
        ('package = "./nope"\n[variants.a]\n', "package: no directory"),
        ('package = "./app"\n', "defines no variant"),
        ('package = "./app"\nbaseline = "b"\n[variants.a]\n', "baseline: no variant 'b'"),
        (
            'package = "./app"\ntargets = ["linux"]\n[variants.a]\n',
            "targets: 'linux' is not GOOS/GOARCH",
        ),
        (
            'package = "./app"\ntargets = ["linux/amd64", "linux/amd64"]\n[variants.a]\n',
            "listed twice",
        ),
        (
            'package = "./app"\ntargets = ["linux/amd64/v9"]\n[variants.a]\n',
            "not a valid GOAMD64 value",
        ),
        (
            'package = "./app"\nbinary = "../x"\n[variants.a]\n',
            "binary: '../x' is not a plain file name",
        ),
        ('package = "./app"\n[variants.a]\ntags = ["net go"]\n', "'net go' is not a build tag"),
        (
            'package = "./app"\n[variants.a]\nenv = { "A-B" = "1" }\n',
            "'A-B' is not an environment variable",
        ),
        (
            'package = "./app"\n[variants.a]\noutput = "a/b"\n',
            "output: 'a/b' is not a plain file name",
        ),
        ('package = "./app"\n[matrix]\ncgo = []\n', "matrix.cgo: expected a non-empty list"),
        ('package = "./app"\n[matrix]\nx = [{}]\n', "matrix.x: not a matrix axis"),
        (
            'package = "./app"\n[matrix]\ncgo = [true]\nexclude = [{ strip = "all" }]\n',
            "'strip' is not an axis",
        ),
        ('package = "./app"\n[variants.cgo-on]\n[matrix]\ncgo = [true]\n', "duplicates a variant"),
        ('package = "./app"\nvariants = 3\n', "variants: expected a table"),
        (
            'package = "./app"\n[variants.a]\n[scan]\nenabled = "yes"\n',
            "scan.enabled: expected true or false",
        ),
        ('package = "./app"\n[variants.a]\n[scan]\npaths = []\n', "unknown key 'scan.paths'"),
    ],
)
def test_bad_profiles_name_file_and_key(project: Path, text: str, expected: str) -> None:
    assert expected in error_of(project, text)


def test_invalid_toml_gives_line_and_column(project: Path) -> None:
    message = error_of(project, 'package = "./app"\n[variants.a\ncgo = true\n')
    assert "invalid TOML" in message and "line 2" in message and "column" in message


def test_duplicate_variant_table_is_a_toml_error(project: Path) -> None:
    message = error_of(project, 'package = "./app"\n[variants.a]\n[variants.a]\n')
    assert "invalid TOML" in message


def test_not_utf8(project: Path) -> None:
    (project / "profiles" / "p.toml").write_bytes(b'package = "\xff"\n')
    with pytest.raises(ProfileError, match=r"not UTF-8|invalid TOML"):
        load_profile("p", project)


def test_extends_itself(project: Path) -> None:
    message = error_of(project, 'extends = "p"\npackage = "./app"\n[variants.a]\n')
    assert "cycle: p.toml -> p.toml" in message


def test_extends_cycle_of_two(project: Path) -> None:
    write_profile(project, "q", 'extends = "p"\n')
    message = error_of(project, 'extends = "q"\npackage = "./app"\n[variants.a]\n')
    assert "cycle: p.toml -> q.toml -> p.toml" in message


def test_extends_missing_parent(project: Path) -> None:
    assert "extends: no profile" in error_of(project, 'extends = "nope"\n')


def test_unknown_profile_name_lists_the_known_ones(project: Path) -> None:
    write_profile(project, "telecom-edge", MINIMAL)
    with pytest.raises(UsageError) as info:
        load_profile("telecom-egde", project)
    assert "did you mean 'telecom-edge'?" in info.value.message


@pytest.mark.parametrize("kind", ["folder", "FIFO"])
def test_a_profile_that_is_not_a_file_is_no_typo(project: Path, kind: str) -> None:
    """profiles/x.toml as a folder got "no profile profiles/x.toml; did you mean 'x'?"."""
    write_profile(project, "p", MINIMAL)
    odd = project / "profiles" / "x.toml"
    odd.mkdir() if kind == "folder" else os.mkfifo(odd)
    with pytest.raises(UsageError) as info:
        load_profile("x", project)
    assert info.value.message == f"--profile x: profiles/x.toml is a {kind}, not a file"


def test_profile_by_path_and_missing_path(project: Path) -> None:
    path = write_profile(project, "p", MINIMAL)
    assert load_profile(str(path), Path("/")).path == path
    with pytest.raises(UsageError, match="no such file"):
        load_profile(str(project / "missing.toml"), project)


def test_root_key_moves_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "svc" / "app").mkdir(parents=True)
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "x.toml"
    path.write_text('root = "../svc"\npackage = "./app"\n[variants.a]\n')
    profile = load_profile(str(path), tmp_path)
    assert profile.root == tmp_path / "svc"
    assert profile.package == tmp_path / "svc" / "app"


def test_shipped_profiles_load() -> None:
    profile = load_profile("telecom-edge", REPO)
    assert [v.name for v in profile.variants] == [
        "default",
        "static",
        "static-stripped",
        "external-static",
    ]
    assert profile.baseline == "default"
    assert [t.spec for t in profile.targets] == ["linux/amd64", "linux/arm64", "linux/arm/v7"]
    assert all(v.trimpath and v.x == {"main.version": "1.4.2"} for v in profile.variants)


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ("[startup]\nrnus = 3\n", "unknown key 'startup.rnus'"),
        ("[startup]\nready = { port = 0 }\n", "startup.ready.port 0: a TCP port is 1-65535"),
        (
            "[startup]\nready = { port = 99999 }\n",
            "startup.ready.port 99999: a TCP port is 1-65535",
        ),
        ("[startup]\nready = { port = true }\n", "startup.ready: expected"),
        ('targets = ["linux/amd64/"]\n', "targets: 'linux/amd64/': an empty sub-architecture"),
        ('[startup]\ntimeout = "soon"\n', "startup.timeout: 'soon' is not a duration"),
        ("[startup]\ntrace_runs = -1\n", "startup.trace_runs: expected a whole number >= 0"),
        ('[startup]\nargs = ["a\\u0000b"]\n', "startup.args[1]: a NUL byte cannot be passed"),
        ('[startup]\nenv = { "A=B" = "c" }\n', "startup.env.A=B: a variable's name must be"),
        ('[[budget]]\nselect = "a@*"\nmax_sise = 1\n', "unknown key 'budget[1].max_sise'"),
        (
            '[[budget]]\nselect = "a@*"\nmax_dwarf_package = { main = "1 XB" }\n',
            "budget[1].max_dwarf_package.main",
        ),
        ('[[image]]\nselect = "a@*"\n', "image[1].max_size: required"),
        ("[scan]\nenable = true\n", "unknown key 'scan.enable'"),
    ],
)
def test_every_table_is_checked_when_the_profile_loads(
    project: Path, tables: str, expected: str
) -> None:
    """A mistake in [startup], [[budget]], [[image]] or [scan] is found by loading the
    profile (so by buildopt plan), not later by the command that uses the table."""
    write_profile(project, "p", f'package = "./app"\n[variants.a]\n{tables}')
    with pytest.raises((ProfileError, UsageError)) as info:
        load_profile("p", project)
    assert info.value.exit_code == EXIT_BAD_INPUT
    assert str(project / "profiles" / "p.toml") in info.value.message
    assert expected in info.value.message


@pytest.mark.parametrize(
    ("tables", "expected"),
    [
        ("[scan]\nxyz = true\n", "unknown key 'scan.xyz'; allowed: enabled"),
        (
            "[startup]\nxyz = 3\n",
            "unknown key 'startup.xyz'; allowed: args, argv0, cold, each, emulated, env,",
        ),
        ('[[budget]]\nselect = "a@*"\nxyz = 1\n', "unknown key 'budget[1].xyz'; allowed: "),
        ("[variants.b]\nxyz = 1\n", "unknown key 'variants.b.xyz'; allowed: "),
        ('[[budget]]\nselect = "a@*"\n"it\'s" = 1\n', 'unknown key "budget[1].it\'s"'),
    ],
)
def test_every_table_names_an_unknown_key_the_same_way(
    project: Path, tables: str, expected: str
) -> None:
    """One key checker for every table: with nothing close, the allowed keys are listed; the
    key is shown quoted as Python would (a quote in it does not end the quotes early)."""
    write_profile(project, "p", f'package = "./app"\n[variants.a]\n{tables}')
    with pytest.raises((ProfileError, UsageError)) as info:
        load_profile("p", project)
    assert expected in info.value.message


def test_typed_tables_and_record_location(project: Path) -> None:
    write_profile(
        project,
        "p",
        'package = "./app"\n[variants.a]\n[startup]\nruns = 5\nready = { port = 8080 }\n'
        '[[budget]]\nselect = "a@*"\nmax_dwarf_package = { "runtime*" = "1 MiB" }\n',
    )
    profile = load_profile("p", project)
    assert profile.startup.runs == 5 and profile.startup.ready.port == 8080
    assert profile.budgets[0].max_dwarf_package == {"runtime*": 1 << 20}
    assert profile.dwarf_by_package
    assert profile.record_path() == project / "dist" / "p" / "build.json"
    assert profile.record_path(project / "out") == project / "out" / "p" / "build.json"


IMAGE = '[[image]]\nselect = "a"\nfilesystem = "squashfs"\nmax_size = "8 MiB"\n'


def test_an_image_table_is_image_1_in_every_message(project: Path) -> None:
    """Before, a NUL byte in the first [[image]] was reported as image[0], every other
    mistake in it as image[1]."""
    for text in (IMAGE + 'name = "x\\u0000"\n', IMAGE + 'name = ""\n'):
        message = error_of(project, 'package = "./app"\n[variants.a]\n' + text)
        assert "image[1].name: " in message, message


def test_two_images_of_one_name_are_refused(project: Path) -> None:
    """The name is the image's identity (its file, record and checks): two tables of one name
    wrote one file in turn. Here the child's first image and the parent's default to the
    same name, image[1]."""
    write_profile(project, "base", 'package = "./app"\n[variants.a]\n' + IMAGE)
    write_profile(project, "p", 'extends = "base"\n' + IMAGE)
    with pytest.raises(ProfileError) as info:
        load_profile("p", project)
    assert "image[1].name: 'image[1]' is also the name of image[1] of " in info.value.message
    assert str(project / "profiles" / "base.toml") in info.value.message


def test_image_files_short_and_table_forms(project: Path) -> None:
    write_profile(
        project,
        "p",
        'package = "./app"\n[variants.a]\n'
        + IMAGE
        + 'files = { "/etc/a" = "conf/a", "/etc/b" = { source = "/etc/b.pem", '
        'allow_outside = true, mode = "0600" } }\n',
    )
    (image,) = load_profile("p", project).images
    short, table = image.files["/etc/a"], image.files["/etc/b"]
    assert (short.given, short.path, short.allow_outside, short.mode) == (
        "conf/a",
        project / "conf" / "a",
        False,
        None,
    )
    assert (table.path, table.allow_outside, table.mode) == (Path("/etc/b.pem"), True, 0o600)


def test_a_name_with_a_newline_is_still_one_line(project: Path) -> None:
    """Found by the hostile-profile property test: the name went into the message as it was."""
    write_profile(project, "p", 'package = "./app"\n[variants."a\\nb"]\n')
    with pytest.raises(ProfileError) as info:
        load_profile("p", project)
    assert "\n" not in info.value.message and "variants.a\\nb" in info.value.message


def test_profiles_are_found_from_any_subdirectory(project: Path) -> None:
    """Profiles were looked up only under the current directory: `invoke build` from a
    subdirectory failed although invoke itself finds tasks.py by walking up."""
    write_profile(project, "edge", 'package = "./app"\n[variants.a]\n')
    deep = project / "app" / "internal" / "x"
    deep.mkdir(parents=True)
    loaded = load_profile("edge", deep)
    assert loaded.path == (project / "profiles" / "edge.toml").resolve()
    assert loaded.dist_dir() == project / "dist" / "edge"
    assert load_profile(None, deep).name == "edge"  # the only one: --profile may be left out


def test_without_profile_and_several_the_choice_is_listed(project: Path) -> None:
    write_profile(project, "a", 'package = "./app"\n[variants.x]\n')
    write_profile(project, "b", 'package = "./app"\n[variants.x]\n')
    with pytest.raises(UsageError, match=r"--profile is required \(profiles in .*profiles: a, b\)"):
        load_profile(None, project / "app")


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("github.com/nats-io/nats-server/v2", "nats-server"),
        ("example.com/srv", "srv"),
        ("gopkg.in/yaml.v3", "yaml"),
        ("v2", "v2"),
    ],
)
def test_the_module_root_program_is_named_as_go_build_names_it(module: str, name: str) -> None:
    """init named nats-server's profile 'v2' (the major-version suffix of its module path)."""
    assert module_binary_name(module) == name


def test_a_cmd_folder_named_like_a_versioned_module_is_chosen() -> None:
    mains = [
        ("example.com/srv/v2/cmd/aaa", "./cmd/aaa"),
        ("example.com/srv/v2/cmd/srv", "./cmd/srv"),
    ]
    chosen, why = choose_main("example.com/srv/v2", mains, "docs")
    assert chosen[1] == "./cmd/srv"
    assert "named like the module (srv)" in why


def test_the_root_program_s_name_is_in_the_starter_profile() -> None:
    text = starter_profile(
        module_path="example.com/srv/v2",
        package=".",
        others=[],
        targets=["linux/amd64"],
        c_compiler=None,
        written="2026-01-01",
        binary="srv",
    )
    assert tomllib.loads(text)["binary"] == "srv"


def test_a_record_keeps_every_variant_key() -> None:
    """The keys of [variants.NAME] are VariantSettings' fields, and a record keeps a variant's
    settings as that very model: a variant's keys are defined once."""
    from buildopt.config import variant
    from buildopt.record import model

    assert model.VariantSettings is variant.VariantSettings
    assert variant.VariantSettings.__struct_fields__ == variant.VARIANT_KEYS


def test_a_list_edit_mistake_names_the_key() -> None:
    """Found by the property test of tests/faults/test_profile_values.py: a mistake inside a
    list edit ({ append, remove }) was reported without the key it edits."""
    from buildopt.config.keys import decode
    from buildopt.config.variant import VariantLayer

    with pytest.raises(ProfileError) as info:
        decode("p.toml", "defaults", {"tags": {"": False}}, VariantLayer)
    assert info.value.message == (
        "p.toml: defaults.tags: unknown list edit ''; use append or remove, got { \"\" = false }"
    )


def test_a_byte_order_mark_is_read_past(project: Path) -> None:
    """A profile saved with a UTF-8 byte order mark (Windows editors write one) was refused as
    'invalid TOML: Invalid statement (line 1, column 1)'."""
    text = MINIMAL.replace("[variants.default]", "[variants.bom]")
    (project / "profiles" / "p.toml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    profile = load_profile("p", project)
    assert [v.name for v in profile.variants] == ["bom"]


def test_owners_is_the_linker_unless_said(project: Path) -> None:
    """The linker's owners of strings and types (a twin link per new binary) are on by
    default; owners = "symbols" turns them off; another word is refused with its key."""
    assert load_profile(str(write_profile(project, "p", MINIMAL)), project).owners == "linker"
    off = load(project, 'owners = "symbols"\n' + MINIMAL.replace("schema = 1", ""))
    assert off.owners == "symbols"  # type: ignore[attr-defined]
    assert "owners" in error_of(project, 'owners = "dwarf"\n' + MINIMAL.replace("schema = 1", ""))
