"""The errors buildopt reports to users, each with its documented exit code.

Exit codes: 0 ok, 1 a build (or later a gate) failed, 2 bad input, 3 internal error,
Exit codes: 0 ok, 1 a build (or later a gate) failed, 2 bad input, 3 internal error,
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP): 128 plus the signal,
as a shell reports a process the signal ended; 141 stdout (or stderr) closed by its reader
(``buildopt gate | head -1``: the status a shell gives a program that SIGPIPE ended, 128 + 13,
reached without a message). Every error carries a one-line message that names the file or
argument at fault, short enough to read at once; what may be long (a list of candidates, a
command's error output) goes into its detail lines. run_guarded prints the message as one
``error:`` line, the details indented below it, and returns the exit code.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141

# C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _shown(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """text with each control character written as its escape (ESC as ``\\x1b``, a newline
    as ``\\n``): what a name holds is shown, never done by the terminal, never a line of its
    own."""
    return _CONTROL.sub(_shown, text)


class BuildoptError(Exception):
    """Base class: a problem buildopt explains to the user in one line, with optional detail
    lines (each one line too) for what does not fit in it."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        message = one_line(message)
        super().__init__(message)
        self.message = message
        self.details = tuple(one_line(d) for d in details)


def one_line(text: str) -> str:
    """text on one line, whatever the input put in it (a variant name with a newline, say),
    and without a terminal escape (a name with ESC in it): its control characters shown."""
    return visible(text)


class ProfileError(BuildoptError):
    """A profile file cannot be read, parsed or validated."""

    def __init__(self, path: object, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(f"{path}: {message}", details)


class UsageError(BuildoptError):
    """A command-line argument is wrong."""


class ToolchainError(BuildoptError):
    """The Go toolchain is missing or did not answer as expected."""


class Interrupted(BuildoptError):
    """The run was interrupted (Ctrl-C, SIGTERM or SIGHUP): 128 plus the signal."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.exit_code = 128 + signum


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread as Ctrl-C is: every clean-up that runs on
    Ctrl-C (children's process groups stopped, temporary files removed) runs on them too."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


TERMINATIONS = (signal.SIGTERM, signal.SIGHUP)


def signal_of(interrupt: KeyboardInterrupt) -> int:
    """The signal behind an interrupt: SIGINT for Ctrl-C."""
    return interrupt.signum if isinstance(interrupt, Terminated) else signal.SIGINT


def interrupted(interrupt: KeyboardInterrupt) -> str:
    """ "interrupted", with the signal's name when it was not Ctrl-C."""
    signum = signal_of(interrupt)
    return (
        "interrupted" if signum == signal.SIGINT else f"interrupted ({signal.Signals(signum).name})"
    )


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """The handler of SIGTERM and SIGHUP: raise Terminated where the main thread is."""
    raise Terminated(signum)


def terminate_like_ctrl_c() -> None:
    """From now on SIGTERM and SIGHUP interrupt as Ctrl-C does (main thread only), unless
    they are ignored (``nohup`` ignores SIGHUP: it stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in TERMINATIONS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, raise_terminated)


def run_guarded(command: Callable[[], int], debug: bool = False) -> int:
    """Run a command and return its exit code; a BuildoptError becomes one ``error:`` line
    and its detail lines, indented.

    Tracebacks only with debug (``--debug``); an unexpected exception is an internal error,
    exit 3, with a line that says how to get the traceback. A reader that closed stdout (or
    stderr) early ends the command quietly, exit 141.
    """
    terminate_like_ctrl_c()
    try:
        return command()
    except BrokenPipeError as exc:
        return stop_writing() if closed_streams() else _internal_error(exc, debug)
    except BuildoptError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        print(f"error: {exc.message}", file=sys.stderr)
        for detail in exc.details:
            print(f"  {detail}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        print(f"error: {interrupted(exc)}", file=sys.stderr)
        return 128 + signal_of(exc)
    except OSError as exc:
        return no_room(exc) if exc.errno in NO_ROOM else _internal_error(exc, debug)
    except Exception as exc:
        return _internal_error(exc, debug)


# A write that found no room: the machine's state, not a fault of buildopt to report.
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def no_room(exc: OSError) -> int:
    """One line for a write that found the disk full (``--json > /dev/full``), exit 1; what
    stdout still holds is dropped, so that Python's last flush at exit does not fail again."""
    print(f"error: {exc.filename or 'stdout'}: {exc.strerror}", file=sys.stderr)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return EXIT_FAILED


def _internal_error(exc: Exception, debug: bool) -> int:
    if debug:
        raise exc
    print(
        f"internal error: {type(exc).__name__}: {visible(str(exc))} (rerun with --debug for a "
        "traceback, and please report it)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


def closed_streams() -> list[int]:
    """stdout and stderr, those of them whose reader has gone (a pipe or a socket whose other
    end was closed: the kernel reports an error condition on our end)."""
    import select

    poller = select.poll()
    for fd in (1, 2):
        poller.register(fd, select.POLLOUT)
    gone = select.POLLERR | select.POLLHUP | select.POLLNVAL
    return sorted(fd for fd, events in poller.poll(0) if events & gone)


# SIGPIPEs received (see note_cut_short_writes)
_sigpipes: list[int] = []


def note_cut_short_writes() -> None:
    """Have SIGPIPE noted rather than ignored (Python's default). A reader that leaves in the
    middle of a large write makes the kernel end that write short and send SIGPIPE, and
    Python's buffered stdout takes the short write without an error: the note is then all
    that tells a cut output from one that was read whole."""
    signal.signal(signal.SIGPIPE, _noted)


def _noted(signum: int, frame: FrameType | None) -> None:
    _sigpipes.append(signum)


def output_cut_short() -> bool:
    """Whether a write to stdout or stderr was cut short by its reader leaving."""
    return bool(_sigpipes) and bool(closed_streams())


def stop_writing() -> int:
    """After a write to a closed stdout or stderr: point it at /dev/null, so that nothing
    more fails (Python flushes stdout once more at exit), and give the exit code."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in closed_streams() or [1]:
        os.dup2(devnull, fd)
    os.close(devnull)
    return EXIT_PIPE_CLOSED
