"""What the Go toolchain says of itself: version, host, and the targets it can build.

Pure facts, filled by buildopt.system.toolchain (which runs ``go env -json`` and ``go tool dist
list -json``) and passed to the planner, so that planning starts no process.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from buildopt.errors import ToolchainError


class Platform(msgspec.Struct, frozen=True):
    goos: str
    goarch: str
    cgo_supported: bool
    first_class: bool


class Toolchain(msgspec.Struct, frozen=True):
    go: str
    version: str
    goroot: str
    hostos: str
    hostarch: str
    platforms: Mapping[str, Platform]
    env: Mapping[str, str]

    def platform(self, goos: str, goarch: str) -> Platform | None:
        return self.platforms.get(f"{goos}/{goarch}")

    def is_host(self, goos: str, goarch: str) -> bool:
        return (goos, goarch) == (self.hostos, self.hostarch)


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
