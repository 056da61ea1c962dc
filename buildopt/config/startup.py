"""The ``[startup]`` table of a profile: how ``buildopt startup`` runs each variant.

Checked when the profile is loaded (``buildopt plan`` reports a typo here as anywhere else);
the command line's ``--runs``, ``--ready-port`` ... override it in buildopt.cli.commands.startup.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from buildopt.config.keys import unknown_key
from buildopt.config.units import UnitError, parse_seconds
from buildopt.errors import UsageError


@dataclass(frozen=True)
class Ready:
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


@dataclass(frozen=True, kw_only=True)
class StartupConfig:
    args: tuple[str, ...] = ()
    ready: Ready = Ready()
    env: Mapping[str, str] = field(default_factory=dict, hash=False)
    runs: int = 30
    warmup: int = 3
    trace_runs: int = 3  # runs with GODEBUG tracing, for GC cycles and init costs only
    timeout: float = 10.0
    cold: bool = True
    grace: float = 2.0
    cpus: int | None = None  # the command line's --cpus only


DEFAULTS = StartupConfig()  # what a profile without [startup], or without one of its keys, gets
STARTUP_KEYS = tuple(f.name for f in fields(StartupConfig) if f.name != "cpus")
COUNTS = {"runs": 1, "warmup": 0, "trace_runs": 0}  # the whole-number keys, with their least


def parse_config(source: object, raw: Mapping[str, Any] | None) -> StartupConfig:
    """A ``[startup]`` table (from a profile) as a StartupConfig; UsageError names the key."""
    raw = dict(raw or {})
    problem = unknown_key("startup", raw, STARTUP_KEYS)
    if problem:  # a UsageError, as every other mistake in [startup]
        raise UsageError(f"{source}: {problem}")
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UsageError(f"{source}: startup.args: expected a list of strings")
    try:
        timeout = parse_seconds(raw["timeout"]) if "timeout" in raw else DEFAULTS.timeout
        grace = parse_seconds(raw["grace"]) if "grace" in raw else DEFAULTS.grace
    except UnitError as exc:
        raise UsageError(f"{source}: startup.timeout/grace: {exc}") from exc
    counts = {key: raw.get(key, getattr(DEFAULTS, key)) for key in COUNTS}
    for key, least in COUNTS.items():
        value = counts[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise UsageError(f"{source}: startup.{key}: expected a whole number >= {least}")
    env = raw.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise UsageError(f"{source}: startup.env: expected a table of strings")
    for name in env:
        if not name or "=" in name:
            raise UsageError(
                f"{source}: startup.env.{name}: a variable's name must be non-empty, without '='"
            )
    cold = raw.get("cold", DEFAULTS.cold)
    if not isinstance(cold, bool):
        raise UsageError(f"{source}: startup.cold: expected true or false")
    return StartupConfig(
        args=tuple(args),
        ready=parse_ready(source, raw.get("ready")),
        env=env,
        **counts,
        timeout=timeout,
        cold=cold,
        grace=grace,
    )


def parse_ready(source: object, value: object) -> Ready:
    if value is None or value == "exit":
        return Ready()
    if isinstance(value, dict) and len(value) == 1:
        ((kind, arg),) = value.items()
        if kind in ("stdout", "stderr") and isinstance(arg, str):
            try:
                re.compile(arg)
            except re.error as exc:
                raise UsageError(f"{source}: startup.ready.{kind}: bad regex: {exc}") from exc
            return Ready(kind, pattern=arg)
        if kind == "port" and isinstance(arg, int) and not isinstance(arg, bool):
            if not 0 < arg < 65536:
                raise UsageError(f"{source}: startup.ready.port {arg}: a TCP port is 1-65535")
            return Ready("port", port=arg)
    raise UsageError(
        f'{source}: startup.ready: expected {{ stdout = "regex" }}, '
        f'{{ stderr = "regex" }}, {{ port = N }} or "exit"'
    )


@dataclass(frozen=True, kw_only=True)
class StartupOverrides:
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


def apply_overrides(config: StartupConfig, given: StartupOverrides) -> StartupConfig:
    """config with the command line's values over it; UsageError names the option."""
    changes: dict[str, Any] = {}
    for key, least in (*COUNTS.items(), ("cpus", 1)):
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
    if given.ready_stdout is not None:
        changes["ready"] = parse_ready("--ready-stdout", {"stdout": given.ready_stdout})
    readies = [
        flag
        for flag, value in (
            ("--ready-stdout", given.ready_stdout),
            ("--ready-stderr", given.ready_stderr),
            ("--ready-port", given.ready_port),
        )
        if value is not None
    ]
    if len(readies) > 1:
        raise UsageError(f"{' and '.join(readies)}: give one way to tell readiness")
    if given.ready_stderr is not None:
        changes["ready"] = parse_ready("--ready-stderr", {"stderr": given.ready_stderr})
    if given.ready_port is not None:
        if not 0 < given.ready_port < 65536:
            raise UsageError(f"--ready-port {given.ready_port}: a TCP port is 1-65535")
        changes["ready"] = parse_ready("--ready-port", {"port": given.ready_port})
    return replace(config, **changes)
