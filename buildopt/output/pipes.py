"""rich's Console as buildopt uses it: text is data, and a closed stdout is left to errors.

Every console buildopt makes is this one: emoji codes (``main.go:100:``) and highlighting are
off whatever a caller passes, so a name from a profile, a binary or a source is printed as it
is; markup is never applied to data either (buildopt.output.tables.data).

rich ends the program with status 1 when its stream's reader has gone - in buildopt's codes,
"a budget failed". Raised on instead, the error reaches run_guarded, which ends the command
quietly with 141, the status a shell gives a program that SIGPIPE ended."""

from __future__ import annotations

import errno
import os
from typing import Any

from rich.console import Console as RichConsole


class DataConsole(RichConsole):  # emoji=False, highlight=False: always (see __init__)
    """A rich Console that prints text as data: emoji=False and highlight=False, always."""

    def __init__(self, **options: Any) -> None:
        options.pop("emoji", None)  # whatever a caller says: 'main.go:100:' stays text
        options.pop("highlight", None)
        super().__init__(emoji=False, highlight=False, **options)

    def on_broken_pipe(self) -> None:
        self.quiet = True  # nothing more is tried on the way out
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))
