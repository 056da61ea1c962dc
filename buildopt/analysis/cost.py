"""What a package costs in a variant's recorded binary: the file bytes it owns (the record's
whole-file attribution), or its code only in a record written before the attribution; and what
removing every import of it saves (analysis/cut.py's estimate in the variant's import graph).

Shared by ``buildopt why`` (the cost under the chain, and the cut) and the gate's dependency
lists (the cost of a package a list lacks: what it brings in, not only what it owns).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from buildopt.analysis.cut import ROOT, dominance, saving
from buildopt.analysis.why import ImportGraph
from buildopt.record.model import Build, CutSaving, ModuleCost, Record, WhyCost


def package_cost(record: Record | None, vid: str, package: str) -> WhyCost | None:
    """What the package costs in the recorded binary of vid (None: not built)."""
    build = _built(record, vid)
    if build is None or build.inspect is None:
        return None
    facts = build.inspect
    whole = facts.attribution
    if whole is None:
        code = facts.package_sizes(whole=False).get(package)
        return None if code is None else WhyCost(bytes=code, kind="code")
    share = next((p for p in whole.by_package if p.package == package), None)
    if share is None:
        return WhyCost(bytes=0, kind="file")
    module = next((m for m in whole.by_module if m.module == share.module), None)
    return WhyCost(
        bytes=share.file_bytes,
        kind="file",
        code_bytes=share.code_bytes,
        pclntab_bytes=share.pclntab_bytes,
        data_bytes=share.rodata_bytes + share.data_bytes,
        module=None
        if module is None
        else ModuleCost(
            module=module.module,
            version=module.version,
            bytes=module.file_bytes,
            packages=module.packages,
        ),
    )


def cut_saving(
    record: Record | None, vid: str, packages: Sequence[Mapping[str, Any]], package: str
) -> CutSaving | None:
    """What removing every import of package saves in the recorded binary of vid, in the
    import graph go list gave (None: not built, without the attribution, not imported by the
    main package, or linked into every Go binary)."""
    build = _built(record, vid)
    whole = build.inspect.attribution if build and build.inspect else None
    graph = ImportGraph(packages)
    if whole is None or package in graph.reachable(ROOT):
        return None
    return saving(graph, package, whole, dominance(graph))


def _built(record: Record | None, vid: str) -> Build | None:
    if record is None:
        return None
    return next((b for b in record.builds if b.id == vid and b.ok and b.inspect), None)
