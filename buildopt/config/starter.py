"""The starter profile ``buildopt init`` writes: the four classic variants, commented.

Pure text from facts the caller gathered (the module, its main packages, the host, whether a C
compiler exists); writing it and building with it is the command's business.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import NamedTuple

NAME = re.compile(r"[^A-Za-z0-9._+-]+")
MAJOR_SUFFIX = re.compile(r"v[0-9]+")
GOPKG_SUFFIX = re.compile(r"\.v[0-9]+$")


def module_binary_name(module_path: str) -> str:
    """The name ``go build`` gives the module root's program: the import path's last element,
    without a major-version suffix (``example.com/srv/v2`` -> ``srv``, ``gopkg.in/yaml.v3`` ->
    ``yaml``)."""
    parts = module_path.rstrip("/").split("/")
    if len(parts) > 1 and MAJOR_SUFFIX.fullmatch(parts[-1]):
        parts.pop()
    if parts[0] == "gopkg.in":
        return GOPKG_SUFFIX.sub("", parts[-1])
    return parts[-1]


def profile_name(binary: str) -> str:
    """A profile name (a folder under dist/) from a binary's name."""
    name = NAME.sub("-", binary).strip("-.") or "service"
    return name if name[0].isalnum() else f"p{name}"


def choose_main(
    module_path: str, mains: Sequence[tuple[str, str]], here: str = "."
) -> tuple[tuple[str, str], str]:
    """(import path, ./relative dir) of the main package to profile, from (import path,
    relative dir) pairs, and why it was chosen: the one whose folder init runs in (``here``,
    relative to the module root) or the nearest above it (the root's only from the root
    itself); else the one named like the module, else the shortest under cmd/, else the
    first."""
    by_dir = {pkg[1]: pkg for pkg in mains}
    folder = PurePosixPath(here)
    if folder == PurePosixPath(".") and "." in by_dir:
        return by_dir["."], "the folder init runs in"
    for above in (folder, *folder.parents):
        if f"./{above}" in by_dir and above != PurePosixPath("."):
            return by_dir[f"./{above}"], "the folder init runs in"
    last = module_binary_name(module_path)
    for pkg in mains:
        if pkg[1].rstrip("/").rsplit("/", 1)[-1] == last:
            return pkg, f"named like the module ({last})"
    in_cmd = sorted((p for p in mains if p[1].startswith("./cmd/")), key=lambda p: len(p[1]))
    if in_cmd:
        return in_cmd[0], "the shortest path under ./cmd/"
    return sorted(mains, key=lambda p: p[1])[0], "the first by path"


def starter_profile(
    *,
    module_path: str,
    package: str,
    others: Sequence[str],
    targets: Sequence[str],
    c_compiler: str | None,
    written: str,
    binary: str | None = None,
) -> str:
    """The commented TOML of a starter profile; ``binary`` names the program when the folder
    would not (the module root's program, named by go build after the module path)."""
    more = ""
    if others:
        listed = textwrap.wrap(
            f"Other main packages in this module: {', '.join(others)}.",
            width=96,
            break_on_hyphens=False,
            break_long_words=False,
        )
        more = "".join(f"# {line}\n" for line in listed) + (
            "# Profile one of them with `buildopt init --package DIR`, or copy this file.\n"
        )
    external = (
        f"""
[variants.external-static]
description = "cgo, linked by the external linker ({c_compiler}) with -static"
cgo = true
linkmode = "external"
extldflags = ["-static"]
tags = ["netgo", "osusergo"]  # pure-Go DNS and user lookup: no glibc NSS in a static binary
"""
        if c_compiler
        else "\n# No C compiler was found, so there is no external-static variant (cgo, -static).\n"
    )
    target_list = ", ".join(f'"{t}"' for t in targets)
    binary_line = (
        f'binary = "{binary}"  # as go build names the module\'s program\n'
        if binary and not NAME.search(binary)
        else ""
    )
    return f"""# buildopt profile for {module_path} ({package}),
# written by `buildopt init` on {written}.
# `buildopt plan` shows every go build it stands for; `buildopt build` runs them.
# `buildopt docs profiles` describes every key; `buildopt docs budgets` the budgets.
{more}schema = 1
description = "{module_path}: the classic size and start-up variants"
package = "{package}"
{binary_line}targets = [{target_list}]
baseline = "default"

[variants.default]
description = "plain go build (cgo on where the toolchain has a C compiler for the target)"

[variants.static]
description = "CGO_ENABLED=0: pure Go, statically linked"
cgo = false

[variants.static-stripped]
description = "static, -s -w (no symbol table, no DWARF), -trimpath"
cgo = false
strip = "all"
trimpath = true
{external}
# Cold start (buildopt startup --profile NAME): the binary is started, ready at its exit by
# default. A server: give its arguments and what "ready" looks like, for example
# [startup]
# args = ["--listen", "127.0.0.1:18080"]
# ready = {{ port = 18080 }}        # or {{ stdout = "^listening" }}
# runs = 20

# Source scan of every variant with its build tags (runtime.GOMAXPROCS pins, init() work):
# [scan]
# enabled = true

# Size budgets (buildopt gate). `buildopt init --budgets` sets them from a first build.
# [[budget]]
# select = "static-stripped"
# max_size = "20 MiB"
"""


class Binary(NamedTuple):
    """One built binary: its id (VARIANT@TARGET), size and sha256."""

    build_id: str
    size: int
    sha256: str | None


def identical_groups(binaries: Sequence[Binary]) -> list[list[Binary]]:
    """The binaries grouped by content: byte-identical ones (the same sha256) together, in
    the order their first one comes."""
    groups: dict[str, list[Binary]] = {}
    for binary in binaries:
        groups.setdefault(binary.sha256 or f"?{binary.build_id}", []).append(binary)
    return list(groups.values())


def size_budgets(binaries: Sequence[Binary], headroom: float = 0.10) -> str:
    """[[budget]] tables: each binary (by variant@target id) at its size plus headroom,
    rounded up to KiB - a binary for another architecture has a size of its own. Byte-identical
    binaries share one budget, with a note saying so."""
    tables = []
    for group in identical_groups(binaries):
        first = group[0]
        kib = math.ceil(first.size * (1 + headroom) / 1024)
        select = ", ".join(f'"{b.build_id}"' for b in group)
        note = ""
        if len(group) > 1:
            same = ", ".join(b.build_id for b in group[1:])
            note = f"# {same}: byte-identical to {first.build_id}: one budget for them\n"
        tables.append(
            f'\n[[budget]]\n{note}name = "{first.build_id} size"\nselect = [{select}]\n'
            f'max_size = "{kib} KiB"  # {first.size:,} bytes at init, plus {headroom:.0%}\n'
        )
    return "".join(tables)
