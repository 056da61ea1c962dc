"""Spread CPU-bound work over forked processes, and gather the results in order.

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
from typing import Generic, TypeVar

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


def shares(weights: Sequence[int], jobs: int) -> list[list[int]]:
    """Indices of weights in up to ``jobs`` groups of similar total weight: each item, largest
    first, goes to the lightest group. Groups are in index order; none is empty."""
    groups: list[list[int]] = [[] for _ in range(max(1, jobs))]
    loads = [0] * len(groups)
    for i in sorted(range(len(weights)), key=lambda i: (-weights[i], i)):
        lightest = loads.index(min(loads))
        groups[lightest].append(i)
        loads[lightest] += weights[i]
    return [sorted(group) for group in groups if group]


def fork_batches(
    batch: Callable[[list[T]], list[object]], items: Sequence[T], weights: Sequence[int], jobs: int
) -> list[object]:
    """``batch(items)``, computed by up to ``jobs`` processes (this one included), each on a
    group of items of similar weight; batch returns one JSON value per item, in order (those
    of the children come back as json.loads gives them)."""
    if jobs <= 1 or len(items) <= 1 or not can_fork():
        return batch(list(items))
    groups = shares(weights, min(jobs, len(items)))
    children: list[tuple[Background[list[T], list[object]], list[int]]] = []
    try:
        for group in groups[1:]:
            children.append((Background(batch, [[items[i] for i in group]]), group))
        results = dict(zip(groups[0], batch([items[i] for i in groups[0]]), strict=True))
        while children:
            child, group = children.pop(0)
            values = child.get(0)
            child.close()
            if not isinstance(values, list) or len(values) != len(group):
                values = batch([items[i] for i in group])  # pragma: no cover - a broken child
            results.update(zip(group, values, strict=True))
    finally:
        for child, _ in children:  # interrupted: stop the rest
            child.close()
    return [results[i] for i in range(len(items))]


class Background(Generic[T, R]):
    """``func`` over items in one forked child while this process goes on with other work;
    ``get(i)`` returns the i-th result, waiting for it if need be. Results stream back one
    JSON line each, in order. Where the child cannot be started, or fails, or gives None,
    ``get`` computes that result itself - so an exception is raised here, as without a child.
    """

    def __init__(self, func: Callable[[T], R], items: Sequence[T]) -> None:
        self._func, self._items = func, items
        self._results: list[R | None] = []
        self._pid = 0
        self._pipe = None
        if not items or not can_fork():
            return
        sys.stdout.flush()  # a child must not inherit (and later write) buffered output
        sys.stderr.flush()
        read_fd, write_fd = os.pipe()
        lifeline = _lifeline_fds()
        try:
            pid = os.fork()
        except OSError:  # no process to be had (EAGAIN, ENOMEM): get() computes here
            os.close(read_fd)
            os.close(write_fd)
            return
        if pid == 0:  # the child: compute, send, and leave without any of the parent's clean-up
            code = 1
            try:  # nothing may return from here into the parent's code (a Ctrl-C, say)
                signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: the parent reports it
                _die_with_parent(*lifeline)
                os.close(read_fd)
                code = _serve(func, items, write_fd)
            finally:
                os._exit(code)
        os.close(write_fd)
        self._pid, self._pipe = pid, open(read_fd, "rb")  # noqa: SIM115 - closed in close()

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
