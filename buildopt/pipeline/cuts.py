"""Each built variant's heaviest cuttable dependencies, for the record.

The import graph is go list's for the step - its directory, package, tags and the environment
its go build got - so it is the graph of the sources just built; the bytes are the binary's
whole-file attribution. ``compare`` and the report read the result from the record, where the
sources and the toolchain may no longer be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from buildopt.analysis.why import ImportGraph
    from buildopt.pipeline.plan import Step
    from buildopt.pipeline.steps import Context
    from buildopt.record.model import CutSaving


def cuttable(ctx: Context) -> dict[str, tuple[CutSaving, ...]]:
    """Build id to its ten heaviest cuttable dependencies, for this run's attributed builds."""
    from buildopt.analysis.cut import heaviest

    steps = {s.id: s for s in ctx.planned.steps}
    graphs: dict[tuple[object, ...], ImportGraph | None] = {}
    found = _recorded(ctx)
    for build in ctx.builds:
        whole = build.inspect.attribution if build.ok and build.inspect else None
        step = steps.get(build.id)
        if whole is None or step is None or build.id in found:
            continue
        key = (step.dir, step.package, step.variant.tags, tuple(sorted(step.env.items())))
        if key not in graphs:
            graphs[key] = _graph(step, ctx.environ, ctx.progress.skipped)
        graph = graphs[key]
        if graph is not None:
            found[build.id] = heaviest(graph, whole)
    return found


def _recorded(ctx: Context) -> dict[str, tuple[CutSaving, ...]]:
    """The lists the record holds for this run's binaries (the same sha256: an unchanged
    rebuild), which need no go list again: the same binary links the same packages."""
    from buildopt.record import store

    try:
        builds = store.load_cached(ctx.record_path).builds if ctx.record_path.is_file() else ()
    except store.RecordError:
        return {}
    now = {b.id: b.sha256 for b in ctx.builds if b.ok}
    return {
        b.id: b.cuttable
        for b in builds
        if b.cuttable is not None and b.sha256 is not None and now.get(b.id) == b.sha256
    }


def _graph(
    step: Step, environ: Mapping[str, str], skipped: Callable[[str], None]
) -> ImportGraph | None:
    """go list's import graph for the step, or None (said on stderr) when go list fails."""
    from buildopt.analysis.why import ImportGraph
    from buildopt.measure.scan import ScanError, go_list
    from buildopt.system import toolchain

    env = {**environ, **step.env}  # as the build got it
    try:
        packages = go_list(
            toolchain.load(environ).go, step.dir, [step.package], step.variant.tags, env, deps=True
        )
    except ScanError as exc:
        skipped(f"cuttable dependencies of {step.id}: {exc.message}")
        return None
    return ImportGraph(packages)
