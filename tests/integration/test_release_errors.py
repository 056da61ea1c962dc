"""A Go release go cannot get (issue 22, item 16): `toolchain = ["go1.99.0"]` said only "go:
downloading go1.99.0" - the first line of go's output; the cause was in stderr_tail. Now the
warning and the variant's reason say why go could not download it, in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import buildopt, hello_project

pytestmark = pytest.mark.integration


def test_a_release_go_cannot_download_says_why(go: str, tmp_path: Path) -> None:
    project = hello_project(
        tmp_path, 'package = "./hello"\n[matrix]\ntoolchain = ["go1.99.0"]\n[variants.a]\n'
    )
    done = buildopt(["build", "--profile", "p", "--json"], cwd=project, timeout=300)
    assert done.returncode == 1, done.stderr
    # go's reason: through the proxy here "403 Forbidden: This module version is not
    # available.", offline a lookup error - the words after "go cannot download it:"
    warning = next(line for line in done.stderr.splitlines() if line.startswith("warning:"))
    assert warning.startswith("warning: go1.99.0: go cannot download it: "), warning
    assert len(warning) > len("warning: go1.99.0: go cannot download it: ")
    (build,) = json.loads(done.stdout)["builds"]
    assert build["reason"].startswith("go build exited with 1: go1.99.0: go cannot download it: ")
    assert "downloading" not in build["reason"]
