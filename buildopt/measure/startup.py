"""Start-up measurement: start a binary, detect readiness, stop it, and collect the facts.

Every start goes through the spawn helper (buildopt.measure.launcher), which forks and execs
the program and timestamps what it does as it happens. A series has three kinds of run:

- **warm-up** runs, discarded;
- **traced** runs (``trace_runs``, default 3) with ``GODEBUG=gctrace=1,inittrace=1`` added to
  the user's own GODEBUG: the GC cycles before ready and the init cost per package come from
  these, and only from these;
- **timed** runs, exactly as a user would start the program: no GODEBUG added, stdout and
  stderr to /dev/null when readiness is the exit, else to pipes the helper drains. Their wall
  time, CPU and peak RSS make the statistics.

One run: optionally evict the binary's pages from the page cache (fdatasync, then
``posix_fadvise(POSIX_FADV_DONTNEED)``), start it (argv, never a shell) in a process group of
its own, and wait until it is ready: a line matching a regex (the time the helper read it), a
loopback TCP port accepting (polled by the helper every 0.5 ms), or its exit with status 0
(the time wait4 returned). Then the helper ends it and everything it started: SIGTERM to the
group, SIGKILL after a grace period, and what it left outside its group the same way.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec

from buildopt.config.startup import Ready, StartupConfig
from buildopt.errors import BuildoptError
from buildopt.measure.device import Placed
from buildopt.measure.launcher import (
    Alone,
    Done,
    Evicted,
    ExecFailed,
    Exited,
    HelperGone,
    Launcher,
    Output,
    PortOpen,
    Started,
)
from buildopt.record.model import BaselineRatio, InitCost, StartupResult

INIT_LINE = re.compile(
    rb"^init (\S+) @[\d.]+ ms, ([\d.]+) ms clock, (\d+) bytes, (\d+) allocs", re.M
)
GC_LINE = re.compile(rb"^gc \d+ @", re.M)
CRASH_LINE = re.compile(rb"^(?:panic:|fatal error:).*", re.M)
LINE_LIMIT = 64 << 10  # a longer line is cut here (what is past it is never looked at)
TAIL_BYTES = 64 << 10  # the last words kept of each stream, for the error message
MAX_INITS = 100_000  # init lines kept (Go prints one per package)
TRACE_SETTINGS = ("gctrace=1", "inittrace=1")


class StartupError(BuildoptError):
    """The program cannot be started at all (bad input, exit 2)."""


class Init(msgspec.Struct, frozen=True):
    package: str
    clock_ms: float
    bytes: int
    allocs: int


class Run(msgspec.Struct, frozen=True):
    ok: bool
    wall_ms: float
    user_ms: float = 0.0
    sys_ms: float = 0.0
    max_rss_kib: int = 0
    gc_cycles: int = 0
    inits: tuple[Init, ...] = ()
    evicted: bool = False
    error: str = ""
    exit_code: int | None = None
    traced: bool = False
    evict_ms: float = 0.0  # what evicting the binary from the page cache took
    harness_ms: float = 0.0  # the run's cost beyond the program's own life (eviction included)
    eviction_error: str = ""


def godebug(user: str | None) -> str:
    """The user's GODEBUG with gctrace=1 and inittrace=1 added unless the user set them."""
    settings = [s for s in (user or "").split(",") if s]
    keys = {s.split("=", 1)[0] for s in settings}
    settings += [s for s in TRACE_SETTINGS if s.split("=")[0] not in keys]
    return ",".join(settings)


def evict(path: Path) -> str:
    """Drop the file's pages from the page cache; '' on success, else why it failed. Dirty
    pages cannot be dropped, so the file's own are written first (not the whole system's, as
    ``sync`` would: that took milliseconds per run on a busy machine)."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    except (OSError, AttributeError) as exc:
        return f"could not evict {path} from the page cache: {exc}"
    return ""


def parse_inits(stderr: bytes) -> tuple[Init, ...]:
    return tuple(
        Init(package.decode(errors="replace"), float(ms), int(size), int(allocs))
        for package, ms, size, allocs in INIT_LINE.findall(stderr)
    )


class _Stream:
    """What one pipe of the measured program said, in bounded memory (a program that floods
    its output - ``yes`` - cannot grow buildopt): complete lines are looked at once, as they
    arrive, with one regular-expression pass per chunk; what is kept is the count of ``gc``
    lines, the ``init`` lines, the first crash line, the last TAIL_BYTES and whether a line
    matched the ready pattern."""

    def __init__(self, ready: re.Pattern[bytes] | None) -> None:
        self.ready = ready
        self.matched = False
        self.gc_lines = 0
        self.inits: list[Init] = []
        self.crash = b""
        self.tail = bytearray()
        self.partial = bytearray()  # the line still being written
        self.cut = False  # the current line is past LINE_LIMIT: skip to its end

    def feed(self, data: bytes) -> None:
        end = data.rfind(b"\n")
        if end < 0:
            self._grow(data)
            return
        block = self._complete(data[: end + 1])
        self.partial.clear()
        self.cut = False
        self._grow(data[end + 1 :])
        self._look(block)

    def _complete(self, data: bytes) -> bytes:
        """The partial line (if not cut) and data: complete lines."""
        if not self.cut:
            return bytes(self.partial) + data
        first = data.find(b"\n")  # the rest of the cut line is dropped
        return bytes(self.partial) + b"\n" + data[first + 1 :]

    def _grow(self, data: bytes) -> None:
        if self.cut:
            return
        self.partial += data
        if len(self.partial) > LINE_LIMIT:
            del self.partial[LINE_LIMIT:]
            self.cut = True
        if self.ready is not None and not self.matched:  # a prompt without a newline
            self.matched = self.ready.search(self.partial) is not None

    def _look(self, block: bytes) -> None:
        if self.ready is not None and not self.matched:
            self.matched = self.ready.search(block) is not None
        self.gc_lines += len(GC_LINE.findall(block))
        if len(self.inits) < MAX_INITS and b"init " in block:
            self.inits += parse_inits(block)[: MAX_INITS - len(self.inits)]
        if not self.crash and (crash := CRASH_LINE.search(block)):
            self.crash = crash.group()
        self.tail += block[-TAIL_BYTES:]
        del self.tail[:-TAIL_BYTES]

    def close(self) -> None:
        """The pipe closed: a last line without a newline counts too."""
        if self.partial and not self.cut:
            self.feed(b"\n")

    def last_words(self) -> str:
        """What the program said last - or, for a Go crash, its panic or fatal error line."""
        if self.crash:
            return self.crash.decode(errors="replace").strip()
        said = (bytes(self.tail) + bytes(self.partial)).decode(errors="replace").splitlines()
        lines = [s.strip() for s in said if s.strip() and not s.startswith(("gc ", "init "))]
        return lines[-1] if lines else "no output"


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on the loopback port now."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


class _Outputs:
    """What the program wrote on each pipe, and whether the ready pattern matched."""

    def __init__(self, ready: Ready) -> None:
        pattern = re.compile(ready.pattern.encode(), re.M) if ready.pattern else None
        self.streams = {
            1: _Stream(pattern if ready.kind == "stdout" else None),
            2: _Stream(pattern if ready.kind == "stderr" else None),
        }

    def feed(self, event: Output) -> bool:
        """True if this chunk made the program ready."""
        stream = self.streams.get(event.stream)
        if stream is None:
            return False
        before = stream.matched
        stream.feed(event.data)
        return stream.matched and not before

    def close(self) -> None:
        for stream in self.streams.values():
            stream.close()

    @property
    def err(self) -> _Stream:
        return self.streams[2]


class _Outcome(msgspec.Struct):
    """How one run went, as the helper reported it (its times are the helper's clock, which
    on a device is the device's; received_ns is this machine's when the start was reported)."""

    started: Started
    received_ns: int
    ready_ns: int | None = None
    gc_at_ready: int = 0
    exited: Exited | None = None
    timed_out: bool = False


def _evict(launcher: Launcher, placed: Placed, name: str) -> tuple[str, float]:
    """Evict the binary where it runs: why not ('' when done) and what it took (ms)."""
    path = placed.programs[name]
    if not placed.remote:
        began = time.monotonic_ns()
        note = evict(Path(path))
        return note, (time.monotonic_ns() - began) / 1e6
    launcher.evict(path)
    said = launcher.expect()
    if not isinstance(said, Evicted):
        raise HelperGone(f"the spawn helper said {said} instead of evicting {path}")
    if said.errno:
        return f"could not evict {path} on the device from its page cache: {said.message}", 0.0
    return "", said.ns / 1e6


def environment(
    placed: Placed, config: StartupConfig, environ: Mapping[str, str]
) -> dict[str, str]:
    """What a timed run's environment sets: here buildopt's with [startup] env over it; on a
    device, [startup] env over the device's own."""
    return {**({} if placed.remote else environ), **config.env}


def measure(
    launcher: Launcher,
    placed: Placed,
    name: str,
    config: StartupConfig,
    environ: Mapping[str, str],
    *,
    traced: bool = False,
) -> Run:
    """One start of binary name, to readiness; neither it nor anything it started is left
    running. A traced run adds GODEBUG tracing; any other runs the program as a user would."""
    kind = config.ready.kind
    if kind == "port" and not placed.remote and port_in_use(config.ready.port):
        # a previous run's program (or another process) still holds it: not this run's socket
        error = f"port {config.ready.port} was in use before the start"
        return Run(False, 0.0, traced=traced, error=error)
    began = time.monotonic_ns()
    note, evict_ms = _evict(launcher, placed, name) if config.cold else ("", 0.0)
    env = environment(placed, config, environ)
    if traced:
        env["GODEBUG"] = godebug(env.get("GODEBUG"))
    program, argv = placed.command(name, config.argv0, config.args)
    launcher.run(
        program,
        argv,
        env,
        output="null" if kind == "exit" and not traced else "pipe",
        port=config.ready.port if kind == "port" else 0,
        grace=config.grace,
    )
    first = launcher.expect()
    if not isinstance(first, Started):
        launcher.stop(config.grace)
        while not isinstance(launcher.expect(), Done):
            pass
        if isinstance(first, ExecFailed):
            raise _exec_error(program, first)
        raise HelperGone(f"the spawn helper said {first} instead of starting {program}")
    outputs = _Outputs(config.ready)
    got = _follow(launcher, first, outputs, config)
    life_ms = (got.exited.ns - first.ns) / 1e6 if got.exited else 0.0
    common = {
        "traced": traced,
        "evicted": config.cold and not note,
        "eviction_error": note,
        "evict_ms": evict_ms,
        "harness_ms": (time.monotonic_ns() - began) / 1e6 - life_ms,
        "exit_code": got.exited.code if got.exited else None,
    }
    if kind == "exit" and got.exited and got.exited.code == 0 and not got.timed_out:
        got.ready_ns, got.gc_at_ready = got.exited.ns, outputs.err.gc_lines
    if got.ready_ns is None:
        ns = got.exited.ns - first.ns if got.exited else time.monotonic_ns() - got.received_ns
        why = _why_not_ready(got, outputs, config, output_kept=traced or kind != "exit")
        return Run(False, ns / 1e6, error=why, **common)  # type: ignore[arg-type]
    usage = got.exited or Exited(0, 0, 0, 0, 0, 0)
    return Run(
        ok=True,
        wall_ms=(got.ready_ns - first.ns) / 1e6,
        user_ms=usage.user_us / 1000,
        sys_ms=usage.sys_us / 1000,
        max_rss_kib=usage.max_rss_kib,
        gc_cycles=got.gc_at_ready if traced else 0,
        inits=tuple(outputs.err.inits) if traced else (),
        **common,  # type: ignore[arg-type]
    )


def _follow(
    launcher: Launcher, started: Started, outputs: _Outputs, config: StartupConfig
) -> _Outcome:
    """Read the helper's reports until the run is over (Done): the first ready moment before
    the time-out, the exit. Once ready, exited (and alone), or out of time, the run is stopped;
    what the program wrote until then is still read, so that its last words are known."""
    got = _Outcome(started, time.monotonic_ns())
    deadline = started.ns + int(config.timeout * 1e9)  # the helper's clock
    waited = got.received_ns + int(config.timeout * 1e9)  # this machine's
    stopping = False

    def stop() -> None:
        nonlocal stopping
        if not stopping:
            launcher.stop(config.grace)
            stopping = True

    def ready(ns: int) -> None:
        if got.ready_ns is None and ns <= deadline:
            got.ready_ns, got.gc_at_ready = ns, outputs.err.gc_lines
            stop()

    while True:
        # stopping, the helper ends everything within grace, a second for what the program
        # left, and two seconds for its pipes
        left = config.grace + 10.0 if stopping else (waited - time.monotonic_ns()) / 1e9
        event = launcher.next(max(0.0, left))
        if event is None:
            if stopping:
                raise HelperGone(f"the spawn helper did not end the run within {left:g}s")
            got.timed_out = True
            stop()
            continue
        if isinstance(event, Output):
            if outputs.feed(event):
                ready(event.ns)
        elif isinstance(event, PortOpen):
            ready(event.ns)
        elif isinstance(event, Exited):
            got.exited = event
            # A program that daemonized exited at once; what it left may yet get ready.
            if config.ready.kind == "exit" or not event.left:
                stop()
        elif isinstance(event, Alone):
            stop()
        elif isinstance(event, Done):
            outputs.close()
            if got.exited and got.ready_ns is not None:  # a line read after the exit
                got.ready_ns = min(got.ready_ns, got.exited.ns)
            return got


def _why_not_ready(
    got: _Outcome, outputs: _Outputs, config: StartupConfig, *, output_kept: bool
) -> str:
    ready = config.ready
    if got.timed_out or got.exited is None:
        return f"not ready within {config.timeout:g}s ({ready.describe()})"
    what = "" if ready.kind == "exit" else f" before ready ({ready.describe()})"
    words = f": {outputs.err.last_words()}" if output_kept else ""
    return f"exited with {got.exited.code}{what}{words}"


def _exec_error(program: str, failed: ExecFailed) -> StartupError:
    reasons = {
        2: "no such file",
        13: "not executable (permission denied)",
        8: "exec format error (a binary for another architecture or OS?)",
    }
    detail = reasons.get(failed.errno, failed.message or "the spawn helper failed")
    if failed.errno == 2 and Path(program).is_file():  # the file is there: its #! interpreter not
        detail = "its #! interpreter was not found (exec: no such file)"
    return StartupError(f"{program}: {detail}")


def check_binary(path: Path) -> None:
    if not path.exists():
        raise StartupError(f"{path}: no such file")
    if path.is_dir():
        raise StartupError(f"{path}: is a directory")
    if not os.access(path, os.X_OK):
        raise StartupError(f"{path}: not executable")


# --- series of runs, interleaved, and their summary -------------------------------------------


class Series(msgspec.Struct, frozen=True):
    """Every measured run of one binary: the timed runs and the traced ones (warm-up runs
    are not kept)."""

    name: str
    binary: Path
    runs: tuple[Run, ...]
    traced: tuple[Run, ...] = ()
    godebug: str = ""  # the GODEBUG of the traced runs
    argv0: str = ""  # of every run
    runner: tuple[str, ...] = ()
    emulated: bool = False

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok]


PHASES = (("warm-up", "warmup"), ("traced", "trace_runs"), ("run", "runs"))


def check_series(binaries: Mapping[str, Path], config: StartupConfig) -> None:
    """Refuse what no run could measure, before anything is built or copied."""
    for path in binaries.values():
        check_binary(path)
    for ready in {config.for_build(name).ready for name in binaries}:
        if ready.kind == "port" and not config.remote and port_in_use(ready.port):
            raise StartupError(
                f"--ready-port {ready.port}: another process already listens there, so the "
                "program's own readiness could not be told apart; stop it or choose another port"
            )


def run_series(
    binaries: Mapping[str, Path],
    config: StartupConfig,
    environ: Mapping[str, str],
    placed: Placed,
    progress: Any = None,
) -> list[Series]:
    """Warm-up rounds, traced rounds, then timed rounds; each round starts every binary once
    in turn (A B C A B C ...), so that drift of the machine hits all of them alike. One spawn
    helper runs them all, where placed says."""
    kept: dict[str, dict[str, list[Run]]] = {"traced": {}, "run": {}}
    with Launcher(placed.helper, environ, placed.cpus) as launcher:
        for phase, key in PHASES:
            for round_no in range(getattr(config, key)):
                for name in binaries:
                    run = measure(
                        launcher,
                        placed,
                        name,
                        config.for_build(name),
                        environ,
                        traced=phase == "traced",
                    )
                    if phase in kept:
                        kept[phase].setdefault(name, []).append(run)
                    if progress is not None:
                        progress(name, f"{phase} {round_no + 1}", run)
    runs, traced = kept["run"], kept["traced"]
    return [
        Series(
            name,
            path,
            tuple(runs.get(name, ())),
            tuple(traced.get(name, ())),
            godebug(environment(placed, config.for_build(name), environ).get("GODEBUG")),
            argv0=config.for_build(name).argv0 or placed.programs[name],
            runner=config.runner,
            emulated=bool(placed.emulator),
        )
        for name, path in binaries.items()
    ]


def explained(errors: Sequence[str]) -> tuple[str, ...]:
    """The distinct errors, without one that another explains: a timed run's "exited with 3"
    (its output went to /dev/null) beside a traced run's "exited with 3: boom"."""
    distinct = sorted(set(errors))
    return tuple(e for e in distinct if not any(o.startswith(f"{e}: ") for o in distinct))


def summarize_series(
    series: Series, config: StartupConfig, baseline: Series | None = None
) -> StartupResult:
    """The per-variant result of ``buildopt.startup/1``: statistics over the good timed runs,
    GC cycles and init costs from the good traced runs."""
    from buildopt.analysis.stats import ratio_of_medians, summarize

    good = series.good
    traced = [r for r in series.traced if r.ok]
    every = (*series.runs, *series.traced)
    failures = [r.error for r in every if not r.ok]
    eviction_errors = sorted({r.eviction_error for r in every if r.eviction_error})
    basics = StartupResult(
        name=series.name,
        binary=str(series.binary),
        runs=len(good),
        failed_runs=sum(not r.ok for r in series.runs),
        errors=explained(failures)[:5],
        ready=config.ready.describe(),
        cold=config.cold,
        evicted=config.cold and not eviction_errors and any(r.evicted for r in every),
        eviction_error=eviction_errors[0] if eviction_errors else None,
        traced_runs=len(traced),
        failed_traced_runs=sum(not r.ok for r in series.traced),
        traced_godebug=series.godebug if series.traced else None,
        argv0=series.argv0 or None,
        runner=series.runner or None,
        emulated=series.emulated,
    )
    if traced:
        basics = msgspec.structs.replace(
            basics,
            gc_cycles=max(r.gc_cycles for r in traced),
            inits=init_costs(traced),
            traced_wall_ms=tuple(round(r.wall_ms, 3) for r in traced),
        )
    if not good:
        return basics
    wall = summarize([r.wall_ms for r in good])
    versus = None
    if baseline is not None and baseline is not series and baseline.good:
        ratio = ratio_of_medians([r.wall_ms for r in good], [r.wall_ms for r in baseline.good])
        versus = BaselineRatio(
            baseline=baseline.name,
            ratio_of_medians=round(ratio.ratio, 4),
            ci95=(round(ratio.low, 4), round(ratio.high, 4)),
            significant=ratio.significant,
        )
    return msgspec.structs.replace(
        basics,
        median_ms=round(wall.median, 3),
        p95_ms=round(wall.p95, 3),
        mean_ms=round(wall.mean, 3),
        min_ms=round(wall.min, 3),
        max_ms=round(wall.max, 3),
        stdev_ms=round(wall.stdev, 3),
        outliers=wall.outliers,
        user_ms=round(summarize([r.user_ms for r in good]).median, 3),
        sys_ms=round(summarize([r.sys_ms for r in good]).median, 3),
        max_rss_kib=max(r.max_rss_kib for r in good),
        median_rss_kib=int(summarize([r.max_rss_kib for r in good]).median),
        wall_ms=tuple(round(r.wall_ms, 3) for r in good),
        vs_baseline=versus,
        evict_ms=round(summarize([r.evict_ms for r in good]).median, 3) if config.cold else None,
        harness_ms=round(summarize([r.harness_ms for r in good]).median, 3),
    )


def init_costs(runs: Sequence[Run]) -> tuple[InitCost, ...]:
    """Per-package init cost: the median over runs of each package's clock time."""
    from statistics import median

    clock: dict[str, list[float]] = {}
    latest: dict[str, Init] = {}
    for run in runs:
        for init in run.inits:
            clock.setdefault(init.package, []).append(init.clock_ms)
            latest[init.package] = init
    rows = [
        InitCost(package=p, clock_ms=round(median(clock[p]), 3), bytes=i.bytes, allocs=i.allocs)
        for p, i in latest.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.clock_ms, r.package)))
