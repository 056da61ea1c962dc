"""Which Go package a function or symbol name belongs to (debug/gosym's PackageName rules).

package_of and is_init state the rules one name at a time; attribute applies them to a whole
name table at once, without a Python object per name (a Go binary has 100k+ names), and only
the few hundred package names that come out are decoded.
"""

from __future__ import annotations

import functools
import operator
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import accumulate, compress, repeat

from buildopt.binary.bulk import gather

GENERATED = "(generated)"
_GENERATED = GENERATED.encode()
_NEW_PREFIXES = (b"go:", b"type:")
_OLD_PREFIXES = (b"go.", b"type.")


def package_of(name: bytes, old_prefixes: bool = False) -> bytes:
    """The package path of a Go symbol name, or GENERATED for compiler-made symbols.

    Generic instantiations (``slices.Sort[go.shape.int]``) lose their brackets first; since Go
    1.20 names starting ``go:`` or ``type:`` belong to no package (before: ``go.``, ``type.``).
    The package is everything up to the first dot after the last slash.
    """
    start = name.find(b"[")
    if start >= 0:
        end = name.rfind(b"]")
        if end > start:
            name = name[:start] + name[end + 1 :]
    if name.startswith(_OLD_PREFIXES if old_prefixes else _NEW_PREFIXES):
        return _GENERATED
    dot = name.find(b".", name.rfind(b"/") + 1)
    return name[:dot] if dot > 0 else _GENERATED


_ESCAPED = re.compile(rb"%([0-9a-fA-F]{2})")


def package_path(raw: bytes) -> str:
    """A package as its import path says it. In symbol names the linker escapes a '.' of the
    last path element, '%', '"', spaces and control or non-ASCII bytes as %XX
    (cmd/internal/objabi.PathToPrefix): ``crypto/internal/fips140/v1%2e0%2e0`` is
    ``crypto/internal/fips140/v1.0.0``. This is objabi.PrefixToPath."""
    if b"%" in raw:
        raw = _ESCAPED.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("utf-8", "replace")


def is_init(name: bytes, package: bytes) -> bool:
    """True for a package's init code: ``pkg.init``, ``pkg.init.0``, ``pkg.init.func1``,
    and the map initialisers the compiler splits out (``pkg.map.init.0``)."""
    rest = name[len(package) + 1 :]
    return rest == b"init" or rest.startswith((b"init.", b"map.init."))


def module_of(package: str, modules: tuple[str, ...], main_module: str) -> str:
    """The module holding package: the longest module path that is a prefix; std otherwise."""
    best = ""
    for module in modules:
        if (package == module or package.startswith(module + "/")) and len(module) > len(best):
            best = module
    if best:
        return best
    if package == "main":
        return main_module or "main"
    if package == GENERATED:
        return GENERATED
    first = package.split("/", 1)[0]
    return "std" if "." not in first else "(unknown)"


def attribute(
    blob: bytes,
    offsets: Sequence[int],
    sizes: Sequence[int],
    old_prefixes: bool,
    inits: bool = True,
    *,
    extra: Sequence[Sequence[int]] = (),
) -> dict[bytes, list[int]]:
    """Sum sizes per package: ``{package: [bytes, count, init bytes, *extra sums]}``; each
    column of ``extra`` (one value per entry, as sizes) is summed per package the same way.

    ``blob`` is a table of NUL-terminated names (.strtab, the pclntab's funcnametab) and
    ``offsets[i]`` is where the name of the entry of ``sizes[i]`` starts in it. The result is
    what package_of and is_init give on every name (a property test holds it to that), but
    computed on runs of names: Go writes a package's names next to each other, so one regular
    expression cuts the whole table into runs of one package each (see Runs), and with the
    entries sorted by offset, each run's entries are found by one bisection. There is no Python
    object per name, and the Python loop is per run. Offsets into the middle of a name (linkers
    share string tails) are resolved one by one. Raises ValueError for an offset past the end
    of the table.
    """
    table = blob if blob.endswith(b"\0") else bytes(blob) + b"\0"  # copy only when needed
    offsets, sizes = list(offsets), list(sizes)
    columns = [list(c) for c in extra]
    if any(len(c) != len(offsets) for c in (sizes, *columns)):
        raise ValueError("offsets and sizes differ in length")
    in_order = sorted(offsets)  # ~5x faster than a pairwise check when already sorted
    if in_order != offsets:  # tables are mostly in name order
        order = sorted(range(len(offsets)), key=offsets.__getitem__)
        offsets, sizes = in_order, list(gather(sizes, order))
        columns = [list(gather(c, order)) for c in columns]
    if offsets and (offsets[-1] > len(blob) or offsets[0] < 0):
        raise ValueError(f"string offset {offsets[-1]} is past the end of its table")
    if offsets and offsets[-1] == len(table):  # just past a table that ends with NUL: ""
        table += b"\0"
    totals: dict[bytes, list[int]] = {}
    # The byte before each name: 0 where names start. (One copy of the table, shifted by a
    # byte, costs less than subtracting 1 from every offset.)
    before = gather(b"\0" + table, offsets)
    if before.count(0) != len(before):
        inside = list(map(bool, before))
        rows = zip(
            compress(offsets, inside),
            compress(sizes, inside),
            *(compress(c, inside) for c in columns),
            strict=True,
        )
        for offset, size, *more in rows:
            name = table[offset : table.index(0, offset)]
            package = package_of(name, old_prefixes)
            init = size if inits and is_init_of(name, package) else 0
            _add(totals, package, [size, 1, init, *more])
        outside = list(map(operator.not_, inside))
        offsets, sizes = list(compress(offsets, outside)), list(compress(sizes, outside))
        columns = [list(compress(c, outside)) for c in columns]
    if offsets:
        _add_runs(totals, Runs.of(table, old_prefixes, inits), offsets, sizes, columns)
    return totals


def is_init_of(name: bytes, package: bytes) -> bool:
    """is_init, for any package_of result (generated names are never init code)."""
    return package != _GENERATED and is_init(name, package)


def _add_runs(
    totals: dict[bytes, list[int]],
    runs: Runs,
    offsets: list[int],
    sizes: list[int],
    columns: Sequence[list[int]] = (),
) -> None:
    """Add each run's entries (offsets sorted) to its package, one addition per run."""
    firsts = [*map(bisect_left, repeat(offsets), runs.starts), len(offsets)]

    def per_run(values: list[int]) -> list[int]:
        cumulative = list(accumulate(values, initial=0))
        return list(map(operator.sub, gather(cumulative, firsts[1:]), gather(cumulative, firsts)))

    run_bytes = per_run(sizes)
    run_more = [per_run(c) for c in columns]
    run_counts = list(map(operator.sub, firsts[1:], firsts))
    rows = zip(runs.packages, run_bytes, run_counts, runs.inits, *run_more, strict=True)
    for package, size, count, init, *more in compress(rows, run_counts):
        _add(totals, package, [size, count, size if init else 0, *more])


def _pattern(generated: bytes, inits: bool) -> re.Pattern[bytes]:
    r"""One match per run of names, as (whole run, package + ".", init, other name):

    * generated names in a row (``go:``/``type:`` prefixed, or without any dot) - no package;
    * a run of one package: group 2 is the package of the first name and its dot (everything
      up to the first dot after the last slash before any ``[``), and the names after it start
      with that too. The package is right when no name has a ``/`` after it, which Runs.of
      checks by counting slashes (this keeps the scan in sre's fastest single-byte loops);
    * with ``inits``, group 3 is non-empty when the run is init code (see is_init:
      ``package.init``, ``.init.N``, ``.map.init.N``...), and a run is all init code or none.
      The choice never backtracks into group 2 (which would shorten the package);
    * any other name (group 4), resolved by package_of.

    Where Python has them (3.11+), possessive repeats spare sre the backtracking bookkeeping:
    no match here ever needs to give back what a repeat took.
    """
    many, some = (b"*+", b"++") if _POSSESSIVE else (b"*", b"+")
    rest = rb"[^\0]" + many + rb"\0"  # the rest of a name
    # Up to the first dot after the last slash before any "[": the slashes are taken whole
    # (possessive), so the package never stops at an earlier dot.
    package = rb"((?:[^\0/\[]*/)" + many + rb"[^\0/.\[]*\.)"
    if inits:
        init = rb"(?:init[\0.]|map\.init\.)"  # what follows the dot in init code
        mark = rb"(?:(?=(init[\0.]|map\.init\.))|)"  # group 3: init code, or nothing
        same = rb"(?(3)(?=" + init + rb")|(?!" + init + rb"))"  # the same kind as the first
    else:
        mark, same = b"()", b""
    alternatives = (
        rb"(?:(?:" + generated + rb")" + rest + rb")" + some,
        rb"(?:[^\0.]" + many + rb"\0)" + some,
        package + mark + rest + rb"(?:\2" + same + rest + rb")" + many,
        rb"([^\0]" + many + rb")\0",
    )
    return re.compile(rb"(" + rb"|".join(alternatives) + rb")")


@functools.cache
def _patterns(old_prefixes: bool, inits: bool) -> re.Pattern[bytes]:
    """The pattern for Go before 1.20 (``go.``/``type.`` prefixes) or after; compiled on first
    use (a few ms each)."""
    return _pattern(rb"go\.|type\." if old_prefixes else rb"go:|type:", inits)


_WHOLE, _PACKAGE, _INIT, _OTHER = map(operator.itemgetter, range(4))
_NO_DOT: Callable[[bytes], bytes] = operator.itemgetter(slice(None, -1))  # "pkg." -> "pkg"
_AS_GENERATED = {b"": _GENERATED}
_POSSESSIVE = sys.version_info >= (3, 11)  # possessive repeats: *+ and ++
_BRACKETS = re.compile(rb"\[[^\0]*\]")  # first [ to last ] of a name, as package_of strips


class Runs:
    """A name table cut into runs of names of one package: where each starts, its package
    (GENERATED for names of no package), and whether its names are init code. Consecutive
    runs may share a package. (A working structure, split in place while it is built - not
    a fact.)"""

    __slots__ = ("inits", "packages", "starts")

    def __init__(self, starts: list[int], packages: list[bytes], inits: list[bool]) -> None:
        self.starts, self.packages, self.inits = starts, packages, inits

    @classmethod
    def of(cls, table: bytes, old_prefixes: bool, inits: bool = True) -> Runs:
        """The runs of a NUL-terminated table, with C-level passes over the matches; without
        ``inits``, init code is not told apart (all inits are False)."""
        pattern = _patterns(old_prefixes, inits)
        found: list[tuple[bytes, bytes, bytes, bytes]] = pattern.findall(table)
        texts: list[bytes] = list(map(_WHOLE, found))
        flags: list[bool] = list(map(bool, map(_INIT, found)))
        dotted: list[bytes] = list(map(_PACKAGE, found))  # b"" but for package runs
        packages: list[bytes] = list(map(_NO_DOT, dotted))
        if b"" in packages:  # generated (names starting with "." too): never init code
            flags = list(map(operator.and_, flags, map(bool, packages)))
            packages = list(map(_AS_GENERATED.get, packages, packages))
        for i in compress(range(len(found)), map(_OTHER, found)):
            name = found[i][3]
            packages[i] = package_of(name, old_prefixes)
            flags[i] = is_init_of(name, packages[i])
        runs = cls(list(accumulate(map(len, texts), initial=0))[:-1], packages, flags)
        for i in reversed(_suspects(texts, dotted)):  # from the end: a split shifts the rest
            runs._split(i, texts[i], old_prefixes)
        if not inits:
            runs.inits[:] = [False] * len(runs.inits)
        return runs

    def _split(self, i: int, text: bytes, old_prefixes: bool) -> None:
        """Run i has a name with a slash after its package: the names with more slashes than
        the package are checked one by one, and each one of another package becomes a run of
        its own (most are not: their slashes are inside brackets, Sort[net/http.Header])."""
        package, start, init = self.packages[i], self.starts[i], self.inits[i]
        names = text[:-1].split(b"\0")
        positions = list(accumulate(map(operator.add, map(len, names), repeat(1)), initial=start))
        slashes = package.count(b"/")
        counts = map(bytes.count, names, repeat(b"/"))
        new_starts: list[int] = []
        new_packages: list[bytes] = []
        new_inits: list[bool] = []
        for k in compress(range(len(names)), map(operator.ne, counts, repeat(slashes))):
            found = package_of(names[k], old_prefixes)
            if found != package:
                new_starts += (positions[k], positions[k + 1])
                new_packages += (found, package)
                new_inits += (is_init_of(names[k], found), init)
        self.starts[i + 1 : i + 1] = new_starts
        self.packages[i + 1 : i + 1] = new_packages
        self.inits[i + 1 : i + 1] = new_inits


def _suspects(texts: list[bytes], dotted: list[bytes]) -> list[int]:
    """The package runs where some name has a slash after its package: more slashes than
    the package has, times the names. Counting is a C loop over the run (~1 ns a byte), so it
    is done only where the run holds a slash at all (memchr) and the package has slashes;
    and a run whose extra slashes all sit inside brackets is not suspect."""
    with_slash = map(operator.contains, texts, repeat(b"/"))
    runs = list(compress(range(len(texts)), map(operator.and_, map(bool, dotted), with_slash)))
    suspects = []
    for i in runs:
        slashes, text = dotted[i].count(b"/"), texts[i]
        if slashes and (
            # One name without brackets: its package is right by construction.
            (_POSSESSIVE and text.index(0) == len(text) - 1 and b"[" not in text)
            or text.count(b"/") == text.count(0) * slashes  # no slash too many
        ):
            continue
        stripped = _BRACKETS.sub(b"", texts[i])
        if stripped.count(b"/") != stripped.count(0) * slashes:
            suspects.append(i)
    return suspects


def _add(totals: dict[bytes, list[int]], package: bytes, values: list[int]) -> None:
    row = totals.get(package)
    if row is None:
        totals[package] = values
    else:
        row[:] = map(operator.add, row, values)
