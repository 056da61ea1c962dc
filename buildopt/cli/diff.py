"""``buildopt diff OLD NEW``: what changed between two binaries, in bloat-o-meter's shape.

Either side is an ELF file, a ``buildopt inspect --json`` document or a build record. Two
files (or documents of one binary each) make one diff; records are paired by variant id, and
an id on one side only is listed as such - never counted as removed or added bytes.

``--by function`` (the default) diffs every function and data symbol: from .symtab (sizes as
``go tool nm -size`` gives them) when both files have one, else functions from .gopclntab on
both sides (padding included) and no data. It needs the binaries themselves: a record's
binary in place (same SHA-256 as recorded), not an inspect document. ``--by package`` diffs
the file bytes each package owns (inspect --attribution; the code alone when a side has no
attribution), ``--by module`` the same rolled up by module, ``--by section`` the sections.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from buildopt.analysis.diff import SizeDiff, diff_sizes, rollup
from buildopt.binary.facts import Inspection
from buildopt.errors import EXIT_OK, UsageError
from buildopt.output import diff as show
from buildopt.record.model import DIFF_SCHEMA, Build, DiffEntry, DiffReport, DiffRow

VIEWS = ("function", "package", "module", "section")


@dataclass(frozen=True)
class Subject:
    """One binary of a side: its id, its facts if known, the file if it can be read."""

    id: str
    origin: str
    path: Path | None = None  # an ELF file to read symbols (and facts) from
    facts: Inspection | None = None  # when a document or a record gave them


class InputError(UsageError):
    """A side that is neither an ELF file, an inspect document nor a build record."""


def diff_command(
    files: Sequence[str],
    *,
    by: str = "function",
    as_json: bool = False,
    markdown: str | None = None,
    rows: int | None = None,
    cwd: Path | None = None,
) -> int:
    from buildopt.output.console import print_json

    if len(files) != 2:
        raise UsageError("diff: give two files: OLD NEW (ELF files, inspect documents or records)")
    if by not in VIEWS:
        raise UsageError(f"--by {by}: expected one of {', '.join(VIEWS)}")
    if rows is not None and rows < 0:
        raise UsageError(f"--rows {rows}: expected 0 or more")
    cwd = cwd or Path.cwd()
    old, new = (_subjects(cwd / f, f) for f in files)
    pairs, only_old, only_new = _pair(old, new)
    entries, diffs = [], []
    for a, b in pairs:
        sizes_a, sizes_b, source, note = _sizes(a, b, by)
        diffs.append(diff_sizes(sizes_a, sizes_b, by))
        entries.append(_entry(a, b, diffs[-1], source, note))
    report = DiffReport(
        schema=DIFF_SCHEMA, diffs=tuple(entries), only_old=tuple(only_old), only_new=tuple(only_new)
    )
    if markdown:
        _write_markdown(markdown, report, diffs, by)
    if as_json:
        print_json(report)
        return EXIT_OK
    several = len(pairs) > 1 or only_old or only_new
    for (a, _), entry, diff in zip(pairs, entries, diffs, strict=True):
        if several:
            sys.stdout.write(f"\n== {a.id} ==\n")
        if entry.note:
            sys.stdout.write(f"({entry.note})\n")
        sys.stdout.write(show.bloat_o_meter(diff, rows))
    for line in [*show.one_sided(only_old, files[0]), *show.one_sided(only_new, files[1])]:
        sys.stdout.write(line + "\n")
    return EXIT_OK


def _subjects(path: Path, given: str) -> list[Subject]:
    """The binaries one side names."""
    from buildopt.inputs import NotRegularFile, open_regular

    try:
        with open_regular(path) as f:
            head = f.read(4)
    except NotRegularFile as exc:
        raise InputError(f"{given}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{given}: cannot read: {exc.strerror or exc}") from None
    if head == b"\x7fELF":
        return [Subject(path.name, given, path=path)]
    return _document(path, given)


def _document(path: Path, given: str) -> list[Subject]:
    import msgspec

    from buildopt.inputs import read_limited
    from buildopt.record import store

    try:
        data = read_limited(path, store.MAX_RECORD_BYTES)
        head = json.loads(data)
    except (ValueError, OSError) as exc:
        raise InputError(
            f"{given}: neither an ELF file, an inspect document nor a build record ({exc})"
        ) from None
    if isinstance(head, dict) and head.get("schema") == "buildopt.inspect/1":
        out = []
        for i, binary in enumerate(head.get("binaries") or ()):
            if not isinstance(binary, dict) or "error" in binary:
                continue
            try:
                facts = msgspec.convert(binary, Inspection)
            except msgspec.ValidationError as exc:
                raise InputError(f"{given}: binaries[{i}]: {exc}") from None
            out.append(Subject(os.path.basename(facts.path), given, facts=facts))
        return out
    try:
        record = store.decode(data, path)
    except store.RecordError as exc:
        raise InputError(
            f"{given}: neither an ELF file, an inspect document nor a build record: {exc.message}"
        ) from None
    subjects = []
    for build in record.builds:
        if build.ok and build.inspect is not None:
            in_place = Path(build.output) if build.output and _in_place(build) else None
            subjects.append(Subject(build.id, given, path=in_place, facts=build.inspect))
    return subjects


def _in_place(build: Build) -> bool:
    """Whether the record's binary is there and still the one it describes."""
    from buildopt.record.integrity import changed

    return bool(build.output) and Path(build.output or "").is_file() and changed(build) is None


def _pair(
    old: list[Subject], new: list[Subject]
) -> tuple[list[tuple[Subject, Subject]], list[str], list[str]]:
    if len(old) == 1 and len(new) == 1:
        return [(old[0], new[0])], [], []
    a, b = {s.id: s for s in old}, {s.id: s for s in new}
    pairs = [(a[i], b[i]) for i in a if i in b]
    return pairs, [i for i in a if i not in b], [i for i in b if i not in a]


def _facts(subject: Subject) -> Inspection:
    from buildopt.binary.elf.reader import NotElfError
    from buildopt.binary.inspect import inspect_file

    if subject.facts is not None:
        return subject.facts
    if subject.path is None:
        raise InputError(f"{subject.origin}: {subject.id}: no facts and no binary")
    try:
        return inspect_file(subject.path, lambda: "0" * 64, attribution=True)
    except NotElfError as exc:
        raise InputError(exc.message) from None


def _sizes(a: Subject, b: Subject, by: str) -> tuple[dict[str, int], dict[str, int], str, str]:
    """The two name -> size maps of the view, where they came from, and a note."""
    if by == "function":
        return _symbols(a, b)
    fa, fb = _facts(a), _facts(b)
    if by == "section":
        return fa.section_sizes(), fb.section_sizes(), "sections", ""
    for subject, facts in ((a, fa), (b, fb)):
        if facts.go is not None and not facts.packages:  # every Go program has runtime
            raise InputError(
                f"{subject.path or subject.origin}: the Go function table (.gopclntab) is "
                f"unreadable (buildopt inspect says why): use --by section"
            )
    whole = fa.attribution is not None and fb.attribution is not None
    note = "" if whole else "a side has no attribution: code bytes per package"
    pa, pb = fa.package_sizes(whole), fb.package_sizes(whole)
    source = "attribution" if whole else "code"
    if whole and fa.linking.stripped != fb.linking.stripped:
        # a stripped file's data has no symbols, so no package: leave it out on both sides
        pa, pb = _without_data(fa), _without_data(fb)
        note = "a side is stripped: code and pclntab bytes per package, no data"
    if by == "package":
        return pa, pb, source, note
    return _modules(fa, pa), _modules(fb, pb), source, note


def _without_data(facts: Inspection) -> dict[str, int]:
    whole = facts.attribution
    if whole is None:  # pragma: no cover - callers check
        return facts.package_sizes(whole=False)
    return {p.package: p.code_bytes + p.pclntab_bytes for p in whole.by_package}


def _modules(facts: Inspection, packages: Mapping[str, int]) -> dict[str, int]:
    return rollup(packages, facts.package_modules())


def _symbols(a: Subject, b: Subject) -> tuple[dict[str, int], dict[str, int], str, str]:
    from buildopt.binary.elf.reader import NotElfError
    from buildopt.binary.symbols import read_symbol_sizes

    paths = []
    for s in (a, b):
        if s.path is None:
            raise InputError(
                f"{s.origin}: {s.id}: no binary to read symbols from (an inspect document, "
                "or a record whose binary was replaced): use --by package, module or section"
            )
        paths.append(s.path)
    try:
        sa, sb = read_symbol_sizes(paths[0]), read_symbol_sizes(paths[1])
        note = ""
        if sa.source != sb.source:  # one is stripped: functions from .gopclntab on both sides
            sa = read_symbol_sizes(paths[0], functions_from="pclntab")
            sb = read_symbol_sizes(paths[1], functions_from="pclntab")
            note = "a side is stripped: functions from .gopclntab on both (padding included)"
            return dict(sa.functions), dict(sb.functions), "pclntab", note
    except NotElfError as exc:
        raise InputError(exc.message) from None
    return {**sa.data, **sa.functions}, {**sb.data, **sb.functions}, sa.source, note


def _entry(a: Subject, b: Subject, diff: SizeDiff, source: str, note: str) -> DiffEntry:
    return DiffEntry(
        id=a.id if a.id == b.id else f"{a.id} -> {b.id}",
        old=str(a.path or a.origin),
        new=str(b.path or b.origin),
        by=diff.kind,
        source=source,
        summary=show.summary_line(diff),
        total=show.total_line(diff),
        added=diff.added,
        removed=diff.removed,
        grown=diff.grown,
        shrunk=diff.shrunk,
        up=diff.up,
        down=diff.down,
        before=diff.before,
        after=diff.after,
        rows=tuple(DiffRow(name=r.name, old=r.old, new=r.new, delta=r.delta) for r in diff.rows),
        note=note,
    )


def _write_markdown(path: str, report: DiffReport, diffs: Sequence[SizeDiff], by: str) -> None:
    from buildopt.system.files import atomic_write_text

    parts = [f"## buildopt diff (by {by})\n"]
    for entry, diff in zip(report.diffs, diffs, strict=True):
        parts.append(show.markdown(entry.id, diff))
    for i in report.only_old:
        parts.append(f"- only in the old input: `{i}`\n")
    for i in report.only_new:
        parts.append(f"- only in the new input: `{i}`\n")
    try:
        atomic_write_text(Path(path), "\n".join(parts))
    except OSError as exc:
        raise UsageError(f"--markdown {path}: cannot write: {exc.strerror or exc}") from None
