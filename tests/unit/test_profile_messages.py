"""The words of a refused profile, whole: each message names the key in full (list entries
numbered from 1, as budget[1] is the first [[budget]]), says what the key takes in the words a
profile is written in, and shows the value written, as TOML writes it. Each case here was a
message the decoder (buildopt.config.keys) made worse than the hand-written readers before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from buildopt.config.profile import load_profile
from buildopt.errors import EXIT_BAD_INPUT, ProfileError, UsageError
from tests.conftest import write_profile

TOP = 'package = "./app"\n'
VARIANT = "[variants.a]\n"
BUDGET = '[[budget]]\nselect = "a@*"\n'
IMAGE = '[[image]]\nname = "i"\nfilesystem = "squashfs"\nselect = "a@*"\nmax_size = 1\n'
HUGE = 99999999999999999999

CASES = [
    # a typo'd key of a table that then misses a required key: the typo is the news
    (
        TOP + VARIANT + '[[budget]]\nselct = "a@*"\n',
        "unknown key 'budget[1].selct'; did you mean 'select'?",
    ),
    (
        TOP + VARIANT + '[[image]]\nselct = "a@*"\nmax_size = 1\n',
        "unknown key 'image[1].selct'; did you mean 'select'?",
    ),
    (
        TOP + VARIANT + IMAGE + 'files = { "/etc/a" = { sorce = "main.go" } }\n',
        "unknown key 'image[1].files./etc/a.sorce'; did you mean 'source'?",
    ),
    # a schema that is no whole number is a wrong type, not another schema
    ('schema = "1"\n' + TOP + VARIANT, "schema: expected an integer, got '1'"),
    ("schema = [1]\n" + TOP + VARIANT, "schema: expected an integer, got [1]"),
    ("schema = { a = 1 }\n" + TOP + VARIANT, "schema: expected an integer, got { a = 1 }"),
    ("schema = 1979-05-27\n" + TOP + VARIANT, "schema: expected an integer, got 1979-05-27"),
    ("schema = 2\n" + TOP + VARIANT, "schema: this buildopt reads schema 1, not 2"),
    # list entries numbered from 1, every list alike
    (TOP + "budget = [1, 2]\n" + VARIANT, "budget[1]: expected a table, got 1"),
    (
        TOP + 'image = [{ select = "a@*", max_size = 1 }, 5]\n' + VARIANT,
        "image[2]: expected a table, got 5",
    ),
    ('targets = ["linux/amd64", 5]\n' + TOP + VARIANT, "targets[2]: expected a string, got 5"),
    (
        TOP + VARIANT + 'tags = { append = ["x"], remove = ["a", 1] }\n',
        "variants.a.tags.remove[2]: expected a string, got 1",
    ),
    (
        TOP + "[matrix]\ncgo = [true, false]\nexclude = [5]\n",
        "matrix.exclude[1]: expected a table, got 5",
    ),
    (
        TOP + '[matrix]\nstrip = ["none", "most"]\n',
        'matrix.strip[2]: expected one of "none", "dwarf", "all", got \'most\'',
    ),
    (TOP + 'variants = { a = "x" }\n', "variants.a: expected a table, got 'x'"),
    # what a key takes, as a profile says it
    (
        TOP + 'budget = { select = "a@*" }\n' + VARIANT,
        "budget: expected [[budget]] tables, got { select = 'a@*' }",
    ),
    (TOP + 'defaults = "x"\n' + VARIANT, "defaults: expected a table, got 'x'"),
    (TOP + "matrix = [1]\n" + VARIANT, "matrix: expected a table, got [1]"),
    (TOP + "scan = 5\n" + VARIANT, "scan: expected a table, got 5"),
    (TOP + 'variants = ["a"]\n', "variants: expected a table of [variants.NAME] tables, got ['a']"),
    (
        TOP + VARIANT + BUDGET + 'max_section = [".text"]\n',
        "budget[1].max_section: expected a table of sizes, got ['.text']",
    ),
    (
        TOP + VARIANT + BUDGET + 'max_compressed = "1 MiB"\n',
        "budget[1].max_compressed: expected a table of sizes, got '1 MiB'",
    ),
    (
        TOP + VARIANT + BUDGET + 'allowed_needed = "libc.so.6"\n',
        "budget[1].allowed_needed: expected a list of library names, got 'libc.so.6'",
    ),
    (
        TOP + VARIANT + IMAGE + 'records = "x.json"\n',
        "image[1].records: expected a list of build record paths, got 'x.json'",
    ),
    (
        TOP + VARIANT + IMAGE + 'files = ["main.go"]\n',
        "image[1].files: expected a table of image path = project file, got ['main.go']",
    ),
    (
        TOP + VARIANT + IMAGE + "max_share = 5\n",
        "image[1].max_share: expected a table of sizes, got 5",
    ),
    (TOP + "[matrix]\ncgo = []\n", "matrix.cgo: expected a non-empty list of values, got []"),
    (TOP + "[matrix]\nstrip = 1\n", "matrix.strip: expected a non-empty list of values, got 1"),
    # the value written, as TOML writes it
    (TOP + VARIANT + 'cgo = "false"\n', "variants.a.cgo: expected true or false, got 'false'"),
    (
        TOP + VARIANT + "cgo = 1979-05-27\n",
        "variants.a.cgo: expected true or false, got 1979-05-27",
    ),
    (TOP + VARIANT + "cgo = 07:32:00\n", "variants.a.cgo: expected true or false, got 07:32:00"),
    (
        TOP + VARIANT + "description = ['a']\n",
        "variants.a.description: expected a string, got ['a']",
    ),
    (
        TOP + VARIANT + IMAGE + "max_erase_blocks = -3\n",
        "image[1].max_erase_blocks: expected a whole number >= 0, got -3",
    ),
    (TOP + VARIANT + BUDGET + "max_size = true\n", "budget[1].max_size: true is not a size"),
    (TOP + VARIANT + 'x = { "main.v" = 1 }\n', "variants.a.x.main.v: expected a string, got 1"),
    (TOP + VARIANT + 'x = { "" = "v" }\n', "variants.a.x.\"\": '' is not an importpath.name"),
    # choices in the order the documentation gives them, whatever the value
    (
        TOP + VARIANT + "strip = true\n",
        'variants.a.strip: expected one of "none", "dwarf", "all", got true',
    ),
    (
        TOP + VARIANT + "linkmode = 5\n",
        'variants.a.linkmode: expected one of "internal", "external", got 5',
    ),
    # whole numbers at most 2**63 - 1
    (
        TOP + VARIANT + BUDGET + f"max_size = {HUGE}\n",
        f"budget[1].max_size: {HUGE}: more than a size may be (9223372036854775807 bytes at most)",
    ),
]
STARTUP = [
    (TOP + 'startup = "x"\n' + VARIANT, "startup: expected a table, got 'x'"),
    (
        TOP + VARIANT + "[startup]\nruns = true\n",
        "startup.runs: expected a whole number >= 1, got true",
    ),
    (
        TOP + VARIANT + "[startup]\nwarmup = -1\n",
        "startup.warmup: expected a whole number >= 0, got -1",
    ),
    (
        TOP + VARIANT + f"[startup]\nruns = {HUGE}\n",
        f"startup.runs: {HUGE} is more than buildopt takes (9223372036854775807 at most)",
    ),
]


def message_of(project: Path, text: str) -> str:
    """The message of a refused profile, less the file it names first."""
    path = write_profile(project, "p", text)
    with pytest.raises((ProfileError, UsageError)) as info:
        load_profile("p", project)
    assert info.value.exit_code == EXIT_BAD_INPUT
    prefix = f"{path}: "
    assert info.value.message.startswith(prefix)
    return info.value.message.removeprefix(prefix)


@pytest.mark.parametrize(("text", "expected"), CASES + STARTUP)
def test_a_refused_profile_says_the_key_what_it_takes_and_the_value(
    project: Path, text: str, expected: str
) -> None:
    assert message_of(project, text) == expected
