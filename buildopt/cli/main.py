"""The ``buildopt`` entry point: the invoke Program (buildopt.cli.program), with one fast path.

A command whose arguments are plain flags of its own runs without loading invoke (see
fast_command): ``buildopt inspect FILE...`` on many files from scripts and CI, ``buildopt
build`` in an unchanged rebuild. Anything else (``--help``, global flags, a typo) goes through
the Program, which parses and reports exactly as usual. Both read the flags from
buildopt.cli.options and run the commands' modules (buildopt.cli.commands).
"""

from __future__ import annotations

import os
import sys
from typing import cast

from buildopt.cli.options import COMMANDS, Command
from buildopt.cli.values import set_program_args
from buildopt.errors import NO_ROOM, no_room, note_cut_short_writes, output_cut_short, stop_writing


def expand_variadic(argv: list[str]) -> tuple[list[str], list[str] | None]:
    """Bare words after a command become its repeated flag (``inspect A B`` is ``--file A
    --file B``); the words after ``--`` are the program's (startup) or more bare words. Returns
    the argv for the Program and the program's arguments (None when there is no ``--``)."""
    out: list[str] = []
    command: Command | None = None
    takes_value = False
    for i, word in enumerate(argv):
        if command is None:
            out.append(word)
            command = COMMANDS.get(word) if i > 0 else None
        elif takes_value:
            out.append(word)
            takes_value = False
        elif word == "--":
            rest = argv[i + 1 :]
            if command.rest:
                return out, rest
            for bare in rest:
                out += [f"--{command.bare}", bare] if command.bare else [bare]
            return out, None
        elif word.startswith("-") and word != "-":
            out.append(word)
            flag = command.flag(word)
            takes_value = flag is not None and flag.takes_value and "=" not in word
        elif command.bare:
            out += ["--" + command.bare.replace("_", "-"), word]
        else:
            out.append(word)
    if takes_value and command is not None:  # the line ends where a flag's value should be
        _needs_value(command.name, out[-1])
    if command is not None:
        _given_once(command, out)
    return out, None


NAMED = ("NAME", "COMMAND")  # what a flag of these values takes is never empty


def _given_once(command: Command, argv: list[str]) -> None:
    """Exit 2 with one line when a flag that takes one value is given two (``why A B``,
    ``plan -p a -p b``): invoke kept the last and dropped the first without a word."""
    from buildopt.errors import EXIT_BAD_INPUT

    seen: dict[str, list[str]] = {}
    words = iter(argv[argv.index(command.name) + 1 :])
    for word in words:
        flag = command.flag(word) if word.startswith("-") else None
        if flag is None or not flag.takes_value:
            continue
        value = word.split("=", 1)[1] if "=" in word else next(words, "")
        if flag.value in NAMED and not value.strip():  # `--runner "$DEVICE"`, DEVICE unset:
            # taken as not given, the series ran here; a name or a command is never empty
            print(f"error: {command.name}: {flag.long}: empty ({flag.value})", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)
        if not flag.repeatable:
            seen.setdefault(flag.long, []).append(value)
    for name, values in seen.items():
        if len(values) > 1:
            given = ", ".join(repr(v) for v in values)
            print(f"error: {command.name}: {name} takes one value; given {given}", file=sys.stderr)
            sys.exit(EXIT_BAD_INPUT)


def _needs_value(command: str, flag: str) -> None:
    """Exit 2 with one line: the flag given last takes a value and has none (invoke would
    take an empty list for a repeatable one, or word it in its own terms)."""
    from buildopt.errors import EXIT_BAD_INPUT

    spec = COMMANDS[command].flag(flag)
    value = f" ({spec.value})" if spec is not None and spec.value else ""
    print(f"error: {command}: {flag} needs a value{value}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


def fast_command(argv: list[str]) -> int | None:
    """Exit code of ``buildopt COMMAND ...`` run directly, or None when the Program must parse.

    Every command runs this way when its arguments are plain flags of its own (as given by
    scripts and CI): without loading invoke, whose import costs ~50 ms - more than inspecting a
    20 MB binary, and a fifth of what an unchanged rebuild adds to go's own up-to-date check.
    Anything else (``--help``, global flags, ``--no-cold``, a typo) goes through the Program.
    """
    if len(argv) < 2 or argv[1] not in COMMANDS:
        return None
    spec = COMMANDS[argv[1]]
    values: dict[str, object] = {}
    words = iter(argv[2:])
    for word in words:
        flag = spec.flag(word)
        if flag is None:
            return None
        if not flag.takes_value:
            if "=" in word:
                return None
            values[flag.name] = True
            continue
        value = word.split("=", 1)[1] if "=" in word else next(words, None)
        if value is None:
            return None
        if flag.repeatable:
            values.setdefault(flag.name, [])
            cast("list[str]", values[flag.name]).append(value)
        else:
            values[flag.name] = value
    from buildopt.cli.commands import adapter
    from buildopt.errors import run_guarded

    return run_guarded(lambda: adapter(spec.name)(**values))


def main() -> None:
    fast = False
    note_cut_short_writes()
    try:
        argv, program_args = expand_variadic(sys.argv)
        set_program_args(program_args)
        code = fast_command(argv)
        fast = code is not None
        if code is None:
            code = _program(argv)
        # here, not at exit: a reader that has gone shows when what is left is written
        sys.stdout.flush()
        sys.stderr.flush()
        if code == 0 and output_cut_short():  # the reader left in the middle of a write
            code = stop_writing()
    except BrokenPipeError:
        # stdout closed early (`buildopt gate | head -1`, or --help): stop quietly, with the
        # status a shell gives a program that SIGPIPE ended (buildopt.errors)
        code = stop_writing()
    except OSError as exc:  # the last of stdout found the disk full
        if exc.errno not in NO_ROOM:
            raise
        code = no_room(exc)
    if fast:
        # Done, and nothing is left open but stdout and stderr: leave without tearing the
        # interpreter down object by object (~10 ms after a large inspect).
        if "buildopt.system.proc" in sys.modules:  # its exit handler would not run
            sys.modules["buildopt.system.proc"].dismiss_guard()
        os._exit(code)
    sys.exit(code)


def _program(argv: list[str]) -> int:
    """The exit code of the invoke Program on argv (it ends with sys.exit)."""
    from buildopt.cli.program import program

    try:
        program.run(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
    return 0
