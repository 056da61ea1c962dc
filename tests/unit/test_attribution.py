"""The import path of a source file's directory, as pclntab file tables name files."""

from __future__ import annotations

import pytest

from buildopt.binary.attribution import package_dir


@pytest.mark.parametrize(
    ("path", "package"),
    [
        ("/usr/local/go/src/internal/bytealg/compare_amd64.s", "internal/bytealg"),
        ("internal/bytealg/compare_amd64.s", "internal/bytealg"),  # -trimpath
        (
            "/root/go/pkg/mod/github.com/!burnt!sushi/toml@v1.4.0/lex.go",
            "github.com/BurntSushi/toml",
        ),
        ("golang.org/x/sys@v0.30.0/cpu/cpu_x86.s", "golang.org/x/sys/cpu"),
        ("/home/me/go/src/example.com/app/asm.s", "example.com/app"),
        ("/home/me/project/asm.s", ""),  # the main module outside GOPATH: unknown
        ("asm.s", ""),
        ("", ""),
    ],
)
def test_package_dir(path: str, package: str) -> None:
    assert package_dir(path) == package
