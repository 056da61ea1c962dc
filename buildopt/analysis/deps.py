"""Dependency lists: the packages a variant's go build links, kept in the repository as a
contract (``deps/PROFILE/ID.txt``), and how the linked packages drifted from it.

The linked packages are the import graph ``go list -deps`` resolves for the variant's main
package in the environment its go build gets (GOOS, GOARCH and the level variable,
CGO_ENABLED, the build tags, GOTOOLCHAIN): the packages go compiles and hands to the linker,
as depaware lists them. A package the linker's dead-code pass empties is still linked. Each
line is one package, sorted by import path::

    example.com/app                                    (the main module: no version)
    golang.org/x/sys/cpu golang.org/x/sys@v0.42.0      (a module dependency)
    golang.org/x/net/html golang.org/x/net@v0.60.0 => ../net   (a replaced module)
    runtime                                            (the standard library: the path alone)

The main module's version is left out: Go stamps it from version control, so it changes with
every commit. Lines starting with ``#`` are comments.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

import msgspec

from buildopt.analysis.gate import NOTHING, Check, Figure, count_figure, word_figure
from buildopt.analysis.why import import_chain
from buildopt.config.units import format_size
from buildopt.errors import UsageError, visible
from buildopt.record.model import CutSaving, WhyCost

MAX_LIST_BYTES = 8 * 1024 * 1024  # ~80,000 packages; cmd/go itself links ~350
SUFFIX = ".txt"
NAME_MAX = 255  # a file name's bytes on Linux file systems
# the characters an id keeps in its file name; any other is percent-encoded (RFC 3986)
_KEPT = "@+"
# The characters Go allows in an import path and a module path (golang.org/x/mod/module's
# importPathOK and modPathOK) and in a version: a line of anything else is not a list's.
_LINE = re.compile(
    r"(?P<package>[A-Za-z0-9._~+/-]+)"
    r"(?: (?P<module>[A-Za-z0-9._~/-]+)(?:@(?P<version>[A-Za-z0-9._+-]+))?"
    r"(?: => (?P<replace>\S.*))?)?"
)
FORMAT = "PACKAGE [MODULE[@VERSION] [=> REPLACEMENT]]"


class DepsListError(UsageError):
    """A dependency list that cannot be read (exit 2)."""


class Dep(msgspec.Struct, frozen=True, order=True):
    """One linked package: its import path and the module it comes from."""

    package: str
    module: str = ""  # "" for the standard library
    version: str = ""  # "" for the standard library and the main module
    replace: str = ""  # the replacement (PATH@VERSION, or a directory), "" if none

    @property
    def module_version(self) -> str:
        return f"{self.module}@{self.version}" if self.version else self.module

    def line(self) -> str:
        words = [self.package, self.module_version] if self.module else [self.package]
        return " ".join(words) + (f" => {self.replace}" if self.replace else "")


def from_graph(packages: Sequence[Mapping[str, Any]]) -> tuple[Dep, ...]:
    """The linked packages of a ``go list -e -json -deps`` answer, sorted; DepsListError
    naming the first package go could not load."""
    deps = []
    for p in packages:
        error = p.get("Error") or {}
        if error:
            where = p.get("ImportPath", "?")
            said = " ".join(str(error.get("Err", "")).split())  # go's lines, on one
            raise DepsListError(f"go list: {visible(where)}: {visible(said)}")
        deps.append(_dep(p))
    return tuple(sorted(set(deps)))


def _dep(package: Mapping[str, Any]) -> Dep:
    path = str(package["ImportPath"])
    module = package.get("Module") or {}
    if package.get("Standard") or not module:
        return Dep(path)
    version = "" if module.get("Main") else str(module.get("Version") or "")
    replaced = module.get("Replace") or {}
    replace = ""
    if replaced:
        where, at = str(replaced.get("Path", "")), str(replaced.get("Version") or "")
        replace = f"{where}@{at}" if at else where
    return Dep(path, str(module.get("Path", "")), version, replace)


def render(deps: Iterable[Dep], vid: str, env: Mapping[str, str], tags: Sequence[str]) -> str:
    """The list file's text: a header saying what it is, then one package a line."""
    said = " ".join(f"{k}={v}" for k, v in sorted(env.items()))
    head = [
        f"# {vid}: the packages its go build links (go list -deps; {said}; "
        f"tags: {','.join(tags) or 'none'})",
        "# written by `buildopt deps --update`; `buildopt gate` fails on a package not listed",
    ]
    return "\n".join([*head, *(d.line() for d in deps)]) + "\n"


def parse(data: bytes, where: str) -> tuple[Dep, ...]:
    """The packages of a list file (where: its name, for the messages); DepsListError on the
    first line that is not one, on a package listed twice, and on text that is not UTF-8."""
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise DepsListError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    seen: dict[str, int] = {}
    deps = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")  # a checkout with CRLF line ends
        if not line.strip() or line.startswith("#"):
            continue
        dep = _parsed(line, f"{where}:{number}")
        if dep.package in seen:
            raise DepsListError(
                f"{where}:{number}: {visible(dep.package)} is listed twice (line "
                f"{seen[dep.package]} too)"
            )
        seen[dep.package] = number
        deps.append(dep)
    return tuple(sorted(deps))


def _parsed(line: str, where: str) -> Dep:
    control = next((c for c in line if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise DepsListError(
            f"{where}: a control character (U+{ord(control):04X}) in {visible(line)!r}"
        )
    found = _LINE.fullmatch(line)
    if found is None:
        raise DepsListError(f"{where}: expected {FORMAT}, got {visible(line)!r}")
    package, module, version, replace = found.group("package", "module", "version", "replace")
    return Dep(package, module or "", version or "", replace or "")


class Drift(msgspec.Struct, frozen=True):
    """How the linked packages differ from a list."""

    added: tuple[Dep, ...]  # linked, not listed
    removed: tuple[Dep, ...]  # listed, no longer linked
    changed: tuple[tuple[Dep, Dep], ...]  # (listed, linked): the same package, another module

    @property
    def none(self) -> bool:
        return not (self.added or self.removed or self.changed)


def drift(listed: Iterable[Dep], linked: Iterable[Dep]) -> Drift:
    old = {d.package: d for d in listed}
    new = {d.package: d for d in linked}
    return Drift(
        added=tuple(sorted(d for p, d in new.items() if p not in old)),
        removed=tuple(sorted(d for p, d in old.items() if p not in new)),
        changed=tuple((old[p], d) for p, d in sorted(new.items()) if p in old and old[p] != d),
    )


def file_name(vid: str) -> str:
    """The list's path in deps/PROFILE/ for a build id: the id itself (letters, digits and
    ``. _ - + @``, as profiles allow) with any other character percent-encoded, then ``.txt``;
    an id ``POINT/PROGRAM`` (a profile of several programs) is a folder per point holding a
    list per program, ``static@linux-arm64/billing-ctl.txt``. ``id_of`` gives the id back."""
    name = _encoded(vid)
    for part in name.split("/"):
        if len(part.encode()) > NAME_MAX:
            raise DepsListError(
                f"{visible(vid)}: its dependency list's file name would be "
                f"{len(part.encode())} bytes, more than a file system holds ({NAME_MAX}): "
                "shorten the variant's name"
            )
    return name


def _encoded(vid: str) -> str:
    point, slash, program = vid.partition("/")
    if slash and point not in ("", ".", ".."):  # a folder of the point: never one above
        return f"{quote(point, safe=_KEPT)}/{quote(program, safe=_KEPT)}{SUFFIX}"
    return quote(vid, safe=_KEPT) + SUFFIX


def id_of(name: str) -> str | None:
    """The variant id a list's path in deps/PROFILE/ stands for (``ID.txt``, or
    ``POINT/PROGRAM.txt``); None for a path no id has."""
    if not name.endswith(SUFFIX) or any(part.startswith(".") for part in name.split("/")):
        return None
    try:
        vid = unquote(name.removesuffix(SUFFIX), errors="strict")
    except UnicodeDecodeError:
        return None
    return vid if _encoded(vid) == name else None


# --- the gate ----------------------------------------------------------------------------------

DEPS = "dependency list"  # the budget name of its checks: always on when deps/PROFILE/ exists
UPDATE = "buildopt deps --update"
NOT_IN_RECORD = "not in the record's binary"


class Judged(msgspec.Struct, frozen=True):
    """One built variant's list and what its go build links now."""

    vid: str
    listed_as: str  # the list's path, as the rows name it (deps/PROFILE/ID.txt)
    listed: tuple[Dep, ...] | None  # None: no list for this id
    linked: tuple[Dep, ...]
    graph: Sequence[Mapping[str, Any]]  # go list -deps -json, for the import chains
    cost: Callable[[str], WhyCost | None]  # a package's cost in the recorded binary
    cut: Callable[[str], CutSaving | None]  # what removing every import of it saves there


def deps_checks(judged: Judged) -> list[Check]:
    """FAIL per package entering the build that the list lacks (its chain from the main
    package, and what it costs: what removing it saves, as ``why`` estimates it, or the bytes
    it and the new packages below it own), one FAIL for a variant
    without a list, WARN for packages that left and for modules at another version; PASS
    with the count when the list is current."""
    vid, limit = judged.vid, word_figure(judged.listed_as)
    if judged.listed is None:
        note = f"no list {judged.listed_as}: {UPDATE} writes it"
        return [Check(DEPS, vid, "deps", "fail", word_figure("missing"), limit, None, note=note)]
    found = drift(judged.listed, judged.linked)
    if found.none:
        return [Check(DEPS, vid, "deps", "pass", count_figure(len(judged.linked)), limit, None)]
    checks = _added_checks(judged, found.added, limit)
    if found.removed:
        names = ", ".join(d.package for d in found.removed)
        note = f"no longer linked: {names} ({UPDATE} drops them)"
        actual = count_figure(len(found.removed))
        checks.append(Check(DEPS, vid, "left_packages", "warn", actual, limit, None, note=note))
    for old, new in found.changed:
        note = f"{old.package}: {old.line()} -> {new.line()} ({UPDATE} records it)"
        actual, was = word_figure(new.module_version or "std"), word_figure(old.module_version)
        check = f"module[{new.package}]"
        checks.append(Check(DEPS, vid, check, "warn", actual, was, None, note=note))
    return checks


def unlinked(vid: str, listed_as: str, why: str) -> Check:
    """A FAIL for a variant whose linked packages go list could not give (a broken source)."""
    note = f"go list failed, so the list was not checked: {why}"
    return Check(DEPS, vid, "deps", "fail", NOTHING, word_figure(listed_as), None, note=note)


def _added_checks(judged: Judged, added: Sequence[Dep], limit: Figure) -> list[Check]:
    """One FAIL per new package that a listed package imports (its shortest chain from the
    main package goes through no other new package), with the new packages below it. Its
    figure is what removing it saves (the packages only it brings in, ``why``'s estimate), or
    without that (a record without the attribution, a package every Go binary links) what the
    new packages own."""
    main = next((p["ImportPath"] for p in reversed(judged.graph) if p.get("Name") == "main"), "")
    new = {d.package for d in added}
    chain_of = {p: import_chain(judged.graph, main, p) if main else None for p in sorted(new)}
    below: dict[str, list[str]] = {}
    for package, chain in chain_of.items():  # the shortest chains share their first steps
        entry = next((p for p in chain or () if p in new), package)
        below.setdefault(entry, []).append(package)
    checks = []
    for entry, group in below.items():
        chain = chain_of[entry]
        more = [p for p in group if p != entry]
        notes = [" -> ".join(chain) if chain else "no import chain from the main package"]
        if more:
            notes.append(f"brings {len(more)} more new packages: {', '.join(more)}")
        cut = judged.cut(entry)
        if cut is not None and cut.attributed_bytes:
            actual = Figure(cut.bytes, "bytes", change=True)
            notes.append(_about(cut))
        elif cut is not None:  # a binary built before the import: it has none of them
            actual = NOTHING
            notes.append(
                f"{NOT_IN_RECORD}, built before the import?: build, then its cost is shown"
            )
        else:
            actual = _owned(judged, group, notes)
        notes.append(f"{UPDATE} lists them")
        checks.append(
            Check(
                DEPS,
                judged.vid,
                f"new_package[{entry}]",
                "fail",
                actual,
                limit,
                None,
                note="; ".join(notes),
                chain=chain or (),
            )
        )
    return checks


def _about(cut: CutSaving) -> str:
    """The figure's reading, in why's words: an estimate of what removing the package saves."""
    s = "" if cut.packages == 1 else "s"
    return (
        f"about {format_size(cut.bytes, signed=True)}: what removing it saves, "
        f"{cut.packages} package{s} only it brings in (buildopt why's estimate)"
    )


def _owned(judged: Judged, group: Sequence[str], notes: list[str]) -> Figure:
    """What the new packages own in the recorded binary (notes say when only their code)."""
    known = [c for c in map(judged.cost, group) if c is not None]
    if known and any(c.kind == "code" for c in known):
        notes.append("code bytes only: the record has no whole-file attribution")
    if not known:
        notes.append(f"{NOT_IN_RECORD}: build, then its cost is shown")
    return Figure(sum(c.bytes for c in known), "bytes", change=True) if known else NOTHING
