"""Small Go programs buildopt runs, built once per Go toolchain into the user's cache.

``spawn`` starts a program for start-up measurement; ``scan`` parses Go sources with go/parser.
They are built by the user's own Go toolchain (which a Go project has), with no dependencies.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from buildopt.errors import ToolchainError
from buildopt.system import proc, toolchain
from buildopt.system.files import remove_quietly, remove_stale_temporaries, temp_path_for

SOURCES = Path(__file__).parent


# The most portable code of each architecture: a helper copied to a device runs on any of its kind.
PORTABLE = {
    "GOARM": "5",
    "GOMIPS": "softfloat",
    "GOMIPS64": "softfloat",
    "GO386": "softfloat",
    "GOAMD64": "v1",
    "GOARM64": "v8.0",
}


def build_helper(
    name: str, environ: Mapping[str, str], target: tuple[str, str] | None = None
) -> Path:
    """Path of the helper ``name``, built now if this Go and this source have not built it yet:
    for this machine, or for target (GOOS, GOARCH: a device's)."""
    source = SOURCES / name
    tools = toolchain.load(environ)
    goos, goarch = target or (tools.hostos, tools.hostarch)
    digest = hashlib.sha256()
    for path in sorted(source.glob("*.go")):
        digest.update(path.read_bytes())
    digest.update(f"{tools.version} {goos}/{goarch}".encode())
    cache = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "buildopt"
    helper = cache / f"{name}-{digest.hexdigest()[:16]}"
    if helper.is_file():
        return helper
    what = {"spawn": "start-up", "scan": "source scan"}.get(name, name)
    place = f", {goos}/{goarch}" if target else ""
    note = f"compiling buildopt's {what} helper for {tools.version}{place} into {cache} (once)"
    print(note, file=sys.stderr, flush=True)
    remove_stale_temporaries(cache)  # what a build of a helper killed before left
    tmp = temp_path_for(helper)
    env = {
        **environ,
        "CGO_ENABLED": "0",
        **(PORTABLE if target else {}),
        "GOOS": goos,
        "GOARCH": goarch,
        "GOFLAGS": "",
        "GOTOOLCHAIN": "local",
        "GOWORK": "off",
    }
    try:
        proc.run(
            [tools.go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(tmp), "."],
            env=env,
            cwd=source,
            timeout=300,
        )
        os.replace(tmp, helper)
    except proc.CommandFailed as exc:
        raise ToolchainError(f"could not build buildopt's {name} helper: {exc.message}") from exc
    finally:
        remove_quietly(tmp)
    return helper
