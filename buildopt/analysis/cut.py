"""What cutting a dependency saves: the packages reachable only through it.

The graph is the variant's import graph as ``go list -deps -json`` gives it for the build's
environment and tags (see analysis/why.py). A package X *dominates* Y when every import chain
from the main package to Y passes through X: when X goes, Y goes. X's dominated set (X and
everything it dominates) is what leaves the binary when every import of X is removed - its
subtree in the dominator tree (networkx's Cooper-Harvey-Kennedy ``immediate_dominators``).
Removing one import of X while another package still imports it removes nothing.

The bytes are the record's whole-file attribution (``PackageShare.file_bytes``: code, pclntab
share, data; with the linker's owners also the strings and type descriptors its packages
reached), with what no package owns (alignment, the pclntab's lookup and file tables, an
unstripped file's DWARF and symbols; without the linker's owners a stripped file's strings and
types too) spread over the packages in proportion to what they own: an estimate, not a
measurement. The graph is of packages, the linker keeps functions: code of a package that
stays but is reached only through the cut one (compress/flate's compressor for archive/zip)
leaves too and is not counted, and segments are aligned to pages (4 KiB on amd64, 64 KiB on
arm64 and arm). docs/figures.md gives the estimate against real rebuilds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import msgspec

from buildopt.analysis.why import ImportGraph
from buildopt.binary.facts import Attribution
from buildopt.record.model import CutSaving

ROOT = "runtime"  # every Go binary links it and all it imports: never cuttable
HEAVIEST = 10  # cuttable dependencies listed per variant


class Dominance(msgspec.Struct, frozen=True):
    """The dominator tree from the main package: each package's immediate dominator, and its
    dominated set (itself included)."""

    idom: Mapping[str, str]
    sets: Mapping[str, frozenset[str]]


def dominance(graph: ImportGraph) -> Dominance:
    """The dominator tree of the packages the main package reaches."""
    import networkx as nx

    if graph.main is None:
        return Dominance({}, {})
    g = nx.DiGraph()
    g.add_node(graph.main)
    g.add_edges_from((p, d) for p, deps in graph.imports.items() for d in deps)
    idom: dict[str, str] = nx.immediate_dominators(g, graph.main)
    children: dict[str, list[str]] = defaultdict(list)
    for node, parent in idom.items():
        if node != parent:
            children[parent].append(node)
    sets: dict[str, frozenset[str]] = {}
    for node in _post_order(graph.main, children):
        sets[node] = frozenset([node, *(n for c in children[node] for n in sets[c])])
    return Dominance(idom, sets)


def _post_order(root: str, children: Mapping[str, Sequence[str]]) -> list[str]:
    order, stack = [], [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((c, False) for c in children.get(node, ()))
    return order


def saving(
    graph: ImportGraph, package: str, whole: Attribution, tree: Dominance | None = None
) -> CutSaving | None:
    """What removing every import of package saves (None: not imported by the main package)."""
    gone = (tree or dominance(graph)).sets.get(package)
    if gone is None or package == graph.main:
        return None
    sizes = {p.package: p.file_bytes for p in whole.by_package}
    owned = [sizes.get(_binary_name(graph, p), 0) for p in sorted(gone)]
    attributed = sum(owned)
    return CutSaving(
        package=package,
        importers=graph.importers(package),
        bytes=round(attributed * _spread(whole)),
        attributed_bytes=attributed,
        packages=len(gone),
        unattributed=owned.count(0),
    )


def _spread(whole: Attribution) -> float:
    """The factor that spreads the bytes no package owns over the packages, in proportion to
    what each owns: the file's size over its bytes attributed to packages."""
    owned = whole.file_bytes_attributed_to_packages
    return whole.file_bytes / owned if owned else 1.0


def heaviest(graph: ImportGraph, whole: Attribution, most: int = HEAVIEST) -> tuple[CutSaving, ...]:
    """The dependencies whose cut saves most: packages outside the main module, not linked
    into every binary (runtime and what it imports), that only the main module's packages
    import - so the main module can drop them (a listed saving may hold another's)."""
    tree = dominance(graph)
    always = graph.reachable(ROOT)
    found = [
        cut
        for p in _candidates(graph, tree, always)
        if (cut := saving(graph, p, whole, tree)) is not None and cut.bytes > 0
    ]
    found.sort(key=lambda c: (-c.bytes, c.package))
    return tuple(found[:most])


def _candidates(graph: ImportGraph, tree: Dominance, always: set[str]) -> Iterable[str]:
    """Dependencies the main module's code can cut by itself: every package that imports them
    is one of its own (a package imported also by another dependency stays with it)."""
    for p in tree.sets:
        if p in graph.main_module or p in always:
            continue
        if all(i in graph.main_module for i in graph.importers(p)):
            yield p


def _binary_name(graph: ImportGraph, package: str) -> str:
    """The package's name among the binary's symbols: the main package is "main"."""
    return "main" if package == graph.main else package
