"""Which Go package a function or symbol name belongs to (debug/gosym's PackageName rules).

The hot loops work on raw name bytes (decoding ~100k names costs more than attributing them);
only the few hundred package names that come out are decoded.
"""

from __future__ import annotations

from collections.abc import Iterable

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
    names: Iterable[bytes], sizes: Iterable[int], old_prefixes: bool
) -> dict[bytes, list[int]]:
    """Sum sizes per package: ``{package: [bytes, count, init bytes]}``.

    Go lays out a package's functions (and symbols) next to each other, so most names start
    with the previous name's ``package.``; when the rest holds no ``/`` the package is that same
    one (brackets can only hide a ``/`` that this check already sees), and the full rule in
    package_of runs only when the package changes. The result is the same as calling
    package_of on every name (a property test holds it to that), at a fraction of the cost:
    the common case adds to local integers and moves on.
    """
    totals: dict[bytes, list[int]] = {}
    generated = _OLD_PREFIXES if old_prefixes else _NEW_PREFIXES
    package, prefix, plen = b"", b"\0", 1
    run_bytes = run_count = run_init = 0
    for name, size in zip(names, sizes, strict=True):
        if name.startswith(prefix) and name.find(b"/", plen) < 0:
            run_bytes += size
            run_count += 1
            if b"init" in name and is_init(name, package):
                run_init += size
            continue
        found = _GENERATED if name.startswith(generated) else package_of(name, old_prefixes)
        if found == _GENERATED:  # a package's run may go on after a generated name
            row = totals.setdefault(_GENERATED, [0, 0, 0])
            row[0] += size
            row[1] += 1
            continue
        _add(totals, package, run_bytes, run_count, run_init)
        package, prefix, plen = found, found + b".", len(found) + 1
        run_bytes, run_count = size, 1
        run_init = size if is_init(name, package) else 0
    _add(totals, package, run_bytes, run_count, run_init)
    return totals


def _add(totals: dict[bytes, list[int]], package: bytes, size: int, count: int, init: int) -> None:
    if count:
        row = totals.setdefault(package, [0, 0, 0])
        row[0] += size
        row[1] += count
        row[2] += init
