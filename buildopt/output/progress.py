"""Progress for a log (stderr is not a terminal: CI, ``2>build.log``, a pipe): a line when each
build starts and when it ends, and a heartbeat while builds run, so that a long run never
looks hung. Plain lines, no rich (it is loaded only when there is a table to print)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from buildopt.errors import UsageError, visible

if TYPE_CHECKING:
    from buildopt.output.console import BuildProgress
    from buildopt.pipeline.plan import Step
    from buildopt.record.model import Build

HEARTBEAT_ENV = "BUILDOPT_HEARTBEAT_SECONDS"
HEARTBEAT_SECONDS = 30.0


def heartbeat_seconds(environ: Mapping[str, str]) -> float:
    """The heartbeat's interval: BUILDOPT_HEARTBEAT_SECONDS, else 30 seconds."""
    given = environ.get(HEARTBEAT_ENV, "").strip()
    if not given:
        return HEARTBEAT_SECONDS
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise UsageError(f"{HEARTBEAT_ENV}={given!r}: expected a number of seconds above 0")
    return seconds


def elapsed(seconds: float) -> str:
    """``7.2s``, ``1m05s``, ``1h02m``: a duration for people."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


class LogProgress:
    """Build progress as log lines on stderr: ``started ID``, ``[N/M] STATUS ID (7.2s)``, and
    every ``every`` seconds while builds run, which are running, for how long, N of M done."""

    def __init__(self, total: int, *, every: float = HEARTBEAT_SECONDS) -> None:
        self._total, self._every = total, every
        self._lock = threading.Lock()
        self._running: dict[str, float] = {}  # id: when it started
        self._done = 0
        self._begun = time.monotonic()
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)

    def __enter__(self) -> LogProgress:
        self._beat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._beat.join()

    def started(self, step: Step) -> None:
        with self._lock:
            self._running[step.id] = time.monotonic()
            self._say(f"started {step.id}")

    def finished(self, result: Build) -> None:
        with self._lock:
            self._running.pop(result.id, None)
            if result.status == "skipped":
                return  # not progress: the results table lists skips with their reasons
            self._done += 1
            took = f"({result.wall_seconds:.1f}s)"
            self._say(f"[{self._done}/{self._total}] {result.status} {result.id} {took}")

    def _heartbeat(self) -> None:
        while not self._stop.wait(self._every):
            with self._lock:
                if not self._running:
                    continue
                now = time.monotonic()
                running = ", ".join(
                    f"{sid} for {elapsed(now - since)}" for sid, since in self._running.items()
                )
                self._say(
                    f"still building ({elapsed(now - self._begun)} in all, {self._done} of "
                    f"{self._total} done): {running}"
                )

    def _say(self, line: str) -> None:
        try:
            sys.stderr.write(visible(line) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):  # stderr closed (a pipe's reader left): progress only
            pass


class StepProgress:
    """What the pipeline's steps tell people (buildopt.pipeline.steps.Progress), on stderr."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def say(self, line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    def skipped(self, note: str) -> None:
        from buildopt.output.console import make_console
        from buildopt.output.tables import data

        make_console(stderr=True).print(data(("skipped", "yellow"), f" {note}"))

    def builds(self, total: int) -> BuildProgress | LogProgress:
        """A live progress bar on a terminal; for a log, a line as each build starts and ends
        and a heartbeat (without rich: its ~40 ms import is paid only for the tables - an
        unchanged rebuild of three variants was 1.18x the go build commands by hand, mostly
        this fixed start-up, benchmarks/bench_rebuild.py)."""
        if sys.stderr.isatty() or os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE"):
            from buildopt.output import console

            return console.BuildProgress(console.make_console(stderr=True), total)
        return LogProgress(total, every=heartbeat_seconds(self._environ))

    @contextmanager
    def runs(self, total: int) -> Iterator[Callable[[str, str, object], None]]:
        """A bar over the start-up runs on a terminal, lines as their phases begin in a log."""
        from buildopt.output.console import make_console
        from buildopt.output.startup_tables import StartupProgress

        with StartupProgress(make_console(stderr=True), total) as bar:
            yield bar.advance
