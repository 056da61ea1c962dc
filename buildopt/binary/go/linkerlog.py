"""What cmd/link says of methods with ``-v=2``, beside its ``-dumpdep`` edges (deadcode.go).

With ``-v`` twice the linker's dead-code pass logs each method it may keep and each method
the program calls through an interface:

    markable method: {Apply0 63644} of sym 23405 type:*main.T000
    reached iface method: {Error 63644}
    reached generic iface method: Apply0

``{NAME N}`` is the method's name and its signature's symbol index in that link: a method of a
reached type is kept when an interface call names the same pair (or a generic interface call or
a constant ``MethodByName`` names it), or, with method dead-code elimination off, when its name
is exported. The indices are compared as the linker compares them, never resolved to names.
The loader also names each package it loads (``ldobj: FILE (PATH)``). dumpdep.py reads the
edges of the same output; this reads these lines.

An interface call is logged while the linker reads the function that makes it, before it
prints the edges to what that function reaches first: the next edge's source is taken as the
caller (an edge from no name, `` -> go:info...``, is DWARF's and skipped). It is the caller
unless that function reached nothing new after the call; then it is the next function read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import msgspec

_MARKABLE = re.compile(r"markable method: \{(\S+) (\d+)\} of sym \d+ (.+)")
_CALLED = re.compile(r"reached iface method: \{(\S+) (\d+)\}")
_NAMED = "reached generic iface method: "
_LOADED = re.compile(r"ldobj: .* \(([^()]+)\)")
_MARKS = re.compile(r"(?: <(?:UsedInIface|ReflectMethod)>)+$")
EDGE = " -> "


class Method(msgspec.Struct, frozen=True):
    """A method of a reached type that the linker could keep."""

    name: str
    signature: str  # its type's symbol index in this link
    receiver: str  # the receiver's type symbol, e.g. type:*main.T

    @property
    def exported(self) -> bool:
        return self.name[:1].isupper()


class MethodLog(msgspec.Struct, frozen=True, kw_only=True):
    markable: tuple[Method, ...]
    called: frozenset[tuple[str, str]]  # (name, signature) of interface calls reached
    # (name, signature) -> the function read when each call was logged (None: at the end)
    callers: Mapping[tuple[str, str], tuple[str | None, ...]]
    named: frozenset[str]  # names from generic interface calls and constant MethodByName
    loaded: frozenset[str]  # the packages the linker loaded

    @property
    def logged(self) -> bool:
        """The link was made with -v=2 (a Go program always has markable methods)."""
        return bool(self.markable)

    def kept_anyway(self, method: Method) -> bool:
        """An interface call the linker reached, or a constant name, names method."""
        return (method.name, method.signature) in self.called or method.name in self.named


def read_methods(lines: Iterable[str]) -> MethodLog:
    markable: dict[Method, None] = {}
    callers: dict[tuple[str, str], list[str | None]] = {}
    waiting: list[tuple[tuple[str, str], int]] = []  # calls whose caller's edge is to come
    named: set[str] = set()
    loaded: set[str] = set()
    for raw in lines:
        line = raw.rstrip("\r\n")
        if EDGE in line:
            if waiting and not line.startswith(EDGE):
                caller = _MARKS.sub("", line[: line.index(EDGE)])
                for key, at in waiting:
                    callers[key][at] = caller
                waiting.clear()
        elif line.startswith("markable"):
            if m := _MARKABLE.match(line):
                markable[Method(m[1], m[2], m[3])] = None
        elif line.startswith("reached iface"):
            if m := _CALLED.match(line):
                key = (m[1], m[2])
                callers.setdefault(key, []).append(None)
                waiting.append((key, len(callers[key]) - 1))
        elif line.startswith(_NAMED):
            named.add(line[len(_NAMED) :].strip())
        elif line.startswith("ldobj: ") and (m := _LOADED.match(line)):
            loaded.add(m[1])
    return MethodLog(
        markable=tuple(markable),
        called=frozenset(callers),
        callers={key: tuple(found) for key, found in callers.items()},
        named=frozenset(named),
        loaded=frozenset(loaded),
    )
