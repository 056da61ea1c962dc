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
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import msgspec

from buildopt.errors import EXIT_FAILED, BuildoptError
from buildopt.system import proc

ANSWER_SECONDS = 30.0  # how long the helper may take to answer a request it handles at once


class HelperGone(BuildoptError):
    """The spawn helper ended or stopped answering (exit 1: the measurement could not finish)."""

    exit_code = EXIT_FAILED


class Started(msgspec.Struct, frozen=True):
    pid: int
    ns: int  # just before the fork


class ExecFailed(msgspec.Struct, frozen=True):
    errno: int
    message: str


class Output(msgspec.Struct, frozen=True):
    stream: int  # 1 stdout, 2 stderr
    ns: int  # just after the read that returned data
    data: bytes


class PortOpen(msgspec.Struct, frozen=True):
    ns: int  # just before the connect that worked


class Exited(msgspec.Struct, frozen=True):
    ns: int  # just after wait4
    status: int
    user_us: int
    sys_us: int
    max_rss_kib: int
    left: int  # processes the program left running (a daemon)

    @property
    def code(self) -> int:
        return os.waitstatus_to_exitcode(self.status)


class Alone(msgspec.Struct, frozen=True):
    """What the program left running has ended too."""

    ns: int


class Done(msgspec.Struct, frozen=True):
    """The run is over: nothing of it is left, and all its output was reported before this."""

    cut: bool  # a process outside the program's tree held a pipe: its output was cut


class Evicted(msgspec.Struct, frozen=True):
    """The answer to evict: errno 0 and the time it took, or why the pages stay cached."""

    errno: int
    ns: int
    message: str = ""


Event = Started | ExecFailed | Output | PortOpen | Exited | Alone | Done | Evicted


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


def _done(cut: int) -> Done:
    return Done(cut == 1)


_NUMBERS: dict[str, tuple[Callable[..., Event], int]] = {  # report: its event, how many numbers
    "start": (Started, 2),
    "exit": (Exited, 6),
    "ready": (PortOpen, 1),
    "alone": (Alone, 1),
    "done": (_done, 1),
}


def _event(kind: str, words: list[str]) -> Event:
    """One report line's event; ValueError if it is not one."""
    if kind == "error" and words:
        return ExecFailed(int(words[0]), " ".join(words[1:]))
    if kind == "evicted" and len(words) >= 2:
        return Evicted(int(words[0]), int(words[1]), " ".join(words[2:]))
    made, count = _NUMBERS.get(kind, (None, -1))
    numbers = [int(w) for w in words]
    if made is None or len(numbers) != count:
        raise ValueError(kind)
    return made(*numbers)


class Launcher:
    """A running spawn helper; leaving its context ends it and what it runs (also on Ctrl-C).

    ``command`` starts the helper: its path here, or a runner's argv that starts it on a device
    (``ssh HOST 'exec DIR/spawn'``), whose stderr is kept for the message when it ends."""

    def __init__(
        self, command: Sequence[str], environ: Mapping[str, str], cpus: int | None
    ) -> None:
        # The helper runs in a session of its own (a terminal's Ctrl-C reaches buildopt only,
        # which then stops the run), pinned to cpus CPUs that the programs inherit.
        self._reports = Reports()
        self.pid: int | None = None  # of the program running now
        self._remote = len(command) > 1
        with proc.interrupts_held() as release:
            try:
                self.proc = proc.spawn_session(
                    command, environ, cpus=cpus, stdin=True, stderr=self._remote
                )
            except OSError as exc:
                raise HelperGone(f"{command[0]}: cannot start the spawn helper: {exc}") from exc
            stdin, stdout = self.proc.stdin, self.proc.stdout
            if stdin is None or stdout is None:  # spawn_session pipes both
                raise HelperGone(f"{command[0]}: the spawn helper has no pipes")
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
        program: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        output: Literal["pipe", "null"],
        port: int = 0,
        grace: float = 2.0,
    ) -> None:
        """Exec program with argv (argv[0] is its own name) and env set over the helper's own
        environment: the next event is Started or ExecFailed."""
        strings = [program, *argv, *(f"{k}={v}" for k, v in env.items())]
        if any("\0" in s for s in strings):  # exec cannot pass one
            raise BuildoptError(f"{program}: an argument or variable holds a NUL character")
        payload = b"".join(os.fsencode(s) + b"\0" for s in strings)
        grace_ms = max(1, round(grace * 1000))
        header = f"run {output} {port} {grace_ms} {len(argv)} {len(env)} {len(payload)}\n"
        self._send(header.encode() + payload)

    def evict(self, path: str) -> None:
        """Drop path from the page cache of the helper's machine: the next event is Evicted."""
        if "\0" in path:
            raise BuildoptError(f"{path!r}: a path holds a NUL character")
        name = os.fsencode(path) + b"\0"
        self._send(f"evict {len(name)}\n".encode() + name)

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
        status = "still running" if code is None else f"exit status {code}"
        said = self._said() if self._remote else ""
        return f"{status}: {said}" if said else status

    def _said(self) -> str:
        """The last line the runner wrote on stderr (ssh: why the connection ended)."""
        stream = self.proc.stderr
        if stream is None:
            return ""
        with contextlib.suppress(OSError):
            if select.select([stream], [], [], 0.5)[0]:
                os.set_blocking(stream.fileno(), False)
                text = (stream.read(1 << 16) or b"").decode(errors="replace")
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                return lines[-1] if lines else ""
        return ""

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
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
