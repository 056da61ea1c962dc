"""Spread CPU-bound work over forked processes, and gather the results in order.

Two ways: a Background child computes a list in order while this process reads it as it comes
(hashing files whose tables are printed one by one); Helpers and this process take items from
shared TaskQueues until none are left, and share_work gathers the results.

Decoding binaries is Python work, and so is much of hashing them: threads would share one GIL,
and a long C call (a regular expression over megabytes of names) holds it for milliseconds at a
time. Forked children share the modules this process has already imported (no start-up cost),
compute their part, and send it back as JSON through a pipe. A child that fails in any way is
not trusted: this process does the child's part again itself, so errors are raised - and
reported - exactly as they would be without children.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    return hasattr(os, "fork")


class _Forked:
    """One forked child writing to a pipe this process reads (``_pipe``): it shares the
    modules loaded here, dies with this process (see the lifeline below), and ``close`` stops
    and reaps it. Where no process can be forked, there is no child and no pipe."""

    def __init__(self) -> None:
        self._pid = 0
        self._pipe: IO[bytes] | None = None

    def _fork(self, serve: Callable[[int], int], capacity: int = 0) -> None:
        """Start the child: ``serve(write fd)`` is its work and gives its exit code."""
        if not can_fork():
            return
        sys.stdout.flush()  # a child must not inherit (and later write) buffered output
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        if capacity:
            _pipe_capacity(write_fd, capacity)
        lifeline = _lifeline_fds()
        # Ctrl-C is held across the fork: a child that got it while Python's at-fork hooks ran
        # (random's reseeding) printed "Exception ignored in: ... KeyboardInterrupt" under the
        # parent's one line. The child takes it with the default action once it is set.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pid = os.fork()
        except OSError:  # no process to be had (EAGAIN, ENOMEM): the caller does the work
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            os.close(read_fd)
            os.close(write_fd)
            return
        if pid == 0:  # the child: compute, send, and leave without any of the parent's clean-up
            code = 1
            try:  # nothing may return from here into the parent's code (a Ctrl-C, say)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports it
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
                _die_with_parent(*lifeline)
                os.close(read_fd)
                code = serve(write_fd)
            finally:
                os._exit(code)
        os.close(write_fd)
        self._pid, self._pipe = pid, open(read_fd, "rb")  # noqa: SIM115 - closed in close()
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a Ctrl-C that came is raised here

    def close(self) -> None:
        """Stop the child (if it still runs) and reap it."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._pid:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self._pid, 0)
            self._pid = 0


class TaskQueue:
    """Indices of items still to be worked on, shared by this process and the children it forks
    afterwards: each ``take`` gets the next ones, whoever calls it, so a process that finishes
    early takes more and all of them end at about the same time. (A split made in advance by
    size left one decoding process idle for 10-35 ms of a 130 ms ``buildopt inspect``.)

    It is a pipe, filled with 4-byte records and closed for writing before any child is
    forked: a take never blocks, and every process sees the end. A read of one record is
    atomic (the kernel holds the pipe's lock for the whole read). Where the pipe cannot hold a
    record per item, a record stands for a block of consecutive items.
    """

    RECORD = 4

    def __init__(self, order: Sequence[int]) -> None:
        self._order = list(order)
        read_fd, write_fd = os.pipe()
        try:
            capacity = max(1, _pipe_capacity(write_fd, len(self._order) * self.RECORD))
            self._block = max(1, -(-len(self._order) // (capacity // self.RECORD)))
            blocks = -(-len(self._order) // self._block)
            data = memoryview(b"".join(j.to_bytes(self.RECORD, "little") for j in range(blocks)))
            os.set_blocking(write_fd, False)  # it fits; if not, fail here rather than hang
            while data:
                data = data[os.write(write_fd, data) :]
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._fd = read_fd

    def take(self) -> list[int]:
        """The next indices to work on; [] when there are none left."""
        if self._fd < 0:
            return []
        record = os.read(self._fd, self.RECORD)
        if len(record) < self.RECORD:
            return []
        j = int.from_bytes(record, "little") * self._block
        return self._order[j : j + self._block]

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Job(NamedTuple):
    """``func`` over the items whose indices ``queue`` hands out; results go under ``key``.
    ``each``: a child sends every result as soon as it has it (long items, progress shown),
    not when the job is done."""

    key: str
    func: Callable[[Any], object]
    items: Sequence[Any]
    queue: TaskQueue
    each: bool = False


class Helper(_Forked):
    """A forked child that works through jobs (each until its queue is empty, in order) beside
    this process, sending each result back as one JSON line. ``collect`` waits for it and gives
    the results it sent: a result is missing where func raised or the child died, and the
    caller computes it itself (so the error is raised, and reported, as without a child).
    """

    def __init__(self, jobs: Sequence[Job]) -> None:
        super().__init__()
        # room in the pipe for the results, so that the child need not wait while this works
        self._fork(lambda fd: _serve_jobs(jobs, fd), RESULTS_PIPE)

    def collect(self) -> dict[tuple[str, int], object]:
        """Every result the child sent, by (job key, item index), once it has ended."""
        results: dict[tuple[str, int], object] = {}
        if self._pipe is not None:
            for line in self._pipe:
                try:
                    key, index, value = json.loads(line)
                except ValueError:  # a line cut short: the child died writing it
                    break
                if value is not None:
                    results[key, index] = value
        self.close()
        return results


def share_work(jobs: Sequence[Job], helpers: Sequence[Helper]) -> dict[str, list[object]]:
    """Work through ``jobs`` here, beside ``helpers`` that took their own share of the same
    queues, then gather everything: ``{job key: [result of each item, in item order]}``. What a
    helper did not deliver is computed here. Helpers are reaped whatever happens."""
    try:
        results: dict[tuple[str, int], object] = {}
        for job in jobs:
            for block in iter(job.queue.take, []):
                for i in block:
                    results[job.key, i] = job.func(job.items[i])
        for helper in helpers:
            results.update(helper.collect())
        return {
            job.key: [
                results[job.key, i] if (job.key, i) in results else job.func(item)
                for i, item in enumerate(job.items)
            ]
            for job in jobs
        }
    finally:
        for helper in helpers:
            helper.close()
        for job in jobs:
            job.queue.close()


def map_apart(
    func: Callable[[T], object],
    items: Sequence[T],
    workers: int,
    order: Sequence[int] | None = None,
    on_result: Callable[[int, object], None] | None = None,
) -> list[object]:
    """func over items in ``workers`` forked children while this process only waits - so that
    a Ctrl-C stops everything at once (the children are killed; a long C call here would
    hold the interrupt until it returned) - with ``on_result(index, result)`` called here as
    each result comes. Items are taken in ``order`` (default: as given). Results are JSON
    values, in item order; what no child delivered (it died, func raised, no fork) is
    computed here, so that an error is raised as without children."""
    if not items:
        return []
    queue = TaskQueue(order if order is not None else range(len(items)))
    job = Job("r", func, items, queue, each=True)
    helpers = [Helper([job]) for _ in range(max(1, min(workers, len(items))))]
    results: dict[int, object] = {}

    def got(index: int, value: object) -> None:
        results[index] = value
        if on_result is not None:
            on_result(index, value)

    try:
        _gather_lines([h._pipe.fileno() for h in helpers if h._pipe is not None], got)
        for i, item in enumerate(items):
            if i not in results:
                got(i, func(item))
        return [results[i] for i in range(len(items))]
    finally:
        for helper in helpers:
            helper.close()
        queue.close()


def _gather_lines(fds: Sequence[int], got: Callable[[int, object], None]) -> None:
    """Read the children's result lines ([key, index, value]) as they come until every pipe
    ends; ``got(index, value)`` for each value that is not null."""
    import selectors

    with selectors.DefaultSelector() as selector:
        pending: dict[int, bytes] = {}  # a child's bytes after its last whole line
        for fd in fds:
            selector.register(fd, selectors.EVENT_READ)
            pending[fd] = b""
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fd, 1 << 16)
                if not data:  # the child is done (a line cut short is not a result)
                    selector.unregister(key.fd)
                    continue
                *lines, pending[key.fd] = (pending[key.fd] + data).split(b"\n")
                for line in lines:
                    _, index, value = json.loads(line)
                    if value is not None:
                        got(index, value)


def _serve_jobs(jobs: Sequence[Job], fd: int) -> int:
    """The child's work: one JSON line per item taken, [key, index, result or null when func
    raised]; its exit code."""
    try:
        with open(fd, "wb") as pipe:
            for job in jobs:
                for block in iter(job.queue.take, []):
                    for i in block:
                        try:
                            value: object = job.func(job.items[i])
                        except Exception:
                            value = None
                        pipe.write(json.dumps([job.key, i, value]).encode() + b"\n")
                        if job.each:
                            pipe.flush()
                pipe.flush()
        return 0
    except BaseException:
        return 1


RESULTS_PIPE = 1 << 20  # bytes a helper may send before it waits for this process to read


def _pipe_capacity(fd: int, wanted: int) -> int:
    """Make the pipe hold ``wanted`` bytes if the system allows it; what it holds."""
    import fcntl  # Linux-only constants, loaded where used

    capacity: int = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
    if wanted > capacity:
        with contextlib.suppress(OSError):  # over /proc/sys/fs/pipe-max-size, or no quota
            capacity = fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, wanted)
    return capacity


class Background(_Forked, Generic[T, R]):
    """``func`` over items in one forked child while this process goes on with other work;
    ``get(i)`` returns the i-th result, waiting for it if need be. Results stream back one
    JSON line each, in order. Where the child cannot be started, or fails, or gives None,
    ``get`` computes that result itself - so an exception is raised here, as without a child.
    """

    def __init__(self, func: Callable[[T], R], items: Sequence[T]) -> None:
        super().__init__()
        self._func, self._items = func, items
        self._results: list[R | None] = []
        if items:
            self._fork(lambda fd: _serve(func, items, fd))

    def get(self, index: int) -> R:
        while len(self._results) <= index and self._pipe is not None:
            line = self._pipe.readline()
            try:
                self._results.append(json.loads(line) if line else None)
            except ValueError:
                self._results.append(None)
            if not line:
                self.close()
        value = self._results[index] if index < len(self._results) else None
        return self._func(self._items[index]) if value is None else value


def _serve(func: Callable[[T], R], items: Sequence[T], fd: int) -> int:
    """The child's work: one JSON line per item (null when func raised); its exit code."""
    try:
        with open(fd, "wb") as pipe:
            for item in items:
                try:
                    value: object = func(item)
                except Exception:
                    value = None
                pipe.write(json.dumps(value).encode() + b"\n")
                pipe.flush()
        return 0
    except BaseException:
        return 1


# The lifeline: a pipe whose write end only the forking process keeps. Each child closes its
# copy and watches the read end on a thread; the read returns (EOF) when the parent is gone,
# however it ended (kill -9 included), and the child ends too. It costs a thread start in the
# child (~0.1 ms); PR_SET_PDEATHSIG through ctypes cost 1-3 ms of import in each child, on the
# critical path of `buildopt inspect` (benchmarks/bench_inspect.py).
_lifeline: tuple[int, int, int] | None = None  # (owner pid, read fd, write fd)


def _lifeline_fds() -> tuple[int, int]:
    """(read, write) of this process's lifeline pipe, made on first use."""
    global _lifeline  # noqa: PLW0603 - one per process, inherited by its forked children
    if _lifeline is None or _lifeline[0] != os.getpid():
        read_fd, write_fd = os.pipe()
        _lifeline = (os.getpid(), read_fd, write_fd)
    return _lifeline[1], _lifeline[2]


def _die_with_parent(read_fd: int, write_fd: int) -> None:
    """In a forked child: end this process when the parent's end of the lifeline closes."""
    os.close(write_fd)

    def watch() -> None:
        with contextlib.suppress(OSError):
            os.read(read_fd, 1)  # nothing is ever written: this returns when the parent is gone
        os._exit(1)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()
