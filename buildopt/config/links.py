"""Where an image's symbolic links lead: each followed as the Linux kernel follows it, through
the places the image will hold (its binaries, its files, its other links), before anything is
built or staged - so ``plan`` finds a dangling link as ``image`` does.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping

import msgspec

from buildopt.config.budgets import ImageBudget
from buildopt.config.keys import key_path
from buildopt.errors import ProfileError

MAX_HOPS = 40  # links followed in one path before Linux says ELOOP (MAXSYMLINKS)


class Link(msgspec.Struct, frozen=True):
    path: str  # in the image
    target: str  # as written
    resolved: str  # the image path it leads to (a file or a folder it holds)


def links_of(image: ImageBudget, files: Mapping[str, str]) -> list[Link]:
    """The image's symbolic links, each leading to a file or a folder the image holds (files:
    what goes where, path -> source). ProfileError (exit 2, the link's key named) for one in
    the place of a file, a folder of one or under another link, and for one that dangles or
    goes round a loop."""
    folders = {p for path in [*files, *image.links] for p in folders_of(path)}
    links = []
    for path, target in sorted(image.links.items()):
        key = key_path(f"{image.where}.links", path)
        _check_place(image, key, path, files, folders)
        start = (
            target if target.startswith("/") else posixpath.join(posixpath.dirname(path), target)
        )
        resolved, problem = _follow(start, image.links, set(files), folders)
        if problem:
            held = ", ".join(sorted(files))
            raise ProfileError(
                image.source, f"{key}: {target!r} {problem} (image {image.name!r} holds: {held})"
            )
        links.append(Link(path, target, resolved))
    return links


def folders_of(path: str) -> list[str]:
    """The folders an image path is in: /usr/bin/x -> /, /usr, /usr/bin."""
    parts = path.split("/")[1:-1]
    return ["/", *("/" + "/".join(parts[: n + 1]) for n in range(len(parts)))]


def _check_place(
    image: ImageBudget, key: str, path: str, files: Mapping[str, str], folders: set[str]
) -> None:
    """A link's place is its own: not a file's, not a folder of anything, not under a file
    or a link (staging it there would write through that link, out of the image)."""
    if path in files:
        raise ProfileError(image.source, f"{key}: {files[path]} goes there too")
    if path in folders:
        raise ProfileError(image.source, f"{key}: a folder of other paths in the image")
    for folder in folders_of(path):  # (one under a link: that link is a folder, refused above)
        if folder in files:
            raise ProfileError(image.source, f"{key}: under {folder}, a file")


def _follow(
    path: str, links: Mapping[str, str], files: set[str], folders: set[str]
) -> tuple[str, str]:
    """(the image path path leads to, "") with every link on the way followed as the kernel
    follows them: component by component, each one there (a folder, unless last), ``..``
    from where a link led; else ("", why it leads nowhere: the kernel's ENOENT, ENOTDIR or
    ELOOP)."""
    pending, real, hops = path.split("/")[1:], "/", 0
    while pending:
        part = pending.pop(0)
        if part == "":
            continue
        if real in files:
            return "", f"goes through {real}, a file, as if it were a folder"
        if part in (".", ".."):
            real = real if part == "." else posixpath.dirname(real)
            continue
        here = posixpath.join(real, part)
        if here in links:
            hops += 1
            if hops > MAX_HOPS:
                return "", f"goes round a loop of links (more than {MAX_HOPS} followed)"
            target = links[here]
            real = "/" if target.startswith("/") else real
            pending[:0] = target.split("/")
        elif here in files or here in folders:
            real = here
        else:
            return "", f"leads to {here}, which the image does not hold"
    return real, ""
