"""The option spec against the real parsers: every flag of every command works the same
through ``buildopt ...`` (the entry point's argv rewriting, then buildopt's Program) and
``invoke ...`` (invoke's own Program over the repository's tasks.py), parsed, not run."""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import pkgutil
import re
from typing import Any

import pytest
from invoke.program import Program

from buildopt.cli import commands
from buildopt.cli import tasks as cli_tasks
from buildopt.cli.commands import adapter
from buildopt.cli.main import expand_variadic
from buildopt.cli.options import COMMANDS, Command, Flag
from buildopt.cli.program import BuildoptProgram, program
from buildopt.cli.tasks import parameter
from buildopt.cli.values import count
from buildopt.errors import UsageError
from tests.conftest import REPO


def repository_tasks() -> Any:
    spec = importlib.util.spec_from_file_location("repo_tasks", REPO / "tasks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ns


def parsed(which: str, argv: list[str]) -> dict[str, Any]:
    """The values the named program's parser gives the task's parameters."""
    if which == "buildopt":
        argv, _ = expand_variadic(argv)
        runner: Program = BuildoptProgram(
            name="buildopt", binary="buildopt", namespace=program.namespace
        )
    else:
        runner = Program(namespace=repository_tasks(), name="invoke", binary="invoke")
    runner.create_config()
    runner.argv = argv
    runner.parse_core(argv)
    runner.parse_collection()
    runner.parse_tasks()
    (task,) = runner.tasks
    return {(arg.attr_name or name): arg.value for name, arg in task.args.items()}


def words_for(flag: Flag, spelling: str) -> tuple[list[str], object]:
    """Command-line words setting flag, and the value the task must receive."""
    if not flag.takes_value:
        if flag.name == "cold":  # on by default: the switch turns it off
            return ["--no-cold"], False
        return [spelling], True
    value = "42" if flag.number else "v-1"
    if flag.repeatable:
        return [spelling, "v1", spelling, value], ["v1", value]
    if spelling.startswith("--"):
        return [f"{spelling}={value}"], value
    return [spelling, value], value


CASES = [
    (command, flag, spelling)
    for command in COMMANDS.values()
    for flag in command.flags
    for spelling in (flag.long, *([flag.short] if flag.short else []))
]


@pytest.mark.parametrize("which", ["buildopt", "invoke"])
@pytest.mark.parametrize(
    ("command", "flag", "spelling"), CASES, ids=[f"{c.name} {s}" for c, _, s in CASES]
)
def test_every_flag_reaches_its_task(
    which: str, command: Command, flag: Flag, spelling: str
) -> None:
    words, expected = words_for(flag, spelling)
    assert parsed(which, [which, command.name, *words])[flag.name] == expected


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_tasks_take_exactly_the_declared_flags(name: str) -> None:
    body = cli_tasks.ns[name].body
    parameters = [p for p in inspect.signature(body).parameters if p != "c"]
    assert parameters == [f.name for f in COMMANDS[name].flags]
    assert name in repository_tasks().task_names


def test_a_short_flag_means_one_thing_everywhere() -> None:
    meaning: dict[str, str] = {}
    for command in COMMANDS.values():
        for flag in command.flags:
            if flag.short:
                assert meaning.setdefault(flag.short, flag.long) == flag.long, flag.short


def test_bare_words_and_the_programs_arguments() -> None:
    argv = [
        "buildopt",
        "startup",
        "./nats-server",
        "--ready-port",
        "14222",
        "--",
        "--addr=127.0.0.1",
        "-p",
        "14222",
    ]
    _, rest = expand_variadic(argv)
    assert rest == ["--addr=127.0.0.1", "-p", "14222"]
    values = parsed("buildopt", argv)
    assert values["file"] == ["./nats-server"] and values["ready_port"] == "14222"
    assert values["profile"] == "" and values["arg"] == []
    assert parsed("buildopt", ["buildopt", "inspect", "a", "-j", "2", "b"])["file"] == ["a", "b"]
    assert expand_variadic(["buildopt", "compare", "--", "-old.json"])[0][-2:] == [
        "--record",
        "-old.json",
    ]


def test_a_misspelt_command_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        program.run(["buildopt", "biuld"])
    assert info.value.code == 2
    assert "did you mean 'build'?" in capsys.readouterr().err


def test_help_shows_what_each_flag_takes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        program.run(["buildopt", "build", "--help"])
    out = capsys.readouterr().out
    assert "-v PATTERN, --variant=PATTERN" in out and "(repeatable)" in out
    assert "-j N, --jobs=N" in out and "--json " in out


@pytest.mark.parametrize(
    ("text", "message"),
    [("abc", "--jobs abc: expected a whole number"), ("-1", "--jobs -1: expected 0 or more")],
)
def test_counts_are_checked(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        count("--jobs", text, 0)
    assert count("--jobs", "", 7) == 7


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_takes_exactly_its_declared_flags(name: str) -> None:
    """A command's adapter takes each flag of its spec, in order, with the default and type
    its task gives it (and startup the program's arguments): a flag added to the spec but
    not to the command, or the other way round, fails here."""
    spec = COMMANDS[name]
    declared = [parameter(flag) for flag in spec.flags]
    declared += [inspect.Parameter("remainder", inspect.Parameter.KEYWORD_ONLY, default="")]
    declared = declared if spec.rest else declared[:-1]
    kind = {flag.name: _annotation(flag) for flag in spec.flags} | {"remainder": str}
    taken = list(inspect.signature(adapter(name), eval_str=True).parameters.values())
    assert [(p.name, p.kind, p.default) for p in taken] == [
        (p.name, p.kind, p.default) for p in declared
    ]
    assert [p.annotation for p in taken] == [kind[p.name] for p in taken]


def _annotation(flag: Flag) -> object:
    if not flag.takes_value:
        return bool
    return list[str] | None if flag.repeatable else str


def test_one_module_per_command() -> None:
    assert {m.name for m in pkgutil.iter_modules(commands.__path__)} == set(COMMANDS)


def _table(lines: list[str], header: str) -> list[str]:
    start = lines.index(header)
    return list(itertools.takewhile(lambda line: line.startswith("|"), lines[start:]))


def command_table() -> list[str]:
    """docs/commands.md's table of the commands, as the spec has them."""
    rows = ["| command | what it does | flags |", "|---|---|---|"]
    for spec in COMMANDS.values():
        flags = (
            f"`{'--[no-]' + f.long[2:] if f.on else f.long}"
            f"{' ' + f.value if f.value else ''}{'...' if f.repeatable else ''}`"
            for f in spec.flags
        )
        summary = spec.about.split("\n\n")[0].replace("|", "\\|")
        rows.append(f"| `{spec.usage()}` | {summary} | {', '.join(flags)} |")
    return rows


def test_the_docs_list_every_command_and_flag() -> None:
    lines = (REPO / "docs" / "commands.md").read_text(encoding="utf-8").splitlines()
    expected = command_table()
    assert _table(lines, expected[0]) == expected, (
        "docs/commands.md's command table is not the spec's (buildopt/cli/options.py); "
        "it should read:\n" + "\n".join(expected)
    )


def test_the_docs_short_flags_are_the_specs() -> None:
    lines = (REPO / "docs" / "commands.md").read_text(encoding="utf-8").splitlines()
    documented = {
        tuple(re.findall(r"`(-{1,2}[a-z-]+)", row)[:2])
        for row in _table(lines, "| short | long |")[2:]
    }
    assert documented == {(f.short, f.long) for c in COMMANDS.values() for f in c.flags if f.short}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_docs_usage_lines_name_only_flags_the_command_has(name: str) -> None:
    text = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    usage = re.findall(rf"^buildopt {name}\b.*(?:\n +\[.*)*", text, re.MULTILINE)
    named = {word for line in usage for word in re.findall(r"(?<![\w-])--?[a-z][a-z-]*", line)}
    spec = COMMANDS[name]
    assert named <= {f.long for f in spec.flags} | {f.short for f in spec.flags if f.short}


@pytest.mark.parametrize(
    ("name", "flag"),
    [
        (name, spelling)
        for name, spec in COMMANDS.items()
        for f in spec.flags
        if f.takes_value
        for spelling in (f.long, f.short)
        if spelling
    ],
)
def test_a_flag_left_without_its_value_is_one_line(
    name: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``buildopt plan -p`` (the line ends where the value should be): exit 2 and one line in
    buildopt's words, whether invoke would have taken an empty list or worded it its own way."""
    with pytest.raises(SystemExit) as stopped:
        expand_variadic(["buildopt", name, flag])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {name}: {flag} needs a value") and err.count("\n") == 1


@pytest.mark.parametrize("letter", ["-p", "-e", "-R", "-w", "-T", "-f", "-D", "-F"])
def test_invokes_hidden_options_have_no_short_letter(
    letter: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``buildopt scan -p NAME``: scan has no -p, and invoke's --pty (hidden: buildopt runs no
    shell) does not take the letter - the word is refused, not NAME scanned as a path."""
    with pytest.raises(SystemExit) as info:
        program.run(["buildopt", "scan", letter, "x"])
    assert info.value.code == 2
    assert f"No idea what '{letter}' is! (scan has no such option" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["why", "net/http", "crypto/tls"],
            "why: --package takes one value; given 'net/http', 'crypto/tls'",
        ),
        (["plan", "-p", "a", "--profile=b"], "plan: --profile takes one value; given 'a', 'b'"),
        (["docs", "profiles", "budgets"], "docs: --topic takes one value"),
    ],
)
def test_a_flag_of_one_value_given_two_is_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``why A B`` measured only B: invoke keeps the last value of a flag given twice and
    drops the first without a word."""
    with pytest.raises(SystemExit) as stopped:
        expand_variadic(["buildopt", *argv])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")


def test_repeatable_flags_and_switches_may_be_given_again() -> None:
    assert expand_variadic(["buildopt", "plan", "-v", "a", "-v", "b", "--json", "--json"])[0]
