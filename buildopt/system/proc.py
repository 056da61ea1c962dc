"""The one way buildopt runs external commands: an argv list, never a shell.

Every command is logged as ``+ argv`` on the ``buildopt`` logger. Failures raise
:class:`CommandFailed`, which carries the command, its exit code and the tail of stderr.
Long-running children (``go build``) are started in a session of their own so that the
whole process tree can be stopped on interrupt without leaving orphans.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, BinaryIO

import msgspec

from buildopt.errors import TERMINATIONS, BuildoptError, raise_terminated

log = logging.getLogger("buildopt")

STDERR_TAIL_LINES = 30
STDERR_HEAD_LINES = 10


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last ``lines`` lines of ``text``, without trailing blank lines."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


LINE_CHARS = 2000  # a longer line of output is cut in an excerpt


def excerpt(text: str) -> str:
    """Head and tail of a long output: the first error and the last words both survive (each
    line cut at LINE_CHARS)."""
    lines = [
        line if len(line) <= LINE_CHARS else f"{line[:LINE_CHARS]}[... {len(line)} characters]"
        for line in text.rstrip().splitlines()
    ]
    skipped = len(lines) - STDERR_HEAD_LINES - STDERR_TAIL_LINES
    if skipped > 0:
        lines[STDERR_HEAD_LINES:-STDERR_TAIL_LINES] = [f"[... {skipped} lines ...]"]
    return "\n".join(lines)


PROGRESS = ("#", "go: downloading ", "go: finding ", "go: extracting ")  # not errors


def first_error(text: str) -> str:
    """The first line that says something (go build prefixes package names with '#', and
    says what it downloads before why it could not)."""
    for line in text.splitlines():
        if line.strip() and not line.startswith(PROGRESS):
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
        self.timed_out = bool(timeout)
        self.stderr_tail = tail(stderr)
        if timeout:
            what = f"did not finish within {timeout:g} s and was stopped"
        else:
            what = "could not start" if returncode is None else f"exited with {returncode}"
        first = self.stderr_tail.splitlines()[-1] if self.stderr_tail else ""
        super().__init__(f"{display(argv)} {what}" + (f": {first}" if first else ""))


class Completed(msgspec.Struct, frozen=True):
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False


GUARD = os.path.join(os.path.dirname(__file__), "guard.py")
_guard_lock = threading.Lock()
_guard: tuple[int, str, int, int] | None = None  # (pid it guards, mark, its pid, pipe's end)


def owned_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """env (default: this process's) with the mark of this run's guard (buildopt/system/
    guard.py), started on first use: a command run with it in a process group of its own, and
    all it starts, is killed when buildopt is gone, even by kill -9."""
    global _guard  # noqa: PLW0603 - one guard per process, for as long as it lives
    with _guard_lock:
        if _guard is None or _guard[0] != os.getpid():
            read_fd, write_fd = os.pipe()  # the write end, never inherited, stays open here
            mark = f"BUILDOPT_OWNER={os.getpid()}.{os.urandom(8).hex()}"
            try:  # (if it cannot start, the command is not started either: OSError)
                pid = os.posix_spawn(
                    sys.executable,
                    [sys.executable, "-I", "-S", GUARD, mark],
                    os.environ,
                    file_actions=[
                        (os.POSIX_SPAWN_DUP2, read_fd, 0),
                        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                        (os.POSIX_SPAWN_DUP2, 1, 2),
                    ],
                    setsid=True,  # no Ctrl-C of the terminal reaches it
                )
            except OSError:
                os.close(write_fd)
                raise
            finally:
                os.close(read_fd)
            _guard = (os.getpid(), mark, pid, write_fd)
            atexit.register(dismiss_guard)
        name, value = _guard[1].split("=", 1)
    return {**(os.environ if env is None else env), name: value}


def dismiss_guard() -> None:
    """At an orderly exit every owned command has been waited for: the guard leaves without
    looking for any, and is gone before buildopt is (for whoever waits for both). Run at exit;
    called by hand before os._exit."""
    if _guard is not None and _guard[0] == os.getpid():
        with contextlib.suppress(OSError):
            os.write(_guard[3], b"q")
            os.close(_guard[3])
            os.waitpid(_guard[2], 0)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    timeout: float,
    check: bool = True,
    input: str | None = None,
    input_file: str | os.PathLike[str] | None = None,
    owned: bool = False,
) -> Completed:
    """Run argv to completion and capture its output; ``input`` is written to its stdin, or
    ``input_file`` is its stdin.
    Raises CommandFailed when it cannot start, is still running after timeout seconds, or
    (with check) exits non-zero. It runs in a process group of its own, which is killed on
    the timeout and on an interrupt (Ctrl-C, SIGTERM): nothing it started outlives the call.
    With ``owned`` (long commands: mksquashfs) the group ends with buildopt, even on kill -9
    (see owned_env)."""
    started = time.monotonic()
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    with contextlib.ExitStack() as stack:
        if input_file is not None:
            stdin = stack.enter_context(open(input_file, "rb")).fileno()
        child = _start(argv, env, cwd=cwd, stdin=stdin, text=True, owned=owned)
    try:
        out, err = child.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CommandFailed(argv, None, "", timeout=timeout) from None
    finally:
        if child.returncode is None:  # stopped by the timeout or an interrupt: not reaped yet
            send_signal(child.pid, signal.SIGKILL, group=True)
            child.wait()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None:
                    stream.close()
    done = Completed(tuple(argv), child.returncode, out, err, time.monotonic() - started)
    if check and child.returncode != 0:
        raise CommandFailed(argv, child.returncode, err)
    return done


def output_size(argv: Sequence[str]) -> int:
    """Run argv (stdin closed) and count the bytes it writes on stdout, keeping only a bounded
    head and tail of them: a compressor's output size without its output. Raises
    CommandFailed when it cannot start or exits non-zero. The child stays in the caller's
    process group, so that a Ctrl-C of the terminal reaches it too; if buildopt dies, its
    next write finds the pipe closed (SIGPIPE)."""
    proc = _start(argv, None, session=False)
    out, err, _ = _drain(proc, None)
    if proc.returncode != 0:
        raise CommandFailed(argv, proc.returncode, err.text())
    return out.size


def run_together(
    argvs: Sequence[Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> list[Completed]:
    """Run independent short queries at the same time (``run`` with check, one after the
    other, cost the sum of their times: go env and go tool dist list, ~10 ms before every
    build). All are started, then each is read to its end; if one cannot start, fails or times
    out, or on Ctrl-C, the others are killed and waited for before CommandFailed (or the
    interrupt) is raised."""
    procs: list[tuple[Sequence[str], subprocess.Popen[str], float]] = []
    done = []
    try:
        for argv in argvs:
            procs.append((argv, _start(argv, env, text=True), time.monotonic()))
        deadline = None if timeout is None else time.monotonic() + timeout
        for argv, child, started in procs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                out, err = child.communicate(timeout=left)
            except subprocess.TimeoutExpired:  # (only with a timeout)
                raise CommandFailed(argv, None, "", timeout=timeout or 0.0) from None
            if child.returncode != 0:
                raise CommandFailed(argv, child.returncode, err)
            seconds = time.monotonic() - started
            done.append(Completed(tuple(argv), child.returncode, out, err, seconds))
    except BaseException:
        for _, child, _ in procs:
            if child.returncode is None:  # not reaped: its group id is still its own
                # the query and whatever it started
                send_signal(child.pid, signal.SIGKILL, group=True)
                child.communicate()
        raise
    return done


def _start(
    argv: Sequence[str],
    env: Mapping[str, str] | None,
    *,
    cwd: str | os.PathLike[str] | None = None,
    stdin: int = subprocess.DEVNULL,
    text: bool = False,
    session: bool = True,
    owned: bool = False,
) -> subprocess.Popen[Any]:
    """Log ``+ argv`` and start it with stdout and stderr piped - in a session (and process
    group) of its own unless told otherwise, so that what it starts is ended with it; owned:
    ended with buildopt too (owned_env). CommandFailed when it (or the guard) cannot start."""
    log.debug("+ %s", display(argv))
    try:
        return subprocess.Popen(
            list(argv),
            env=owned_env(env) if owned else None if env is None else dict(env),
            cwd=cwd,
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=text,
            start_new_session=session,
        )
    except OSError as exc:
        raise CommandFailed(argv, None, str(exc)) from exc


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
        stdout_copy: BinaryIO | None = None,
        stderr_copy: BinaryIO | None = None,
    ) -> Completed:
        """Run argv in a new session; never raises for a non-zero exit. Past timeout seconds
        its whole process group is stopped (TERM, then KILL) and ``timed_out`` is set. All it
        writes on stderr is written to stderr_copy as well, when given (what is kept in memory
        is bounded); likewise its stdout to stdout_copy."""
        started = time.monotonic()
        if self.stopping.is_set():
            log.debug("+ %s", display(argv))  # logged as every command, though not started
            return Completed(tuple(argv), -signal.SIGTERM, "", "interrupted", 0.0)
        try:  # owned: nothing of it outlives buildopt, even on kill -9
            proc = _start(argv, env, cwd=cwd, owned=True)
        except CommandFailed as exc:
            return Completed(tuple(argv), 127, "", exc.stderr_tail, time.monotonic() - started)
        with self._lock:
            self._running.add(proc)
        try:
            out, err, timed_out = _drain(
                proc, timeout, stdout_copy=stdout_copy, stderr_copy=stderr_copy
            )
        finally:
            with self._lock:
                self._running.discard(proc)
        seconds = time.monotonic() - started
        return Completed(tuple(argv), proc.returncode, out.text(), err.text(), seconds, timed_out)

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
                send_signal(proc.pid, signal.SIGTERM, group=True)
            deadline = time.monotonic() + grace
            for proc in procs:
                while proc.poll() is None and not hurry.is_set() and time.monotonic() < deadline:
                    hurry.wait(0.02)
            for proc in procs:
                # The leader may be gone while its children (compile, link) still run.
                send_signal(proc.pid, signal.SIGKILL, group=True)
            if then is not None:
                then()


OUTPUT_HEAD = OUTPUT_TAIL = 1 << 20  # bytes of a child's stdout and of its stderr kept


class BoundedOutput:
    """What a child wrote to one pipe, in bounded memory: the first ``head`` and the last
    ``tail`` bytes (go build's first error, and its last words), and how many between them were
    dropped. A child that floods its output (a -toolexec wrapper gone wrong) cannot grow
    buildopt."""

    def __init__(
        self, head: int = OUTPUT_HEAD, tail: int = OUTPUT_TAIL, copy: BinaryIO | None = None
    ) -> None:
        self._head, self._tail = bytearray(), bytearray()
        self._head_size, self._tail_size = head, tail
        self._copy = copy  # where every byte goes as well (output too big to keep: -dumpdep)
        self.dropped = 0

    def add(self, data: bytes) -> None:
        if self._copy is not None:
            self._copy.write(data)
        room = self._head_size - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        self._tail += data
        excess = len(self._tail) - self._tail_size
        if excess > 0:
            del self._tail[:excess]
            self.dropped += excess

    @property
    def size(self) -> int:
        """Every byte the child wrote, kept or not."""
        return len(self._head) + self.dropped + len(self._tail)

    def text(self) -> str:
        middle = f"\n[... {self.dropped} bytes not kept ...]\n" if self.dropped else ""
        return self._head.decode(errors="replace") + middle + self._tail.decode(errors="replace")


def _drain(
    proc: subprocess.Popen[bytes],
    timeout: float | None,
    grace: float = 3.0,
    stdout_copy: BinaryIO | None = None,
    stderr_copy: BinaryIO | None = None,
) -> tuple[BoundedOutput, BoundedOutput, bool]:
    """Read the child's stdout and stderr into bounded buffers until both close and it ends;
    past timeout seconds, stop its process group (see _Limit). True if it was stopped."""
    import selectors

    out, err = BoundedOutput(copy=stdout_copy), BoundedOutput(copy=stderr_copy)
    sinks = {proc.stdout: out, proc.stderr: err}
    limit = _Limit(proc, timeout, grace)
    with selectors.DefaultSelector() as selector:
        for stream in sinks:
            if stream is not None:
                selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select(limit.remaining()):
                data = os.read(key.fd, 1 << 16)
                if data:
                    sinks[key.fileobj].add(data)  # type: ignore[index]
                else:
                    selector.unregister(key.fileobj)
            if limit.expired() and selector.get_map() and not limit.escalate():
                break  # a descendant that left the group holds the pipes: stop reading
    for stream in sinks:
        if stream is not None:
            stream.close()
    limit.wait()
    return out, err, limit.stage > 0


class _Limit:
    """A child's time limit: at the deadline SIGTERM to its process group, ``grace`` seconds
    later SIGKILL, and a second after that the caller gives up on its pipes."""

    def __init__(self, proc: subprocess.Popen[bytes], timeout: float | None, grace: float) -> None:
        self.proc, self.grace = proc, grace
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.stage = 0  # 0: running, 1: SIGTERM sent, 2: SIGKILL sent

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def escalate(self) -> bool:
        """Send the next signal and move the deadline; False when there is none left."""
        if self.stage == 2:
            return False
        self.stage += 1
        sig = signal.SIGTERM if self.stage == 1 else signal.SIGKILL
        send_signal(self.proc.pid, sig, group=True)
        self.deadline = time.monotonic() + (self.grace if self.stage == 1 else 1.0)
        return True

    def wait(self) -> None:
        """Wait for the child to end, escalating at each deadline."""
        while True:
            try:
                self.proc.wait(timeout=self.remaining())
                return
            except subprocess.TimeoutExpired:
                if not self.escalate():
                    self.proc.wait()  # SIGKILL was sent: it ends
                    return


# --- a measured program (buildopt startup) ----------------------------------------------------

Child = subprocess.Popen[bytes]


def spawn_session(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    cpus: int | None,
    stdin: bool = False,
    stderr: bool = True,
) -> Child:
    """Start argv in a session (and process group) of its own with piped stdout, stdin piped
    (or /dev/null), stderr piped (or /dev/null), pinned to its first ``cpus`` CPUs if given;
    OSError when it cannot."""

    def prepare() -> None:  # runs in the child, before exec
        signal.pthread_sigmask(signal.SIG_SETMASK, set())  # not the parent's held interrupts
        if cpus:  # the program inherits the affinity
            os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:cpus])

    log.debug("+ %s", display(argv))
    return subprocess.Popen(
        list(argv),
        env=dict(env),
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
        start_new_session=True,
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
    """Treat SIGTERM and SIGHUP like Ctrl-C for the block (main thread only; run_guarded does
    so for a whole command): the finally clauses that stop children run on a CI cancel as on
    Ctrl-C."""
    handled = [sig for sig in TERMINATIONS if signal.getsignal(sig) is not signal.SIG_IGN]
    with _handling(handled, raise_terminated):
        yield


INTERRUPTS = frozenset({signal.SIGINT, *TERMINATIONS})


@contextmanager
def _interrupts_hurry() -> Iterator[threading.Event]:
    """An event that Ctrl-C and SIGTERM set, instead of raising, for the block (main thread
    only: elsewhere the event is never set and interrupts go on as before)."""
    hurry = threading.Event()
    with _handling(INTERRUPTS, lambda signum, frame: hurry.set()):
        yield hurry


@contextmanager
def _handling(
    signals: Iterable[signal.Signals], handler: Callable[[int, FrameType | None], object]
) -> Iterator[None]:
    """handler for signals during the block, the previous ones restored after it (in the main
    thread only: elsewhere signal.signal cannot be called, and nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
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
