"""The one check of a profile's tables: each is decoded into its model, a msgspec Struct that
forbids unknown fields, and the first mistake becomes one line naming the file and the key in
full - an unknown key with the allowed key it is closest to (or, when none is close, the allowed
keys), a wrong value with what the key takes, in words read from the model.

A field typed ``Annotated[T, parser]`` (``units.Size``, ``units.Seconds`` ...), or a table of
them, gets its TOML value through parser before the model checks its type: each kind of value
is parsed in one place, and its ValueError is reported at the key (a message starting with
``.`` names a key inside the value: ``.port 0: ...``).
"""

from __future__ import annotations

import datetime
import difflib
import functools
import json
import math
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

import msgspec
import msgspec.inspect as mi

from buildopt.errors import ProfileError

T = TypeVar("T", bound=msgspec.Struct)
Parser = Callable[[Any], Any]

_AT = re.compile(r"(.*?)(?: - at `\$(.*)`)?", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[([0-9]+|\.\.\.)\]")
# msgspec's names of the types a value has, as a JSON document's reader says them (a build
# record's); a profile's messages show the value itself, as TOML writes it (toml_value)
_GOT = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}
_GOT |= {"object": "a table", "array": "a list", "null": "nothing"}
JSON_WORDS = _GOT | {"bool": "true or false", "object": "an object", "array": "an array"}
JSON_WORDS |= {"null": "null"}
MAX_INT = 2**63 - 1  # the largest whole number a profile may give (a record holds int64)
_SHOWN = 80  # characters of a value shown in a message; longer ones end in "..."


class Words(msgspec.Struct, frozen=True):
    """What a value of an annotated type is, as a profile's reader says it (``a size``,
    ``sizes``): ``Annotated[int, parse_size, Words("a size", "sizes")]``. One per type, read
    wherever a message says what a key takes (a table of them: ``a table of sizes``)."""

    one: str
    many: str = ""


def toml_value(value: object, limit: int = _SHOWN) -> str:
    """value as a profile writes it: ``'text'``, ``true``, ``1979-05-27``, ``[1, 'a']``,
    ``{ a = 1 }`` (cut to about limit characters)."""
    text = _toml(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _toml(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(map(_toml, value)) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{key_name(str(k))} = {_toml(v)}" for k, v in value.items())
        return f"{{ {items} }}" if items else "{}"
    return _scalar(value)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        plain = "'" not in value and value.isprintable()
        return f"'{value}'" if plain else json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return repr(value) if isinstance(value, float) else str(value)


def key_name(key: str) -> str:
    """A key as a message names it: as written (``main.v``, ``A=B``), or quoted as TOML quotes
    it when it is empty or holds a space or a control character (``""``, ``"a b"``)."""
    plain = key.isprintable() and not any(c.isspace() for c in key)
    return key if key and plain else json.dumps(key, ensure_ascii=False)


def key_path(where: str, key: str) -> str:
    """``variants.a.x`` for key x of the table at variants.a (the top: x alone)."""
    return f"{where}.{key_name(key)}" if where else key_name(key)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'strip'?`` for the choice closest to word; '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(where: str, key: str, model: type[msgspec.Struct], table: object = None) -> str:
    """The message for a key of a table that its model has no field for (a model's
    ``unknown`` template may show the table, ``{got}``)."""
    allowed = table_keys(model)
    name = key_path(where, key)
    hint = did_you_mean(key, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
    template: str = getattr(model, "unknown", "unknown key {shown}{hint}")
    shown = name if key_name(key) != key else repr(name)  # a quoted key: not quoted again
    return template.format(
        name=name, shown=shown, where=where, key=key, hint=hint, got=toml_value(table)
    )


def table_keys(model: type[msgspec.Struct]) -> list[str]:
    """The keys a table of model may hold: its fields but those the program fills in."""
    return [k for k in _key_types(model) if k not in getattr(model, "internal", ())]


def decode(path: object, where: str, table: object, model: type[T], /, **given: Any) -> T:
    """table (at where in the profile) as model, with the fields the program fills in given;
    ProfileError naming path and the key of the first mistake: an unknown key first (it may be
    the required one, misspelt), then each value in the order written, then a missing key."""
    if not isinstance(table, dict):
        raise ProfileError(path, f"{where or 'the profile'}: {_expected(model, table)}")
    allowed = table_keys(model)
    for key in table:
        if key not in allowed:
            raise ProfileError(path, unknown_key(where, key, model, table))
    hints = _key_types(model)
    data = {k: _checked(path, key_path(where, k), hints[k], v) for k, v in table.items()}
    try:
        return msgspec.convert(data | given, model)
    except msgspec.ValidationError as exc:
        raise ProfileError(path, describe(exc, model, where)) from None


@functools.cache
def _key_types(model: type[msgspec.Struct]) -> dict[str, Any]:
    """The annotation of each key of a model's tables (read once: it costs ~1 ms)."""
    return {f.encode_name: f.type for f in msgspec.structs.fields(model)}


def _members(hint: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(hint)
    return typing.get_args(hint) if origin in (Union, types.UnionType) else (hint,)


def _bare(hint: Any) -> tuple[Any, list[Any]]:
    """A type without its Annotated wrapper, and the wrapper's metadata."""
    metadata: list[Any] = []
    while typing.get_origin(hint) is Annotated:
        metadata += hint.__metadata__
        hint = typing.get_args(hint)[0]
    return hint, metadata


def _parser(hint: Any) -> Parser | None:
    for member in _members(hint):
        if typing.get_origin(member) is Annotated:
            return next((m for m in _bare(member)[1] if callable(m)), None)
    return None


def _checked(path: object, name: str, hint: Any, value: Any) -> Any:
    """value through the parser its type names, then of its type: a table of a model decoded
    as one, a table of values each checked at its own key (``variants.a.x.main.v``)."""
    try:
        value = parser(value) if (parser := _parser(hint)) else value
    except ValueError as exc:
        text = str(exc)
        raise ProfileError(
            path, name + text if text.startswith(".") else f"{name}: {text}"
        ) from None
    if isinstance(value, dict):
        for member in (_bare(m)[0] for m in _members(hint)):
            if isinstance(member, type) and issubclass(member, msgspec.Struct):
                return decode(path, name, value, member)
            if typing.get_origin(member) is dict:
                key_type, value_type = typing.get_args(member)
                value = {
                    _checked(path, key_path(name, k), key_type, k): _checked(
                        path, key_path(name, k), value_type, v
                    )
                    for k, v in value.items()
                }
                break
    try:
        msgspec.convert(value, hint)
    except msgspec.ValidationError as exc:
        raise ProfileError(path, _described(exc, hint, name, value)) from None
    if (
        hint is not Any
        and isinstance(value, int)
        and not isinstance(value, bool)
        and abs(value) > MAX_INT
    ):
        raise ProfileError(path, f"{name}: {value} is more than buildopt takes ({MAX_INT} at most)")
    return value


# --- msgspec's error, in words --------------------------------------------------------------


def describe(
    error: msgspec.ValidationError,
    model: type[msgspec.Struct],
    where: str = "",
    words: Mapping[str, str] | None = None,
) -> str:
    """msgspec's message in words: for a profile's table (at where) as ``variants.a.strip:
    expected one of "none", "dwarf", "all", got 'some'``; given words, for a JSON document in
    those words of msgspec's type names (``builds[3].inspect.size: expected an integer, got a
    string``), its path as msgspec writes it."""
    if words is None:
        return _described(error, model, where, _UNSEEN)
    match = _AT.fullmatch(str(error))
    text, at = match.groups() if match else (str(error), None)
    where = (at or "").lstrip(".")
    if m := re.fullmatch(r"Object contains unknown field `(.*)`", text, re.S):
        return unknown_key(where, m.group(1), _struct_at(model, at or ""))
    if m := re.fullmatch(r"Object missing required field `(.*)`", text):
        return f"{where + '.' if where else ''}{m.group(1)}: required, but missing"
    if m := re.fullmatch(r"Expected `([^`]*)`(.*?)(?:, got `(\w+)`)?", text, re.S):
        # and the constraint msgspec names: " >= 0"
        expected = " or ".join(words.get(t, t) for t in m.group(1).split(" | ")) + m.group(2)
        got = f", got {words.get(m.group(3), m.group(3))}" if m.group(3) else ""
        return f"{where or 'the document'}: expected {expected}{got}"
    return f"{where}: {text[:1].lower()}{text[1:]}" if where else text


def _struct_at(model: type[msgspec.Struct], at: str) -> type[msgspec.Struct]:
    """The model of the table at msgspec's path in a document of model."""
    kind: mi.Type = mi.type_info(model)
    for field, index in _STEP.findall(at):
        if field:
            kind = next(
                f.type for f in _member(kind, mi.StructType).fields if f.encode_name == field
            )
        elif index == "...":
            kind = _member(kind, mi.DictType).value_type
        else:
            seq: Any = _member(kind, mi.ListType, mi.VarTupleType, mi.TupleType)
            kind = seq.item_types[int(index)] if isinstance(seq, mi.TupleType) else seq.item_type
    return _member(kind, mi.StructType).cls


K = TypeVar("K", bound=mi.Type)


def _member(kind: mi.Type, *wanted: type[K]) -> K:
    """The member of a union that is of a wanted kind (the kind itself if not a union)."""
    kind = _plain_kind(kind)
    members = kind.types if isinstance(kind, mi.UnionType) else (kind,)
    return next(m for m in map(_plain_kind, members) if isinstance(m, wanted))


def _plain_kind(kind: mi.Type) -> mi.Type:
    """kind without the description a document's model gives it for its JSON Schema."""
    return kind.type if isinstance(kind, mi.Metadata) else kind


_UNSEEN = object()  # a value msgspec does not say (an entry of a table it does not name)


class _Entries(msgspec.Struct, frozen=True):
    """The entries of a table, of which msgspec's path does not say which one."""

    of: Any


def _described(error: msgspec.ValidationError, hint: Any, where: str, value: Any) -> str:
    """msgspec's message about value (of type hint, at where) as a profile's reader says it:
    the key in full (list entries numbered from 1), what it takes, the value written."""
    match = _AT.fullmatch(str(error))
    text, at = match.groups() if match else (str(error), None)
    for field, index in _STEP.findall(at or ""):
        hint, value, step = _step(hint, value, field, index)
        where = key_path(where, field) if field else f"{where}{step}"
    if m := re.fullmatch(r"Object contains unknown field `(.*)`", text, re.S):
        return unknown_key(where, m.group(1), _struct(hint))
    if m := re.fullmatch(r"Object missing required field `(.*)`", text):
        return f"{key_path(where, m.group(1))}: required, but missing"
    if text.startswith(("Expected", "Invalid enum value")):
        return f"{where or 'the profile'}: {_expected(hint, value)}"
    return f"{where}: {text[:1].lower()}{text[1:]}" if where else text


def _step(hint: Any, value: Any, field: str, index: str) -> tuple[Any, Any, str]:
    """One step of msgspec's path: the type and the value there, and how a message writes it."""
    if isinstance(hint, _Entries):
        hint = hint.of
    members = [_bare(m)[0] for m in _members(hint)]
    if field:
        struct = next(m for m in members if isinstance(m, type) and issubclass(m, msgspec.Struct))
        item = value.get(field, _UNSEEN) if isinstance(value, dict) else _UNSEEN
        return _key_types(struct)[field], item, ""
    if index == "...":  # an entry of a table: msgspec does not say which
        mapping = next(m for m in members if typing.get_origin(m) is dict)
        return _Entries(typing.get_args(mapping)[1]), _UNSEEN, ""
    seq = next(m for m in members if typing.get_origin(m) in (list, tuple))
    item = value[int(index)] if isinstance(value, list) else _UNSEEN
    return typing.get_args(seq)[0], item, f"[{int(index) + 1}]"


def _struct(hint: Any) -> type[msgspec.Struct]:
    return next(
        m
        for m in (_bare(m)[0] for m in _members(hint))
        if isinstance(m, type) and issubclass(m, msgspec.Struct)
    )


def _expected(hint: Any, value: Any) -> str:
    """``expected a table of sizes, got 5``."""
    if isinstance(hint, _Entries):  # the values of a table msgspec does not name
        return f"expected a table of {words(hint.of, plural=True)}"
    got = "" if value is _UNSEEN else f", got {toml_value(value)}"
    return f"expected {words(hint)}{got}"


_SCALARS: dict[Any, tuple[str, str]] = {bool: ("true or false", "booleans")}
_SCALARS |= {str: ("a string", "strings"), int: ("an integer", "integers")}
_SCALARS |= {float: ("a number", "numbers"), Path: ("a path", "paths"), Any: ("a value", "values")}


def words(hint: Any, plural: bool = False) -> str:
    """What a value of a type is, in a profile's words: ``a list of strings``, ``true or
    false``, ``one of "none", "dwarf", "all"`` (in the order the type writes them); a type
    annotated with Words, or a model with a ``words`` ClassVar, says it itself."""
    kind, metadata = _bare(hint)
    said = next((m for m in metadata if isinstance(m, Words)), None)
    if said is not None:
        return (said.many or said.one) if plural else said.one
    said_by_model = getattr(kind, "words", None)
    if isinstance(said_by_model, str):
        return said_by_model
    members = [m for m in _members(kind) if m is not type(None)]
    if members != [kind]:
        return " or ".join(filter(None, (words(m, plural) for m in members)))
    one, many = _kind_words(kind, [m for m in metadata if isinstance(m, msgspec.Meta)])
    return many if plural else one


def _kind_words(kind: Any, meta: list[msgspec.Meta]) -> tuple[str, str]:
    """The words of one type (no union), for one value and for many."""
    origin = typing.get_origin(kind)
    if origin is Literal:
        choices = ", ".join(json.dumps(v) for v in typing.get_args(kind))
        many = choices if len(typing.get_args(kind)) == 1 else "values among " + choices
        return (choices if len(typing.get_args(kind)) == 1 else "one of " + choices), many
    if origin in (list, tuple, dict):
        inner = typing.get_args(kind)[-1 if origin is dict else 0]
        what = "table" if origin is dict else "list"
        what = f"non-empty {what}" if any(m.min_length for m in meta) else what
        of = "" if inner is Any else f" of {words(inner, plural=True)}"
        return f"a {what}{of}", f"{what}s{of}"
    least = next((m.ge for m in meta if m.ge is not None), None)
    if kind is int and least is not None:
        return f"a whole number >= {least}", f"whole numbers >= {least}"
    if isinstance(kind, type) and kind not in _SCALARS:
        return "a table", "tables"
    return _SCALARS.get(kind, ("a value", "values"))
