"""Budgets from a profile's ``[[budget]]`` and ``[[image]]`` tables, validated into facts.

Every problem is a ProfileError naming the file and the key (``budget[2].max_size``), exit 2.
The tables are checked when the profile is loaded; whether each ``select`` pattern matches a
variant id is checked by ``check_selectors`` once the ids are known (they depend on the host's
target when a profile names none).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from buildopt.config.keys import check_keys
from buildopt.config.units import UnitError, parse_percent, parse_seconds, parse_size
from buildopt.errors import ProfileError, visible
from buildopt.names import CATEGORIES, FORMATS, Format

BUDGET_KEYS = frozenset(
    {
        "name",
        "select",
        "max_size",
        "max_section",
        "max_category",
        "max_dwarf",
        "max_symbols",
        "static",
        "allowed_needed",
        "max_package",
        "max_module",
        "max_dwarf_package",
        "max_growth",
        "growth_floor",
        "level",
        "message",
        "max_startup_p95",
        "max_rss",
        "max_ram_static",
        "max_compressed",
        "max_gc_cycles",
        "max_scan_errors",
    }
)
IMAGE_KEYS = frozenset(
    {
        "name",
        "select",
        "records",
        "max_size",
        "level",
        "message",
        "filesystem",
        "compressor",
        "block_size",
        "files",
        "layout",
        "erase_block",
        "max_erase_blocks",
        "max_share",
    }
)
IMAGE_FILE_KEYS = frozenset({"source", "allow_outside", "mode"})
SQUASHFS_KEYS = ("compressor", "block_size", "files", "layout", "erase_block", "max_erase_blocks")
Level = Literal["fail", "warn"]
SOURCE_KEY = "__source__"  # (file, "budget[N]") of a budget table, for messages after merging


@dataclass(frozen=True)
class Growth:
    fraction: float | None  # 0.02 for "2%"
    absolute: int | None  # bytes for "100 kB"


@dataclass(frozen=True, kw_only=True)
class Budget:
    name: str
    source: Path  # the profile file that declares it (it may be one the profile extends)
    where: str  # budget[1], for messages
    select: tuple[str, ...]
    level: Level = "fail"
    message: str = ""
    max_size: int | None = None
    max_section: Mapping[str, int] = field(default_factory=dict, hash=False)
    max_category: Mapping[str, int] = field(default_factory=dict, hash=False)
    max_dwarf: int | None = None
    max_symbols: int | None = None
    static: bool | None = None
    allowed_needed: tuple[str, ...] | None = None
    max_package: Mapping[str, int] = field(default_factory=dict, hash=False)
    max_module: Mapping[str, int] = field(default_factory=dict, hash=False)
    max_ram_static: int | None = None  # what the loader maps (inspect's memory model)
    max_compressed: Mapping[str, int] = field(default_factory=dict, hash=False)  # by FORMATS
    max_dwarf_package: Mapping[str, int] = field(default_factory=dict, hash=False)
    max_growth: Growth | None = None
    growth_floor: int = 0
    max_startup_p95: float | None = None  # milliseconds
    max_rss: int | None = None  # bytes
    max_gc_cycles: int | None = None
    max_scan_errors: int | None = None  # error-level findings of buildopt scan ([scan] enabled)


@dataclass(frozen=True, kw_only=True)
class ImageFile:
    """An extra file of an image (``files``): a project file unless ``allow_outside``; its
    mode in the image is the source's permission bits unless ``mode`` is given."""

    given: str  # as the profile writes it, relative to the project root
    path: Path  # root / given, not resolved: buildopt image resolves it when it reads it
    allow_outside: bool = False
    mode: int | None = None


@dataclass(frozen=True, kw_only=True)
class ImageBudget:
    """An ``[[image]]``: without ``filesystem``, the sum of the selected binaries' sizes; with
    ``filesystem = "squashfs"``, a real image of them (and ``files``) that ``buildopt image``
    builds with mksquashfs, judged by its size, its erase blocks and each binary's share."""

    name: str
    source: Path
    where: str
    select: tuple[str, ...]
    records: tuple[Path, ...]
    max_size: int | None = None
    level: Level = "fail"
    message: str = ""
    filesystem: Literal["squashfs"] | None = None
    compressor: Format = "xz"
    block_size: int = 128 * 1024
    files: Mapping[str, ImageFile] = field(default_factory=dict, hash=False)  # by image path
    layout: Mapping[str, str] = field(default_factory=dict, hash=False)  # id pattern -> path
    erase_block: int = 128 * 1024
    max_erase_blocks: int | None = None
    max_share: Mapping[str, int] = field(default_factory=dict, hash=False)  # id pattern -> bytes

    def place(self, build_id: str, binary: str) -> str:
        """Where a selected binary goes in the image: the first ``layout`` pattern that
        selects its id, else /usr/bin/BINARY."""
        for pattern, where in self.layout.items():
            if selects(pattern, build_id):
                return where
        return f"/usr/bin/{binary}"


def selects(pattern: str, build_id: str) -> bool:
    """Whether a pattern (a budget's ``select``, ``--variant``) picks a build: without ``@`` it
    is matched against the variant's name (``static*`` picks every target of the static
    variants), with ``@`` against the whole id ``VARIANT@TARGET`` (``*@linux-arm64``)."""
    subject = build_id if "@" in pattern else build_id.split("@", 1)[0]
    return fnmatch.fnmatchcase(subject, pattern)


def matches(patterns: Sequence[str], build_id: str) -> bool:
    return any(selects(p, build_id) for p in patterns)


def parse_budgets(
    path: Path, root: Path, raw: Mapping[str, Any]
) -> tuple[tuple[Budget, ...], tuple[ImageBudget, ...]]:
    """Budgets and image budgets of a profile, every key and value checked."""
    budgets = tuple(
        _budget(*_source(path, "budget", i, table), _plain(table))
        for i, table in enumerate(_tables(path, "budget", raw.get("budget", [])))
    )
    images = tuple(
        _image(*_source(path, "image", i, table), root, _plain(table))
        for i, table in enumerate(_tables(path, "image", raw.get("image", [])))
    )
    _check_image_names(images)
    return budgets, images


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


def _source(path: Path, key: str, index: int, table: Mapping[str, Any]) -> tuple[Path, str]:
    """The file and ``budget[N]`` a table was written as (it may come from an extended file)."""
    source = table.get(SOURCE_KEY)
    return (source[0], source[1]) if source else (path, f"{key}[{index + 1}]")


def _plain(table: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if k != SOURCE_KEY}


def _tables(path: Path, key: str, value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ProfileError(path, f"{key}: expected [[{key}]] tables")
    return value


def _select(path: Path, where: str, table: Mapping[str, Any]) -> tuple[str, ...]:
    value = table.get("select")
    patterns = [value] if isinstance(value, str) else value
    if (
        not patterns
        or not isinstance(patterns, list)
        or not all(isinstance(p, str) for p in patterns)
    ):
        raise ProfileError(path, f"{where}.select: expected an id pattern or a list of them")
    return tuple(patterns)


def _size(path: Path, where: str, value: object) -> int:
    try:
        return parse_size(value)
    except UnitError as exc:
        raise ProfileError(path, f"{where}: {exc}") from exc


def _sizes(path: Path, where: str, value: object) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ProfileError(path, f"{where}: expected a table of sizes")
    return {k: _size(path, f"{where}.{k}", v) for k, v in value.items()}


def _level(path: Path, where: str, table: Mapping[str, Any]) -> Level:
    level = table.get("level", "fail")
    if level not in ("fail", "warn"):
        raise ProfileError(path, f'{where}.level: expected "fail" or "warn", got {level!r}')
    return level  # type: ignore[no-any-return]


def _growth(path: Path, where: str, value: object) -> Growth:
    try:
        if isinstance(value, str) and value.strip().endswith("%"):
            return Growth(parse_percent(value), None)
        return Growth(None, parse_size(value))
    except UnitError as exc:
        raise ProfileError(path, f"{where}: {exc}") from exc


def _budget(path: Path, where: str, table: Mapping[str, Any]) -> Budget:
    check_keys(path, where, table, BUDGET_KEYS)
    categories = _sizes(path, f"{where}.max_category", table.get("max_category", {}))
    for name in categories:
        if name not in CATEGORIES:
            raise ProfileError(
                path, f"{where}.max_category.{name}: not a category ({', '.join(CATEGORIES)})"
            )
    compressed = _sizes(path, f"{where}.max_compressed", table.get("max_compressed", {}))
    for name in compressed:
        if name not in FORMATS:
            raise ProfileError(
                path, f"{where}.max_compressed.{name}: not a compressor ({', '.join(FORMATS)})"
            )
    static = table.get("static")
    if static is not None and not isinstance(static, bool):
        raise ProfileError(path, f"{where}.static: expected true or false")
    needed = table.get("allowed_needed")
    if needed is not None and (
        not isinstance(needed, list) or not all(isinstance(n, str) for n in needed)
    ):
        raise ProfileError(path, f"{where}.allowed_needed: expected a list of library names")

    def optional_size(key: str) -> int | None:
        return _size(path, f"{where}.{key}", table[key]) if key in table else None

    return Budget(
        name=_name(path, where, table),
        source=path,
        where=where,
        select=_select(path, where, table),
        level=_level(path, where, table),
        message=_message(path, where, table),
        max_size=optional_size("max_size"),
        max_section=_sizes(path, f"{where}.max_section", table.get("max_section", {})),
        max_category=categories,
        max_dwarf=optional_size("max_dwarf"),
        max_symbols=optional_size("max_symbols"),
        max_ram_static=optional_size("max_ram_static"),
        max_compressed=compressed,
        static=static,
        allowed_needed=tuple(needed) if needed is not None else None,
        max_package=_sizes(path, f"{where}.max_package", table.get("max_package", {})),
        max_module=_sizes(path, f"{where}.max_module", table.get("max_module", {})),
        max_dwarf_package=_sizes(
            path, f"{where}.max_dwarf_package", table.get("max_dwarf_package", {})
        ),
        max_growth=_growth(path, f"{where}.max_growth", table["max_growth"])
        if "max_growth" in table
        else None,
        growth_floor=optional_size("growth_floor") or 0,
        max_startup_p95=_duration_ms(path, f"{where}.max_startup_p95", table["max_startup_p95"])
        if "max_startup_p95" in table
        else None,
        max_rss=optional_size("max_rss"),
        max_gc_cycles=_count(path, f"{where}.max_gc_cycles", table.get("max_gc_cycles")),
        max_scan_errors=_count(path, f"{where}.max_scan_errors", table.get("max_scan_errors")),
    )


def _name(path: Path, where: str, table: Mapping[str, Any]) -> str:
    name = table.get("name", where)
    if not isinstance(name, str) or not name.strip():
        raise ProfileError(path, f"{where}.name: expected a non-empty string")
    return name


def _message(path: Path, where: str, table: Mapping[str, Any]) -> str:
    message = table.get("message", "")
    if not isinstance(message, str):
        raise ProfileError(path, f"{where}.message: expected a string")
    return message


def _duration_ms(path: Path, where: str, value: object) -> float:
    try:
        return parse_seconds(value) * 1000
    except UnitError as exc:
        raise ProfileError(path, f"{where}: {exc}") from exc


def _count(path: Path, where: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProfileError(path, f"{where}: expected a whole number >= 0, got {value!r}")
    return value


def _image(path: Path, where: str, root: Path, table: Mapping[str, Any]) -> ImageBudget:
    check_keys(path, where, table, IMAGE_KEYS)
    records = table.get("records", [])
    if not isinstance(records, list) or not all(isinstance(r, str) for r in records):
        raise ProfileError(path, f"{where}.records: expected a list of build record paths")
    filesystem = table.get("filesystem")
    if filesystem not in (None, "squashfs"):
        raise ProfileError(path, f'{where}.filesystem: expected "squashfs", got {filesystem!r}')
    if filesystem is None:
        for key in (*SQUASHFS_KEYS, "max_share"):
            if key in table:
                raise ProfileError(path, f'{where}.{key}: needs filesystem = "squashfs"')
        if "max_size" not in table:
            raise ProfileError(path, f"{where}.max_size: required")
    elif not {"max_size", "max_erase_blocks", "max_share"} & set(table):
        raise ProfileError(
            path, f"{where}: a squashfs image needs max_size, max_erase_blocks or max_share"
        )
    compressor = table.get("compressor", "xz")
    if compressor not in FORMATS:
        raise ProfileError(
            path,
            f"{where}.compressor: expected one of {', '.join(FORMATS)}, got {compressor!r}",
        )
    block_size = _size(path, f"{where}.block_size", table.get("block_size", 128 * 1024))
    if block_size not in [1 << n for n in range(12, 21)]:
        raise ProfileError(
            path, f"{where}.block_size: a power of two from 4 KiB to 1 MiB (mksquashfs -b)"
        )
    name = _name(path, where, table)
    if visible(name) != name:  # shown in tables and messages: one line, no terminal escapes
        raise ProfileError(path, f"{where}.name: {name!r} holds a control character (a newline?)")
    if filesystem is not None and (
        "/" in name or "\\" in name or name.startswith(".") or len(name.encode()) > 200
    ):
        raise ProfileError(
            path,
            f"{where}.name: {name!r} names the image file (dist/<profile>/images/NAME.squashfs): "
            "no '/', no leading '.', at most 200 bytes",
        )
    erase_block = _size(path, f"{where}.erase_block", table.get("erase_block", 128 * 1024))
    if erase_block <= 0:
        raise ProfileError(path, f"{where}.erase_block: expected more than 0 bytes")
    return ImageBudget(
        name=name,
        source=path,
        where=where,
        select=_select(path, where, table),
        records=tuple((root / r).resolve() for r in records),
        max_size=_size(path, f"{where}.max_size", table["max_size"])
        if "max_size" in table
        else None,
        level=_level(path, where, table),
        message=_message(path, where, table),
        filesystem=filesystem,
        compressor=compressor,
        block_size=block_size,
        files=_image_files(path, f"{where}.files", root, table.get("files", {})),
        layout=_image_paths(path, f"{where}.layout", table.get("layout", {})),
        erase_block=erase_block,
        max_erase_blocks=_count(path, f"{where}.max_erase_blocks", table.get("max_erase_blocks")),
        max_share=_sizes(path, f"{where}.max_share", table.get("max_share", {})),
    )


def _image_path(path: Path, where: str, value: object) -> str:
    """An absolute path inside the image, without . or .. parts."""
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.endswith("/")
        or any(part in ("", ".", "..") for part in value[1:].split("/"))
    ):
        raise ProfileError(path, f"{where}: expected an absolute path in the image, got {value!r}")
    if visible(value) != value:  # a newline splits unsquashfs -lln's line the check reads
        raise ProfileError(path, f"{where}: {value!r} holds a control character (a newline?)")
    return value


def _image_paths(path: Path, where: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ProfileError(path, f"{where}: expected a table of id pattern = image path")
    return {k: _image_path(path, f"{where}.{k}", v) for k, v in value.items()}


def _image_files(path: Path, where: str, root: Path, value: object) -> dict[str, ImageFile]:
    """Extra files: image path = a project file (relative to its root), or image path =
    { source = FILE, allow_outside = BOOL, mode = "0644" }."""
    if not isinstance(value, dict):
        raise ProfileError(path, f"{where}: expected a table of image path = project file")
    out = {}
    for image_path, spec in value.items():
        key = f"{where}.{image_path}"
        _image_path(path, key, image_path)
        table = spec if isinstance(spec, dict) else {"source": spec}
        check_keys(path, key, table, IMAGE_FILE_KEYS)
        source = table.get("source")
        if not isinstance(source, str) or not source or "\0" in source:
            raise ProfileError(path, f"{key}.source: expected a file of the project")
        allow_outside = table.get("allow_outside", False)
        if not isinstance(allow_outside, bool):
            raise ProfileError(path, f"{key}.allow_outside: expected true or false")
        out[image_path] = ImageFile(
            given=source,
            path=root / source,
            allow_outside=allow_outside,
            mode=_file_mode(path, f"{key}.mode", table["mode"]) if "mode" in table else None,
        )
    return out


def _file_mode(path: Path, where: str, value: object) -> int:
    """Permission bits as octal text ("0644", "600"): no set-id or sticky bits in an image."""
    if not isinstance(value, str) or not re.fullmatch(r"0?[0-7]{3}", value):
        raise ProfileError(
            path, f'{where}: expected permission bits in octal, like "0644", got {value!r}'
        )
    return int(value, 8)
