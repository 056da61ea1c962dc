"""``buildopt why PACKAGE``: the import chain that brings a package into a variant's binary,
and what the package costs there.

The chain is the shortest one from the profile's main package, as ``go list -deps -json``
resolves imports for the variant: its target (GOOS, GOARCH), cgo setting and build tags -
the environment its ``go build`` gets. The cost comes from the build record, when the variant
was built: the file bytes the package owns (code, pclntab share, data) and its module's; and
what removing every import of it would save, from the same graph (analysis/cut.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from buildopt.analysis.cost import cut_saving, package_cost
from buildopt.analysis.why import close_matches, import_chain
from buildopt.cli.common import _dist, _load_plan, _load_record
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError, visible
from buildopt.record.model import WHY_SCHEMA, CutSaving, WhyReport, WhyVariant


def why(
    *,
    package: str = "",
    profile: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
) -> int:
    from buildopt.measure.scan import ScanError, go_list
    from buildopt.output.console import print_json
    from buildopt.system import toolchain

    if not package:
        raise UsageError("why: name the package (its import path): buildopt why crypto/tls")
    cwd, environ = Path.cwd(), dict(os.environ)
    plan = _load_plan(profile, variant, dist, cwd, environ, command="why")
    steps = list(plan.steps)
    if not variant:  # the baseline, on each of its targets that build here
        steps = [s for s in steps if s.variant.name == plan.profile.baseline] or steps[:1]
    if not steps:
        raise UsageError("why: no variant of the profile is built on this machine")
    record_path = plan.profile.record_path(_dist(dist, cwd))
    record = _load_record(record_path) if record_path.exists() else None
    go = toolchain.load(environ).go
    graphs: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    results: list[WhyVariant] = []
    found_any = False
    for step in steps:
        key = (*(f"{k}={step.env.get(k, '')}" for k in ("GOOS", "GOARCH", "CGO_ENABLED")),)
        key += tuple(step.variant.tags)
        if key not in graphs:
            try:
                env = {**environ, **step.env}  # as the build gets it
                graphs[key] = go_list(
                    go, step.dir, [step.package], step.variant.tags, env, deps=True
                )
            except ScanError as exc:
                raise UsageError(exc.message) from None
        packages = graphs[key]
        start = next((p["ImportPath"] for p in reversed(packages) if p.get("Name") == "main"), None)
        chain = import_chain(packages, start, package) if start else None
        found_any = found_any or chain is not None
        results.append(
            WhyVariant(
                id=step.id,
                chain=chain,
                near=() if chain else tuple(close_matches(packages, package)),
                cost=package_cost(record, step.id, package),
                cut=cut_saving(record, step.id, packages, package) if chain else None,
            )
        )
    if json:
        print_json(WhyReport(schema=WHY_SCHEMA, package=package, variants=tuple(results)))
    else:
        for result in results:
            _show(result, package)
    return EXIT_OK if found_any else EXIT_FAILED


def _show(result: WhyVariant, package: str) -> None:
    """One variant's chain and cost, for people."""
    from buildopt.config.units import format_size

    sys.stdout.write(f"{result.id}:\n")
    if result.chain is None:  # the package as typed: ESC or a newline in it is shown, not done
        hint = f"; did you mean {', '.join(result.near)}?" if result.near else ""
        sys.stdout.write(f"  {visible(package)} is not in this variant's build{hint}\n")
        return
    first, *rest = result.chain
    sys.stdout.write(f"  {visible(first)}\n")
    for path in rest:
        sys.stdout.write(f"    imports {visible(path)}\n")
    cost = result.cost
    if cost is None:
        sys.stdout.write("  (not built yet: buildopt build, then its cost is shown here)\n")
        return
    parts = ", ".join(
        f"{name} {format_size(n)}"
        for name, n in (
            ("code", cost.code_bytes),
            ("pclntab", cost.pclntab_bytes),
            ("data", cost.data_bytes),  # read-only and writable: strings, types, variables
        )
        if n  # (a part of none is left out)
    )
    detail = f" ({parts})" if parts else ""
    what = "of the file" if cost.kind == "file" else "of code (a record without the attribution)"
    sys.stdout.write(f"  costs {format_size(cost.bytes)} {what}{detail}\n")
    if cost.module:  # a line of its own: together they were ~145 columns
        m = cost.module
        version = f" {m.version}" if m.version else ""
        sys.stdout.write(
            f"  its module {m.module}{version}: {format_size(m.bytes)} in {m.packages} packages\n"
        )
    if result.cut is not None:
        _show_cut(result.cut, package)
    elif cost.kind == "file" and len(result.chain) > 1:
        sys.stdout.write("  every Go binary links it (the runtime imports it): no cut saves it\n")


def _show_cut(cut: CutSaving, package: str) -> None:
    """What cutting the package saves, and who would have to drop their import of it."""
    from buildopt.config.units import format_size

    if len(cut.importers) == 1:
        sys.stdout.write(
            f"  removing the import of {visible(package)} from {visible(cut.importers[0])}\n"
        )
    else:
        sys.stdout.write(
            f"  imported by {len(cut.importers)} packages: removing one import saves nothing\n"
        )
        for importer in cut.importers:
            sys.stdout.write(f"    {visible(importer)}\n")
        sys.stdout.write(f"  removing all {len(cut.importers)} imports\n")
    unowned = f", {cut.unattributed} owning no bytes" if cut.unattributed else ""
    sys.stdout.write(
        f"  saves about {format_size(cut.bytes)}: {cut.packages} "
        f"package{'' if cut.packages == 1 else 's'} only it brings in"
        f"{unowned},\n  {format_size(cut.attributed_bytes)} attributed, with their share "
        "of the bytes no package owns\n"
    )
