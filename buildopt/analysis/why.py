"""Why a package is in a binary: the shortest import chain from the main package to it.

The packages are what ``go list -deps -json`` gives for the variant's target and build tags;
each names its direct imports (``Imports``, with vendored paths resolved as go resolved
them: ``ImportMap``). A package that uses cgo imports "C", which brings in runtime/cgo: that
is the edge taken for it. A breadth-first walk from the main package finds the shortest chain.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from typing import Any


class ImportGraph:
    """The packages go list gave, their direct imports, and who imports them."""

    def __init__(self, packages: Sequence[Mapping[str, Any]]) -> None:
        self.imports: dict[str, tuple[str, ...]] = {}
        self.main_module: set[str] = set()
        for p in packages:
            path = p.get("ImportPath")
            if not isinstance(path, str):
                continue
            mapped = {"C": "runtime/cgo", **(p.get("ImportMap") or {})}
            self.imports[path] = tuple(mapped.get(i, i) for i in p.get("Imports") or ())
            module = p.get("Module") or {}
            if isinstance(module, dict) and module.get("Main"):
                self.main_module.add(path)
        self.imported_by: dict[str, list[str]] = defaultdict(list)
        for path, deps in sorted(self.imports.items()):
            for d in dict.fromkeys(deps):
                self.imported_by[d].append(path)
        # go list -deps prints a package after all it imports: the main package comes last
        self.main = next(
            (p["ImportPath"] for p in reversed(packages) if p.get("Name") == "main"), None
        )

    def importers(self, package: str) -> tuple[str, ...]:
        """The packages of the graph that import package directly, sorted."""
        return tuple(self.imported_by.get(package, ()))

    def reachable(self, start: str) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in self.imports.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen


def import_chain(
    packages: Sequence[Mapping[str, Any]], start: str, wanted: str
) -> tuple[str, ...] | None:
    """The import paths from start to wanted, both included; None if start does not import it
    (directly or not)."""
    imports = ImportGraph(packages).imports
    if start not in imports:
        return None
    parent: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == wanted:
            chain = [here]
            while (up := parent[chain[-1]]) is not None:
                chain.append(up)
            return tuple(reversed(chain))
        for nxt in sorted(imports.get(here, ())):
            if nxt not in parent:
                parent[nxt] = here
                queue.append(nxt)
    return None


def close_matches(packages: Sequence[Mapping[str, Any]], wanted: str) -> list[str]:
    """Packages of the graph whose path is close to what was asked for (a typo's neighbours),
    or holds it (a last element asked for alone)."""
    import difflib

    paths = [p["ImportPath"] for p in packages if isinstance(p.get("ImportPath"), str)]
    close = difflib.get_close_matches(wanted, paths, n=3, cutoff=0.8)
    holding = sorted(p for p in paths if p.endswith("/" + wanted))
    return [*close, *(p for p in holding if p not in close)][:5]
