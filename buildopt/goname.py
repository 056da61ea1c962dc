"""Which Go package a function or symbol name belongs to (debug/gosym's PackageName rules).

The hot loops work on raw name bytes (decoding ~100k names costs more than attributing them);
only the few hundred package names that come out are decoded.
"""

from __future__ import annotations

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
