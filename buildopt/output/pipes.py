"""rich's Console, but a reader that closed stdout is left to buildopt.errors.

rich ends the program with status 1 when its stream's reader has gone - in buildopt's codes,
"a budget failed". Raised on instead, the error reaches run_guarded, which ends the command
quietly with 141, the status a shell gives a program that SIGPIPE ended.
"""

from __future__ import annotations

import errno
import os

from rich.console import Console as RichConsole


class Console(RichConsole):
    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more is tried on the way out
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
