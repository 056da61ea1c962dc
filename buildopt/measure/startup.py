"""Cold-start measurement: spawn a binary, detect readiness, stop it, and collect the facts.

One run: optionally evict the binary's pages from the page cache (sync, then
``posix_fadvise(POSIX_FADV_DONTNEED)``), spawn it in a session of its own (argv, never a shell)
with ``GODEBUG=gctrace=1,inittrace=1`` added to the user's own GODEBUG, and watch stdout/stderr
until it is ready: a regex line, a loopback TCP port accepting, or its exit. Then SIGTERM to the
whole process group, SIGKILL after a grace period, and ``os.wait4`` for its CPU times and peak
RSS. GC cycles are the ``gc N @`` lines seen before ready; init costs come from ``init`` lines.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from buildopt.config.startup import Ready, StartupConfig
from buildopt.errors import BuildoptError
from buildopt.record.model import BaselineRatio, InitCost, StartupResult
from buildopt.system import proc

INIT_LINE = re.compile(
    rb"^init (\S+) @[\d.]+ ms, ([\d.]+) ms clock, (\d+) bytes, (\d+) allocs", re.M
)
GC_LINE = re.compile(rb"^gc \d+ @", re.M)
CRASH_LINE = re.compile(rb"^(?:panic:|fatal error:).*", re.M)
POLL_SECONDS = 0.0005
READ_CHUNK = 1 << 16
LINE_LIMIT = 64 << 10  # a longer line is cut here (what is past it is never looked at)
TAIL_BYTES = 64 << 10  # the last words kept of each stream, for the error message
MAX_INITS = 100_000  # init lines kept (Go prints one per package)


class StartupError(BuildoptError):
    """The program cannot be started at all (bad input, exit 2)."""


@dataclass(frozen=True)
class Init:
    package: str
    clock_ms: float
    bytes: int
    allocs: int


@dataclass(frozen=True)
class Run:
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


def godebug(user: str | None) -> str:
    """The user's GODEBUG with gctrace=1 and inittrace=1 added unless the user set them."""
    settings = [s for s in (user or "").split(",") if s]
    keys = {s.split("=", 1)[0] for s in settings}
    settings += [s for s in ("gctrace=1", "inittrace=1") if s.split("=")[0] not in keys]
    return ",".join(settings)


def evict(path: Path) -> str:
    """Drop the file's pages from the page cache; '' on success, else why it failed."""
    try:
        os.sync()
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    except (OSError, AttributeError) as exc:
        return f"could not evict {path} from the page cache: {exc}"
    return ""


def parse_inits(stderr: bytes) -> tuple[Init, ...]:
    return tuple(
        Init(
            m.group(1).decode(errors="replace"), float(m.group(2)), int(m.group(3)), int(m.group(4))
        )
        for m in INIT_LINE.finditer(stderr)
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
        lines = [
            line.strip()
            for line in (bytes(self.tail) + bytes(self.partial))
            .decode(errors="replace")
            .splitlines()
            if line.strip() and not line.startswith(("gc ", "init "))
        ]
        return lines[-1] if lines else "no output"


class _Watch:
    """Reads both pipes without threads and notices readiness as soon as it shows."""

    def __init__(self, child: proc.Child, ready: Ready) -> None:
        self.proc, self.ready = child, ready
        pattern = re.compile(ready.pattern.encode(), re.M) if ready.pattern else None
        self.out = _Stream(pattern if ready.kind == "stdout" else None)
        self.err = _Stream(pattern if ready.kind == "stderr" else None)
        self.selector = selectors.DefaultSelector()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                os.set_blocking(stream.fileno(), False)
                self.selector.register(stream, selectors.EVENT_READ)

    def pump(self, timeout: float) -> bool:
        """Read what is there; True once every pipe is closed."""
        for key, _ in self.selector.select(timeout):
            stream = key.fileobj
            sink = self.out if stream is self.proc.stdout else self.err
            data = os.read(stream.fileno(), READ_CHUNK)  # type: ignore[union-attr]
            if not data:
                self.selector.unregister(stream)
                sink.close()
                continue
            sink.feed(data)
        return not self.selector.get_map()

    def is_ready(self) -> bool:
        kind = self.ready.kind
        if kind in ("stdout", "stderr"):
            return (self.out if kind == "stdout" else self.err).matched
        if kind == "port":
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.ready.port), timeout=0.05),
            ):
                return True
        return False

    def close(self) -> None:
        self.selector.close()


class _Child:
    """The measured program, started through the spawn helper (see buildopt/measure/helpers/spawn).

    The helper forks and execs the program, so that the program's rusage is its own (Linux
    charges an exec'ing process with the peak RSS of the memory it had, here the helper's few
    MiB instead of this Python process's). It reports the program's pid and a CLOCK_MONOTONIC
    timestamp taken just before the fork, and after the program ends, its wait status, CPU times
    and peak RSS. Its own start-up is outside the measured time.
    """

    def __init__(
        self, helper: Path, argv: Sequence[str], env: Mapping[str, str], cpus: int | None
    ) -> None:
        read_end, write_end = os.pipe()
        try:
            self.proc = _popen([str(helper), str(write_end), *argv], env, cpus, write_end)
        finally:
            os.close(write_end)
        self._report, self._pending = read_end, b""
        first = self._next_report() or []
        if not first or first[0] != "start":
            self.proc.wait()
            os.close(read_end)
            raise _exec_error(argv[0], first)
        os.set_blocking(read_end, False)
        self.pid, self.started_ns = int(first[1]), int(first[2])
        self.exit_line: list[str] | None = None

    def _next_report(self) -> list[str] | None:
        """The helper's next report line as words; None if there is none yet (the pipe is
        non-blocking after the first line) or the helper is gone."""
        while b"\n" not in self._pending:
            try:
                data = os.read(self._report, 4096)
            except BlockingIOError:
                return None
            if not data:  # the helper is gone: what it wrote last, if anything
                break
            self._pending += data
        line, _, self._pending = self._pending.partition(b"\n")
        return line.decode(errors="replace").split() if line else None

    def exited(self) -> bool:
        """True once the program itself has ended and the helper reported on it. Processes it
        left running (a daemon: see ``left``) may still run; the helper ends them on stop."""
        if self.exit_line is None:
            words = self._next_report()
            if words is not None:
                self.exit_line = words if words[0] == "exit" else []
            elif self.proc.poll() is not None:  # the helper ended without a word (killed)
                self.exit_line = self._next_report() or []
        return self.exit_line is not None

    @property
    def left(self) -> int:
        """How many processes the program left running when it exited (adopted by the helper)."""
        return int(self.exit_line[6]) if self.exit_line and len(self.exit_line) > 6 else 0

    def running(self) -> bool:
        """Whether the helper still runs: the program, or what it left, is alive."""
        return self.proc.poll() is None

    def stop(self, grace: float) -> None:
        """SIGTERM to the whole group; SIGKILL to the program after grace; then the helper ends
        what the program left outside its group (SIGTERM, a second, SIGKILL). No process left."""
        if not self.exited():
            proc.send_signal(self.proc.pid, signal.SIGTERM, group=True)
            self._wait(self.exited, grace)
            if not self.exited():
                proc.send_signal(self.pid, signal.SIGKILL, group=False)  # the helper still reports
                self._wait(self.exited, grace)
        if self.running():
            proc.send_signal(self.proc.pid, signal.SIGTERM, group=False)  # end what is left
            self._wait(lambda: not self.running(), grace + 2.0)
        proc.send_signal(self.proc.pid, signal.SIGKILL, group=True)  # stragglers of the group
        self.proc.wait()
        self.exited()
        os.close(self._report)

    @staticmethod
    def _wait(done: Callable[[], bool], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not done():
            time.sleep(0.002)

    @property
    def ended_ns(self) -> int | None:
        return int(self.exit_line[1]) if self.exit_line else None

    def usage(self) -> tuple[int | None, float, float, int]:
        """(exit code, user ms, system ms, peak RSS KiB) of the program."""
        if not self.exit_line:
            return None, 0.0, 0.0, 0
        _, _, status, user_us, sys_us, rss = self.exit_line[:6]
        return (
            os.waitstatus_to_exitcode(int(status)),
            int(user_us) / 1000,
            int(sys_us) / 1000,
            int(rss),
        )


def _popen(
    argv: Sequence[str], env: Mapping[str, str], cpus: int | None, report_fd: int
) -> proc.Child:
    try:
        return proc.spawn_session(argv, env, pass_fds=(report_fd,), cpus=cpus)
    except OSError as exc:
        raise StartupError(f"{argv[0]}: cannot start the spawn helper: {exc.strerror}") from exc


def _exec_error(program: str, words: list[str]) -> StartupError:
    errno = int(words[1]) if len(words) > 1 and words[0] == "error" else 0
    reasons = {
        2: "no such file",
        13: "not executable (permission denied)",
        8: "exec format error (a binary for another architecture or OS?)",
    }
    detail = reasons.get(errno, " ".join(words[2:]) or "the spawn helper failed")
    if errno == 2 and Path(program).is_file():  # the file is there: its #! interpreter is not
        detail = "its #! interpreter was not found (exec: no such file)"
    return StartupError(f"{program}: {detail}")


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on the loopback port now."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
        return True
    return False


def measure(binary: Path, config: StartupConfig, environ: Mapping[str, str], helper: Path) -> Run:
    """One start of binary, to readiness; neither it nor anything it started is left running."""
    if config.ready.kind == "port" and port_in_use(config.ready.port):
        # a previous run's program (or another process) still holds it: not this run's socket
        return Run(False, 0.0, error=f"port {config.ready.port} was in use before the start")
    note = evict(binary) if config.cold else ""
    env = {**environ, **config.env}
    env["GODEBUG"] = godebug(env.get("GODEBUG"))
    # Ctrl-C and SIGTERM wait while the helper starts: an interrupt inside Popen, or before
    # the try below, left the helper and the program running with no one to stop them.
    with proc.interrupts_held() as release:
        child = _Child(helper, [str(binary), *config.args], env, config.cpus)
    try:
        release()  # a pending interrupt is raised here, where the finally stops the child
        watch = _Watch(child.proc, config.ready)
        try:
            ready_ns, error, gc_cycles = _wait_ready(child, watch, config)
        finally:
            watch.close()
    finally:
        child.stop(config.grace)
        for stream in (child.proc.stdout, child.proc.stderr):
            if stream is not None:
                stream.close()
    exit_code, user_ms, sys_ms, rss = child.usage()
    evicted = config.cold and not note
    if ready_ns is None:
        end = child.ended_ns or time.monotonic_ns()
        return Run(
            False, (end - child.started_ns) / 1e6, evicted=evicted, error=error, exit_code=exit_code
        )
    return Run(
        ok=True,
        wall_ms=(ready_ns - child.started_ns) / 1e6,
        user_ms=user_ms,
        sys_ms=sys_ms,
        max_rss_kib=rss,
        gc_cycles=gc_cycles,
        inits=tuple(watch.err.inits),
        evicted=evicted,
        error=note,
        exit_code=exit_code,
    )


def _wait_ready(child: _Child, watch: _Watch, config: StartupConfig) -> tuple[int | None, str, int]:
    """(monotonic ns when ready, '', GC cycles before ready) or (None, why not, 0)."""
    deadline = child.started_ns + int(config.timeout * 1e9)
    kind = config.ready.kind
    closed = False
    while True:
        if kind != "exit" and watch.is_ready():
            return time.monotonic_ns(), "", watch.err.gc_lines
        # A program that daemonized exited at once; what it left may yet get ready.
        if child.exited() and not (kind != "exit" and child.left and child.running()):
            drain_until = time.monotonic() + 0.2  # the rest of its output
            while not watch.pump(0.01) and time.monotonic() < drain_until:
                pass
            code = child.usage()[0]
            if kind == "exit" and code == 0 and child.ended_ns:
                return child.ended_ns, "", watch.err.gc_lines
            if kind != "exit" and watch.is_ready():  # ready just before it exited
                return child.ended_ns, "", watch.err.gc_lines
            what = "" if kind == "exit" else f" before ready ({config.ready.describe()})"
            return None, f"exited with {code}{what}: {watch.err.last_words()}", 0
        if time.monotonic_ns() > deadline:
            return None, f"not ready within {config.timeout:g}s ({config.ready.describe()})", 0
        if closed:  # the pipes are closed: wait for the helper's report (or poll the port)
            time.sleep(POLL_SECONDS if kind == "port" else 0.002)
        else:
            # Block on the pipes: only a port has to be polled. Waking up often would take CPU
            # from the program being measured.
            closed = watch.pump(POLL_SECONDS if kind == "port" else 0.05)


def spawn_helper(environ: Mapping[str, str]) -> Path:
    """The spawn helper (buildopt/measure/helpers/spawn), built once per Go toolchain."""
    from buildopt.measure.helpers import build_helper

    return build_helper("spawn", environ)


def check_binary(path: Path) -> None:
    if not path.exists():
        raise StartupError(f"{path}: no such file")
    if path.is_dir():
        raise StartupError(f"{path}: is a directory")
    if not os.access(path, os.X_OK):
        raise StartupError(f"{path}: not executable")


# --- series of runs, interleaved, and their summary -------------------------------------------


@dataclass(frozen=True)
class Series:
    """Every measured run of one binary (warm-up runs excluded)."""

    name: str
    binary: Path
    runs: tuple[Run, ...]

    @property
    def good(self) -> list[Run]:
        return [r for r in self.runs if r.ok]


def run_series(
    binaries: Mapping[str, Path],
    config: StartupConfig,
    environ: Mapping[str, str],
    helper: Path,
    progress: Any = None,
) -> list[Series]:
    """Warm-up, then ``runs`` rounds, each starting every binary once in turn (A B C A B C ...),
    so that drift of the machine hits all of them alike."""
    for path in binaries.values():
        check_binary(path)
    if config.ready.kind == "port" and port_in_use(config.ready.port):
        raise StartupError(
            f"--ready-port {config.ready.port}: another process already listens there, so the "
            "program's own readiness could not be told apart; stop it or choose another port"
        )
    collected: dict[str, list[Run]] = {name: [] for name in binaries}
    for round_no in range(config.warmup + config.runs):
        for name, path in binaries.items():
            run = measure(path, config, environ, helper)
            if round_no >= config.warmup:
                collected[name].append(run)
            if progress is not None:
                progress(name, round_no, run)
    return [Series(name, binaries[name], tuple(runs)) for name, runs in collected.items()]


def summarize_series(
    series: Series, config: StartupConfig, baseline: Series | None = None
) -> StartupResult:
    """The per-variant result of ``buildopt.startup/1``; statistics only over good runs."""
    from buildopt.analysis.stats import ratio_of_medians, summarize

    good = series.good
    failures = [r.error for r in series.runs if not r.ok]
    basics = StartupResult(
        name=series.name,
        binary=str(series.binary),
        runs=len(good),
        failed_runs=len(failures),
        errors=tuple(sorted(set(failures))[:5]),
        ready=config.ready.describe(),
        cold=config.cold,
        evicted=bool(good) and all(r.evicted for r in good),
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
        gc_cycles=max(r.gc_cycles for r in good),
        inits=init_costs(good),
        wall_ms=tuple(round(r.wall_ms, 3) for r in good),
        vs_baseline=versus,
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
        InitCost(
            package=p,
            clock_ms=round(median(values), 3),
            bytes=latest[p].bytes,
            allocs=latest[p].allocs,
        )
        for p, values in clock.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.clock_ms, r.package)))
