"""Where a command's output files go: the one rule every output option follows.

An output (``report -o``, ``gate --junit`` and ``--markdown``, ``merge -o``, ``scan --sarif``,
``diff --markdown``, ``build --record``) is written to a temporary file beside its target and
renamed into place - or, for GitHub's step summary, appended to - only when the target is absent
or a regular file that is none of the command's inputs: its profiles (and their tags files), the
records it reads, the binaries they describe, the sources it scans. ``-`` is stdout. Anything
else (a device, a FIFO, a directory, a link to an input) is one line, exit 2, and the target is
left as it was.

A symbolic link is followed: the rule applies to the file it leads to, which is replaced (the
link stays). An input is recognised by its resolved path and by its device and inode, so a
symbolic or a hard link to it is refused too.

Whatever the command reads, no output replaces a profile (a ``.toml`` in a ``profiles`` folder)
or a buildopt JSON document (``"schema": "buildopt.*"`` at its start: a build or image record,
an inspect or compare document) - only a record replaces a build record (``merge -o`` and
``build --record`` run again). ``scan --sarif`` and ``diff --markdown`` read no profile, and
wrote over one.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import msgspec

from buildopt.errors import UsageError
from buildopt.inputs import KINDS, NotRegularFile, open_regular
from buildopt.system.files import append_text, atomic_write_text

STDOUT = "-"
BUILD_RECORD = "buildopt.build"
DOCUMENT = re.compile(rb'\A\s*\{\s*"schema"\s*:\s*"(buildopt\.[A-Za-z0-9_.-]+)/')


class OutputError(UsageError):
    """An output option names something buildopt will not write over (exit 2)."""


class Protected(Protocol):
    """Something a command reads, which none of its outputs may replace."""

    def how(self, target: Path, info: os.stat_result) -> str | None:
        """How target (resolved; info is its stat) is this input - "that is " when it is the
        very path, "a hard link to " - or None when it is not."""

    def describe(self) -> str:
        """What it is, for the message: ``the profile (/w/profiles/p.toml)``."""


class Input(msgspec.Struct, frozen=True):
    """A file the command reads: a profile, a build record, a binary."""

    path: Path
    what: str  # "the profile", "the build record", "the binary of a@linux-amd64", ...

    def how(self, target: Path, info: os.stat_result) -> str | None:
        try:
            mine = os.stat(self.path)
        except OSError:  # not there (yet): only its name can match
            return THE_SAME if _resolved(self.path) == target else None
        if (mine.st_dev, mine.st_ino) != (info.st_dev, info.st_ino):
            return None
        return THE_SAME if _resolved(self.path) == target else "a hard link to "

    def describe(self) -> str:
        return f"{self.what} ({self.path})"


THE_SAME = "that is "
GO_SOURCE_NAMES = frozenset({"go.mod", "go.sum", "go.work", "go.work.sum"})


class GoSources(msgspec.Struct, frozen=True):
    """The Go sources below a module root (.go files, go.mod, go.sum): matched by name, so
    that an existing record or report is checked without walking the module (walked only for
    a target with several hard links)."""

    root: Path

    def how(self, target: Path, info: os.stat_result) -> str | None:
        root = _resolved(self.root)
        if root in target.parents and _is_source(target.name):
            return THE_SAME
        sources = (Path(d, n) for d, _, names in os.walk(root) for n in filter(_is_source, names))
        if info.st_nlink > 1 and _one_is(sources, info, follow=False):  # (the walk only then)
            return "a hard link to "
        return None

    def describe(self) -> str:
        return f"a Go source file of the module at {self.root}"


class Output(msgspec.Struct, frozen=True):
    """Where one output option writes: a file (resolved) or stdout."""

    option: str  # "--junit", "-o"
    given: str  # as given on the command line
    path: Path | None  # None: stdout
    named: Path | None = None  # the path as given (before symbolic links were followed)
    may_be_stdout: bool = True  # whether "-" would have been stdout (for the message)
    record: bool = False  # it is a build record (merge -o, build --record)
    cwd: Path | None = None  # where it was asked: its project's profiles are kept

    @property
    def to_stdout(self) -> bool:
        return self.path is None

    def check(self, inputs: Iterable[Protected] = ()) -> None:
        """OutputError unless the target is absent, or a regular file that is none of inputs
        (which are looked at only when the target exists)."""
        if self.path is None:
            return
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return
        except OSError as exc:  # a parent that is a file, a folder that cannot be read
            raise self.refused(f"cannot write {self.path}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(info.st_mode):
            kind = KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            hint = "; - is stdout" if self.may_be_stdout else ""
            raise self.refused(
                f"{kind}, not a file to write (an output is a new file or replaces a regular "
                f"one{hint})"
            )
        kept = buildopt_file(self.path, info, self.cwd)
        if kept is not None and not (self.record and kept == f"a {BUILD_RECORD} document"):
            raise self.refused(f"that is {kept}: an output never replaces one")
        for item in inputs:
            how = item.how(self.path, info)
            if how is not None:
                if how == THE_SAME and self.named is not None and self.named.is_symlink():
                    how = "a symbolic link to "
                raise self.refused(
                    f"{how}{item.describe()}, which this command reads: "
                    "an output never replaces an input"
                )

    def refused(self, why: str) -> OutputError:
        return OutputError(f"{self.option} {self.given}: {why}")

    def write(self, text: str, inputs: Iterable[Protected] = ()) -> None:
        """text as the whole file (checked again: the run may have taken minutes), or on stdout."""
        if self.path is None:
            _to_stdout(text)
            return
        self.check(inputs)
        atomic_write_text(self.path, text)

    def append(self, text: str, inputs: Iterable[Protected] = ()) -> None:
        """text added at the end of the file (GitHub's step summary), or on stdout."""
        if self.path is None:
            _to_stdout(text if text.endswith("\n") else text + "\n")
            return
        self.check(inputs)
        append_text(self.path, text)


def output_to(
    option: str,
    given: str,
    cwd: Path,
    inputs: Iterable[Protected] = (),
    *,
    stdout: bool = True,
    record: bool = False,
) -> Output:
    """The output an option names (checked now against the inputs known so far, so that a
    long run is not wasted on a target it will refuse); ``-`` is stdout where stdout may be."""
    if given == STDOUT and stdout:
        return Output(option, given, None)
    if given == STDOUT:
        raise OutputError(f"{option} -: this output cannot be stdout (it is read and updated)")
    named = cwd / given
    try:
        path = named.resolve()
    except (OSError, RuntimeError) as exc:  # a symbolic link loop
        raise OutputError(f"{option} {given}: cannot resolve: {exc}") from None
    out = Output(option, given, path, named, may_be_stdout=stdout, record=record, cwd=cwd)
    out.check(inputs)
    return out


def stdout_taken(outputs: Sequence[Output | None], *, json: bool = False) -> bool:
    """Whether an output file is stdout (then the command's table goes to stderr); OutputError
    when two things want stdout (--json and an output ``-``, or two outputs ``-``) or two
    outputs name one file."""
    given = [o for o in outputs if o is not None]
    on_stdout = [f"{o.option} -" for o in given if o.to_stdout] + (["--json"] if json else [])
    if len(on_stdout) > 1:
        raise OutputError(f"{' and '.join(on_stdout)}: only one of them can be stdout")
    seen: dict[Path, Output] = {}
    for out in given:
        first = out if out.path is None else seen.setdefault(out.path, out)
        if first is not out:
            raise OutputError(
                f"{first.option} {first.given} and {out.option} {out.given}: the same file"
            )
    return any(o.to_stdout for o in given)


def buildopt_file(path: Path, info: os.stat_result, cwd: Path | None = None) -> str | None:
    """What buildopt file an existing path is - a profile, by its place or as a link to one of
    the profiles cwd's project has; a buildopt JSON document, by its first bytes - or None."""
    if path.suffix == ".toml" and path.parent.name == "profiles":
        return "a profile"
    if cwd is not None and info.st_nlink > 1 and _is_a_profile_of(cwd, info):
        return "a hard link to a profile"
    try:
        with open_regular(path) as f:
            found = DOCUMENT.match(f.read(512))
    except (OSError, NotRegularFile):
        return None
    return f"a {found.group(1).decode()} document" if found else None


def _is_a_profile_of(cwd: Path, info: os.stat_result) -> bool:
    """Whether info's file is one of the profiles/*.toml of cwd or the nearest folder above."""
    for folder in (cwd, *cwd.parents):
        profiles = folder / "profiles"
        if profiles.is_dir():
            return _one_is(profiles.glob("*.toml"), info, follow=True)
    return False


def _one_is(paths: Iterable[Path], info: os.stat_result, *, follow: bool) -> bool:
    """Whether one of paths (a symbolic link followed or not) is info's file."""
    for path in paths:
        with contextlib.suppress(OSError):
            mine = path.stat() if follow else path.lstat()
            if (mine.st_dev, mine.st_ino) == (info.st_dev, info.st_ino):
                return True
    return False


def _to_stdout(text: str) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode())
    sys.stdout.buffer.flush()


def _is_source(name: str) -> bool:
    return name.endswith(".go") or name in GO_SOURCE_NAMES


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path


def editable_profile(path: Path) -> os.stat_result:
    """path's stat if advise --write may edit it: a regular file with no other name; a
    symbolic link (whose target another project may share), a FIFO, a device or a hard-linked
    file is refused (exit 2), before anything is built."""
    try:
        info = path.lstat()
    except OSError as exc:
        raise OutputError(f"{path}: cannot read: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"{path}: is a symbolic link; advise --write edits a profile file only")
    if not stat.S_ISREG(info.st_mode):
        kind = KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise OutputError(f"{path}: is {kind}; advise --write edits a regular file only")
    if info.st_nlink > 1:
        raise OutputError(f"{path}: has other hard links; advise --write would break them")
    return info


def rewrite_profile(path: Path, added: str) -> None:
    """The profile at path with text added at its end, every byte before kept (``advise
    --write``: the one command that edits a profile): written atomically with the file's own
    mode, if editable_profile allows."""
    info = editable_profile(path)
    with open_regular(path) as f:
        text = f.read().decode("utf-8")
    end = "\r\n" if "\r\n" in text else "\n"  # the file's own line ends (a CRLF checkout)
    joined = text if not text or text.endswith("\n") else text + end
    atomic_write_text(path, joined + end + added.replace("\r\n", "\n").replace("\n", end))
    os.chmod(path, stat.S_IMODE(info.st_mode))
