"""The ``[startup]`` table of a profile: how ``buildopt startup`` runs each variant.

Checked when the profile is loaded (``buildopt plan`` reports a typo here as anywhere else);
the command line's ``--runs``, ``--ready-port`` ... override it in buildopt.cli.commands.startup.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Annotated, Any, ClassVar, Literal

import msgspec
import msgspec.inspect as mi

from buildopt.config import defaults
from buildopt.config.budgets import selects
from buildopt.config.keys import decode
from buildopt.config.units import Seconds, UnitError, parse_seconds
from buildopt.errors import ProfileError, UsageError


class Ready(msgspec.Struct, frozen=True):
    """How readiness is detected: a line on stdout/stderr, a port accepting, or the exit."""

    kind: Literal["stdout", "stderr", "port", "exit"] = "exit"
    pattern: str = ""
    port: int = 0

    def describe(self) -> str:
        if self.kind == "port":
            return f"port {self.port} accepting on 127.0.0.1"
        if self.kind == "exit":
            return "process exit"
        return f"{self.kind} line matching {self.pattern!r}"


def parse_ready(value: Any) -> Ready:
    """``{ stdout = "regex" }``, ``{ stderr = "regex" }``, ``{ port = N }`` or ``"exit"``."""
    if value == "exit" or isinstance(value, Ready):
        return Ready() if value == "exit" else value
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind in ("stdout", "stderr") and isinstance(arg, str):
            try:
                re.compile(arg)
            except re.error as exc:
                raise ValueError(f".{kind}: bad regex: {exc}") from exc
            return Ready(kind, pattern=arg)
        if kind == "port" and isinstance(arg, int) and not isinstance(arg, bool):
            if not 0 < arg < 65536:
                raise ValueError(f".port {arg}: a TCP port is 1-65535")
            return Ready("port", port=arg)
    raise ValueError('expected { stdout = "regex" }, { stderr = "regex" }, { port = N } or "exit"')


def _variable(name: str) -> str:
    if not name or "=" in name:
        raise ValueError("a variable's name must be non-empty, without '='")
    return name


Argv0 = Annotated[str, msgspec.Meta(min_length=1)]
Env = dict[Annotated[str, _variable], str]
# What a [[startup.each]] table may set for the builds it selects (the rest is the series').
PER_BUILD = ("args", "ready", "env", "argv0")


class StartupEach(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A ``[[startup.each]]`` table: how the builds ``select`` picks are run instead (``env``
    over ``[startup]``'s, key by key; the others replace). The first table that selects a
    build is its."""

    select: Annotated[str, msgspec.Meta(min_length=1)]
    args: tuple[str, ...] | None = None
    ready: Annotated[Ready, parse_ready] | None = None
    env: Env | None = None
    argv0: Argv0 | None = None


class StartupConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``[startup]``; each default is what a profile without the key gets."""

    internal: ClassVar[tuple[str, ...]] = ("cpus", "runner_from")
    args: tuple[str, ...] = ()
    ready: Annotated[Ready, parse_ready] = Ready()
    env: Env = {}
    runs: Annotated[int, msgspec.Meta(ge=1)] = defaults.RUNS
    warmup: Annotated[int, msgspec.Meta(ge=0)] = defaults.WARMUP
    trace_runs: Annotated[int, msgspec.Meta(ge=0)] = defaults.TRACE_RUNS
    timeout: Seconds = defaults.TIMEOUT
    cold: bool = True
    grace: Seconds = defaults.GRACE
    cpus: int | None = None  # the command line's --cpus only
    argv0: Argv0 | None = None  # default: the path
    runner: tuple[Annotated[str, msgspec.Meta(min_length=1)], ...] = ()  # an argv prefix
    emulated: bool | None = None  # None: a runner named qemu-* is an emulator
    runner_from: str = "startup.runner"  # where runner was given, for messages
    each: tuple[StartupEach, ...] = ()  # per-build settings, by selector

    def for_build(self, build_id: str) -> StartupConfig:
        """The settings build_id runs with: the first ``each`` that selects it over these."""
        for each in self.each:
            if selects(each.select, build_id):
                given = {k: getattr(each, k) for k in PER_BUILD if getattr(each, k) is not None}
                if each.env is not None:
                    given["env"] = {**self.env, **each.env}
                return msgspec.structs.replace(self, **given)
        return self

    @property
    def emulator(self) -> bool:
        """The runs go through an emulator on this machine (figures labelled "emulated"):
        ``emulated``, or when it is not given, a runner whose program's name starts qemu-."""
        if self.emulated is not None:
            return self.emulated and bool(self.runner)
        return bool(self.runner) and os.path.basename(self.runner[0]).startswith("qemu-")

    @property
    def remote(self) -> bool:
        """The runs happen on a device the runner reaches (ssh): the files are copied there."""
        return bool(self.runner) and not self.emulator


def parse_config(source: object, raw: Any) -> StartupConfig:
    """A ``[startup]`` table (from a profile) as a StartupConfig; UsageError names the key."""
    table = dict(raw) if isinstance(raw, dict) else raw or {}
    tables = table.pop("each", []) if isinstance(table, dict) else []
    try:
        if not isinstance(tables, list):
            raise ProfileError(source, "startup.each: expected [[startup.each]] tables")
        each = tuple(
            decode(source, f"startup.each[{n}]", t, StartupEach) for n, t in enumerate(tables, 1)
        )
        config = decode(source, "startup", table, StartupConfig, each=each)
    except ProfileError as exc:  # a UsageError, as every other mistake in [startup]
        raise UsageError(exc.message) from None
    if config.emulated is not None and not config.runner:
        raise UsageError(f"{source}: startup.emulated: only means something with a runner")
    if not config.runner:
        return config
    return msgspec.structs.replace(config, runner_from=f"{source}: startup.runner")


def _ready(flag: str, kind: str, value: object) -> Ready:
    """--ready-KIND VALUE as a Ready; UsageError names the option (which names the kind)."""
    try:
        return parse_ready({kind: value})
    except ValueError as exc:  # ".port 0: a TCP port is 1-65535" -> "--ready-port 0: ..."
        text = str(exc)
        said = text.removeprefix(f".{kind}") if text.startswith(f".{kind}") else f": {text}"
        raise UsageError(flag + said) from None


class StartupOverrides(msgspec.Struct, frozen=True, kw_only=True):
    """What the command line sets over the profile's ``[startup]`` (None: keep the profile's)."""

    runs: int | None = None
    warmup: int | None = None
    timeout: str | None = None
    cold: bool | None = None
    cpus: int | None = None
    trace_runs: int | None = None
    ready_stdout: str | None = None
    ready_stderr: str | None = None
    ready_port: int | None = None
    argv0: str | None = None
    runner: str | None = None  # words, as a shell splits them


def _runner(text: str) -> tuple[str, ...]:
    """--runner's words; UsageError when there are none or the quoting is unfinished."""
    try:
        words = tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(f"--runner {text!r}: {exc}") from None
    if not words:
        raise UsageError("--runner: expected a command, e.g. 'ssh -o BatchMode=yes HOST'")
    return words


def apply_overrides(config: StartupConfig, given: StartupOverrides) -> StartupConfig:
    """config with the command line's values over it; UsageError names the option."""
    changes: dict[str, Any] = {}
    counts = {  # the whole-number keys, with their least
        f.name: f.type.ge
        for f in mi.type_info(StartupConfig).fields  # type: ignore[attr-defined]
        if isinstance(f.type, mi.IntType) and f.type.ge is not None
    }
    for key, least in (*counts.items(), ("cpus", 1)):
        value = getattr(given, key)
        if value is not None:
            if value < least:
                flag = key.replace("_", "-")
                raise UsageError(f"--{flag} {value}: expected {least} or more")
            changes[key] = value
    usable = len(os.sched_getaffinity(0))
    if given.cpus is not None and given.cpus > usable:  # was pinned to all of them, silently
        raise UsageError(f"--cpus {given.cpus}: buildopt may use {usable} CPU(s) here, at most")
    if given.timeout is not None:
        try:
            changes["timeout"] = parse_seconds(given.timeout)
        except UnitError as exc:
            raise UsageError(f"--timeout: {exc}") from exc
    if given.cold is not None:
        changes["cold"] = given.cold
    if given.argv0 is not None:
        changes["argv0"] = given.argv0
    if given.runner is not None:
        changes["runner"] = _runner(given.runner)
        changes["runner_from"] = "--runner"
    readies = {
        f"--ready-{kind}": (kind, value)
        for kind, value in (
            ("stdout", given.ready_stdout),
            ("stderr", given.ready_stderr),
            ("port", given.ready_port),
        )
        if value is not None
    }
    if len(readies) > 1:
        raise UsageError(f"{' and '.join(readies)}: give one way to tell readiness")
    for flag, (kind, value) in readies.items():
        changes["ready"] = _ready(flag, kind, value)
    return given_wins(msgspec.structs.replace(config, **changes), set(changes))


def given_wins(config: StartupConfig, keys: set[str]) -> StartupConfig:
    """config with keys, given on the command line for every run, taken out of its
    ``[[startup.each]]`` tables (which would set them again for the builds they select)."""
    wins = {k: None for k in PER_BUILD if k in keys}
    if not wins or not config.each:
        return config
    each = tuple(msgspec.structs.replace(e, **wins) for e in config.each)
    return msgspec.structs.replace(config, each=each)
