"""How profile layers merge: a child over the profile it ``extends``, a variant over the
variant it ``extends`` and over [defaults] - scalars replace, lists are replaced or edited
(``{ append, remove }``), maps merge.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import msgspec

from buildopt.config.budgets import SOURCE_KEY
from buildopt.config.keys import did_you_mean
from buildopt.config.tags import read_tags_file
from buildopt.config.variant import (
    CONCATENATED,
    EXTENDS,
    LIST_KEYS,
    MAP_KEYS,
    TAGS_FILE,
    TOP_TABLES,
    ListEdit,
)
from buildopt.errors import ProfileError

ListValue = list[str] | ListEdit


def _as_list_value(value: object) -> ListValue:
    if isinstance(value, ListEdit):
        return value
    if isinstance(value, dict):
        return msgspec.convert(value, ListEdit)
    return list(cast(list[str], value))


def merge_list(base: ListValue | None, over: ListValue) -> ListValue:
    if isinstance(over, list) or base is None:
        return over
    if isinstance(base, list):
        return over.apply(base)
    return base.then(over)


def merge_layer(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Layer ``over`` on ``base``: scalars replace, lists edit or replace, maps merge."""
    merged = dict(base)
    for key, value in over.items():
        if key in LIST_KEYS or key == "targets":
            merged[key] = merge_list(base.get(key), _as_list_value(value))
        elif key in MAP_KEYS:
            merged[key] = {**base.get(key, {}), **value}
        else:
            merged[key] = value
    return merged


# What names the programs: a child that sets package or packages names them anew (packages
# over a parent's package and binary, or the reverse); binary alone renames the parent's one
_PROGRAM_KEYS = {"package", "packages", "binary"}


def merge_files(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """A child profile over its parent: tables merge per variant, per key."""
    replaced = _PROGRAM_KEYS if {"package", "packages"} & set(child) else set()
    merged = merge_layer(
        {k: v for k, v in parent.items() if k not in TOP_TABLES and k not in replaced},
        {k: v for k, v in child.items() if k not in TOP_TABLES and k != "extends"},
    )
    for key in CONCATENATED:
        merged[key] = [*parent.get(key, []), *child.get(key, [])]
    merged["defaults"] = merge_layer(parent.get("defaults", {}), child.get("defaults", {}))
    variants = dict(parent.get("variants", {}))
    for name, table in child.get("variants", {}).items():
        variants[name] = merge_layer(variants.get(name, {}), table)
    merged["variants"] = variants
    for key in ("matrix", "startup", "scan"):  # key by key ([matrix]: axis by axis)
        merged[key] = {**parent.get(key, {}), **child.get(key, {})}
    return merged


def _normalise(raw: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """List values as ListValue objects, so that layers merge uniformly; budget tables remember
    the file and position they came from."""
    out = merge_layer({}, {k: v for k, v in raw.items() if k not in TOP_TABLES})
    for key in CONCATENATED:
        out[key] = [
            {**table, SOURCE_KEY: (path, f"{key}[{i + 1}]")}
            for i, table in enumerate(raw.get(key, []))
        ]
    out["defaults"] = merge_layer({}, raw.get("defaults", {}))
    out["variants"] = {
        n: merge_layer({}, _extends_of(path, t)) for n, t in raw.get("variants", {}).items()
    }
    for key in ("matrix", "startup", "scan"):
        out[key] = dict(raw.get(key, {}))
    return out


def _resolve_extends(path: Path, spec: str) -> Path:
    candidate = path.parent / (spec if spec.endswith(".toml") else f"{spec}.toml")
    if not candidate.is_file():
        raise ProfileError(path, f"extends: no profile {candidate}")
    return candidate.resolve()


class Extends(msgspec.Struct, frozen=True):
    """A variant's ``extends``: the variant it is layered over, and the profile file that said
    so (the variant may be merged from several files)."""

    name: str
    source: Path


def _extends_of(path: Path, table: Mapping[str, Any]) -> Mapping[str, Any]:
    if EXTENDS not in table:
        return table
    return {**table, EXTENDS: Extends(table[EXTENDS], path)}


def read_file_tags(
    path: Path, raw: Mapping[str, Any], inside: Sequence[Path]
) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """A normalised profile file whose layers' ``tags_file`` is read (relative to path, inside
    one of the folders inside): each such layer's tags become the file's list, edited by the
    layer's own ``tags`` - so merging sees a list, as if written in the table. Also the tags
    files read, in the order written."""
    out = dict(raw)
    read: list[Path] = []
    layers = {"defaults": raw["defaults"]} | {
        f"variants.{n}": t for n, t in raw["variants"].items()
    }
    for where, table in layers.items():
        if TAGS_FILE not in table:
            continue
        tags_file = read_tags_file(path, f"{where}.{TAGS_FILE}", table[TAGS_FILE], inside)
        edit = table.get("tags", ListEdit())
        if not isinstance(edit, ListEdit):
            raise ProfileError(
                path,
                f"{where}.tags: a list would replace the tags of {TAGS_FILE}; edit them with "
                "{ append = [...], remove = [...] }",
            )
        layer = {k: v for k, v in table.items() if k != TAGS_FILE}
        layer["tags"] = edit.apply(tags_file.tags)
        if where == "defaults":
            out["defaults"] = layer
        else:
            out["variants"] = {**out["variants"], where.removeprefix("variants."): layer}
        read.append(tags_file.path)
    return out, tuple(read)


def layered_variants(
    defaults: Mapping[str, Any],
    variants: Mapping[str, Mapping[str, Any]],
    generated: Collection[str],
) -> dict[str, dict[str, Any]]:
    """Each named variant's table, resolved: [defaults], then the variants it extends (the
    farthest first), then its own layer, each over the last by merge_layer; a variant comes
    after those it extends (so that a value it inherits is checked, and named, where it was
    written). ProfileError at ``variants.NAME.extends`` for a name that is no [variants.NAME]
    (generated: those [matrix] makes) and for variants that extend each other in a cycle."""
    done: dict[str, dict[str, Any]] = {}
    for name in variants:
        trail: list[str] = []
        current: str | None = name
        while current is not None and current not in done:
            trail.append(current)
            current = _parent(variants, current, trail, generated)
        base = defaults if current is None else done[current]
        for each in reversed(trail):
            layer = {k: v for k, v in variants[each].items() if k != EXTENDS}
            base = done[each] = merge_layer(base, layer)
    return done


def _parent(
    variants: Mapping[str, Mapping[str, Any]],
    name: str,
    trail: list[str],
    generated: Collection[str],
) -> str | None:
    """The variant name extends (None: it extends none), checked: a [variants.NAME], not on
    the trail that led to it."""
    extends: Extends | None = variants[name].get(EXTENDS)
    if extends is None:
        return None
    where = f"variants.{name}.{EXTENDS}"
    if extends.name in trail:
        cycle = " -> ".join([*trail[trail.index(extends.name) :], extends.name])
        raise ProfileError(
            extends.source, f"{where}: variants extend each other in a cycle: {cycle}"
        )
    if extends.name in variants:
        return extends.name
    if extends.name in generated:
        raise ProfileError(
            extends.source,
            f"{where}: {extends.name!r} is a [matrix] variant; only a [variants.NAME] can be "
            "extended",
        )
    raise ProfileError(
        extends.source,
        f"{where}: no variant {extends.name!r}{did_you_mean(extends.name, variants)}",
    )
