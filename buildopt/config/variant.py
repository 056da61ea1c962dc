"""The keys of a variant, defined once: VariantSettings holds each with its type and default (a
build record keeps a variant's as they are, buildopt.record.model), Variant is one named way to
build. The models of the tables layered into a variant - ``[defaults]``, ``[variants.NAME]``,
``[matrix]`` - are derived from VariantSettings; ProfileFile is the top of a profile file.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from buildopt.config.keys import Words, toml_value
from buildopt.config.target import Target, parse_target

Strip = Literal["none", "dwarf", "all"]
LinkMode = Literal["internal", "external"]
BuildMode = Literal["exe", "pie"]
Strs = tuple[str, ...]

_TAG_RE = re.compile(r"[A-Za-z0-9_.]+")
ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# [matrix].toolchain is not an axis of variant names but of ids: every variant is built with
# each Go release (static@linux-arm64@go1.24.13), unless it names its own.
RELEASE_RE = re.compile(r"go1\.[0-9]+(\.[0-9]+)?((rc|beta)[0-9]+)?")


def is_build_tag(tag: str) -> bool:
    """Whether tag is one build tag as a profile takes it (letters, digits, _ .)."""
    return _TAG_RE.fullmatch(tag) is not None


# --- the values that need more than a type (each a parser: buildopt.config.keys) -------------
# A parser passes on a value of the wrong type: the model then says what the key takes.


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(i, str) for i in value)


def _build_tags(value: Any) -> Any:
    """Build tags, each once, in order."""
    if not _strings(value):
        return value
    for tag in value:
        if not is_build_tag(tag):
            raise ValueError(f"{toml_value(tag)} is not a build tag (letters, digits, _ .)")
    return tuple(dict.fromkeys(value))


def parse_targets(value: Any) -> Any:
    """``GOOS/GOARCH[/SUB]`` specs, each once, written as parse_target writes them."""
    if not _strings(value):
        return value
    specs: list[str] = []
    for text in value:
        spec = parse_target(text).spec
        if spec in specs:
            raise ValueError(f"{toml_value(spec)} is listed twice")
        specs.append(spec)
    return tuple(specs)


def _releases(value: Any) -> Any:
    """Go releases as GOTOOLCHAIN takes them, each once."""
    if not _strings(value):
        return value
    for release in value:
        if not RELEASE_RE.fullmatch(release):
            raise ValueError(f"{toml_value(release)} is not a Go release like 'go1.24.13'")
    if not value:
        raise ValueError("expected a non-empty list of Go releases, got []")
    if len(set(value)) != len(value):
        raise ValueError("expected distinct Go releases")
    return tuple(value)


def file_name(value: Any) -> Any:
    if isinstance(value, str) and (
        not value or "/" in value or "\\" in value or value in (".", "..")
    ):
        raise ValueError(f"{toml_value(value)} is not a plain file name")
    return value


def _env_name(key: str) -> str:
    if not ENV_NAME_RE.fullmatch(key):
        raise ValueError(f"{toml_value(key)} is not an environment variable name")
    return key


def _x_name(key: str) -> str:
    if not key or "=" in key or any(c.isspace() for c in key):
        raise ValueError(f"{toml_value(key)} is not an importpath.name")
    return key


def _program_names(value: Any) -> Any:
    """Program names (of the profile's ``packages``), each once, at least one."""
    if not _strings(value):
        return value
    if not value:
        raise ValueError("expected a non-empty list of program names, got []")
    for name in value:
        if value.count(name) > 1:  # (a typo of another name, as likely as a repeat)
            raise ValueError(f"{name!r} twice")
    return tuple(value)


Tags = Annotated[Strs, _build_tags]
Programs = Annotated[Strs, _program_names]
Targets = Annotated[Strs, parse_targets]
Releases = Annotated[Strs, _releases]
FileName = Annotated[str, file_name]


# --- the models ------------------------------------------------------------------------------


class VariantSettings(msgspec.Struct, frozen=True, kw_only=True):
    """A variant's go build knobs, resolved: the keys of ``[variants.NAME]`` in order. (A
    record from a later buildopt may hold more: they are ignored; a profile's are refused.)"""

    description: str = ""
    cgo: bool | None = None
    strip: Strip = "none"
    linkmode: LinkMode | None = None
    extldflags: Strs = ()
    buildmode: BuildMode | None = None
    trimpath: bool = False
    tags: Tags = ()
    x: dict[Annotated[str, _x_name], str] = {}  # -X importpath.name=value
    gcflags: Strs = ()
    asmflags: Strs = ()
    ldflags: Strs = ()
    flags: Strs = ()
    env: dict[Annotated[str, _env_name], str] = {}
    buildid: str | None = None
    output: FileName | None = None
    targets: Targets | None = None  # the profile's, unless set
    toolchain: Releases | None = None  # Go releases to build with (GOTOOLCHAIN)
    programs: Programs | None = None  # of a profile's packages, the ones it builds; None: all


class Variant(VariantSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One named way to build."""

    internal: ClassVar[Strs] = ("name", "origin")
    name: str
    origin: str = ""  # where it is declared: variants.NAME, or matrix

    @property
    def parsed_targets(self) -> tuple[Target, ...] | None:
        return None if self.targets is None else tuple(map(parse_target, self.targets))

    def settings(self) -> VariantSettings:
        """The knobs alone (for plan output and build records)."""
        return VariantSettings(**{k: getattr(self, k) for k in VARIANT_KEYS})


class ListEdit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``{ append = [...], remove = [...] }``: an edit of an inherited list."""

    unknown: ClassVar[str] = "{where}: unknown list edit {key!r}; use append or remove, got {got}"
    words: ClassVar[str] = ""  # a list's messages say what the list takes
    append: Strs = ()
    remove: Strs = ()

    def apply(self, base: Sequence[str]) -> list[str]:
        kept = [i for i in base if i not in self.remove]
        return kept + [i for i in self.append if i not in kept]

    def then(self, later: ListEdit) -> ListEdit:
        """One edit equal to applying self, then later (which appends nothing self's edit
        left in place)."""
        kept = tuple(i for i in self.append if i not in later.remove)
        append = kept + tuple(i for i in later.append if i not in kept)
        return ListEdit(append, self.remove + later.remove)


VARIANT_KEYS: Strs = VariantSettings.__struct_fields__
_TYPES = typing.get_type_hints(VariantSettings, include_extras=True)
# lists that a layer may edit (targets and toolchain it may only replace)
LIST_KEYS = frozenset(k for k, t in _TYPES.items() if Strs in (t, *typing.get_args(t)))
MAP_KEYS = frozenset(k for k, t in _TYPES.items() if typing.get_origin(t) is dict)
_LAYER = {k: t | ListEdit if k in LIST_KEYS else t for k, t in _TYPES.items()}
_NOT_AXES = ("description", "output", "targets", "x", "env", "toolchain", "programs")
_AXES = [k for k in VARIANT_KEYS if k not in _NOT_AXES]


class _Matrix(msgspec.Struct):
    unknown: ClassVar[str] = "{name}: not a matrix axis{hint}"


def _layer(name: str, keys: Sequence[str], *extra: str) -> type[msgspec.Struct]:
    """The model of a table that sets some variant keys over those it inherits (and the keys
    of a layer alone, extra, which say where its values come from)."""
    fields = [(k, _LAYER[k] | None, None) for k in keys]
    fields += [(k, str | None, None) for k in extra]
    return msgspec.defstruct(name, fields, kw_only=True, forbid_unknown_fields=True)


# Keys of a layer that no resolved variant has: what they say is in its other keys by then.
EXTENDS = "extends"  # [variants.NAME]: the variant it is layered over
TAGS_FILE = "tags_file"  # its tags, one a line, in a file beside the profile
VariantLayer = _layer("VariantLayer", VARIANT_KEYS, EXTENDS, TAGS_FILE)
DefaultsLayer = _layer(
    "DefaultsLayer", [k for k in VARIANT_KEYS if k not in ("targets", "output")], TAGS_FILE
)
NonEmpty = msgspec.Meta(min_length=1)
Axis = Words("a non-empty list of values")
Matrix = msgspec.defstruct(
    "Matrix",
    [
        *((k, Annotated[list[_LAYER[k]], NonEmpty, Axis] | None, None) for k in _AXES),  # type: ignore[valid-type]
        ("toolchain", Releases | None, None),
        ("exclude", list[dict[str, Any]], []),
    ],
    bases=(_Matrix,),
    kw_only=True,
    forbid_unknown_fields=True,
)


def _schema(value: Any) -> Any:
    """The one schema this buildopt reads (a value not a whole number: the model says so)."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if whole and value != SCHEMA_VERSION:
        raise ValueError(f"this buildopt reads schema {SCHEMA_VERSION}, not {value}")
    return value


SCHEMA_VERSION = 1
CONCATENATED = ("budget", "image")  # a child's budgets add to its parent's
TOP_TABLES = ("defaults", "variants", "matrix", "startup", "scan")


class ProfileFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The top level of a profile file (its tables each have a model of their own)."""

    schema: Annotated[int, _schema] = SCHEMA_VERSION
    description: str = ""
    extends: str | None = None
    root: str | None = None
    allow_exec: bool = False  # -toolexec and -exec in flags, env.GOFLAGS
    package: str | None = None
    packages: (
        Annotated[list[str], NonEmpty, Words("a non-empty list of package directories")] | None
    ) = None
    binary: FileName | None = None
    targets: Targets | ListEdit = ()
    baseline: str | None = None
    # what computes max_compressed sizes: the libraries buildopt runs on, or the installed tools
    compressor: Literal["library", "cli"] = "library"
    # who owns the strings and types of a stripped binary: the linker (a twin link) or no one
    owners: Literal["linker", "symbols"] = "linker"
    budget: Annotated[list[dict[str, Any]], Words("[[budget]] tables")] = []
    image: Annotated[list[dict[str, Any]], Words("[[image]] tables")] = []
    defaults: dict[str, Any] = {}
    variants: Annotated[dict[str, dict[str, Any]], Words("a table of [variants.NAME] tables")] = {}
    matrix: dict[str, Any] = {}
    startup: dict[str, Any] = {}
    scan: dict[str, Any] = {}
    sweep: dict[str, Any] = {}  # config/sweep.py
