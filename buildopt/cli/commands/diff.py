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
from pathlib import Path

import msgspec

from buildopt.analysis.diff import FileSizes, SizeDiff, diff_sizes, rollup
from buildopt.binary.facts import Inspection
from buildopt.cli.values import count
from buildopt.errors import EXIT_OK, UsageError
from buildopt.output import diff as show
from buildopt.record.model import DIFF_SCHEMA, Build, DiffEntry, DiffReport, DiffRow
from buildopt.system.outputs import Input, Output, output_to, stdout_taken

VIEWS = ("function", "package", "module", "section")


class Subject(msgspec.Struct, frozen=True):
    """One binary of a side: its id, its facts if known, the file if it can be read."""

    id: str
    origin: str
    path: Path | None = None  # an ELF file to read symbols (and facts) from
    facts: Inspection | None = None  # when a document or a record gave them


class InputError(UsageError):
    """A side that is neither an ELF file, an inspect document nor a build record."""


def diff(
    *,
    file: list[str] | None = None,
    by: str = "",
    categories: bool = False,
    rows: str = "",
    json: bool = False,
    markdown: str = "",
) -> int:
    from buildopt.output.console import print_json

    files, by, most = file or [], by or "function", count("--rows", rows, None)
    if len(files) != 2:
        raise UsageError("diff: give two files: OLD NEW (ELF files, inspect documents or records)")
    if by not in VIEWS:
        raise UsageError(f"--by {by}: expected one of {', '.join(VIEWS)}")
    if categories and by != "function":
        raise UsageError(f"-c (Function, Data and RO Data tables) needs --by function, not {by}")
    cwd = Path.cwd()
    named = [Input(cwd / f, "a file of the diff") for f in files]
    md_out = output_to("--markdown", markdown, cwd, named) if markdown else None
    out = sys.stderr if stdout_taken([md_out], json=json) else sys.stdout
    old, new = (_subjects(cwd / f, f) for f in files)
    pairs, only_old, only_new = _pair(old, new)
    compared = [_compare(a, b, by, categories) for a, b in pairs]
    report = DiffReport(
        schema=DIFF_SCHEMA,
        diffs=tuple(e for c in compared for e in c.entries),
        only_old=tuple(only_old),
        only_new=tuple(only_new),
    )
    if md_out:
        binaries = [Input(s.path, f"the binary of {s.id}") for s in (*old, *new) if s.path]
        _write_markdown(md_out, compared, report, by, [*named, *binaries])
    if json:
        print_json(report)
        return EXIT_OK
    several = len(pairs) > 1 or only_old or only_new
    for (a, _), pair in zip(pairs, compared, strict=True):
        if several:
            out.write(f"\n== {a.id} ==\n")
        if pair.entries[0].note:
            out.write(f"({pair.entries[0].note})\n")
        for each in pair.diffs:
            out.write(show.bloat_o_meter(each, most))
        out.write(pair.files.line() + "\n")
    for line in [*show.one_sided(only_old, files[0]), *show.one_sided(only_new, files[1])]:
        out.write(line + "\n")
    return EXIT_OK


class Table(msgspec.Struct, frozen=True):
    """One bloat-o-meter table of a pair: its header word ("" for the view's) and sizes."""

    heading: str
    old: dict[str, int]
    new: dict[str, int]


class Compared(msgspec.Struct, frozen=True):
    """One pair of binaries: a diff per table, the JSON entries, the two files' sizes."""

    diffs: tuple[SizeDiff, ...]
    entries: tuple[DiffEntry, ...]
    files: FileSizes


def _compare(a: Subject, b: Subject, by: str, categories: bool) -> Compared:
    tables, source, note = _sizes(a, b, by, categories)
    files = FileSizes(_file_size(a), _file_size(b))
    diffs = tuple(diff_sizes(t.old, t.new, by, t.heading) for t in tables)
    entries = tuple(_entry(a, b, d, source=source, note=note, files=files) for d in diffs)
    return Compared(diffs, entries, files)


def _file_size(subject: Subject) -> int:
    """The whole file's bytes: as recorded (inspect document, record), else as it is now."""
    if subject.facts is not None:
        return subject.facts.size
    if subject.path is None:  # pragma: no cover - a subject has facts or a file
        raise InputError(f"{subject.origin}: {subject.id}: no facts and no binary")
    return subject.path.stat().st_size


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
    except RecursionError:
        raise InputError(
            f"{given}: neither an ELF file, an inspect document nor a build record (nested too "
            "deeply)"
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
            f"{given}: neither an ELF file, an inspect document nor a build record: "
            + exc.message.removeprefix(f"{path}: ")  # (the file is named once)
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


def _sizes(a: Subject, b: Subject, by: str, categories: bool) -> tuple[list[Table], str, str]:
    """The view's tables of two name -> size maps, where they came from, and a note."""
    if by == "function":
        return _symbols(a, b, categories)
    sa, sb, source, note = _view(a, b, by)
    return [Table("", sa, sb)], source, note


def _view(a: Subject, b: Subject, by: str) -> tuple[dict[str, int], dict[str, int], str, str]:
    """The two name -> size maps of a package, module or section view."""
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


def _symbols(a: Subject, b: Subject, categories: bool) -> tuple[list[Table], str, str]:
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
        if sa.source != sb.source:  # one is stripped: functions from .gopclntab on both sides
            sa = read_symbol_sizes(paths[0], functions_from="pclntab")
            sb = read_symbol_sizes(paths[1], functions_from="pclntab")
            note = "a side is stripped: functions from .gopclntab on both (padding included)"
            return (
                _tables(sa.functions, {}, {}, sb.functions, {}, {}, categories=categories),
                "pclntab",
                note,
            )
    except NotElfError as exc:
        raise InputError(exc.message) from None
    tables = _tables(
        sa.functions, sa.data, sa.ro_data, sb.functions, sb.data, sb.ro_data, categories=categories
    )
    return tables, sa.source, ""


def _tables(*maps: Mapping[str, int], categories: bool) -> list[Table]:
    """bloat-o-meter's tables of two files' (functions, data, ro_data): one of every symbol,
    or with -c Function, Data and RO Data."""
    old, new = maps[:3], maps[3:]
    if not categories:
        return [Table("", _summed(old), _summed(new))]
    names = ("Function", "Data", "RO Data")
    return [Table(n, dict(o), dict(w)) for n, o, w in zip(names, old, new, strict=True)]


def _summed(maps: Sequence[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for sizes in maps:
        for name, size in sizes.items():
            out[name] = out.get(name, 0) + size
    return out


def _entry(
    a: Subject, b: Subject, diff: SizeDiff, *, source: str, note: str, files: FileSizes
) -> DiffEntry:
    return DiffEntry(
        id=a.id if a.id == b.id else f"{a.id} -> {b.id}",
        old=str(a.path or a.origin),
        new=str(b.path or b.origin),
        by=diff.kind,
        table=diff.heading,
        source=source,
        summary=diff.summary_line(),
        total=diff.total_line(),
        added=diff.added,
        removed=diff.removed,
        grown=diff.grown,
        shrunk=diff.shrunk,
        up=diff.up,
        down=diff.down,
        before=diff.before,
        after=diff.after,
        file_before=files.before,
        file_after=files.after,
        file=files.line(),
        rows=tuple(DiffRow(name=r.name, old=r.old, new=r.new, delta=r.delta) for r in diff.rows),
        note=note,
    )


def _write_markdown(
    target: Output,
    compared: Sequence[Compared],
    report: DiffReport,
    by: str,
    reads: Sequence[Input],
) -> None:
    parts = [f"## buildopt diff (by {by})\n"]
    for pair in compared:
        tables = len(pair.diffs) > 1
        for entry, diff in zip(pair.entries, pair.diffs, strict=True):
            title = f"{entry.id} ({diff.heading})" if tables else entry.id
            last = diff is pair.diffs[-1]
            parts.append(show.markdown(title, diff, files=pair.files if last else None))
    for i in report.only_old:
        parts.append(f"- only in the old input: `{i}`\n")
    for i in report.only_new:
        parts.append(f"- only in the new input: `{i}`\n")
    target.write("\n".join(parts), reads)
