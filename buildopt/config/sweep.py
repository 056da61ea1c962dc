"""``[sweep]``: a project's feature tags, swept one at a time by ``buildopt sweep``.

``tags = [...]`` and/or ``tags_file = "..."`` (one a line, read by ``config/tags.py``), and
what a tag does: ``kind = "omit"`` (the default: a tag removes a feature, as Caddy's
``nobadger`` or ``nomysql``) or ``kind = "add"`` (a tag adds one). The full build has every
feature, the minimal build none; ``buildopt sweep`` builds each feature removed from the full
build and each added back to the minimal one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec

from buildopt.config.keys import decode
from buildopt.config.tags import read_tags_file
from buildopt.config.variant import Tags
from buildopt.errors import ProfileError

Kind = Literal["omit", "add"]
# each tag is two builds: a list longer than this is a mistake (a wrong file), not a sweep
MAX_SWEEP_TAGS = 1000
MAX_TAG_CHARS = 128  # a tag names what-if variants (directories: 255 bytes at most)


class SweepFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The ``[sweep]`` table as written."""

    tags: Tags = ()
    tags_file: str | None = None
    kind: Kind = "omit"
    variant: str | None = None  # the variant swept (default: the baseline; --variant)


class Sweep(msgspec.Struct, frozen=True):
    """``[sweep]`` read: its tags (those of ``tags``, then the file's, each once), what a tag
    does, the variant to sweep ("" for the baseline) and the tags file read (if any)."""

    tags: tuple[str, ...]
    kind: Kind = "omit"
    variant: str = ""
    tags_file: Path | None = None


def parse_sweep(path: Path, root: Path, table: dict[str, Any]) -> Sweep | None:
    """The profile's [sweep] (None when it has none); ProfileError naming the key."""
    if not table:
        return None
    given = decode(path, "sweep", table, SweepFile)
    tags, read = list(given.tags), None
    if given.tags_file is not None:
        read = read_tags_file(path, "sweep.tags_file", given.tags_file, (path.parent, root))
        tags += read.tags
    found = tuple(dict.fromkeys(tags))
    key = "sweep.tags_file" if read and not given.tags else "sweep.tags"
    if not found:
        raise ProfileError(path, f"{key}: no tag to sweep (give tags = [...] or tags_file)")
    if len(found) > MAX_SWEEP_TAGS:
        raise ProfileError(
            path, f"{key}: {len(found)} tags, at most {MAX_SWEEP_TAGS} (each tag is two builds)"
        )
    long = next((t for t in found if len(t) > MAX_TAG_CHARS), None)
    if long is not None:
        raise ProfileError(
            path, f"{key}: a tag of {len(long)} characters, at most {MAX_TAG_CHARS}: {long[:40]}..."
        )
    return Sweep(found, given.kind, given.variant or "", read.path if read else None)
