"""Build tags read from a file: one a line, ``#`` comments and blank lines allowed, each tag
checked as a profile's ``tags`` are. A variant's (or ``[defaults]``') ``tags_file`` is read
here; any key that names a project's feature list reads it with ``read_tags_file``.

The file is the project's: its path, symbolic links followed, must lie inside the project
root or the folder of the profile that names it (a link to ``/proc/self/environ`` would put
the environment into a message); it is read as every user's file is (``buildopt.inputs``:
regular files only, never waiting on a FIFO, size-limited).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import msgspec

from buildopt.config.keys import toml_value
from buildopt.config.variant import is_build_tag
from buildopt.errors import ProfileError
from buildopt.inputs import NotRegularFile, TooLarge, read_limited

# the tags reach go build as one argument, -tags=a,b,...: Linux takes at most 128 KiB in one
MAX_TAGS_FILE_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"


class TagsFile(msgspec.Struct, frozen=True):
    """A file of build tags, read: where it is (resolved) and its tags, each once, in order."""

    path: Path
    tags: tuple[str, ...]


class BadLine(ValueError):
    """A line of a tags file that holds no build tag (number counts from 1)."""

    def __init__(self, number: int, reason: str) -> None:
        super().__init__(reason)
        self.number = number
        self.reason = reason


def parse_tags(blob: bytes) -> tuple[str, ...]:
    """The tags of a tags file's bytes, each once, in order; BadLine for the first line that
    is not one build tag (after its comment and surrounding blanks are cut)."""
    tags: dict[str, None] = {}
    for number, raw in enumerate(blob.removeprefix(_BOM).split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadLine(number, "not UTF-8 text") from None
        word = line.split("#", 1)[0].strip(" \t\r")
        if not word:
            continue
        if not is_build_tag(word):
            raise BadLine(number, f"{toml_value(word)} is not one build tag (letters, digits, _ .)")
        tags[word] = None
    return tuple(tags)


def read_tags_file(profile: Path, where: str, given: str, inside: Sequence[Path]) -> TagsFile:
    """The tags file that key where of profile names (given, relative to the profile's
    folder); ProfileError naming the profile and the key when it cannot be read, or the tags
    file and the line for a line that holds no tag."""
    path = _located(profile, where, given, inside)
    try:
        blob = read_limited(path, MAX_TAGS_FILE_BYTES)
    except FileNotFoundError:
        raise ProfileError(profile, f"{where}: no file {path}") from None
    except (NotRegularFile, TooLarge) as exc:
        raise ProfileError(profile, f"{where}: {path}: {exc}") from None
    except OSError as exc:
        raise ProfileError(
            profile, f"{where}: {path}: cannot read: {exc.strerror or exc}"
        ) from None
    try:
        return TagsFile(path, parse_tags(blob))
    except BadLine as exc:
        raise ProfileError(
            f"{path}:{exc.number}", f"{exc.reason} (read for {where} of {profile})"
        ) from None


def _located(profile: Path, where: str, given: str, inside: Sequence[Path]) -> Path:
    """given resolved against the profile's folder, if it lies in one of the folders inside."""
    try:
        path = (profile.parent / given).resolve()
        folders = [folder.resolve() for folder in inside]
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise ProfileError(profile, f"{where}: cannot resolve {given!r}: {exc}") from None
    if not any(path.is_relative_to(folder) for folder in folders):
        raise ProfileError(
            profile,
            f"{where}: {toml_value(given)} leads to {path}, outside the project "
            f"({' and '.join(map(str, dict.fromkeys(folders)))})",
        )
    return path
