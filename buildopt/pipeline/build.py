"""Run a plan: every step's go build in parallel, each binary written atomically and verified.

A failing variant never stops the others. Ctrl-C (or SIGTERM) stops every running go build
with its whole process tree and leaves neither temporary files nor orphaned processes.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Protocol

import msgspec

from buildopt import __version__
from buildopt.binary.digest import sha256_of
from buildopt.binary.facts import Inspection
from buildopt.errors import Interrupted, interrupted, signal_of
from buildopt.pipeline.plan import Plan, Skip, Step, all_ids
from buildopt.pipeline.verify import verify
from buildopt.record.integrity import stamp_of
from buildopt.record.model import (
    RECORD_SCHEMA,
    Build,
    ProfileInfo,
    Record,
    Status,
    ToolchainInfo,
    Verification,
)
from buildopt.system import proc, toolchain
from buildopt.system.files import (
    WriteError,
    atomic_write_text,
    locked,
    publish,
    remove_empty_dirs,
    remove_quietly,
)


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
        program=skip.program,
        package=skip.package,
        **_NOTHING_BUILT,
    )


# What a Build holds of a binary, for one that has none (failed or skipped before go finished)
_NOTHING_BUILT: dict[str, Any] = {
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


NOT_OBJECT = "already exists and is not an object file"  # go build's refusal to overwrite
BUILD_TIMEOUT = 3600.0  # seconds for one go build; BUILDOPT_BUILD_TIMEOUT sets another


def build_step(
    step: Step,
    environ: Mapping[str, str],
    group: proc.ProcessGroup,
    *,
    dwarf: bool = False,
    timeout: float = BUILD_TIMEOUT,
) -> Build:
    """One go build into the variant's stage (a path kept from build to build, so that an
    unchanged rebuild is go's own up-to-date check: no link, no write), verified, then put in
    place atomically. A binary that fails verification is not: the binary a previous build
    left at the output stays. One build of a variant at a time, across processes."""
    try:
        stage = step.stage
        stage.parent.mkdir(parents=True, exist_ok=True)
        # dist/<profile>/.locks/<id>.lock: not in the variant's folder, which a failed first
        # build removes (a lock file removed while another process waits on it locks nothing)
        with locked(step.output.parent.parent.parent / ".locks" / f"{step.id}.lock"):
            return _build_staged(step, stage, environ, group, dwarf=dwarf, timeout=timeout)
    except OSError as exc:  # dist/ read-only, full, or a file in the way
        return _result(step, "failed", f"cannot write {step.output.parent}: {exc.strerror}")
    except WriteError as exc:
        return _result(step, "failed", exc.message)
    finally:
        remove_empty_dirs(step.output.parent, step.output.parent.parent.parent)


def _build_staged(
    step: Step,
    stage: Path,
    environ: Mapping[str, str],
    group: proc.ProcessGroup,
    *,
    dwarf: bool,
    timeout: float,
) -> Build:
    last = _last_publish(stage)
    if last is not None and _written_in_place(stage, last):
        # The published file is the stage (one file, two names) and something wrote into it:
        # go would find its build ID and call it up to date. Make go build it again.
        remove_quietly(stage)
    before = _identity(stage)

    def go_build() -> proc.Completed:
        return group.run(
            list(step.argv), env={**environ, **step.env}, cwd=step.dir, timeout=timeout
        )

    try:
        done = go_build()
        if done.returncode and NOT_OBJECT in done.stderr and stage.is_file():
            # Something not from go in the stage (what a killed build left): go will not
            # overwrite it. It is not a binary anyone published; remove it and build again.
            remove_quietly(stage)
            done = go_build()
        failure = _no_binary(step, done, stage, timeout, group.stopping.is_set())
        if failure is not None:
            return failure
        if last is not None:
            _untouch(stage, before, last)
        same = _unchanged(step, stage, before, dwarf)
        if same is not None:  # go found it up to date: what was verified and published holds
            _note_stamp(stage)
            return _result(
                step,
                "ok",
                "",
                built=same.built,
                output=str(step.output),
                wall_seconds=done.seconds,
                size=same.size,
                sha256=same.sha256,
                verification=same.verification,
                go_settings=same.go_settings,
                inspect=same.inspect,
                stamp=stamp_of(step.output),
            )
        verification, facts = verify(step, stage, dwarf=dwarf)
        if not verification.ok:
            return _result(
                step,
                "failed",
                "verification: " + "; ".join(verification.problems),
                wall_seconds=done.seconds,
                verification=verification,
            )
        size = stage.stat().st_size
        digest = facts.sha256 if facts else sha256_of(stage)
        publish(stage, step.output)
        result = _result(
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
            stamp=stamp_of(step.output),
        )
        _remember(step, stage, result)
        return result
    finally:
        if not step.output.exists():  # never built: no stage left behind either
            remove_quietly(stage)
            remove_quietly(_facts_path(stage))
            remove_quietly(_stamp_path(stage))
            remove_empty_dirs(stage.parent, step.output.parent)


# --- an unchanged rebuild -------------------------------------------------------------------
#
# go build -o STAGE does nothing when STAGE is up to date (it compares build IDs; it touches the
# file's time, and it never writes into a file: it replaces it). So when the stage is the same
# file as when its binary was verified and published (same inode and size), and the published
# file is untouched, the facts recorded then still hold: verifying and publishing 80 MB again
# would only cost time (benchmarks/bench_rebuild.py: an unchanged Caddy rebuild went from 2.0x
# to ~1.2x the time of the same go build commands by hand). The published file is a hard link
# to the stage (files.publish): go's touch would change its time too, so the time it was
# published with is put back.


class Published(msgspec.Struct, frozen=True, kw_only=True):
    """What was verified and published from a stage, and the files it was true of."""

    key: str  # buildopt's version, the step's argv and env: a change means verify again
    stage: tuple[int, int]  # inode, size
    output: tuple[int, int, int, int]  # inode, size, mtime, ctime (ns) of the published file
    built: str | None
    size: int | None
    sha256: str | None
    verification: Verification | None
    go_settings: dict[str, str]
    inspect: Inspection | None


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size


def _key(step: Step) -> str:
    return json.dumps([__version__, list(step.argv), sorted(step.env.items())])


def _facts_path(stage: Path) -> Path:
    return stage.with_name(stage.name + ".published.json")


def _remember(step: Step, stage: Path, result: Build) -> None:
    """Note what was just published (a hint: losing it only costs a verification)."""
    out, where = step.output.stat(), _identity(stage)
    if where is None:
        return
    note = Published(
        key=_key(step),
        stage=where,
        output=(out.st_ino, out.st_size, out.st_mtime_ns, out.st_ctime_ns),
        built=result.built,
        size=result.size,
        sha256=result.sha256,
        verification=result.verification,
        go_settings=dict(result.go_settings),
        inspect=result.inspect,
    )
    with contextlib.suppress(OSError):
        atomic_write_text(_facts_path(stage), msgspec.json.encode(note).decode())
    _note_stamp(stage)


def _last_publish(stage: Path) -> Published | None:
    try:
        return msgspec.json.decode(_facts_path(stage).read_bytes(), type=Published)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def _stamp_path(stage: Path) -> Path:
    return stage.with_name(stage.name + ".stamp")


def _note_stamp(stage: Path) -> None:
    """Note the published file's inode, size, mtime and ctime as this run leaves it. go's touch
    and _untouch move its ctime at every unchanged rebuild, so the note of the publish alone
    cannot tell them from a write that put the mtime back; this small note can (a hint:
    losing it only costs a rebuild)."""
    with contextlib.suppress(OSError):
        info = stage.stat()
        _stamp_path(stage).write_text(
            f"{info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}\n",
            encoding="ascii",
        )


def _last_stamp(stage: Path, last: Published) -> tuple[int, ...]:
    try:
        fields = tuple(int(f) for f in _stamp_path(stage).read_text(encoding="ascii").split())
    except (OSError, ValueError):
        return last.output
    return fields if len(fields) == 4 else last.output


def _written_in_place(stage: Path, last: Published) -> bool:
    """Whether the stage is the file last published (a hard link) but no longer as it was:
    its size, its mtime, or its ctime (a write that put the mtime back still moved it)."""
    try:
        info = stage.stat()
    except OSError:
        return False
    ino, *rest = _last_stamp(stage, last)
    now = [info.st_size, info.st_mtime_ns, info.st_ctime_ns]
    return info.st_ino == ino and now != rest


def _untouch(stage: Path, before: tuple[int, int] | None, last: Published) -> None:
    """Put back the time of the published file that go touched through the stage, its other
    name, when go found it up to date (the same file as before the build)."""
    ino, _, mtime, _ = last.output
    if before is None or before[0] != ino or _identity(stage) != before:
        return
    with contextlib.suppress(OSError):
        os.utime(stage, ns=(time.time_ns(), mtime))


def _unchanged(
    step: Step, stage: Path, before: tuple[int, int] | None, dwarf: bool
) -> Published | None:
    """The facts of the last publish, if the stage and the published file are as they were."""
    if before is None or _identity(stage) != before:
        return None
    note = _last_publish(stage)
    try:
        out = step.output.stat()
    except OSError:
        return None
    if note is None:
        return None
    if (
        note.key != _key(step)
        or note.stage != before
        # not the ctime: go's touch and _untouch moved it (_written_in_place checked it before)
        or note.output[:3] != (out.st_ino, out.st_size, out.st_mtime_ns)
        or (dwarf and (note.inspect is None or note.inspect.dwarf.by_package is None))
        # facts an older buildopt did not record: verify again to have them
        or (note.inspect is not None and note.inspect.attribution is None)
        or (note.inspect is not None and note.inspect.memory is None)
    ):
        return None
    return note


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
        found = toolchain.not_regular_sources(toolchain.enclosing_module(step.dir))
        if found:  # made since the check before the builds (a source go waited on)
            reason += f": {found[0].message(step.dir)}"
    elif done.returncode != 0:
        why = step.release and toolchain.download_failure(step.release, done.stderr)
        reason = f"go build exited with {done.returncode}: {why or proc.first_error(done.stderr)}"
    elif not tmp.is_file():
        reason = "go build exited with 0 but wrote no binary"
    else:
        return None
    tail = "" if interrupted else proc.excerpt(done.stderr)
    return _result(step, "failed", reason, wall_seconds=done.seconds, stderr_tail=tail)


def _result(step: Step, status: Status, reason: str, **facts: Any) -> Build:
    """A Build of step; what it did not get to (a binary, its facts) stays empty."""
    return Build(
        id=step.id,
        variant=step.variant.name,
        target=step.target.spec,
        status=status,
        reason=reason,
        argv=step.argv,
        env=dict(step.env),
        dir=str(step.dir),
        program=step.program,
        package=step.package,
        **(_NOTHING_BUILT | facts),
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
        variants={v.name: v.settings() for v in profile.variants},
        builds=tuple(builds),
    )


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

    def __init__(
        self, steps: tuple[Step, ...], warm: frozenset[tuple[object, ...]] = frozenset()
    ) -> None:
        self.queue = list(steps)
        self.warming: set[tuple[object, ...]] = set()
        self.warm: set[tuple[object, ...]] = set(warm)

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
    meanwhile: Callable[[], object] | None = None,
) -> list[Build]:
    """Build every step of plan, jobs at a time; results in the profile's order.

    ``landed`` gets each result as soon as it is final - in the build's own thread, right
    after its binary was renamed into place - so that the build record can say so before
    anything else happens (an interrupt, another build's failure). Builds stopped by an
    interrupt are not passed to it: they say nothing about their variant. If it raises (the
    record cannot be written), the other builds are stopped and the error is raised here.
    ``meanwhile`` is called once, in this thread, when the first builds have started (work
    that need not delay them: reading the record took 15 ms before the first go build).
    """
    observer = observer or Quiet()
    group = proc.ProcessGroup()
    results = [skipped_result(s) for s in plan.skipped]
    for r in results:
        if landed is not None:
            landed(r)
        observer.finished(r)
    # A configuration one of whose variants was built here before (its stage holds a binary)
    # is warm in the Go cache, as a rule: its builds need not wait for each other. (An
    # unchanged 7-variant rebuild waited on two such pairs.)
    scheduler = Scheduler(
        plan.steps, frozenset(cache_key(s) for s in plan.steps if s.stage.exists())
    )
    pending: dict[Future[Build], Step] = {}
    jobs = max(1, jobs)
    executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="go-build")

    def start_what_can_start() -> None:
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

    try:
        with proc.sigterm_as_interrupt():
            start_what_can_start()
            if meanwhile is not None:
                meanwhile()
            while scheduler.queue or pending:
                start_what_can_start()
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                now = []
                for future in done:
                    scheduler.done(pending.pop(future))
                    now.append(future.result())
                # The next builds start before the finished ones are shown: showing the first
                # one loads the output module, which took 35 ms between two builds.
                start_what_can_start()
                for result in now:
                    results.append(result)
                    observer.finished(result)
    except KeyboardInterrupt as exc:
        # A second Ctrl-C (or SIGTERM) while the builds stop makes them stop at once.
        group.stop_all(lambda: executor.shutdown(wait=True, cancel_futures=True))
        # Builds that were already past their rename when the interrupt came did finish.
        finished = sum(
            f.done() and not f.cancelled() and f.exception() is None and f.result().ok
            for f in pending
        )
        unfinished = len(pending) - finished + len(scheduler.queue)
        raise Interrupted(
            f"{interrupted(exc)}: stopped {unfinished} unfinished build(s); no partial binaries "
            "were left, and the build record holds the builds that finished",
            signal_of(exc),
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
