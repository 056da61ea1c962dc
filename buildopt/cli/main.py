"""The ``buildopt`` entry point: the invoke Program (buildopt.cli.program), with one fast path.

``buildopt inspect FILE...`` is run on many files from scripts and CI, and importing invoke
costs ~190 ms here - more than inspecting a 20 MB binary. When the arguments are plain files
and inspect's own flags, inspect runs without loading invoke; anything else (``--help``, global
flags, a typo) goes through the Program, which parses and reports exactly as usual. Both read
the flags from buildopt.cli.options.
"""

from __future__ import annotations

import os
import sys

from buildopt.cli.options import COMMANDS, Command, count, set_program_args


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
    return out, None


def fast_inspect(argv: list[str]) -> int | None:
    """Exit code of ``buildopt inspect`` run directly, or None when the Program must parse."""
    if len(argv) < 2 or argv[1] != "inspect":
        return None
    spec = COMMANDS["inspect"]
    given: dict[str, list[str]] = {}
    switches: set[str] = set()
    words = iter(argv[2:])
    for word in words:
        flag = spec.flag(word)
        if flag is None:
            return None
        if not flag.takes_value:
            if "=" in word:
                return None
            switches.add(flag.name)
            continue
        value = word.split("=", 1)[1] if "=" in word else next(words, None)
        if value is None or (flag.number and not value.isdigit()):
            return None
        given.setdefault(flag.name, []).append(value)
    from buildopt.cli.inspect import inspect_command
    from buildopt.errors import run_guarded

    def last(name: str) -> str:
        return given.get(name, [""])[-1]

    def command() -> int:
        jobs = last("jobs")
        return inspect_command(
            given.get("file", []),
            as_json="json" in switches,
            packages=count("--packages", last("packages"), 15),
            jobs=count("--jobs", jobs, 1, least=1) if jobs else None,
            dwarf="dwarf" in switches,
        )

    return run_guarded(command)


def main() -> None:
    try:
        argv, program_args = expand_variadic(sys.argv)
        set_program_args(program_args)
        code = fast_inspect(argv)
        if code is not None:
            # Done, and nothing is left open but stdout and stderr: leave without tearing the
            # interpreter down object by object (~10 ms after a large inspect).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        from buildopt.cli.program import program

        program.run(argv)
    except BrokenPipeError:
        # stdout closed early (`buildopt inspect --json ... | head`): stop quietly, as the
        # Python documentation recommends, instead of a traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
