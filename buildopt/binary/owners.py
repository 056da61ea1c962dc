"""Owners from the linker: the strings, type descriptors, func descriptors, GC masks and package
statics that no symbol of the binary sizes, each to a package - by what the linker's dead-code
pass says reached it (``-dumpdep``, binary/go/dumpdep.py) and how big the compiled archives say
it is (binary/go/objsizes.py).

A symbol's owner is, in this order:

* the package its name says: a static (``net/http..stmp_3``), a named type's descriptor
  (``type:net/http.Request``, ``type:*net/http.Request``, ``type:sync/atomic.Pointer[...]``);
* else the owner of the symbol that reached it first - a string literal (``go:string."..."``), an
  unnamed type (``type:[]uint8``, ``type:func(string) error``), a type's name data. The linker
  reaches a symbol once: a string two packages use goes to the one the linker came to first
  (the **first referrer**), and ``first_referrer_bytes`` says how many bytes were given so;
* else (a chain that reaches a root without a package) the "generated" bucket.

The members' sizes are summed per owner; what the read-only (data) sections' bucket keeps is
the alignment padding between the grouped symbols and what the linker made itself. The sum is
checked: members may not exceed the bytes no symbol covered, else nothing changes (``None``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec

from buildopt.binary.attribution import BSS, CODE, DATA, PCLNTAB, RODATA, SYMBOLS, rebuilt
from buildopt.binary.facts import Attribution, PackageShare
from buildopt.binary.go.dumpdep import Reach
from buildopt.binary.go.names import GENERATED, package_of, package_path
from buildopt.binary.go.objsizes import READ_ONLY, ObjectSymbols

RODATA_BUCKET, DATA_BUCKET = "read-only data without a symbol", "data without a symbol"
# Func data (stack maps, arg info...) lives in .gopclntab's go:func.* (Go 1.22+), which the
# function table already shares out: cmd/internal/obj contentHashSection's 'F' names.
_FUNCDATA_PREFIXES = ("gcargs.", "gclocals.", "gclocals·", "go:func.", "go:funcrel.")
_FUNCDATA_SUFFIXES = (
    ".opendefer",
    ".arginfo0",
    ".arginfo1",
    ".argliveinfo",
    ".wrapinfo",
    ".args_stackmap",
    ".stkobj",
)
_TYPE = re.compile(r"^type:(?:\*|noalg\.)*")
_NOT_DECLARED = ("map.", "go.shape", "go:", "noalg.")


def declared_package(name: str) -> str | None:
    """The package a type descriptor's name says declares the type (``type:*net/http.Header``:
    net/http); None for a type no package declares (``type:[]uint8``, ``type:map[...]...``,
    ``type:struct {...}``) and for what is not a type descriptor."""
    found = _TYPE.match(name)
    if found is None or name.startswith("type:."):
        return None
    head = re.split(r"[\[\s({]", name[found.end() :], maxsplit=1)[0]
    if "." not in head or head.startswith(_NOT_DECLARED):
        return None
    raw = package_of(head.encode())
    return None if raw == GENERATED.encode() else package_path(raw)


def _named_package(name: str) -> str | None:
    if name.startswith("type:"):
        return declared_package(name)
    raw = package_of(name.encode())
    if raw == GENERATED.encode() or name.startswith("$"):
        return None
    return package_path(raw)


class Owners:
    """Each reached symbol's owner (see the module's text), memoised along the chains."""

    def __init__(self, reach: Reach) -> None:
        self.reach = reach
        self.cache: dict[str, tuple[str, bool]] = {}  # symbol -> (owner, by a first referrer)

    def of(self, symbol: str) -> tuple[str, bool]:
        """(package or GENERATED, whether it came from a referrer rather than the name)."""
        path: list[str] = []
        current, owner = symbol, (GENERATED, True)
        while current:
            if current in self.cache:
                owner = self.cache[current]
                break
            named = _named_package(current)
            if named is not None:
                owner = (named, False)
                break
            path.append(current)
            current = self.reach.parent.get(current, "")
        for s in path:  # named by no name of their own: by a referrer's
            self.cache[s] = (owner[0], True)
        return self.cache[symbol] if path else owner


def hidden_members(
    reach: Reach, objects: ObjectSymbols, in_symtab: Mapping[str, int]
) -> dict[str, int]:
    """{symbol: size} of the reached data symbols the twin's .symtab does not size (carrier
    members, statics), func data left out."""
    found = {}
    for name in reach.parent:
        if name in in_symtab or name.startswith(_FUNCDATA_PREFIXES):
            continue
        entry = objects.sizes.get(name)
        if entry is None or not entry[0] or name.endswith(_FUNCDATA_SUFFIXES):
            continue
        found[name] = entry[0]
    return found


def with_linker_owners(
    whole: Attribution,
    reach: Reach,
    objects: ObjectSymbols,
    in_symtab: Mapping[str, int],
    *,
    modules: tuple[str, ...],
    main_module: str,
    versions: Mapping[str, str],
) -> tuple[Attribution | None, str]:
    """The attribution with the hidden members given to their owners ("linker"), or None and
    why not (the members would exceed the bytes no symbol covers: a table that does not match)."""
    owners = Owners(reach)
    rows: dict[str, list[int]] = {p.package: _row(p) for p in whole.by_package}
    buckets = {b.name: b.file_bytes for b in whole.buckets}
    given = {RODATA: 0, DATA: 0}
    by_referrer = 0
    for name, size in hidden_members(reach, objects, in_symtab).items():
        column = RODATA if objects.sizes[name][1] == READ_ONLY else DATA
        owner, referred = owners.of(name)
        given[column] += size
        if owner == GENERATED:
            buckets["generated"] = buckets.get("generated", 0) + size
            continue
        rows.setdefault(owner, [0] * 7)[column] += size
        by_referrer += size if referred else 0
    for column, bucket in ((RODATA, RODATA_BUCKET), (DATA, DATA_BUCKET)):
        if given[column] > buckets.get(bucket, 0):
            return None, (
                f"the linker's {'read-only ' if column == RODATA else ''}data symbols add up "
                f"to {given[column]} bytes, more than the {buckets.get(bucket, 0)} no symbol "
                "covers"
            )
        buckets[bucket] = buckets.get(bucket, 0) - given[column]
    padded = any(p.padding_bytes is not None for p in whole.by_package)
    result = rebuilt(whole.file_bytes, rows, buckets, modules, main_module, versions, padded)
    return msgspec.structs.replace(result, method="linker", first_referrer_bytes=by_referrer), ""


def _row(share: PackageShare) -> list[int]:
    """The share as attribute_file's row (its .symtab code sizes: code less padding)."""
    row = [0] * 7
    row[CODE], row[PCLNTAB] = share.code_bytes, share.pclntab_bytes
    row[RODATA], row[DATA], row[BSS] = share.rodata_bytes, share.data_bytes, share.bss_bytes
    row[SYMBOLS] = share.code_bytes - (share.padding_bytes or 0)
    return row
