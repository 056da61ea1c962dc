"""A flag that takes a name or a command (--runner, --argv0, --name) is never empty: taken as
not given, `--runner "$DEVICE"` with DEVICE unset measured on the build machine, exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import buildopt


@pytest.mark.parametrize(
    "argv",
    [
        ["startup", "--runner", "", "/bin/true"],
        ["startup", "--runner=  ", "/bin/true"],
        ["startup", "--argv0", "", "/bin/true", "--no-cold"],  # (the invoke path)
        ["image", "--name", ""],
    ],
)
def test_an_empty_name_or_command_is_refused(argv: list[str], tmp_path: Path) -> None:
    done = buildopt(argv, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"{argv[0]}: --" in done.stderr and ": empty (" in done.stderr, done.stderr
