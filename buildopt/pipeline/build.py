"""Run a plan: every step's go build in parallel, each binary written atomically and verified.

A failing variant never stops the others. Ctrl-C (or SIGTERM) stops every running go build
with its whole process tree and leaves neither temporary files nor orphaned processes.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import msgspec

from buildopt import __version__
from buildopt.binary.digest import sha256_of
from buildopt.binary.facts import Inspection
from buildopt.config.profile import Variant
from buildopt.errors import Interrupted
from buildopt.pipeline.plan import Plan, Skip, Step, all_ids
from buildopt.pipeline.verify import verify
from buildopt.record.model import (
    RECORD_SCHEMA,
    Build,
    ProfileInfo,
    Record,
    Status,
    ToolchainInfo,
    VariantSettings,
)
from buildopt.system import proc
from buildopt.system.files import remove_empty_dirs, remove_quietly, temp_path_for


class Observer(Protocol):
    """Progress callbacks (the report stage implements them for people)."""

    def started(self, step: Step) -> None: ...

    def finished(self, result: Build) -> None: ...


class Quiet:
    def started(self, step: Step) -> None:
        pass

    def finished(self, result: Build) -> None:
        pass


def moved(facts: Inspection, path: Path) -> Inspection:
    """The inspection of a built binary, with the path it was renamed to."""
    return msgspec.structs.replace(facts, path=str(path))


def skipped_result(skip: Skip) -> Build:
    return Build(
        id=skip.id,
        variant=skip.variant.name,
        target=skip.target.spec,
        status="skipped",
        reason=skip.reason,
        argv=(),
        env={},
        dir="",
        output=None,
        wall_seconds=0.0,
        size=None,
        sha256=None,
        stderr_tail="",
        verification=None,
        go_settings={},
        inspect=None,
    )


BUILD_TIMEOUT = 3600.0  # seconds for one go build; BUILDOPT_BUILD_TIMEOUT sets another


def build_step(
    step: Step,
    environ: Mapping[str, str],
    group: proc.ProcessGroup,
    *,
    dwarf: bool = False,
    timeout: float = BUILD_TIMEOUT,
) -> Build:
    """One go build into a temporary name, verified, then renamed into place. A binary that
    fails verification is not: the binary a previous build left at the output stays."""
    try:
        tmp = temp_path_for(step.output)
    except OSError as exc:  # dist/ read-only, full, or a file in the way
        return _result(step, "failed", f"cannot write {step.output.parent}: {exc.strerror}")
    try:
        done = group.run(
            step.argv_with_output(tmp), env={**environ, **step.env}, cwd=step.dir, timeout=timeout
        )
        failure = _no_binary(step, done, tmp, timeout, group.stopping.is_set())
        if failure is not None:
            return failure
        verification, facts = verify(step, tmp, dwarf=dwarf)
        if not verification.ok:
            return _result(
                step,
                "failed",
                "verification: " + "; ".join(verification.problems),
                wall_seconds=done.seconds,
                verification=verification,
            )
        size = tmp.stat().st_size
        digest = facts.sha256 if facts else sha256_of(tmp)
        os.replace(tmp, step.output)
        return _result(
            step,
            "ok",
            "",
            built=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            output=str(step.output),
            wall_seconds=done.seconds,
            size=size,
            sha256=digest,
            verification=verification,
            go_settings=dict(facts.go.settings) if facts and facts.go else {},
            inspect=moved(facts, step.output) if facts else None,
        )
    finally:
        remove_quietly(tmp)
        remove_empty_dirs(step.output.parent, step.output.parent.parent.parent)


def _no_binary(
    step: Step, done: proc.Completed, tmp: Path, timeout: float, interrupted: bool
) -> Build | None:
    """The failed Build of a go build that left no binary to verify, else None."""
    if interrupted:
        reason = "interrupted"
    elif done.timed_out:
        reason = (
            f"go build did not finish within {timeout:g} s and was stopped (BUILDOPT_BUILD_TIMEOUT)"
        )
    elif done.returncode != 0:
        reason = f"go build exited with {done.returncode}: {proc.first_error(done.stderr)}"
    elif not tmp.is_file():
        reason = "go build exited with 0 but wrote no binary"
    else:
        return None
    tail = "" if interrupted else proc.excerpt(done.stderr)
    return _result(step, "failed", reason, wall_seconds=done.seconds, stderr_tail=tail)


def _result(step: Step, status: Status, reason: str, **facts: Any) -> Build:
    """A Build of step; what it did not get to (a binary, its facts) stays empty."""
    empty: dict[str, Any] = {
        "output": None,
        "wall_seconds": 0.0,
        "size": None,
        "sha256": None,
        "stderr_tail": "",
        "verification": None,
        "go_settings": {},
        "inspect": None,
        "built": None,
    }
    return Build(
        id=step.id,
        variant=step.variant.name,
        target=step.target.spec,
        status=status,
        reason=reason,
        argv=step.argv,
        env=dict(step.env),
        dir=str(step.dir),
        **(empty | facts),
    )


def make_record(plan: Plan, builds: Sequence[Build], created: str) -> Record:
    """The build record of a plan's builds (in the profile's order)."""
    profile, tools = plan.profile, plan.toolchain
    return Record(
        schema=RECORD_SCHEMA,
        buildopt=__version__,
        created=created,
        profile=ProfileInfo(
            name=profile.name,
            path=str(profile.path),
            description=profile.description,
            baseline=profile.baseline,
            package=str(profile.package),
            binary=profile.binary,
        ),
        go=ToolchainInfo(
            version=tools.version,
            path=tools.go,
            goroot=tools.goroot,
            host=f"{tools.hostos}/{tools.hostarch}",
        ),
        dist=str(plan.dist),
        variants={v.name: variant_settings(v) for v in profile.variants},
        builds=tuple(builds),
    )


def variant_settings(variant: Variant) -> VariantSettings:
    return msgspec.convert(variant.settings(), VariantSettings)


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


Landed = Callable[[Build], None]


def run_plan(
    plan: Plan,
    environ: Mapping[str, str],
    jobs: int,
    observer: Observer | None = None,
    *,
    timeout: float = BUILD_TIMEOUT,
    landed: Landed | None = None,
) -> list[Build]:
    """Build every step of plan, jobs at a time; results in the profile's order.

    ``landed`` gets each result as soon as it is final - in the build's own thread, right
    after its binary was renamed into place - so that the build record can say so before
    anything else happens (an interrupt, another build's failure). Builds stopped by an
    interrupt are not passed to it: they say nothing about their variant. If it raises (the
    record cannot be written), the other builds are stopped and the error is raised here.
    """
    observer = observer or Quiet()
    group = proc.ProcessGroup()
    results = [skipped_result(s) for s in plan.skipped]
    for r in results:
        if landed is not None:
            landed(r)
        observer.finished(r)
    scheduler = Scheduler(plan.steps)
    pending: dict[Future[Build], Step] = {}
    jobs = max(1, jobs)
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="go-build")
    try:
        with proc.sigterm_as_interrupt():
            while scheduler.queue or pending:
                while len(pending) < jobs and (step := scheduler.next_step()) is not None:
                    future = executor.submit(
                        _observed,
                        step,
                        environ,
                        group,
                        observer,
                        landed,
                        dwarf=plan.profile.dwarf_by_package,
                        timeout=timeout,
                    )
                    pending[future] = step
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    scheduler.done(pending.pop(future))
                    result = future.result()
                    results.append(result)
                    observer.finished(result)
    except KeyboardInterrupt:
        # A second Ctrl-C (or SIGTERM) while the builds stop makes them stop at once.
        group.stop_all(lambda: executor.shutdown(wait=True, cancel_futures=True))
        # Builds that were already past their rename when the interrupt came did finish.
        finished = sum(
            f.done() and not f.cancelled() and f.exception() is None and f.result().ok
            for f in pending
        )
        unfinished = len(pending) - finished + len(scheduler.queue)
        raise Interrupted(
            f"interrupted: stopped {unfinished} unfinished build(s); no partial binaries "
            "were left, and the build record holds the builds that finished"
        ) from None
    except BaseException:  # the record could not be written: stop the rest, then say why
        group.stop_all(lambda: executor.shutdown(wait=True, cancel_futures=True))
        raise
    executor.shutdown(wait=True)
    order = {sid: i for i, sid in enumerate(all_ids(plan.profile, plan.toolchain))}
    return sorted(results, key=lambda r: order.get(r.id, len(order)))


def _observed(
    step: Step,
    environ: Mapping[str, str],
    group: proc.ProcessGroup,
    observer: Observer,
    landed: Landed | None,
    *,
    dwarf: bool,
    timeout: float,
) -> Build:
    if group.stopping.is_set():
        return _result(step, "failed", "interrupted")
    observer.started(step)
    result = build_step(step, environ, group, dwarf=dwarf, timeout=timeout)
    if landed is not None and (result.ok or not group.stopping.is_set()):
        landed(result)
    return result
