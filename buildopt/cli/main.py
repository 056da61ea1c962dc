"""The ``buildopt`` entry point: the invoke Program (buildopt.cli.program), with one fast path.

``buildopt inspect FILE...`` is run on many files from scripts and CI, and importing invoke
costs ~190 ms here - more than inspecting a 20 MB binary. When the arguments are plain files,
``--json`` and ``--packages N``, inspect runs without loading invoke; anything else (``--help``,
global flags, a typo) goes through the Program, which parses and reports exactly as usual.
"""

from __future__ import annotations

import os
import sys

# Tasks that take any number of files as bare words; invoke itself has no variadic arguments,
# so `buildopt inspect A B` is rewritten to `buildopt inspect --file A --file B`.
VARIADIC = {
    "inspect": "--file",
    "compare": "--record",
    "merge": "--record",
    "startup": "--file",
    "scan": "--path",
}


def expand_variadic(argv: list[str]) -> list[str]:
    """Turn bare words after a variadic task into repeated flags (other flags kept as they are);
    after ``--``, ``startup`` gets the program's arguments as ``--arg=WORD``."""
    out: list[str] = []
    task: str | None = None
    takes_value = False
    for i, word in enumerate(argv):
        if task is None:
            out.append(word)
            task = word if word in VARIADIC else None
        elif takes_value:
            out.append(word)
            takes_value = False
        elif word == "--":
            rest = argv[i + 1 :]
            out += [f"--arg={w}" for w in rest] if task == "startup" else ["--", *rest]
            break
        elif word.startswith("-"):
            out.append(word)
            takes_value = "=" not in word and word in VALUE_FLAGS
        else:
            out += [VARIADIC[task], word]
    return out


VALUE_FLAGS = frozenset(
    {
        "--packages",
        "-p",
        "--jobs",
        "--file",
        "-f",
        "--record",
        "-r",
        "--profile",
        "--rows",
        "--output",
        "-o",
        "--runs",
        "--warmup",
        "--timeout",
        "--cpus",
        "--ready-stdout",
        "--ready-port",
        "--tags",
        "--sarif",
        "--path",
    }
)


def fast_inspect(argv: list[str]) -> int | None:
    """Exit code of ``buildopt inspect`` run directly, or None when the Program must parse."""
    if len(argv) < 2 or argv[1] != "inspect":
        return None
    files: list[str] = []
    as_json, numbers = False, {"--packages": 15, "--jobs": -1}  # -1: not given
    words = iter(argv[2:])
    for word in words:
        flag, _, inline = word.partition("=")
        flag = SHORT.get(flag, flag)
        if word in ("--json", "-j"):
            as_json = True
        elif flag == "--file":
            value = inline if inline else next(words, None)
            if value is None:
                return None
            files.append(value)
        elif flag in numbers:
            value = inline if inline else next(words, "")
            if not value.isdigit():
                return None
            numbers[flag] = int(value)
        else:
            return None
    from buildopt.cli.inspect import inspect_command
    from buildopt.errors import run_guarded

    return run_guarded(
        lambda: inspect_command(
            files,
            as_json=as_json,
            packages=numbers["--packages"],
            jobs=None if numbers["--jobs"] < 0 else numbers["--jobs"],
        )
    )


SHORT = {"-f": "--file", "-p": "--packages", "-o": "--jobs"}  # as invoke derives them


def main() -> None:
    try:
        argv = expand_variadic(sys.argv)
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
