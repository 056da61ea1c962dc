"""The guard: a child of buildopt that runs a command and ends its whole process group when
buildopt is gone, however it went (``kill -9`` included, which no handler in buildopt sees).

Run as ``python -I -S guard.py PARENT_PID ARGV...`` in a session of its own (proc starts it
so): it starts ARGV in its own process group, waits for it, and exits as it did (with its
status, or killed by the same signal). Every 0.1 s it checks that its parent is still
PARENT_PID; once it is not, it sends SIGKILL to the group: ARGV and all it started (go
build's compile, link and cgo processes). SIGINT, SIGTERM and SIGHUP sent to the group
reach ARGV itself; the guard stays to report how it ended. (PR_SET_PDEATHSIG would need
ctypes, or code between fork and exec, which is unsafe in buildopt's threads; this costs an
interpreter start per command, ~5 ms on an idle machine.) Standalone: it imports nothing of
buildopt, and only modules built into the interpreter (contextlib alone cost more).
"""

import os
import select
import sys
import time

try:  # the signal module imports enum, which cost more than all the rest of the guard
    import _signal as signal  # type: ignore[import-not-found]
except ImportError:  # an interpreter without it
    import signal

POLL = 0.1  # seconds between two checks of the parent
STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str]) -> int:
    parent, command = int(argv[1]), argv[2:]
    # The command gets the default back, but what buildopt ignored (nohup's SIGHUP) it ignores.
    handled = tuple(s for s in STOPS if signal.getsignal(s) is not signal.SIG_IGN)
    for sig in STOPS:  # the guard, leader of the group, outlives the command
        signal.signal(sig, signal.SIG_IGN)
    if os.getppid() != parent:  # buildopt died before the guard was in place
        os.killpg(0, signal.SIGKILL)
    try:
        child = os.posix_spawnp(command[0], command, os.environ, setsigdef=handled, setsigmask=())
    except OSError as exc:
        print(f"{command[0]}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    status = _wait(child, parent)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # ended by a signal: so does the guard, for the caller to see
        if -code != signal.SIGKILL:  # (whose action cannot be set)
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
        time.sleep(1)  # (a signal that does not end a process: report it as 128+n)
        return 128 - code
    return code


def _wait(child: int, parent: int) -> int:
    """The child's wait status; SIGKILL to the group (the guard too) if the parent goes."""
    try:
        ready = os.pidfd_open(child)
    except (AttributeError, OSError):  # no pidfd (before Linux 5.3): poll
        ready = -1
    while True:
        done, status = os.waitpid(child, os.WNOHANG)
        if done:
            return status
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)
        if ready >= 0:
            select.select([ready], [], [], POLL)
        else:
            time.sleep(POLL / 4)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
