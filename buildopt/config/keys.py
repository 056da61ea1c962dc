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

import difflib
import functools
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union

import msgspec
import msgspec.inspect as mi

from buildopt.errors import ProfileError

T = TypeVar("T", bound=msgspec.Struct)
Parser = Callable[[Any], Any]

_AT = re.compile(r"(.*?)(?: - at `\$(.*)`)?", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[([0-9]+|\.\.\.)\]")
# msgspec's names of the types a value has, as a profile's reader says them; JSON_WORDS as a
# JSON document's reader does (a build record's)
_GOT = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean"}
_GOT |= {"object": "a table", "array": "a list", "null": "nothing"}
JSON_WORDS = _GOT | {"bool": "true or false", "object": "an object", "array": "an array"}
JSON_WORDS |= {"null": "null"}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``; did you mean 'strip'?`` for the choice closest to word; '' when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_key(where: str, key: str, model: type[msgspec.Struct]) -> str:
    """The message for a key of a table that its model has no field for."""
    allowed = table_keys(model)
    name = f"{where}.{key}" if where else key
    hint = did_you_mean(key, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
    template: str = getattr(model, "unknown", "unknown key {name!r}{hint}")
    return template.format(name=name, where=where, key=key, hint=hint)


def table_keys(model: type[msgspec.Struct]) -> list[str]:
    """The keys a table of model may hold: its fields but those the program fills in."""
    return [k for k in _key_types(model) if k not in getattr(model, "internal", ())]


def decode(path: object, where: str, table: object, model: type[T], /, **given: Any) -> T:
    """table (at where in the profile) as model, with the fields the program fills in given;
    ProfileError naming path and the key of the first mistake."""
    if not isinstance(table, dict):
        raise ProfileError(path, f"{where or 'the profile'}: expected a table")
    hints = _key_types(model)
    data = {}
    for key, value in table.items():
        if key in getattr(model, "internal", ()):
            raise ProfileError(path, unknown_key(where, key, model))
        data[key] = _parsed(path, f"{where}.{key}" if where else key, hints.get(key), value)
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


def _parser(hint: Any) -> Parser | None:
    for member in _members(hint):
        if typing.get_origin(member) is Annotated:
            return next((m for m in member.__metadata__ if callable(m)), None)
    return None


def _parsed(path: object, name: str, hint: Any, value: Any) -> Any:
    """value through the parser its type names; a table of a model decoded as one (so that its
    keys are named in full), a table of values each through its parser."""
    if hint is None:
        return value
    try:
        value = parser(value) if (parser := _parser(hint)) else value
    except ValueError as exc:
        text = str(exc)
        raise ProfileError(
            path, name + text if text.startswith(".") else f"{name}: {text}"
        ) from None
    members = [
        typing.get_args(m)[0] if typing.get_origin(m) is Annotated else m for m in _members(hint)
    ]
    if isinstance(value, dict):
        for member in members:
            if isinstance(member, type) and issubclass(member, msgspec.Struct):
                return decode(path, name, value, member)
            if typing.get_origin(member) is dict:
                key_type, value_type = typing.get_args(member)
                return {
                    _parsed(path, f"{name}.{k}", key_type, k): _parsed(
                        path, f"{name}.{k}", value_type, v
                    )
                    for k, v in value.items()
                }
    return value


# --- msgspec's error, in words --------------------------------------------------------------


def describe(
    error: msgspec.ValidationError,
    model: type[msgspec.Struct],
    where: str = "",
    words: Mapping[str, str] | None = None,
) -> str:
    """msgspec's message as ``variants.a.strip: expected one of "none", "dwarf", "all", got
    'some'``: the path in the document's words, what the key takes read from the model - or,
    given words, in those words of msgspec's type names (``builds[3].inspect.size: expected
    an integer, got a string``)."""
    match = _AT.fullmatch(str(error))
    text, at = match.groups() if match else (str(error), None)
    where, kind, hint, in_table = _locate(model, at or "", where)
    if (
        words is not None
    ):  # a JSON document: its path as msgspec writes it (names of a table: [...])
        where = (at or "").lstrip(".")
    if m := re.fullmatch(r"Object contains unknown field `(.*)`", text, re.S):
        return unknown_key(where, m.group(1), _member(kind, mi.StructType).cls)
    if m := re.fullmatch(r"Object missing required field `(.*)`", text):
        return f"{where + '.' if where else ''}{m.group(1)}: required, but missing"
    if words is None and (m := re.fullmatch(r"Invalid enum value (.*)", text, re.S)):
        choices = _choices(hint) or _member(kind, mi.LiteralType).values
        return f"{where}: expected {_words(mi.LiteralType(tuple(choices)))}, got {m.group(1)}"
    if m := re.fullmatch(r"Expected `([^`]*)`(.*?)(?:, got `(\w+)`)?", text, re.S):
        if words is not None:  # and the constraint msgspec names: " >= 0"
            expected = " or ".join(words.get(t, t) for t in m.group(1).split(" | ")) + m.group(2)
        elif in_table:  # msgspec does not say which key of the table: say what its values are
            return f"{where}: expected a table of {_words(kind, plural=True)}"
        else:
            expected = _words(kind)
        got = f", got {(words or _GOT).get(m.group(3), m.group(3))}" if m.group(3) else ""
        return f"{where or 'the document'}: expected {expected}{got}"
    return f"{where}: {text[:1].lower()}{text[1:]}" if where else text


def _locate(model: type[msgspec.Struct], at: str, where: str) -> tuple[str, mi.Type, Any, bool]:
    """Where msgspec's path (``$.tags[0]``) is in the profile, the model's type there (and the
    field's annotation), and whether it is inside a table of names msgspec does not name."""
    kind: mi.Type = mi.type_info(model)
    hint: Any = model
    in_table = False
    for field, index in _STEP.findall(at):
        if field:
            struct = _member(kind, mi.StructType)
            kind = next(f.type for f in struct.fields if f.encode_name == field)
            hint = _key_types(struct.cls)[field]
        elif index == "...":
            kind, in_table = _member(kind, mi.DictType).value_type, True
        else:
            seq: Any = _member(kind, mi.ListType, mi.VarTupleType, mi.TupleType)
            kind = seq.item_types[int(index)] if isinstance(seq, mi.TupleType) else seq.item_type
        if not in_table:
            where = f"{where}.{field}" if field and where else field or f"{where}[{index}]"
    return where, kind, hint, in_table


K = TypeVar("K", bound=mi.Type)


def _member(kind: mi.Type, *wanted: type[K]) -> K:
    """The member of a union that is of a wanted kind (the kind itself if not a union)."""
    kind = _bare(kind)
    members = kind.types if isinstance(kind, mi.UnionType) else (kind,)
    return next(m for m in map(_bare, members) if isinstance(m, wanted))


def _bare(kind: mi.Type) -> mi.Type:
    """kind without the description a document's model gives it for its JSON Schema."""
    return kind.type if isinstance(kind, mi.Metadata) else kind


def _choices(hint: Any) -> tuple[Any, ...]:
    """The values of the Literal in a type, in the order written (msgspec sorts them)."""
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    return next(filter(None, map(_choices, typing.get_args(hint))), ())


_SCALARS = {mi.BoolType: ("true or false", "booleans"), mi.StrType: ("a string", "strings")}
_SCALARS |= {mi.IntType: ("an integer", "integers"), mi.FloatType: ("a number", "numbers")}


def _words(kind: mi.Type, plural: bool = False) -> str:
    """What a value of kind is, in words: ``a list of strings``, ``true or false``."""
    kind = _bare(kind)
    if isinstance(kind, mi.UnionType):
        members = (m for m in kind.types if not isinstance(m, mi.NoneType))
        return " or ".join(_words(m, plural) for m in members)
    if isinstance(kind, mi.LiteralType):
        choices = [json.dumps(v) for v in kind.values]
        return choices[0] if len(choices) == 1 else "one of " + ", ".join(choices)
    if isinstance(kind, (mi.ListType, mi.VarTupleType, mi.DictType)):
        inner = kind.value_type if isinstance(kind, mi.DictType) else kind.item_type
        what = "table" if isinstance(kind, mi.DictType) else "list"
        what = f"non-empty {what}" if getattr(kind, "min_length", None) else what
        return (
            f"{what}s of {_words(inner, True)}" if plural else f"a {what} of {_words(inner, True)}"
        )
    if isinstance(kind, mi.IntType) and kind.ge is not None:
        return f"whole numbers >= {kind.ge}" if plural else f"a whole number >= {kind.ge}"
    one, many = _SCALARS.get(type(kind), ("a table", "tables"))
    return many if plural else one
