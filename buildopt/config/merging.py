"""How profile layers merge: a child over the profile it ``extends``, a variant over
[defaults] - scalars replace, lists are replaced or edited (``{ append, remove }``), maps merge.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import msgspec

from buildopt.config.budgets import SOURCE_KEY
from buildopt.config.variant import CONCATENATED, LIST_KEYS, MAP_KEYS, TOP_TABLES, ListEdit
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


def merge_files(parent: Mapping[str, Any], child: Mapping[str, Any]) -> dict[str, Any]:
    """A child profile over its parent: tables merge per variant, per key."""
    merged = merge_layer(
        {k: v for k, v in parent.items() if k not in TOP_TABLES},
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
    out["variants"] = {n: merge_layer({}, t) for n, t in raw.get("variants", {}).items()}
    for key in ("matrix", "startup", "scan"):
        out[key] = dict(raw.get(key, {}))
    return out


def _resolve_extends(path: Path, spec: str) -> Path:
    candidate = path.parent / (spec if spec.endswith(".toml") else f"{spec}.toml")
    if not candidate.is_file():
        raise ProfileError(path, f"extends: no profile {candidate}")
    return candidate.resolve()
