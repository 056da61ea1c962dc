"""[startup] runner, argv0 and emulated: how they are read, and what a runner is taken for."""

from __future__ import annotations

import pytest

from buildopt.config.startup import StartupOverrides, apply_overrides, parse_config
from buildopt.errors import UsageError
from buildopt.measure.device import Placed, emulator_platform, goarch


def test_runner_argv0_and_what_a_runner_is() -> None:
    ssh = parse_config("p.toml", {"runner": ["ssh", "-o", "BatchMode=yes", "bs-lab-01"]})
    assert ssh.remote and not ssh.emulator and ssh.argv0 is None
    qemu = parse_config("p.toml", {"runner": ["/usr/bin/qemu-aarch64-static"], "argv0": "ctl"})
    assert qemu.emulator and not qemu.remote and qemu.argv0 == "ctl"
    # emulated = true says it of a runner whose name does not; false of one whose name does
    box = parse_config("p.toml", {"runner": ["box64"], "emulated": True})
    assert box.emulator and not box.remote
    wrapped = parse_config("p.toml", {"runner": ["qemu-wrapper", "host"], "emulated": False})
    assert wrapped.remote
    here = parse_config("p.toml", None)
    assert not here.emulator and not here.remote


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"runner": "ssh host"}, "startup.runner: expected a list of strings"),
        ({"runner": ["ssh", ""]}, "startup.runner"),
        ({"argv0": ""}, "startup.argv0"),
        ({"emulated": True}, "startup.emulated: only means something with a runner"),
    ],
)
def test_bad_runner_tables(table: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_config("profiles/p.toml", table)
    assert info.value.message.startswith("profiles/p.toml: ")
    assert message in info.value.message


def test_the_command_line_runner_is_split_into_words() -> None:
    given = StartupOverrides(runner="ssh -o 'ProxyJump=a b' host", argv0="billing-ctl")
    config = apply_overrides(parse_config("p.toml", None), given)
    assert config.runner == ("ssh", "-o", "ProxyJump=a b", "host")
    assert config.argv0 == "billing-ctl"
    for bad in ("", "ssh 'host"):
        with pytest.raises(UsageError, match="--runner"):
            apply_overrides(config, StartupOverrides(runner=bad))


@pytest.mark.parametrize(
    ("machine", "little", "arch"),
    [
        ("aarch64", None, "arm64"),
        ("armv7l", None, "arm"),
        ("armv5tel", None, "arm"),
        ("x86_64", None, "amd64"),
        ("i686", None, "386"),
        ("mips", True, "mipsle"),
        ("mips", False, "mips"),
        ("mips64", True, "mips64le"),
        ("sparc64", None, None),
    ],
)
def test_uname_machine_as_goarch(machine: str, little: bool | None, arch: str | None) -> None:
    assert goarch(machine, little) == arch


def test_an_emulators_platform_is_in_its_name() -> None:
    assert emulator_platform(["/usr/bin/qemu-aarch64-static"]) == "linux/arm64"
    assert emulator_platform(["qemu-mipsel"]) == "linux/mipsle"
    assert emulator_platform(["qemu-arm-static", "-cpu", "cortex-a7"]) == "linux/arm"
    assert emulator_platform(["box64"]) is None


def test_what_the_helper_execs() -> None:
    here = Placed(("spawn",), {"a": "/dist/a"})
    assert here.command("a", None, ["-x"]) == ("/dist/a", ["/dist/a", "-x"])
    assert here.command("a", "ctl", []) == ("/dist/a", ["ctl"])
    qemu = Placed(("spawn",), {"a": "/dist/a"}, emulator=("/usr/bin/qemu-aarch64-static",))
    program, argv = qemu.command("a", "ctl", ["-x"])
    assert program == "/usr/bin/qemu-aarch64-static"
    assert argv == ["/usr/bin/qemu-aarch64-static", "-0", "ctl", "/dist/a", "-x"]
