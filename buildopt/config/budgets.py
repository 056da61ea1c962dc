"""Budgets from a profile's ``[[budget]]`` and ``[[image]]`` tables, validated into facts.

Every problem is a ProfileError naming the file and the key (``budget[2].max_size``), exit 2.
The tables are checked when the profile is loaded; whether each ``select`` pattern matches a
variant id is checked by ``check_selectors`` once the ids are known (they depend on the host's
target when a profile names none).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import msgspec

from buildopt.config.ids import point_of, variant_of
from buildopt.config.keys import Words, decode, key_path, toml_value
from buildopt.config.units import Milliseconds, Size, parse_percent, parse_size
from buildopt.errors import ProfileError, visible
from buildopt.names import CATEGORIES, FORMATS, Format

T = TypeVar("T", bound=msgspec.Struct)
SQUASHFS_KEYS = (
    "compressor",
    "block_size",
    "files",
    "links",
    "layout",
    "erase_block",
    "max_erase_blocks",
)
MAX_LINK_TARGET = 4096  # PATH_MAX, with its NUL: what symlink(2) takes
MAX_NAME = 255  # NAME_MAX: the bytes of one name in a path (squashfs takes 256, Linux 255)
SOURCE_KEY = "__source__"  # (file, "budget[N]") of a budget table, for messages after merging


class Growth(msgspec.Struct, frozen=True):
    fraction: float | None  # 0.02 for "2%"
    absolute: int | None  # bytes for "100 kB"


# --- the values that need more than a type (each a parser: buildopt.config.keys) -------------


def _growth(value: Any) -> Growth:
    if isinstance(value, str) and value.strip().endswith("%"):
        return Growth(parse_percent(value), None)
    return Growth(None, parse_size(value))


def _select(value: Any) -> tuple[str, ...]:
    patterns = [value] if isinstance(value, str) else value
    if (
        not patterns
        or not isinstance(patterns, list)
        or not all(isinstance(p, str) for p in patterns)
    ):
        raise ValueError("expected an id pattern or a list of them")
    return tuple(patterns)


def _one_of(names: Sequence[str], refusal: str) -> Callable[[Any], Any]:
    """A parser taking one of names; refusal says why not (with ``{value}``, ``{names}``)."""

    def parse(value: Any) -> Any:
        if value not in names:
            raise ValueError(refusal.format(value=toml_value(value), names=", ".join(names)))
        return value

    return parse


def _name(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value


def _image_path(value: Any) -> str:
    """An absolute path inside the image, without . or .. parts."""
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.endswith("/")
        or any(part in ("", ".", "..") for part in value[1:].split("/"))
    ):
        raise ValueError(f"expected an absolute path in the image, got {toml_value(value)}")
    if visible(value) != value:  # a newline splits unsquashfs -lln's line the check reads
        raise ValueError(f"{toml_value(value)} holds a control character (a newline?)")
    _check_lengths(value)
    return value


def _check_lengths(path: str) -> None:
    """What Linux takes of a path: each name at most NAME_MAX bytes, the whole under PATH_MAX."""
    if len(path.encode()) >= MAX_LINK_TARGET:
        raise ValueError(
            f"a path of {len(path.encode())} bytes (Linux takes {MAX_LINK_TARGET - 1})"
        )
    for part in path.split("/"):
        if len(part.encode()) > MAX_NAME:
            raise ValueError(
                f"a name of {len(part.encode())} bytes ({toml_value(part[:16])}...; "
                f"Linux takes {MAX_NAME})"
            )


def _link_target(value: Any) -> str:
    """What a link in an image points at: an image path, or a path relative to the link's
    folder (``sbin/daemon``, ``../sbin/daemon``); pipeline.image checks that it leads to
    something the image holds."""
    if isinstance(value, str) and len(value.encode()) >= MAX_LINK_TARGET:
        raise ValueError(
            f"a link target of {len(value.encode())} bytes (Linux takes {MAX_LINK_TARGET - 1})"
        )
    if not isinstance(value, str) or value.startswith("/"):
        return _image_path(value)
    if not value or value.endswith("/") or "" in value.split("/"):
        raise ValueError(f"expected a path in the image, got {toml_value(value)}")
    if visible(value) != value:
        raise ValueError(f"{toml_value(value)} holds a control character (a newline?)")
    _check_lengths(value)
    return value


def _block_size(value: Any) -> int:
    if parse_size(value) not in [1 << n for n in range(12, 21)]:
        raise ValueError("a power of two from 4 KiB to 1 MiB (mksquashfs -b)")
    return parse_size(value)


def _positive(value: Any) -> int:
    if parse_size(value) <= 0:
        raise ValueError("expected more than 0 bytes")
    return parse_size(value)


def _source(value: Any) -> Any:
    if not isinstance(value, str) or not value or "\0" in value:
        raise ValueError("expected a file of the project")
    return value


def _file_mode(value: Any) -> int:
    """Permission bits as octal text ("0644", "600"): no set-id or sticky bits in an image."""
    if not isinstance(value, str) or not re.fullmatch(r"0?[0-7]{3}", value):
        raise ValueError(f'expected permission bits in octal, like "0644", got {toml_value(value)}')
    return int(value, 8)


def _paths(value: Any) -> Any:
    """Paths relative to the project root (load_profile resolves them)."""
    strings = isinstance(value, list) and all(isinstance(p, str) for p in value)
    return [Path(p) for p in value] if strings else value


def _file(value: Any) -> Any:
    """image path = a project file, or { source = FILE, allow_outside = BOOL, mode = "0644" }."""
    return {"source": None, **value} if isinstance(value, dict) else {"source": value}


Level = Annotated[
    Literal["fail", "warn"], _one_of(("fail", "warn"), 'expected "fail" or "warn", got {value}')
]
Count = Annotated[int, msgspec.Meta(ge=0)]
Sizes = dict[str, Size]
ImagePath = Annotated[str, _image_path]
LinkTarget = Annotated[str, _link_target]


# --- the models ------------------------------------------------------------------------------


class _Table(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What every [[budget]] and [[image]] has."""

    internal: ClassVar[tuple[str, ...]] = ("source", "where")
    name: Annotated[str, _name]
    select: Annotated[tuple[str, ...], _select]
    level: Level = "fail"
    message: str = ""
    source: Path  # the profile file that declares it (it may be one the profile extends)
    where: str  # budget[1], for messages


class Budget(_Table, frozen=True, kw_only=True):
    """A ``[[budget]]``: limits on each selected build."""

    max_size: Size | None = None
    max_section: Sizes = {}
    max_category: dict[Annotated[str, _one_of(CATEGORIES, "not a category ({names})")], Size] = {}
    max_dwarf: Size | None = None
    max_symbols: Size | None = None
    static: bool | None = None
    allowed_needed: Annotated[tuple[str, ...], Words("a list of library names")] | None = None
    max_package: Sizes = {}
    max_module: Sizes = {}
    max_dwarf_package: Sizes = {}
    max_growth: Annotated[Growth, _growth] | None = None
    growth_floor: Size = 0
    max_startup_p95: Milliseconds | None = None
    max_rss: Size | None = None
    max_ram_static: Size | None = None  # what the loader maps (inspect's memory model)
    max_compressed: dict[Annotated[str, _one_of(FORMATS, "not a compressor ({names})")], Size] = {}
    max_gc_cycles: Count | None = None
    max_scan_errors: Count | None = None  # error-level findings of buildopt scan ([scan] enabled)
    dead_code: Literal["required"] | None = None  # the linker's method dead-code elimination on


class ImageFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An extra file of an image (``files``): a project file unless ``allow_outside``; its
    mode in the image is the source's permission bits unless ``mode`` is given."""

    internal: ClassVar[tuple[str, ...]] = ("path",)
    given: Annotated[str, _source] = msgspec.field(name="source")  # relative to the root
    path: Path = Path()  # root / given, not resolved: buildopt image resolves it when it reads it
    allow_outside: bool = False
    mode: Annotated[int, _file_mode] | None = None


class ImageBudget(_Table, frozen=True, kw_only=True):
    """An ``[[image]]``: without ``filesystem``, the sum of the selected binaries' sizes; with
    ``filesystem = "squashfs"``, a real image of them (and ``files``) that ``buildopt image``
    builds with mksquashfs, judged by its size, its erase blocks and each binary's share."""

    records: Annotated[
        tuple[Path, ...], _paths, Words("a list of build record paths")
    ] = ()  # other build records, resolved
    max_size: Size | None = None
    filesystem: Literal["squashfs"] | None = None
    compressor: Annotated[Format, _one_of(FORMATS, "expected one of {names}, got {value}")] = "xz"
    block_size: Annotated[int, _block_size] = 128 * 1024
    files: Annotated[
        dict[ImagePath, Annotated[ImageFile, _file]], Words("a table of image path = project file")
    ] = {}  # by image path
    links: Annotated[
        dict[ImagePath, LinkTarget], Words("a table of link path = target path")
    ] = {}  # symbolic links, by their path in the image
    layout: Annotated[dict[str, ImagePath], Words("a table of id pattern = image path")] = {}
    erase_block: Annotated[int, _positive] = 128 * 1024
    max_erase_blocks: Count | None = None
    max_share: Sizes = {}  # id pattern -> bytes

    def place(self, build_id: str, program: str) -> str:
        """Where a selected binary goes in the image: the first ``layout`` pattern that
        selects its id, else /usr/bin/PROGRAM (the build's own program name)."""
        for pattern, where in self.layout.items():
            if selects(pattern, build_id):
                return where
        return f"/usr/bin/{program}"


def selects(pattern: str, build_id: str) -> bool:
    """Whether a pattern (a budget's ``select``, ``--variant``) picks a build: with ``/`` it is
    matched against the whole id (``*/billing-ctl``: that program of every variant), with ``@``
    but no ``/`` against the point ``VARIANT@TARGET`` (``*@linux-arm64``: every program built
    there), without either against the variant's name (``static*``)."""
    if "/" in pattern:
        subject = build_id
    elif "@" in pattern:
        subject = point_of(build_id)
    else:
        subject = variant_of(build_id)
    return fnmatch.fnmatchcase(subject, pattern)


def matches(patterns: Sequence[str], build_id: str) -> bool:
    return any(selects(p, build_id) for p in patterns)


def parse_budgets(
    path: Path, root: Path, raw: Mapping[str, Any]
) -> tuple[tuple[Budget, ...], tuple[ImageBudget, ...]]:
    """Budgets and image budgets of a profile, every key and value checked."""
    budgets = tuple(
        _decode(path, "budget", i, table, Budget) for i, table in enumerate(raw.get("budget", []))
    )
    images = tuple(
        _image(root, table, _decode(path, "image", i, table, ImageBudget))
        for i, table in enumerate(raw.get("image", []))
    )
    _check_image_names(images)
    return budgets, images


def _decode(path: Path, key: str, index: int, table: Mapping[str, Any], model: type[T]) -> T:
    """A [[budget]] or [[image]] table, named by the file and the place it was written at (it
    may come from an extended file)."""
    source, where = table.get(SOURCE_KEY) or (path, f"{key}[{index + 1}]")
    plain = {k: v for k, v in table.items() if k != SOURCE_KEY}
    plain |= {"name": plain.get("name", where), "select": plain.get("select")}  # read last
    return decode(source, where, plain, model, source=source, where=where)


def _check_image_names(images: Sequence[ImageBudget]) -> None:
    """An image's name is its identity: its file, its record, its checks, ``image --name``."""
    seen: dict[str, ImageBudget] = {}
    for image in images:
        other = seen.setdefault(image.name, image)
        if other is not image:
            place = (
                other.where if other.source == image.source else f"{other.where} of {other.source}"
            )
            raise ProfileError(
                image.source,
                f"{image.where}.name: {image.name!r} is also the name of {place} (name each image)",
            )


def check_selectors(
    budgets: Sequence[Budget], images: Sequence[ImageBudget], ids: Sequence[str]
) -> None:
    """Every ``select`` pattern must match a variant id of the profile (an image's patterns
    only when it sums this profile alone: other records have ids of their own)."""
    selected: list[Budget | ImageBudget] = [*budgets, *(i for i in images if not i.records)]
    for budget in selected:
        for pattern in budget.select:
            if not any(selects(pattern, i) for i in ids):
                raise ProfileError(
                    budget.source,
                    f"{budget.where}.select: {pattern!r} matches no variant id; the ids:",
                    ids,
                )


def _image(root: Path, table: Mapping[str, Any], image: ImageBudget) -> ImageBudget:
    """What an image's keys say of each other; its files and records found in the project."""
    where, source = image.where, image.source
    if image.filesystem is None:
        for key in (*SQUASHFS_KEYS, "max_share"):
            if key in table:
                raise ProfileError(source, f'{where}.{key}: needs filesystem = "squashfs"')
        if image.max_size is None:
            raise ProfileError(source, f"{where}.max_size: required")
    elif not {"max_size", "max_erase_blocks", "max_share"} & set(table):
        raise ProfileError(
            source, f"{where}: a squashfs image needs max_size, max_erase_blocks or max_share"
        )
    name = image.name
    if visible(name) != name:  # shown in tables and messages: one line, no terminal escapes
        raise ProfileError(source, f"{where}.name: {name!r} holds a control character (a newline?)")
    if image.filesystem is not None and (
        "/" in name or "\\" in name or name.startswith(".") or len(name.encode()) > 200
    ):
        raise ProfileError(
            source,
            f"{where}.name: {name!r} names the image file (dist/<profile>/images/NAME.squashfs): "
            "no '/', no leading '.', at most 200 bytes",
        )
    for path in sorted(set(image.links) & set(image.files)):
        raise ProfileError(source, f"{key_path(where + '.links', path)}: also in {where}.files")
    return msgspec.structs.replace(
        image,
        records=tuple((root / r).resolve() for r in image.records),
        files={k: msgspec.structs.replace(f, path=root / f.given) for k, f in image.files.items()},
    )
