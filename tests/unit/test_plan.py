"""The argv/env builder and the planner, without starting any process."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from buildopt.config.profile import load_profile
from buildopt.config.target import TargetSyntaxError, parse_target
from buildopt.config.toolchain import Platform, Toolchain
from buildopt.config.variant import Variant
from buildopt.errors import ProfileError, UsageError
from buildopt.pipeline.plan import (
    QuoteError,
    build_env,
    go_build_argv,
    go_quote_join,
    ldflags,
    make_plan,
    module_dir,
)
from tests.conftest import write_profile


def go_split(s: str) -> list[str]:
    """cmd/internal/quoted.Split, transcribed: how go build reads -ldflags back."""
    out: list[str] = []
    while s:
        s = s.lstrip(" \t\n\r")
        if not s:
            break
        if s[0] in "'\"":
            end = s.index(s[0], 1)
            out.append(s[1:end])
            s = s[end + 1 :]
            continue
        i = 0
        while i < len(s) and s[i] not in " \t\n\r":
            i += 1
        out.append(s[:i])
        s = s[i:]
    return out


def toolchain(*pairs: str, nocgo: tuple[str, ...] = ()) -> Toolchain:
    platforms = {}
    for pair in pairs:
        goos, goarch = pair.split("/")
        platforms[pair] = Platform(goos, goarch, pair not in nocgo, True)
    return Toolchain(
        go="/opt/go/bin/go",
        version="go1.26.8",
        goroot="/opt/go",
        hostos="linux",
        hostarch="amd64",
        platforms=platforms,
        env={},
    )


TOOLS = toolchain(
    "linux/amd64", "linux/arm64", "linux/arm", "linux/riscv64", "js/wasm", nocgo=("js/wasm",)
)

# --- quoting ---------------------------------------------------------------------------------

safe_arg = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


@given(st.lists(safe_arg.filter(lambda a: not ("'" in a and '"' in a)), max_size=6))
def test_quote_join_round_trips_through_go_split(args: list[str]) -> None:
    joined = go_quote_join(args)
    # go's Split drops leading whitespace and treats a leading quote as quoting; args that start
    # with a quote are quoted by join, so the round trip holds for every arg.
    assert go_split(joined) == args


def test_quote_join_matches_go_examples() -> None:
    assert go_quote_join(["-X", "main.v=1.0"]) == "-X main.v=1.0"
    assert go_quote_join(["-X", "main.v=a b"]) == "-X 'main.v=a b'"
    assert go_quote_join(["it's"]) == '"it\'s"'
    assert go_quote_join([""]) == "''"
    with pytest.raises(QuoteError):
        go_quote_join(["a'b\"c"])


# --- argv and env ----------------------------------------------------------------------------


def test_plain_variant_is_plain_go_build() -> None:
    argv = go_build_argv("go", Variant(name="v"), "out/bin", ".")
    assert argv == ["go", "build", "-o", "out/bin", "."]


def test_every_knob_reaches_argv_in_order() -> None:
    v = Variant(
        name="v",
        strip="all",
        linkmode="external",
        extldflags=("-static", "-s"),
        buildmode="pie",
        trimpath=True,
        tags=("netgo", "osusergo"),
        x={"main.v": "1 2"},
        gcflags=("all=-N", "-l"),
        asmflags=("-trimpath",),
        ldflags=("-bindnow",),
        flags=("-v", "-buildvcs=false"),
        buildid="",
    )
    assert go_build_argv("go", v, "o", "./cmd/x") == [
        "go",
        "build",
        "-o",
        "o",
        "-trimpath",
        "-buildmode=pie",
        "-tags=netgo,osusergo",
        "-gcflags=all=-N -l",
        "-asmflags=-trimpath",
        "-ldflags=-s -w -linkmode=external -extldflags '-static -s' -buildid= "
        "-X 'main.v=1 2' -bindnow",
        "-v",
        "-buildvcs=false",
        "./cmd/x",
    ]


@pytest.mark.parametrize(
    ("strip", "words"), [("none", []), ("dwarf", ["-w"]), ("all", ["-s", "-w"])]
)
def test_strip_levels(strip: str, words: list[str]) -> None:
    assert ldflags(Variant(name="v", strip=strip)) == words  # type: ignore[arg-type]


def test_shell_metacharacters_stay_literal() -> None:
    evil = "$(touch /tmp/pwned); `id` && echo ${HOME} | cat > x"
    v = Variant(name="v", x={"main.v": evil}, flags=("-ldflags=-X main.w=$(id)",))
    argv = go_build_argv("go", v, "o", ".")
    ld = argv[4]
    assert go_split(ld.removeprefix("-ldflags=")) == ["-X", f"main.v={evil}"]
    assert "-ldflags=-X main.w=$(id)" in argv


def test_env_sets_target_cgo_cc_and_variant_env_last() -> None:
    v = Variant(name="v", cgo=False, env={"GOFLAGS": "-mod=vendor", "GOARM": "6"})
    env = build_env(v, parse_target("linux/arm/v7"), cc=None)
    assert env == {
        "GOOS": "linux",
        "GOARCH": "arm",
        "GOARM": "6",
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=vendor",
    }
    env = build_env(Variant(name="v", cgo=True), parse_target("linux/arm64"), cc="aarch64-gcc")
    assert env["CC"] == "aarch64-gcc" and env["CGO_ENABLED"] == "1"
    assert "CGO_ENABLED" not in build_env(Variant(name="v"), parse_target("linux/amd64"), None)


# --- targets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "env", "tid"),
    [
        ("linux/amd64", {}, "linux-amd64"),
        ("linux/arm/v7", {"GOARM": "7"}, "linux-arm-v7"),
        ("linux/arm/6", {"GOARM": "6"}, "linux-arm-v6"),
        ("linux/amd64/v3", {"GOAMD64": "v3"}, "linux-amd64-v3"),
        ("linux/arm64/v8.2", {"GOARM64": "v8.2"}, "linux-arm64-v8.2"),
        ("linux/mips/softfloat", {"GOMIPS": "softfloat"}, "linux-mips-softfloat"),
        ("linux/riscv64/rva22u64", {"GORISCV64": "rva22u64"}, "linux-riscv64-rva22u64"),
    ],
)
def test_target_sub_architectures(spec: str, env: dict[str, str], tid: str) -> None:
    target = parse_target(spec)
    assert target.id == tid
    assert target.env() == {"GOOS": target.goos, "GOARCH": target.goarch, **env}


@pytest.mark.parametrize(
    "spec",
    [
        "linux",
        "linux/",
        "Linux/amd64",
        "linux/amd64/v1/x",
        "linux/amd64/",
        "linux/s390x/z15",
        "linux/arm/v8",
        "linux/amd64/v5",
    ],
)
def test_bad_targets(spec: str) -> None:
    with pytest.raises(TargetSyntaxError):
        parse_target(spec)


# --- planning --------------------------------------------------------------------------------

PROFILE = """
    package = "./app"
    targets = ["linux/amd64", "linux/arm64", "js/wasm"]
    [variants.pure]
    cgo = false
    [variants.cgo]
    cgo = true
"""


def test_plan_steps_ids_outputs_and_skips(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    plan = make_plan(load_profile("p", project), TOOLS, {"PATH": ""})
    assert [s.id for s in plan.steps] == [
        "pure@linux-amd64",
        "pure@linux-arm64",
        "pure@js-wasm",
        "cgo@linux-amd64",
    ]
    step = plan.steps[1]
    assert step.output == project / "dist" / "p" / "pure" / "linux-arm64" / "app"
    assert step.dir == project / "app" and step.package == "."
    assert step.argv[:4] == ("/opt/go/bin/go", "build", "-o", str(step.stage))
    skipped = {s.id: s.reason for s in plan.skipped}
    assert "aarch64-linux-gnu-gcc is not on PATH" in skipped["cgo@linux-arm64"]
    assert "cgo is not supported on js/wasm" in skipped["cgo@js-wasm"]


def test_cross_cgo_uses_a_compiler_found_on_path(project: Path, tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    cc = bindir / "aarch64-linux-gnu-gcc"
    cc.write_text("#!/bin/sh\n")
    cc.chmod(0o755)
    write_profile(project, "p", PROFILE)
    plan = make_plan(load_profile("p", project), TOOLS, {"PATH": str(bindir)}, ["cgo@*arm64"])
    (step,) = plan.steps
    assert step.env["CC"] == "aarch64-linux-gnu-gcc"


def test_variant_env_cc_wins_over_lookup(project: Path) -> None:
    write_profile(
        project,
        "p",
        'package = "./app"\ntargets = ["linux/arm64"]\n'
        '[variants.c]\ncgo = true\nenv = { CC = "zig cc -target aarch64-linux" }\n',
    )
    plan = make_plan(load_profile("p", project), TOOLS, {"PATH": ""})
    assert plan.steps[0].env["CC"] == "zig cc -target aarch64-linux"


def test_variant_patterns_select_and_unmatched_is_an_error(project: Path) -> None:
    write_profile(project, "p", PROFILE)
    profile = load_profile("p", project)
    plan = make_plan(profile, TOOLS, {"PATH": ""}, ["*@linux-amd64"])
    assert [s.id for s in plan.steps] == ["pure@linux-amd64", "cgo@linux-amd64"]
    with pytest.raises(UsageError, match=r"--variant nope\*: matches no variant ") as raised:
        make_plan(profile, TOOLS, {"PATH": ""}, ["nope*"])
    assert "pure@linux-amd64" in raised.value.details  # the ids below the line, one each


def test_unknown_target_names_profile_and_suggests(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\ntargets = ["linux/amd65"]\n[variants.a]\n')
    with pytest.raises(ProfileError) as info:
        make_plan(load_profile("p", project), TOOLS, {})
    message = info.value.message
    assert message.startswith(str(project / "profiles" / "p.toml"))
    assert "'linux/amd65' is not a target of go1.26.8" in message
    assert "did you mean 'linux/amd64'?" in message


def test_host_is_the_default_target(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.a]\n')
    plan = make_plan(load_profile("p", project), TOOLS, {})
    assert [s.id for s in plan.steps] == ["a@linux-amd64"]


def test_module_dir_finds_go_mod_above_the_package(project: Path) -> None:
    cmd = project / "app" / "cmd" / "svc"
    cmd.mkdir(parents=True)
    assert module_dir(cmd) == project / "app"
    write_profile(project, "p", 'package = "./app/cmd/svc"\n[variants.a]\n')
    (step,) = make_plan(load_profile("p", project), TOOLS, {}).steps
    assert (step.dir, step.package, step.argv[-1]) == (project / "app", "./cmd/svc", "./cmd/svc")
    assert step.output.name == "svc"


def test_windows_outputs_get_exe(project: Path) -> None:
    tools = toolchain("windows/amd64")
    write_profile(project, "p", 'package = "./app"\ntargets = ["windows/amd64"]\n[variants.a]\n')
    (step,) = make_plan(load_profile("p", project), tools, {}).steps
    assert step.output.name == "app.exe"


def test_go_writes_into_the_variants_stage(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.a]\nflags = ["-a", "-v"]\n')
    (step,) = make_plan(load_profile("p", project), TOOLS, {}).steps
    assert step.argv[2] == "-o" and step.argv.count("-o") == 1
    assert step.argv[3] == str(step.stage)
    assert step.stage == step.output.parent / ".buildopt-stage" / step.output.name


def test_unquotable_x_value_is_a_profile_error(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.a]\nx = { "main.v" = "a\'b\\"c" }\n')
    with pytest.raises(ProfileError, match=r"variants\.a: .*both ' and"):
        make_plan(load_profile("p", project), TOOLS, {})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('flags = ["-o", "/tmp/x"]', "variants.a.flags: '-o': buildopt sets the output path"),
        ('flags = ["-o=/tmp/x"]', "variants.a.flags: '-o=/tmp/x'"),
        ('flags = ["--o", "x"]', "variants.a.flags: '--o'"),
        ('env = { GOFLAGS = "-mod=mod -o=/tmp/x" }', "variants.a.env.GOFLAGS: '-o=/tmp/x'"),
        ('flags = ["-toolexec=/bin/sh"]', "runs a program of the profile's choosing"),
        ('env = { GOFLAGS = "-toolexec=/bin/sh" }', "set allow_exec = true"),
        ('flags = ["-exec", "x"]', "variants.a.flags: '-exec'"),
        ('env = { A = "x\\u0000y" }', "variants.a.env.A: a NUL byte"),
        ('flags = ["-tags=a\\u0000"]', "variants.a.flags[1]: a NUL byte"),
    ],
)
def test_raw_flags_that_would_escape_or_run_programs(
    project: Path, table: str, message: str
) -> None:
    write_profile(project, "p", f'package = "./app"\n[variants.a]\n{table}\n')
    with pytest.raises(ProfileError) as info:
        load_profile("p", project)
    assert message in info.value.message and "\n" not in info.value.message


def test_allow_exec_lets_toolexec_through(project: Path) -> None:
    write_profile(
        project,
        "p",
        'allow_exec = true\npackage = "./app"\n[variants.a]\nflags = ["-toolexec=/usr/bin/time"]\n',
    )
    (step,) = make_plan(load_profile("p", project), TOOLS, {}).steps
    assert "-toolexec=/usr/bin/time" in step.argv


def test_generated_names_are_checked_like_written_ones(project: Path) -> None:
    """An -X value with a path in a [matrix] axis once named a variant x/../../tmp/ESCAPED, and
    its binary was written outside dist/."""
    write_profile(
        project,
        "p",
        'package = "./app"\n[variants.a]\n[matrix]\n'
        'ldflags = [["-X=main.version=x/../../../../tmp/ESCAPED"]]\n',
    )
    plan = make_plan(load_profile("p", project), TOOLS, {})
    for step in plan.steps:
        assert step.output.resolve().is_relative_to(plan.dist.resolve())
        assert "/" not in step.variant.name and ".." not in step.variant.name


def test_names_a_file_system_cannot_hold_are_refused(project: Path) -> None:
    write_profile(project, "p", f'package = "./app"\n[variants.{"v" * 300}]\n')
    with pytest.raises(ProfileError, match="more than a file system holds"):
        load_profile("p", project)
    (project / "profiles" / "...toml").write_text('package = "./app"\n[variants.a]\n')
    with pytest.raises(ProfileError, match="cannot name a profile"):
        load_profile("profiles/...toml", project)


def test_a_symlink_in_dist_cannot_take_the_binary_elsewhere(project: Path, tmp_path: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants.a]\n')
    (project / "dist" / "p").mkdir(parents=True)
    (project / "dist" / "p" / "a").symlink_to(tmp_path.parent)
    with pytest.raises(ProfileError, match="would be written outside"):
        make_plan(load_profile("p", project), TOOLS, {})


def test_a_variant_cannot_take_the_records_name(project: Path) -> None:
    write_profile(project, "p", 'package = "./app"\n[variants."build.json"]\n')
    with pytest.raises(ProfileError, match=r"build\.json is the build record's name"):
        load_profile("p", project)


def test_cross_packages_name_the_compiler_and_its_libc() -> None:
    from buildopt.pipeline.plan import cross_packages

    assert cross_packages("aarch64-linux-gnu-gcc") == (
        "gcc-aarch64-linux-gnu",
        "libc6-dev-arm64-cross",
    )
    assert cross_packages("arm-linux-gnueabihf-gcc") == (
        "gcc-arm-linux-gnueabihf",
        "libc6-dev-armhf-cross",
    )
    assert cross_packages("x86_64-linux-gnu-gcc") == (
        "gcc-x86-64-linux-gnu",
        "libc6-dev-amd64-cross",
    )
    assert cross_packages("some-other-cc") == ()
