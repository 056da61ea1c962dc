"""One module per command: ``buildopt.cli.commands.NAME`` for each NAME of the table of
commands, the option spec (buildopt.cli.options COMMANDS), imported only when it runs.

Each module holds the command: a function named like it, whose keyword parameters are its
flags' values as text (whole numbers are read with ``count``, so a bad value is one line,
exit 2), and which returns the exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module


def adapter(name: str) -> Callable[..., int]:
    """The function that runs command ``name`` from its flags' values."""
    command: Callable[..., int] = getattr(import_module(f"{__name__}.{name}"), name)
    return command
