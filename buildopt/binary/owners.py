"""Owners from the linker: the strings, type descriptors, func descriptors, GC masks and package
statics that no symbol of the binary sizes, each to a package - by what the linker's dead-code
pass says reached it (``-dumpdep``, binary/go/dumpdep.py) and how big the compiled archives say
it is (binary/go/objsizes.py); and the symbols and functions of no package (``go:itab.*``,
``type:.eq.*``) that the file's own attribution leaves in the "generated" bucket.

A symbol's owner is, in this order:

* the package its name says: a static (``net/http..stmp_3``), a named type's descriptor
  (``type:net/http.Request``, ``type:*net/http.Request``, ``type:sync/atomic.Pointer[...]``);
* else the owner of the symbol that reached it first - a string literal (``go:string."..."``), an
  unnamed type (``type:[]uint8``, ``type:func(string) error``), a type's name data, an itab, a
  type's equality function. The linker reaches a symbol once: a string two packages use goes
  to the one the linker came to first (the **first referrer**); ``first_referrer_bytes`` says
  how many bytes were given so;
* else (a chain that reaches a root without a package) the "generated" bucket.

A type descriptor counts with the padding after it (``slot``). What the read-only (data)
sections' bucket keeps is the padding no slot explains and what the linker made itself. The
sums are checked: members may not exceed the bytes no symbol covered (else nothing changes:
``None`` and why), moved symbols and functions not the "generated" bucket; every byte stays
counted once.
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
_BYTES_ONLY = ("type:.namedata.", "type:.importpath.")  # aligned to 1 (cmd/internal/obj)
MAX_ALIGN = {"arm": 8}  # cmd/link/internal/*/l.go maxAlign: 32 on the others
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


def slot(name: str, size: int, max_align: int) -> int:
    """A type descriptor's bytes with the padding after it: its size rounded up to the
    alignment the linker gives it - the largest power of two <= its size, up to the
    architecture's maxAlign (cmd/link/internal/ld/data.go symalign); other members as they are.
    The linker lays type descriptors out by size, so the padding after one is mostly what
    its own alignment asks of the next of its size (as code_bytes counts a function's)."""
    if not name.startswith("type:") or name.startswith(_BYTES_ONLY):
        return size
    align = max_align
    while align > size and align > 1:
        align >>= 1
    return -(-size // align) * align


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
        if name in objects.ambiguous:  # two statics of that name, of two sizes: which one?
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
    max_align: int = 32,
    generated: Mapping[str, tuple[bool, int]] | None = None,
    functions: Mapping[str, tuple[int, int, int]] | None = None,
) -> tuple[Attribution | None, str]:
    """The attribution with the hidden members given to their owners ("linker"), or None and
    why not (the members would exceed the bytes no symbol covers: a table that does not
    match). Type descriptors take their slots (``slot``) where those fit in the bucket."""
    members = hidden_members(reach, objects, in_symtab)
    slots = {n: slot(n, size, max_align) for n, size in members.items()}
    shared = _shared(whole, slots, objects, Owners(reach))
    if isinstance(shared, str):  # the slots do not fit: the sizes alone
        shared = _shared(whole, members, objects, Owners(reach))
        if isinstance(shared, str):
            return None, shared
        slots = members
    rows, buckets, by_referrer = shared
    by_referrer += _generated(rows, buckets, generated or {}, Owners(reach))
    by_referrer += _functions(rows, buckets, functions or {}, Owners(reach))
    padded = any(p.padding_bytes is not None for p in whole.by_package)
    result = rebuilt(whole.file_bytes, rows, buckets, modules, main_module, versions, padded)
    padding = sum(slots.values()) - sum(members.values())
    changes = {"first_referrer_bytes": by_referrer, "alignment_bytes": padding}
    return msgspec.structs.replace(result, method="linker", **changes), ""


def _generated(
    rows: dict[str, list[int]],
    buckets: dict[str, int],
    generated: Mapping[str, tuple[bool, int]],
    owners: Owners,
) -> int:
    """The data symbols of no package the twin's .symtab sizes (``go:itab.*``, assembly
    tables such as ``K256``, the compiler's ``$f64.`` constants) moved from the "generated"
    bucket to the owner of what reached them; the bytes moved."""
    moved = 0
    for name, (read_only, size) in generated.items():
        if name not in owners.reach or size > buckets.get("generated", 0):
            continue
        owner, _ = owners.of(name)
        if owner != GENERATED:
            rows.setdefault(owner, [0] * 7)[RODATA if read_only else DATA] += size
            buckets["generated"] -= size
            moved += size
    return moved


def _functions(
    rows: dict[str, list[int]],
    buckets: dict[str, int],
    functions: Mapping[str, tuple[int, int, int]],
    owners: Owners,
) -> int:
    """The Go functions of no package (``type:.eq.*``: name -> (code, pclntab bytes, .symtab
    size), attribution.generated_functions) moved from the "generated" bucket to the owner of
    what reached them; the bytes moved."""
    moved = 0
    for name, (code, pclntab, symbol) in functions.items():
        if name not in owners.reach or code + pclntab > buckets.get("generated", 0):
            continue
        owner, _ = owners.of(name)
        if owner != GENERATED:
            row = rows.setdefault(owner, [0] * 7)
            row[CODE] += code
            row[PCLNTAB] += pclntab
            row[SYMBOLS] += symbol
            buckets["generated"] -= code + pclntab
            moved += code + pclntab
    return moved


def _shared(
    whole: Attribution, sizes: Mapping[str, int], objects: ObjectSymbols, owners: Owners
) -> tuple[dict[str, list[int]], dict[str, int], int] | str:
    """(package rows, buckets, bytes by first referrer) with sizes given to their owners, or
    why they cannot be: more than the bytes no symbol covers."""
    rows: dict[str, list[int]] = {p.package: _row(p) for p in whole.by_package}
    buckets = {b.name: b.file_bytes for b in whole.buckets}
    given = {RODATA: 0, DATA: 0}
    by_referrer = 0
    for name, size in sizes.items():
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
            return (
                f"the linker's {'read-only ' if column == RODATA else ''}data symbols add up "
                f"to {given[column]} bytes, more than the {buckets.get(bucket, 0)} no symbol "
                "covers"
            )
        buckets[bucket] = buckets.get(bucket, 0) - given[column]
    return rows, buckets, by_referrer


def _row(share: PackageShare) -> list[int]:
    """The share as attribute_file's row (its .symtab code sizes: code less padding)."""
    row = [0] * 7
    row[CODE], row[PCLNTAB] = share.code_bytes, share.pclntab_bytes
    row[RODATA], row[DATA], row[BSS] = share.rodata_bytes, share.data_bytes, share.bss_bytes
    row[SYMBOLS] = share.code_bytes - (share.padding_bytes or 0)
    return row
