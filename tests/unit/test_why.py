"""The shortest import chain over go list's packages."""

from __future__ import annotations

from buildopt.analysis.why import close_matches, import_chain

GRAPH = [
    {"ImportPath": "example.com/app", "Imports": ["net/http", "os/user", "example.com/app/db"]},
    {"ImportPath": "example.com/app/db", "Imports": ["vendor/x/sql"], "ImportMap": {}},
    {"ImportPath": "net/http", "Imports": ["crypto/tls", "vendor/golang.org/x/net/http2/hpack"]},
    {"ImportPath": "crypto/tls", "Imports": ["crypto/x509"]},
    {"ImportPath": "crypto/x509", "Imports": []},
    {"ImportPath": "os/user", "Imports": ["C"]},
    {"ImportPath": "runtime/cgo", "Imports": []},
]


def test_shortest_chain() -> None:
    assert import_chain(GRAPH, "example.com/app", "crypto/x509") == (
        "example.com/app",
        "net/http",
        "crypto/tls",
        "crypto/x509",
    )
    assert import_chain(GRAPH, "example.com/app", "example.com/app") == ("example.com/app",)


def test_cgo_brings_in_runtime_cgo() -> None:
    chain = import_chain(GRAPH, "example.com/app", "runtime/cgo")
    assert chain == ("example.com/app", "os/user", "runtime/cgo")


def test_not_imported_and_near_names() -> None:
    assert import_chain(GRAPH, "example.com/app", "crypto/tsl") is None
    assert import_chain(GRAPH, "nothing", "crypto/tls") is None
    assert close_matches(GRAPH, "crypto/tsl") == ["crypto/tls"]
    assert "crypto/x509" in close_matches(GRAPH, "x509")
