"""What cutting a dependency saves: dominated sets over go list's import graph, by the
attribution's bytes."""

from __future__ import annotations

from typing import Any

from buildopt.analysis.cut import dominance, heaviest, saving
from buildopt.analysis.why import ImportGraph
from buildopt.binary.facts import Attribution, PackageShare

MAIN = {"Path": "example.com/app", "Main": True}
# app -> net/http -> crypto/tls -> crypto/x509; app/db -> lib/sql -> crypto/x509 as well;
# runtime and internal/abi are linked into everything.
GRAPH: list[dict[str, Any]] = [
    {"ImportPath": "internal/abi", "Imports": []},
    {"ImportPath": "runtime", "Imports": ["internal/abi"]},
    {"ImportPath": "fmt", "Imports": ["runtime"]},
    {"ImportPath": "crypto/x509", "Imports": ["fmt", "runtime"]},
    {"ImportPath": "crypto/tls", "Imports": ["crypto/x509", "fmt"]},
    {"ImportPath": "net/http", "Imports": ["crypto/tls", "fmt", "internal/abi"]},
    {"ImportPath": "lib/sql", "Imports": ["crypto/x509"], "Module": {"Path": "lib"}},
    {"ImportPath": "example.com/app/db", "Imports": ["lib/sql", "fmt"], "Module": MAIN},
    {"ImportPath": "os/user", "Imports": ["C"]},
    {"ImportPath": "runtime/cgo", "Imports": ["runtime"]},
    {
        "ImportPath": "example.com/app",
        "Name": "main",
        "Imports": ["net/http", "os/user", "example.com/app/db", "fmt"],
        "Module": MAIN,
    },
]
SIZES = {
    "main": 10,
    "example.com/app/db": 20,
    "net/http": 1000,
    "crypto/tls": 500,
    "crypto/x509": 300,
    "lib/sql": 200,
    "fmt": 100,
    "os/user": 40,
    "runtime/cgo": 30,
    "runtime": 2000,
    # internal/abi owns nothing (all of it inlined, say)
}


def attribution(sizes: dict[str, int], unowned: int = 0) -> Attribution:
    shares = tuple(
        PackageShare(p, "std", n, n, 0, 0, 0, 0)
        for p, n in sorted(sizes.items(), key=lambda kv: -kv[1])
    )
    owned = sum(sizes.values())
    return Attribution(owned + unowned, owned, shares, ())


def test_the_dominated_set_is_what_only_the_package_brings_in() -> None:
    graph = ImportGraph(GRAPH)
    sets = dominance(graph).sets
    # crypto/x509 is reached through lib/sql too: it stays when net/http goes
    assert sets["net/http"] == {"net/http", "crypto/tls"}
    assert sets["example.com/app/db"] == {"example.com/app/db", "lib/sql"}
    assert sets["os/user"] == {"os/user", "runtime/cgo"}  # cgo's "C" is runtime/cgo
    assert sets["crypto/x509"] == {"crypto/x509"}


def test_a_saving_names_every_importer_and_counts_the_attributed_bytes() -> None:
    graph = ImportGraph(GRAPH)
    cut = saving(graph, "net/http", attribution(SIZES))
    assert cut is not None
    assert cut.importers == ("example.com/app",)
    assert (cut.attributed_bytes, cut.bytes, cut.packages, cut.unattributed) == (1500, 1500, 2, 0)
    shared = saving(graph, "crypto/x509", attribution(SIZES))
    assert shared is not None and shared.importers == ("crypto/tls", "lib/sql")
    assert saving(graph, "example.com/app", attribution(SIZES)) is None  # the main package
    assert saving(graph, "crypto/tsl", attribution(SIZES)) is None  # not in the graph


def test_the_bytes_no_package_owns_are_spread_in_proportion() -> None:
    """A file whose packages own 3/4 of it: a cut's estimate is its attributed bytes x 4/3."""
    owned = sum(SIZES.values())
    cut = saving(ImportGraph(GRAPH), "net/http", attribution(SIZES, unowned=owned // 3))
    assert cut is not None
    assert cut.attributed_bytes == 1500
    assert cut.bytes == round(1500 * (owned + owned // 3) / owned)


def test_a_package_without_bytes_is_counted_as_zero_and_said() -> None:
    sizes = {k: v for k, v in SIZES.items() if k != "crypto/tls"}
    cut = saving(ImportGraph(GRAPH), "net/http", attribution(sizes))
    assert cut is not None and (cut.attributed_bytes, cut.unattributed) == (1000, 1)


def test_the_heaviest_are_what_the_main_module_alone_imports() -> None:
    """runtime and what it imports are in every binary; crypto/x509 and fmt are imported by
    other dependencies too; the main module's own packages are not dependencies."""
    cuts = heaviest(ImportGraph(GRAPH), attribution(SIZES))
    assert [(c.package, c.bytes) for c in cuts] == [
        ("net/http", 1500),
        ("lib/sql", 200),  # its dominator is example.com/app/db: the app's own package
        ("os/user", 70),
    ]
    assert heaviest(ImportGraph(GRAPH), attribution(SIZES), most=1)[0].package == "net/http"


def test_a_graph_without_a_main_package_has_no_cuts() -> None:
    graph = ImportGraph([p for p in GRAPH if p.get("Name") != "main"])
    assert heaviest(graph, attribution(SIZES)) == ()
    assert saving(graph, "net/http", attribution(SIZES)) is None
