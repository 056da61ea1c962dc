"""The size of every data symbol of a build's compiled packages: ``go tool nm -size -type`` over
the archives ``go list -export -deps`` names (the build cache's, for the build's own flags).

The linker groups strings (``go:string.*``), type descriptors (``type:*``), func descriptors
(``go:funcdesc``) and GC masks (``runtime.gcbits.*``) under carrier symbols of no size and leaves
the package statics (``pkg..stmp_N``) out of .symtab (cmd/link/internal/ld/symtab.go): the
binary no longer says how big each one is. The archives do: each symbol is there with its size,
as the compiler wrote it and the linker copies it.

A line of ``go tool nm -size -type`` over several files reads ``FILE:\\tADDR SIZE TYPE NAME``
(``FILE(MEMBER)`` for an archive of several objects; NAME may hold spaces); a static symbol is
printed with its version, ``net/http..stmp_3<1>``, and a lower-case type letter.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import msgspec

_VERSION = re.compile(r"<\d+>$")
# The kinds of data that are file bytes: read-only data and data (nm's R/r, D/d); B/b is bss.
READ_ONLY, WRITABLE = "r", "d"
_DATA = frozenset("rRdD")


class ObjectSymbols(msgspec.Struct):
    """Data symbols of the archives by name: (size, "r" read-only or "d" writable). A name
    defined with two sizes (a static of the same name in two packages) keeps the first and
    is listed in ``ambiguous``."""

    sizes: dict[str, tuple[int, str]] = msgspec.field(default_factory=dict)
    ambiguous: set[str] = msgspec.field(default_factory=set)

    def add_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            # FILE:\tADDR SIZE TYPE NAME; an undefined symbol has no ADDR (SIZE U NAME)
            parts = line[line.find("\t") + 1 :].split(None, 3)
            if len(parts) != 4 or parts[2] not in _DATA or not parts[1].isdigit():
                continue
            name, size = parts[3].rstrip("\r\n"), int(parts[1])
            if name.endswith(">"):
                name = _VERSION.sub("", name)
            kind = parts[2].lower()
            had = self.sizes.setdefault(name, (size, kind))
            if had != (size, kind):
                self.ambiguous.add(name)
