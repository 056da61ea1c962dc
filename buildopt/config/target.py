"""Build targets: ``GOOS/GOARCH[/SUB]`` where SUB sets the architecture's level variable.

``linux/arm/v7`` sets GOARM=7, ``linux/amd64/v3`` GOAMD64=v3, ``linux/arm64/v8.2`` GOARM64=v8.2,
``linux/mips/softfloat`` GOMIPS=softfloat. The valid GOOS/GOARCH pairs come from the toolchain
(``go tool dist list``); this module only knows which variable each architecture's level uses.
"""

from __future__ import annotations

import re

import msgspec

# GOARCH -> (environment variable, accepted values). Mirrors cmd/go's cfg.GetArchEnv.
_LEVELS: dict[str, tuple[str, str]] = {
    "arm": ("GOARM", r"v?[567](,(softfloat|hardfloat))?"),
    "amd64": ("GOAMD64", r"v[1-4]"),
    "arm64": ("GOARM64", r"v8\.[0-9]|v9\.[0-5](,(lse|crypto))*"),
    "386": ("GO386", r"sse2|softfloat"),
    "mips": ("GOMIPS", r"hardfloat|softfloat"),
    "mipsle": ("GOMIPS", r"hardfloat|softfloat"),
    "mips64": ("GOMIPS64", r"hardfloat|softfloat"),
    "mips64le": ("GOMIPS64", r"hardfloat|softfloat"),
    "ppc64": ("GOPPC64", r"power(8|9|10)"),
    "ppc64le": ("GOPPC64", r"power(8|9|10)"),
    "riscv64": ("GORISCV64", r"rva2[023]u64"),
    "wasm": ("GOWASM", r"(satconv|signext)(,(satconv|signext))*"),
}
_NAME = re.compile(r"[a-z0-9]+")


class TargetSyntaxError(ValueError):
    """A target string is not GOOS/GOARCH[/SUB]."""


class Target(msgspec.Struct, frozen=True, order=True):
    goos: str
    goarch: str
    sub: str = ""

    @property
    def spec(self) -> str:
        return "/".join(p for p in (self.goos, self.goarch, self.sub) if p)

    @property
    def id(self) -> str:
        """Path- and id-safe form: ``linux-arm-v7``."""
        return "-".join(p for p in (self.goos, self.goarch, self.sub.replace(",", "+")) if p)

    @property
    def pair(self) -> str:
        return f"{self.goos}/{self.goarch}"

    def env(self) -> dict[str, str]:
        """GOOS, GOARCH and the level variable, as go build needs them."""
        env = {"GOOS": self.goos, "GOARCH": self.goarch}
        if self.sub:
            var, _ = _LEVELS[self.goarch]
            env[var] = self.sub[1:] if var == "GOARM" and self.sub.startswith("v") else self.sub
        return env


def parse_target(text: str) -> Target:
    """Parse ``GOOS/GOARCH[/SUB]``; the pair itself is checked against the toolchain later."""
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(_NAME.fullmatch(p) for p in parts[:2]):
        raise TargetSyntaxError(f"{text!r} is not GOOS/GOARCH[/SUB], e.g. 'linux/arm64'")
    goos, goarch = parts[0], parts[1]
    sub = parts[2] if len(parts) == 3 else ""
    if len(parts) == 3 and not sub:
        raise TargetSyntaxError(f"{text!r}: an empty sub-architecture after the last '/'")
    if sub:
        level = _LEVELS.get(goarch)
        if level is None:
            raise TargetSyntaxError(f"{text!r}: GOARCH {goarch} takes no sub-architecture")
        var, pattern = level
        if not re.fullmatch(pattern, sub):
            raise TargetSyntaxError(f"{text!r}: {sub!r} is not a valid {var} value")
        if goarch == "arm" and not sub.startswith("v"):
            sub = "v" + sub
    return Target(goos, goarch, sub)
