"""Run a plan: every step's go build in parallel, each binary written atomically and verified.

A failing variant never stops the others. Ctrl-C (or SIGTERM) stops every running go build
with its whole process tree and leaves neither temporary files nor orphaned processes.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

from buildopt.binary.inspect import Inspection, sha256_of, to_json
from buildopt.errors import Interrupted
from buildopt.pipeline.plan import Plan, Skip, Step, all_ids
from buildopt.pipeline.verify import verify
from buildopt.record.store import BuildResult, Status
from buildopt.system import proc
from buildopt.system.files import remove_empty_dirs, remove_quietly, temp_path_for


class Observer(Protocol):
    """Progress callbacks (the report stage implements them for people)."""

    def started(self, step: Step) -> None: ...

    def finished(self, result: BuildResult) -> None: ...


class Quiet:
    def started(self, step: Step) -> None:
        pass

    def finished(self, result: BuildResult) -> None:
        pass


def inspect_json(facts: Inspection, path: Path) -> dict[str, Any]:
    """The inspection of a built binary, with the path it was renamed to."""
    return {**to_json(facts), "path": str(path)}


def skipped_result(skip: Skip) -> BuildResult:
    return BuildResult(skip.id, skip.variant.name, skip.target.spec, "skipped", skip.reason)


def build_step(step: Step, environ: Mapping[str, str], group: proc.ProcessGroup) -> BuildResult:
    """One go build into a temporary name, verified, then renamed into place."""
    tmp = temp_path_for(step.output)
    try:
        done = group.run(step.argv_with_output(tmp), env={**environ, **step.env}, cwd=step.dir)
        if group.stopping.is_set():
            return _result(step, "failed", "interrupted", wall_seconds=done.seconds)
        if done.returncode != 0:
            return _result(
                step,
                "failed",
                f"go build exited with {done.returncode}: {proc.first_error(done.stderr)}",
                wall_seconds=done.seconds,
                stderr_tail=proc.excerpt(done.stderr),
            )
        verification, facts = verify(step, tmp)
        size = tmp.stat().st_size
        digest = facts.sha256 if facts else sha256_of(tmp)
        os.replace(tmp, step.output)
        reason = "" if verification.ok else "verification: " + "; ".join(verification.problems)
        return _result(
            step,
            "ok" if verification.ok else "failed",
            reason,
            output=str(step.output),
            wall_seconds=done.seconds,
            size=size,
            sha256=digest,
            verification=verification,
            go_settings=facts.go.settings if facts and facts.go else (),
            inspection=inspect_json(facts, step.output) if facts else None,
        )
    finally:
        remove_quietly(tmp)
        remove_empty_dirs(step.output.parent, step.output.parent.parent.parent)


def _result(step: Step, status: Status, reason: str, **facts: Any) -> BuildResult:
    return BuildResult(
        step.id,
        step.variant.name,
        step.target.spec,
        status,
        reason,
        argv=step.argv,
        env=dict(step.env),
        dir=str(step.dir),
        **facts,
    )


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while building (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def cache_key(step: Step) -> tuple[object, ...]:
    """What decides whether two builds compile the standard library the same way.

    Build tags, -ldflags and the link mode do not (they change a few packages or only the
    link), so variants that differ only in those share the Go build cache.
    """
    v = step.variant
    return (
        step.target,
        step.env.get("CGO_ENABLED"),
        step.env.get("CC"),
        v.buildmode,
        v.trimpath,
        v.gcflags,
        v.asmflags,
    )


class Scheduler:
    """Hands out steps so that the first build of each cache key runs alone.

    Two cold builds with the same key would both compile the standard library for it (the Go
    cache does not share work in progress); holding the second back until the first is done lets
    it reuse the cache while another key's build uses the free slot.
    """

    def __init__(self, steps: tuple[Step, ...]) -> None:
        self.queue = list(steps)
        self.warming: set[tuple[object, ...]] = set()
        self.warm: set[tuple[object, ...]] = set()

    def next_step(self) -> Step | None:
        for step in self.queue:
            key = cache_key(step)
            if key in self.warm or key not in self.warming:
                self.queue.remove(step)
                if key not in self.warm:
                    self.warming.add(key)
                return step
        return None

    def done(self, step: Step) -> None:
        key = cache_key(step)
        self.warming.discard(key)
        self.warm.add(key)


def run_plan(
    plan: Plan, environ: Mapping[str, str], jobs: int, observer: Observer | None = None
) -> list[BuildResult]:
    """Build every step of plan, jobs at a time; results in the profile's order."""
    observer = observer or Quiet()
    group = proc.ProcessGroup()
    results = [skipped_result(s) for s in plan.skipped]
    for r in results:
        observer.finished(r)
    scheduler = Scheduler(plan.steps)
    pending: dict[Future[BuildResult], Step] = {}
    jobs = max(1, jobs)
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="go-build")
    try:
        with sigterm_as_interrupt():
            while scheduler.queue or pending:
                while len(pending) < jobs and (step := scheduler.next_step()) is not None:
                    future = executor.submit(_observed, step, environ, group, observer)
                    pending[future] = step
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    scheduler.done(pending.pop(future))
                    result = future.result()
                    results.append(result)
                    observer.finished(result)
    except KeyboardInterrupt:
        group.stop_all()
        executor.shutdown(wait=True, cancel_futures=True)
        unfinished = len(pending) + len(scheduler.queue)
        raise Interrupted(
            f"interrupted: stopped {unfinished} unfinished build(s); "
            "no partial binaries were left and no build record was written"
        ) from None
    executor.shutdown(wait=True)
    order = {sid: i for i, sid in enumerate(all_ids(plan.profile, plan.toolchain))}
    return sorted(results, key=lambda r: order.get(r.id, len(order)))


def _observed(
    step: Step, environ: Mapping[str, str], group: proc.ProcessGroup, observer: Observer
) -> BuildResult:
    if group.stopping.is_set():
        return _result(step, "failed", "interrupted")
    observer.started(step)
    return build_step(step, environ, group)
