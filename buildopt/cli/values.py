"""The values of the command line's flags as the commands read them: whole numbers (``count``:
invoke hands them over as text, so ``--jobs abc`` is one line and exit 2) and the program's
arguments after ``--``. The flags themselves are declared in buildopt.cli.options."""

from __future__ import annotations

import shlex
from typing import TypeVar

from buildopt.errors import UsageError

_Default = TypeVar("_Default", int, None)


def count(flag: str, text: str, default: _Default, least: int = 0) -> int | _Default:
    """A whole-number option's value (text as given; "" is the default: None when the
    command's own default depends on more than the flag)."""
    if text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"{flag} {text}: expected a whole number") from None
    if value < least:
        raise UsageError(f"{flag} {value}: expected {least} or more")
    return value


# The words after `--`, as buildopt's entry point split them off before invoke parsed the rest
# (invoke would read a program argument such as `-p` as one of buildopt's own flags).
_program_args: list[str] | None = None


def set_program_args(words: list[str] | None) -> None:
    global _program_args  # noqa: PLW0603 - one command line per process
    _program_args = words


def program_args(remainder: str) -> list[str]:
    """The program's arguments after `--`: as given to ``buildopt``, or (run as ``invoke``,
    which joins them into one string) split again like a shell would."""
    return list(_program_args) if _program_args is not None else shlex.split(remainder)
