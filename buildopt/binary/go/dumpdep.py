"""What the linker's dead-code pass reached, and from where: ``go build -ldflags=-dumpdep``.

With ``-dumpdep``, cmd/link prints one line per symbol its dead-code pass marks reachable, at
the moment it does, as ``FROM -> TO`` (cmd/link/internal/ld/deadcode.go, ``mark``): FROM is the
symbol that reached TO first (``_`` for a root such as ``_rt0_amd64_linux``), and a name may be
followed by markers, `` <UsedInIface>`` or `` <ReflectMethod>`` (a function that calls
reflect's Method or MethodByName with a name not known at compile time). A symbol is printed
when first reached (again for a second ABI of a function, or when a type is found used in an
interface: the first line stands), so the lines form a tree: every symbol's chain back to a
root is the way the linker found it. go build prints the linker's output after a ``# PACKAGE`` line.

String symbols are named by their quoted contents (``go:string."a -> b"``), so " -> " may occur
inside a name: the separator is the one whose left side is a root or a symbol already reached
(the linker marks a symbol's parent before the symbol).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

import msgspec

ROOT = "_"
SEPARATOR = " -> "
_MARKERS = re.compile(r"^(.*?) ((?:<(?:UsedInIface|ReflectMethod)>)+)$")


class Reach(msgspec.Struct, frozen=True):
    """Each reached symbol with the symbol that first reached it ("" for a root) and its
    markers (``ReflectMethod``, ``UsedInIface``)."""

    parent: Mapping[str, str]
    flags: Mapping[str, frozenset[str]]

    def __contains__(self, symbol: object) -> bool:
        return symbol in self.parent

    def __len__(self) -> int:
        return len(self.parent)

    def chain(self, symbol: str) -> tuple[str, ...]:
        """The symbols from a root to symbol, both included; () if it was not reached."""
        if symbol not in self.parent:
            return ()
        chain = [symbol]
        while (up := self.parent[chain[-1]]) and up not in chain:  # (a tree: no cycle)
            chain.append(up)
        return tuple(reversed(chain))

    def marked(self, flag: str) -> Iterator[str]:
        """The symbols with that marker, in the order they were reached."""
        return (s for s, f in self.flags.items() if flag in f)


def _name(text: str) -> tuple[str, frozenset[str]]:
    """A printed name without its markers, and the markers."""
    found = _MARKERS.match(text)
    if found is None:
        return text, frozenset()
    return found[1], frozenset(re.findall(r"<(\w+)>", found[2]))


def parse(lines: Iterable[str]) -> Reach:
    """The reach the lines print; lines that are not edges (go build's ``# PACKAGE`` header,
    warnings) are skipped."""
    parent: dict[str, str] = {}
    flags: dict[str, frozenset[str]] = {}
    for raw in lines:
        line = raw.rstrip("\r\n")
        if SEPARATOR not in line:
            continue
        edge = _split(line, parent)
        if edge is None:
            continue
        (source, source_flags), (target, target_flags) = edge
        # A symbol can be printed again: under another ABI (runtime.osyield), or marked anew
        # once a type is found used in an interface. The first edge is how it was reached.
        parent.setdefault(target, "" if source == ROOT else source)
        for name, marks in ((source, source_flags), (target, target_flags)):
            if marks and name != ROOT:
                flags[name] = flags.get(name, frozenset()) | marks
    return Reach(parent, flags)


def _split(
    line: str, reached: Mapping[str, str]
) -> tuple[tuple[str, frozenset[str]], tuple[str, frozenset[str]]] | None:
    """FROM and TO of one line: the first separator whose left side is a root or a symbol
    already reached (a name may hold the separator); None when there is none."""
    at = line.find(SEPARATOR)
    while at >= 0:
        source = _name(line[:at])
        if source[0] in (ROOT, "") or source[0] in reached:  # "": a symbol with no name
            return source, _name(line[at + len(SEPARATOR) :])
        at = line.find(SEPARATOR, at + 1)
    return None
