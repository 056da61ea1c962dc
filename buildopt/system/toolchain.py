"""Find the Go toolchain and ask it for facts instead of hard-coding them.

Valid targets and their cgo support come from ``go tool dist list -json``; host platform,
version and defaults from ``go env -json``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field

from buildopt.errors import ToolchainError
from buildopt.system import proc

FALLBACK_GO = "/usr/local/go/bin/go"
GO_ENV_VAR = "BUILDOPT_GO"
QUERY_TIMEOUT = 120.0


@dataclass(frozen=True)
class Platform:
    goos: str
    goarch: str
    cgo_supported: bool
    first_class: bool


@dataclass(frozen=True)
class Toolchain:
    go: str
    version: str
    goroot: str
    hostos: str
    hostarch: str
    platforms: Mapping[str, Platform] = field(hash=False)
    env: Mapping[str, str] = field(hash=False)

    def platform(self, goos: str, goarch: str) -> Platform | None:
        return self.platforms.get(f"{goos}/{goarch}")

    def is_host(self, goos: str, goarch: str) -> bool:
        return (goos, goarch) == (self.hostos, self.hostarch)


def find_go(environ: Mapping[str, str]) -> str:
    """Path of the go command: $BUILDOPT_GO, else go on PATH, else /usr/local/go/bin/go."""
    explicit = environ.get(GO_ENV_VAR)
    if explicit:
        found = shutil.which(explicit, path=environ.get("PATH"))
        if found is None:
            raise ToolchainError(f"{GO_ENV_VAR}={explicit}: no such executable")
        return found
    found = shutil.which("go", path=environ.get("PATH"))
    if found:
        return found
    if os.access(FALLBACK_GO, os.X_OK):
        return FALLBACK_GO
    raise ToolchainError(
        "Go toolchain not found: no 'go' on PATH nor at /usr/local/go/bin/go "
        f"(install Go from https://go.dev/dl/ or set {GO_ENV_VAR})"
    )


def _query_json(argv: list[str], environ: Mapping[str, str]) -> object:
    try:
        done = proc.run(argv, env=environ, timeout=QUERY_TIMEOUT)
    except proc.CommandFailed as exc:
        raise ToolchainError(f"the Go toolchain did not answer: {exc.message}") from exc
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ToolchainError(f"{proc.display(argv)} printed no JSON: {exc}") from exc


def parse_dist_list(data: object) -> dict[str, Platform]:
    """Platforms from the JSON of ``go tool dist list -json``."""
    if not isinstance(data, list):
        raise ToolchainError("go tool dist list -json: expected a JSON list")
    platforms: dict[str, Platform] = {}
    for item in data:
        if not isinstance(item, dict):
            continue
        goos, goarch = str(item.get("GOOS", "")), str(item.get("GOARCH", ""))
        platforms[f"{goos}/{goarch}"] = Platform(
            goos, goarch, bool(item.get("CgoSupported")), bool(item.get("FirstClass"))
        )
    return platforms


def load(environ: Mapping[str, str]) -> Toolchain:
    """Ask the Go toolchain named by ``environ`` for its version, host and targets."""
    go = find_go(environ)
    goenv = _query_json([go, "env", "-json"], environ)
    if not isinstance(goenv, dict):
        raise ToolchainError("go env -json: expected a JSON object")
    env = {str(k): str(v) for k, v in goenv.items()}
    platforms = parse_dist_list(_query_json([go, "tool", "dist", "list", "-json"], environ))
    return Toolchain(
        go=go,
        version=env.get("GOVERSION", "unknown"),
        goroot=env.get("GOROOT", ""),
        hostos=env.get("GOHOSTOS", ""),
        hostarch=env.get("GOHOSTARCH", ""),
        platforms=platforms,
        env=env,
    )
