"""The spawn helper's client: one helper process runs every start of a series, on request.

The helper (buildopt/measure/helpers/spawn/main.go, where the protocol is written down) forks
and execs each program, reads its output with blocking reads, polls its port and waits for it,
and reports each of these with the CLOCK_MONOTONIC time it happened. This module sends the
requests and turns the reports into typed events; it never takes a time that is measured.
One helper for the whole series keeps the cost of a run low: no Python fork, no helper start.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from buildopt.errors import EXIT_FAILED, BuildoptError
from buildopt.system import proc

ANSWER_SECONDS = 30.0  # how long the helper may take to answer a request it handles at once


class HelperGone(BuildoptError):
    """The spawn helper ended or stopped answering (exit 1: the measurement could not finish)."""

    exit_code = EXIT_FAILED


@dataclass(frozen=True)
class Started:
    pid: int
    ns: int  # just before the fork


@dataclass(frozen=True)
class ExecFailed:
    errno: int
    message: str


@dataclass(frozen=True)
class Output:
    stream: int  # 1 stdout, 2 stderr
    ns: int  # just after the read that returned data
    data: bytes


@dataclass(frozen=True)
class PortOpen:
    ns: int  # just before the connect that worked


@dataclass(frozen=True)
class Exited:
    ns: int  # just after wait4
    status: int
    user_us: int
    sys_us: int
    max_rss_kib: int
    left: int  # processes the program left running (a daemon)

    @property
    def code(self) -> int:
        return os.waitstatus_to_exitcode(self.status)


@dataclass(frozen=True)
class Alone:
    """What the program left running has ended too."""

    ns: int


@dataclass(frozen=True)
class Done:
    """The run is over: nothing of it is left, and all its output was reported before this."""

    cut: bool  # a process outside the program's tree held a pipe: its output was cut


Event = Started | ExecFailed | Output | PortOpen | Exited | Alone | Done


class Reports:
    """The helper's report stream, parsed: feed it bytes as they come, pop events when whole."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def pop(self) -> Event | None:
        """The next whole event, or None until more bytes come. HelperGone for a line that is
        not a report (the helper is not the one this code knows)."""
        end = self._buffer.find(b"\n")
        if end < 0:
            return None
        words = self._buffer[:end].decode(errors="replace").split()
        kind, numbers = (words[0], words[1:]) if words else ("", [])
        try:
            if kind == "out":
                stream, ns, length = (int(w) for w in numbers)
                if len(self._buffer) < end + 1 + length:
                    return None  # the chunk is still on its way
                data = bytes(self._buffer[end + 1 : end + 1 + length])
                del self._buffer[: end + 1 + length]
                return Output(stream, ns, data)
            del self._buffer[: end + 1]
            return _event(kind, numbers)
        except ValueError:
            said = " ".join(words)
            raise HelperGone(f"the spawn helper said something unexpected: {said}") from None


def _event(kind: str, words: list[str]) -> Event:
    """One report line's event; ValueError if it is not one."""
    if kind == "error" and words:
        return ExecFailed(int(words[0]), " ".join(words[1:]))
    numbers = [int(w) for w in words]
    if kind == "start" and len(numbers) == 2:
        return Started(*numbers)
    if kind == "exit" and len(numbers) == 6:
        return Exited(*numbers)
    if kind == "ready" and len(numbers) == 1:
        return PortOpen(*numbers)
    if kind == "alone" and len(numbers) == 1:
        return Alone(*numbers)
    if kind == "done" and len(numbers) == 1:
        return Done(numbers[0] == 1)
    raise ValueError(kind)


class Launcher:
    """A running spawn helper; leaving its context ends it and what it runs (also on Ctrl-C)."""

    def __init__(self, helper: Path, environ: Mapping[str, str], cpus: int | None) -> None:
        # The helper runs in a session of its own (a terminal's Ctrl-C reaches buildopt only,
        # which then stops the run), pinned to cpus CPUs that the programs inherit.
        self._reports = Reports()
        self.pid: int | None = None  # of the program running now
        with proc.interrupts_held() as release:
            try:
                self.proc = proc.spawn_session(
                    [str(helper)], environ, cpus=cpus, stdin=True, stderr=False
                )
            except OSError as exc:
                raise HelperGone(f"{helper}: cannot start the spawn helper: {exc}") from exc
            stdin, stdout = self.proc.stdin, self.proc.stdout
            if stdin is None or stdout is None:  # spawn_session pipes both
                raise HelperGone(f"{helper}: the spawn helper has no pipes")
            self._send_fd, self._read_fd = stdin.fileno(), stdout.fileno()
            try:
                release()  # a Ctrl-C that came meanwhile is raised here, with the helper known
            except BaseException:
                self.close()
                raise

    def __enter__(self) -> Launcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        output: Literal["pipe", "null"],
        port: int = 0,
        grace: float = 2.0,
    ) -> None:
        """Start argv: the next event is Started or ExecFailed."""
        strings = [*argv, *(f"{k}={v}" for k, v in env.items())]
        if any("\0" in s for s in strings):  # exec cannot pass one
            raise BuildoptError(f"{argv[0]}: an argument or variable holds a NUL character")
        payload = b"".join(os.fsencode(s) + b"\0" for s in strings)
        grace_ms = max(1, round(grace * 1000))
        header = f"run {output} {port} {grace_ms} {len(argv)} {len(env)} {len(payload)}\n"
        self._send(header.encode() + payload)

    def stop(self, grace: float) -> None:
        """End the run (SIGTERM, SIGKILL after grace, then what it left): Done follows."""
        self._send(f"stop {max(1, round(grace * 1000))}\n".encode())

    def _send(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self._send_fd, data) :]
        except OSError as exc:
            raise HelperGone(f"the spawn helper ended ({self._status()})") from exc

    def next(self, timeout: float) -> Event | None:
        """The next report, or None when none came within timeout seconds."""
        deadline = time.monotonic() + timeout
        while (event := self._reports.pop()) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read_fd], [], [], left)[0]:
                return None
            data = os.read(self._read_fd, 1 << 16)
            if not data:
                raise HelperGone(f"the spawn helper ended ({self._status()})")
            self._reports.feed(data)
        if isinstance(event, Started):
            self.pid = event.pid
        elif isinstance(event, Done):
            self.pid = None
        return event

    def expect(self, timeout: float = ANSWER_SECONDS) -> Event:
        """The next report; HelperGone when none comes within timeout."""
        event = self.next(timeout)
        if event is None:
            raise HelperGone(f"the spawn helper did not answer within {timeout:g}s")
        return event

    def _status(self) -> str:
        code = self.proc.poll()
        return "still running" if code is None else f"exit status {code}"

    def close(self, grace: float = 2.0) -> None:
        """End the helper: the end of its stdin stops the run (grace, then SIGKILL) and what
        the program left; if it does not end, SIGKILL to it and to the program's group."""
        with proc.interrupts_held():  # a second Ctrl-C must not leave the program running
            with contextlib.suppress(OSError):
                self.proc.stdin.close()  # type: ignore[union-attr]
            if not proc.wait_for(self.proc, grace + 3.0):
                proc.send_signal(self.proc.pid, signal.SIGKILL, group=True)
                if self.pid is not None:
                    proc.send_signal(self.pid, signal.SIGKILL, group=True)
                self.proc.wait()
            with contextlib.suppress(OSError):
                self.proc.stdout.close()  # type: ignore[union-attr]
