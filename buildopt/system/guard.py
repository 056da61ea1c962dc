"""The guard: one child per buildopt run that ends the commands buildopt owns (go build,
mksquashfs) and all they started once buildopt is gone, however it went (``kill -9``
included, which no handler in buildopt sees).

Run as ``python -I -S guard.py MARK`` with its stdin the read end of a pipe whose write end
only buildopt holds (proc starts it so, in a session of its own, before the first owned
command). Every owned command is started in a process group of its own with ``MARK`` in its
environment, which what it starts (compile, link, cgo's gcc) inherits. The read returns when
the pipe ends - buildopt is gone - and the guard sends SIGKILL to the process group of every
process whose environment holds the mark, until none is left, and exits. At an orderly exit
buildopt writes "q" first and waits for the guard, which then leaves at once.

One guard per run, started beside the first build, not an interpreter in front of every
command: starting an owned command took 6.6 ms with a guard per command, 0.33 ms now
(benchmarks/bench_spawn.py, docs/figures.md). PR_SET_PDEATHSIG would need code between fork
and exec, unsafe in buildopt's threads, and reaches only the command, not the compile it
runs. Standalone: it imports nothing of buildopt, and only modules built into the interpreter.
"""

import os
import sys
import time

try:  # the signal module imports enum, which cost more than all the rest of the guard
    import _signal as signal  # type: ignore[import-not-found]
except ImportError:  # an interpreter without it
    import signal

RESCAN = 0.1  # seconds: a command being started as buildopt died has its mark after exec


def main(argv: list[str]) -> int:
    mark = os.fsencode(argv[1])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # buildopt reports those
        signal.signal(sig, signal.SIG_IGN)
    said = b""
    while read := os.read(0, 4096):  # returns b"" when buildopt is gone
        said += read
    if said == b"q":  # buildopt's orderly exit: its commands have ended
        return 0
    while _kill_marked(mark):
        time.sleep(RESCAN)
    time.sleep(RESCAN)
    _kill_marked(mark)
    return 0


def _kill_marked(mark: str | bytes) -> bool:
    """SIGKILL to the process group of every process whose environment holds mark (a
    ``NAME=VALUE`` entry); whether there was any."""
    found = False
    mine = os.getpgid(0)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if mark not in f.read().split(b"\0"):
                    continue
            group = os.getpgid(int(name))
            if group != mine:
                os.killpg(group, signal.SIGKILL)
                found = True
        except OSError:  # gone, a zombie, or another user's
            continue
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv))
