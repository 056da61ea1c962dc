"""The keys a profile may set, each with the check of its TOML value, and the Variant they
make: one named way to build, every go build knob resolved and validated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Literal, get_args

from buildopt.config.target import Target

Strip = Literal["none", "dwarf", "all"]
LinkMode = Literal["internal", "external"]
BuildMode = Literal["exe", "pie"]

_TAG_RE = re.compile(r"[A-Za-z0-9_.]+")


def is_build_tag(tag: str) -> bool:
    """Whether tag is one build tag as a profile takes it (letters, digits, _ .)."""
    return _TAG_RE.fullmatch(tag) is not None


ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- the allowed keys ------------------------------------------------------------------------

Checker = Callable[[object], str | None]


def _is_bool(v: object) -> str | None:
    return None if isinstance(v, bool) else "expected true or false"


def _is_str(v: object) -> str | None:
    return None if isinstance(v, str) else "expected a string"


def _is_int(v: object) -> str | None:
    return None if isinstance(v, int) and not isinstance(v, bool) else "expected an integer"


def _one_of(*choices: str) -> Checker:
    def check(v: object) -> str | None:
        if v in choices:
            return None
        return "expected one of " + ", ".join(f'"{c}"' for c in choices)

    return check


def _str_list(v: object) -> str | None:
    if isinstance(v, list) and all(isinstance(i, str) for i in v):
        return None
    return "expected a list of strings"


def _list_or_edit(v: object) -> str | None:
    """A list of strings, or ``{ append = [...], remove = [...] }`` editing the inherited list."""
    if isinstance(v, dict):
        unknown = set(v) - {"append", "remove"}
        if unknown:
            return f"unknown list edit {sorted(unknown)[0]!r}; use append or remove"
        for key, items in v.items():
            if _str_list(items):
                return f"{key}: expected a list of strings"
        return None
    return _str_list(v)


def _str_map(v: object) -> str | None:
    if isinstance(v, dict) and all(isinstance(i, str) for i in v.values()):
        return None
    return "expected a table of strings"


_STRIP, _LINKMODE, _BUILDMODE = (_one_of(*get_args(t)) for t in (Strip, LinkMode, BuildMode))


def _key(check: Checker) -> dict[str, Checker]:
    """The metadata of a Variant field that a profile sets as a key of [variants.NAME]: the
    check of its TOML value. VARIANT_KEYS is made of these."""
    return {"check": check}


# [matrix].toolchain is not an axis of variant names but of ids: every variant is built with
# each Go release (static@linux-arm64@go1.24.13), unless it names its own.
RELEASE_RE = re.compile(r"go1\.[0-9]+(\.[0-9]+)?((rc|beta)[0-9]+)?")

TOP_KEYS: dict[str, Checker] = {
    "schema": _is_int,
    "description": _is_str,
    "extends": _is_str,
    "root": _is_str,
    "allow_exec": _is_bool,
    "package": _is_str,
    "binary": _is_str,
    "targets": _list_or_edit,
    "baseline": _is_str,
    # what computes max_compressed sizes: the libraries buildopt runs on, or the installed tools
    "compressor": _one_of("library", "cli"),
    "budget": lambda v: (
        None
        if isinstance(v, list) and all(isinstance(t, dict) for t in v)
        else "expected [[budget]] tables"
    ),
    "image": lambda v: (
        None
        if isinstance(v, list) and all(isinstance(t, dict) for t in v)
        else "expected [[image]] tables"
    ),
}
CONCATENATED = ("budget", "image")  # a child's budgets add to its parent's
TOP_TABLES = ("defaults", "variants", "matrix", "startup", "scan")


# --- facts -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Variant:
    """One named way to build: every go build knob, resolved and validated."""

    name: str
    description: str = field(default="", metadata=_key(_is_str))
    cgo: bool | None = field(default=None, metadata=_key(_is_bool))
    strip: Strip = field(default="none", metadata=_key(_STRIP))
    linkmode: LinkMode | None = field(default=None, metadata=_key(_LINKMODE))
    extldflags: tuple[str, ...] = field(default=(), metadata=_key(_list_or_edit))
    buildmode: BuildMode | None = field(default=None, metadata=_key(_BUILDMODE))
    trimpath: bool = field(default=False, metadata=_key(_is_bool))
    tags: tuple[str, ...] = field(default=(), metadata=_key(_list_or_edit))
    x: tuple[tuple[str, str], ...] = field(default=(), metadata=_key(_str_map))
    gcflags: tuple[str, ...] = field(default=(), metadata=_key(_list_or_edit))
    asmflags: tuple[str, ...] = field(default=(), metadata=_key(_list_or_edit))
    ldflags: tuple[str, ...] = field(default=(), metadata=_key(_list_or_edit))
    flags: tuple[str, ...] = field(default=(), metadata=_key(_list_or_edit))
    env: tuple[tuple[str, str], ...] = field(default=(), metadata=_key(_str_map))
    buildid: str | None = field(default=None, metadata=_key(_is_str))
    output: str | None = field(default=None, metadata=_key(_is_str))
    targets: tuple[Target, ...] | None = field(default=None, metadata=_key(_str_list))
    # Go releases to build with (GOTOOLCHAIN)
    toolchain: tuple[str, ...] | None = field(default=None, metadata=_key(_str_list))
    origin: str = ""

    def settings(self) -> dict[str, object]:
        """The knobs as plain data (for plan output and build records)."""
        out: dict[str, object] = {}
        for key in VARIANT_KEYS:
            value = getattr(self, key)
            if key in MAP_KEYS:
                value = dict(value)
            elif key == "targets":
                value = None if value is None else [t.spec for t in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


# The keys of a [variants.NAME] table, in Variant's order, each with its check.
VARIANT_KEYS: dict[str, Checker] = {
    f.name: f.metadata["check"] for f in fields(Variant) if "check" in f.metadata
}
LIST_KEYS = frozenset(k for k, c in VARIANT_KEYS.items() if c is _list_or_edit)
MAP_KEYS = frozenset({"x", "env"})
DEFAULTS_KEYS = {k: c for k, c in VARIANT_KEYS.items() if k not in ("targets", "output")}
MATRIX_AXES = frozenset(VARIANT_KEYS) - {"description", "output", "targets", "x", "env"}
