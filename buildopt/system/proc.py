"""The one way buildopt runs external commands: an argv list, never a shell.

Every command is logged as ``+ argv`` on the ``buildopt`` logger. Failures raise
:class:`CommandFailed`, which carries the command, its exit code and the tail of stderr.
Long-running children (``go build``) are started in a session of their own so that the
whole process tree can be stopped on interrupt without leaving orphans.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from buildopt.errors import BuildoptError

log = logging.getLogger("buildopt")

STDERR_TAIL_LINES = 30


STDERR_HEAD_LINES = 10


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``, without trailing blank lines."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def excerpt(text: str) -> str:
    """Head and tail of a long output: the first error and the last words both survive."""
    lines = text.rstrip().splitlines()
    if len(lines) <= STDERR_HEAD_LINES + STDERR_TAIL_LINES:
        return "\n".join(lines)
    skipped = len(lines) - STDERR_HEAD_LINES - STDERR_TAIL_LINES
    return "\n".join(
        [*lines[:STDERR_HEAD_LINES], f"[... {skipped} lines ...]", *lines[-STDERR_TAIL_LINES:]]
    )


def first_error(text: str) -> str:
    """The first line that says something (go build prefixes package names with '#')."""
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            return line.strip()
    return "no output"


def display(argv: Sequence[str]) -> str:
    """A copy-pasteable rendering of argv (display only; nothing is ever run through a shell)."""
    return shlex.join(argv)


class CommandFailed(BuildoptError):
    """An external command exited non-zero or could not be started."""

    def __init__(
        self, argv: Sequence[str], returncode: int | None, stderr: str, *, timeout: float = 0
    ) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr_tail = tail(stderr)
        if timeout:
            what = f"did not finish within {timeout:g} s and was stopped"
        else:
            what = "could not start" if returncode is None else f"exited with {returncode}"
        first = self.stderr_tail.splitlines()[-1] if self.stderr_tail else ""
        super().__init__(f"{display(argv)} {what}" + (f": {first}" if first else ""))


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    input: str | None = None,
) -> Completed:
    """Run argv to completion and capture its output (for short toolchain queries); ``input``
    is written to its stdin. Raises CommandFailed when it cannot start, times out, or (with
    check) exits non-zero."""
    log.debug("+ %s", display(argv))
    started = time.monotonic()
    try:
        proc = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandFailed(argv, None, "", timeout=exc.timeout) from exc
    except OSError as exc:
        raise CommandFailed(argv, None, str(exc)) from exc
    done = Completed(
        tuple(argv), proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started
    )
    if check and proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, proc.stderr)
    return done


class ProcessGroup:
    """Children started in their own sessions, all stoppable at once (on Ctrl-C)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[bytes]] = set()
        self.stopping = threading.Event()

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str | os.PathLike[str],
        timeout: float | None = None,
    ) -> Completed:
        """Run argv in a new session; never raises for a non-zero exit. Past timeout seconds
        its whole process group is stopped (TERM, then KILL) and ``timed_out`` is set."""
        log.debug("+ %s", display(argv))
        started = time.monotonic()
        if self.stopping.is_set():
            return Completed(tuple(argv), -signal.SIGTERM, "", "interrupted", 0.0)
        try:
            proc = subprocess.Popen(
                list(argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            return Completed(tuple(argv), 127, "", str(exc), time.monotonic() - started)
        with self._lock:
            self._running.add(proc)
        timed_out = False
        try:
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _signal_group(proc, signal.SIGTERM)
                try:
                    out, err = proc.communicate(timeout=3.0)
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    out, err = proc.communicate()
        finally:
            with self._lock:
                self._running.discard(proc)
        return Completed(
            tuple(argv),
            proc.returncode,
            out.decode(errors="replace"),
            err.decode(errors="replace"),
            time.monotonic() - started,
            timed_out,
        )

    def stop_all(self, then: Callable[[], object] | None = None, grace: float = 3.0) -> None:
        """SIGTERM every running child's process group, give them ``grace`` seconds, then
        SIGKILL what is left; then call ``then`` (waiting for the threads that ran them).

        Called on Ctrl-C (or SIGTERM), from the main thread: another Ctrl-C or SIGTERM in the
        meantime cuts the grace period short - the children are killed at once - and cannot
        interrupt the clean-up itself (before, a second Ctrl-C left buildopt waiting for a go
        build that ignored SIGTERM).
        """
        self.stopping.set()
        with _interrupts_hurry() as hurry:
            with self._lock:
                procs = list(self._running)
            for proc in procs:
                _signal_group(proc, signal.SIGTERM)
            deadline = time.monotonic() + grace
            for proc in procs:
                while proc.poll() is None and not hurry.is_set():
                    if time.monotonic() >= deadline:
                        break
                    hurry.wait(0.02)
            for proc in procs:
                # The leader may be gone while its children (compile, link) still run.
                _signal_group(proc, signal.SIGKILL)
            if then is not None:
                then()


def _signal_group(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


# --- a measured program (buildopt startup) ----------------------------------------------------

Child = subprocess.Popen[bytes]


def spawn_session(
    argv: Sequence[str], env: Mapping[str, str], *, pass_fds: tuple[int, ...] = (), cpus: int | None
) -> Child:
    """Start argv in a session (and process group) of its own with piped stdout and stderr,
    stdin from /dev/null, pinned to its first ``cpus`` CPUs if given; OSError when it cannot."""

    def prepare() -> None:  # runs in the child, before exec
        signal.pthread_sigmask(signal.SIG_SETMASK, set())  # not the parent's held interrupts
        if cpus:  # the program inherits the affinity
            os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cpus])

    log.debug("+ %s", display(argv))
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        pass_fds=pass_fds,
        preexec_fn=prepare,  # noqa: PLW1509 - the harness is single-threaded
    )


def send_signal(pid: int, sig: signal.Signals, *, group: bool) -> None:
    """sig to a process, or to its whole process group; nothing if it is gone already."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, sig)


def wait_for(child: Child, timeout: float) -> bool:
    """Wait up to timeout seconds for child to end; True if it has."""
    try:
        child.wait(timeout=max(0.0, timeout))
    except subprocess.TimeoutExpired:
        return False
    return True


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C (main thread only): the
    finally clauses that stop children run on a CI cancel as on Ctrl-C."""
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


INTERRUPTS = frozenset({signal.SIGINT, signal.SIGTERM})


@contextmanager
def _interrupts_hurry() -> Iterator[threading.Event]:
    """An event that Ctrl-C and SIGTERM set, instead of raising, for the block (main thread
    only: elsewhere the event is never set and interrupts go on as before)."""
    hurry = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield hurry
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        hurry.set()

    previous = {sig: signal.signal(sig, handler) for sig in INTERRUPTS}
    try:
        yield hurry
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def interrupts_held() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C and SIGTERM while a child is started, so that the child is known to the
    caller before an interrupt can unwind it. The yielded function releases them (a pending
    one is raised then, where the caller's clean-up is in place); leaving the block without
    calling it releases them too."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTS)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    try:
        yield release
    except BaseException:
        release()
        raise
