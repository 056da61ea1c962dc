"""The ``inspect`` command: facts of many ELF files, as JSON or as tables for people.

It imports nothing of buildopt.cli.common, so that ``buildopt inspect FILE...`` - run on many
files from scripts and CI - loads only what it uses: no profiles, no pathlib, no rich for
JSON. Files are decoded one after the other while a thread hashes them (docs/figures.md:
forked decoding and hashing processes gained nothing over this on 2 CPUs).
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from buildopt.cli.values import count
from buildopt.errors import EXIT_BAD_INPUT, EXIT_OK, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    import msgspec

    from buildopt.binary.facts import CompressedSizes, Inspection
    from buildopt.output.pipes import DataConsole
    from buildopt.record.model import Build


# A file's facts from its path and its digest's getter, as the flags ask (see _facts).
Reader = Callable[[str, Callable[[], str]], "Inspection"]
STOPS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


def inspect(
    *,
    file: list[str] | None = None,
    json: bool = False,
    packages: str = "",
    jobs: str = "",
    dwarf: bool = False,
    attribution: bool = False,
    modules: bool = False,
    symbols: str = "",
    compressed: bool = False,
    compressor_cli: bool = False,
) -> int:
    """``buildopt inspect``: facts of every file; a bad file is reported, the others still are.

    Files are decoded here one after the other while one thread hashes them, in order, from
    before pyelftools and msgspec load (so that the hashing overlaps those imports). Tables
    for people are printed one file at a time, as each is read.
    """
    files, rows = file or [], count("--packages", packages, 15)
    workers = count("--jobs", jobs, None, least=1) or _available_cpus()
    attribution, compressed = attribution or modules, compressed or compressor_cli
    symbols_shown = count("--symbols", symbols, 0)
    if not files:
        raise UsageError("inspect: name at least one ELF file")
    # Compressing is the long part (a minute for xz -9e of 58 MiB): done first, --jobs at a
    # time, with a line on stderr per size; the facts then carry the sizes.
    sizes = _compress(files, workers, compressor_cli) if compressed else {}
    read = functools.partial(
        _facts, dwarf=dwarf, attribution=attribution, symbols=symbols_shown, compressed=sizes
    )
    if not json:
        return _show_inspections(files, read, rows, modules=modules)
    binaries = []
    failed = False
    with _digests(files) as digests:
        _load_decoder()
        for path, digest in zip(files, digests, strict=True):
            facts = _inspect_one(read, path, digest)
            if isinstance(facts, str):  # the file could not be read: its error line
                failed = True
                print(f"error: {facts}", file=sys.stderr)
                facts = _failure(path, facts)
            binaries.append(facts)
    _write_report(binaries)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _failure(path: str, error: str) -> msgspec.Raw:
    import msgspec

    from buildopt.binary.facts import InspectFailure

    failure = InspectFailure(path=_utf8(path), error=_utf8(error))
    return msgspec.Raw(_encode()(failure))


def _utf8(text: str) -> str:
    """text with the bytes of a file name that are not UTF-8 (os.fsdecode's surrogates) as
    ``\\xff``: JSON text is UTF-8."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _write_report(binaries: Sequence[msgspec.Raw]) -> None:
    from buildopt.binary.facts import INSPECT_SCHEMA, InspectReport

    report = InspectReport(schema=INSPECT_SCHEMA, binaries=tuple(binaries))
    sys.stdout.flush()
    sys.stdout.buffer.write(_encode()(report) + b"\n")


def _available_cpus() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def _load_decoder() -> None:
    """Import what decoding needs (pyelftools, msgspec): ~30 ms, kept off ``buildopt`` start.

    Ctrl-C is held during the imports: one that lands while msgspec's C module initialises
    (importing datetime) can be lost - its error cleared - and the command then ran to its end
    with exit 0 (test_interrupted_inspect_leaves_no_process under load: one run in five; with
    the hold, none in 48). Held, the interrupt is raised when the imports are done."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        import msgspec  # noqa: F401

        import buildopt.binary.inspect  # noqa: F401
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _facts(
    path: str,
    digest: Callable[[], str],
    *,
    dwarf: bool,
    attribution: bool,
    symbols: int,
    compressed: Mapping[str, CompressedSizes],
) -> Inspection:
    """The file's facts as the flags ask, with its compressed sizes when they were computed
    (NotElfError when it cannot be read)."""
    import msgspec

    from buildopt.binary.inspect import inspect_file

    facts = inspect_file(path, digest, dwarf=dwarf, attribution=attribution, symbols=symbols)
    found = compressed.get(facts.path)
    return facts if found is None else msgspec.structs.replace(facts, compressed=found)


def _inspect_one(read: Reader, path: str, digest: Callable[[], str]) -> msgspec.Raw | str:
    """The file's facts, encoded (msgspec encodes in C, in field order), or why it cannot be
    read, or hashed (a file replaced by a directory, say, or removed after it was decoded)."""
    import msgspec

    from buildopt.binary.elf.reader import NotElfError
    from buildopt.inputs import NotRegularFile

    def hashed() -> str:
        try:
            return digest()
        except NotRegularFile as exc:
            raise _Unhashed(f"{path}: {exc}") from None
        except OSError as exc:
            raise _Unhashed(f"{path}: {exc.strerror or exc}") from None

    try:
        facts = read(path, hashed)
    except NotElfError as exc:
        return exc.message
    except _Unhashed as exc:
        return str(exc)
    return msgspec.Raw(_encode()(msgspec.structs.replace(facts, path=_utf8(facts.path))))


class _Unhashed(Exception):
    """A file decoded but not hashed: the message is its error line."""


def _compress(files: Sequence[str], jobs: int, cli: bool) -> dict[str, CompressedSizes]:
    """The compressed sizes of every file that can be read, a line on stderr as each comes
    (one that cannot be read is reported by the decoding, as without --compressed); by the
    installed tools with ``cli``."""
    from buildopt.names import FORMAT_COMMANDS, FORMATS
    from buildopt.pipeline.compress import compress_files

    unique = list(dict.fromkeys(files))
    total = len(unique) * len(FORMATS)
    done = 0
    print(
        f"compressing {len(unique)} file(s) with {'the installed ' if cli else ''}"
        f"{', '.join(FORMAT_COMMANDS.values())}, "
        f"{min(jobs, total)} at a time...",
        file=sys.stderr,
        flush=True,
    )

    def progress(path: str, algorithm: str, size: int) -> None:
        nonlocal done
        done += 1
        print(
            f"[{done}/{total}] {FORMAT_COMMANDS[algorithm]}: {path}: {size} bytes",
            file=sys.stderr,
            flush=True,
        )

    found = compress_files([(f, FORMATS) for f in unique], jobs, progress, cli=cli)
    return {path: sizes for path, sizes in zip(unique, found, strict=True) if sizes is not None}


@functools.cache
def _encode() -> Callable[[object], bytes]:
    import msgspec

    return msgspec.json.Encoder().encode


def _show_inspections(files: Sequence[str], read: Reader, packages: int, *, modules: bool) -> int:
    failed = False
    with _digests(files) as digests:
        from buildopt.binary.elf.reader import NotElfError
        from buildopt.output import console as report  # rich costs ~60 ms: only for people
        from buildopt.output import inspect_tables
        from buildopt.output.deadcode import show_recorded

        console = report.make_console()
        for path, digest in zip(files, digests, strict=True):
            try:
                facts = read(path, digest)
            except NotElfError as exc:
                failed = True
                print(f"error: {exc.message}", file=sys.stderr, flush=True)
                continue
            inspect_tables.show_inspection(console, facts, packages, modules=modules)
            record, builds = _record_above(facts)
            if modules:
                _show_cuttable(console, facts, builds)
            show_recorded(console, record, builds, facts.sha256)
    return EXIT_BAD_INPUT if failed else EXIT_OK


def _record_above(facts: Inspection) -> tuple[Path | None, tuple[Build, ...]]:
    """The build record above the file (dist/PROFILE/build.json for
    dist/PROFILE/VARIANT/TARGET/BINARY) and its entries; none when there is none or it cannot
    be read (inspect reads any file)."""
    from pathlib import Path

    from buildopt.record import store

    above = [d / "build.json" for d in Path(facts.path).absolute().parents[:4]]
    record = next((p for p in above if p.is_file()), None)
    try:
        return record, store.load(record).builds if record is not None else ()
    except (store.RecordError, OSError):
        return None, ()


def _show_cuttable(console: DataConsole, facts: Inspection, builds: Sequence[Build]) -> None:
    """The file's heaviest cuttable dependencies, when the build record above it holds this
    very binary (its sha256): they come from the import graph of its sources, which a file
    alone lacks."""
    from buildopt.output.cut_tables import NOTE, show_cuttable
    from buildopt.output.tables import say

    build = next((b for b in builds if b.sha256 == facts.sha256 and b.cuttable), None)
    if build is None or not build.cuttable:
        say(
            console,
            "cuttable dependencies: not known for this file (they need the import graph of its "
            "sources: buildopt build records them, buildopt why PACKAGE --profile P tells one)",
        )
        return
    show_cuttable(console, build.id, build.cuttable)
    say(console, NOTE)


@contextlib.contextmanager
def _digests(paths: Sequence[str]) -> Iterator[list[Callable[[], str]]]:
    """Getters of each file's SHA-256, hashed in order on one thread while this one decodes.
    Reading and hashing release the GIL (8 MiB at a time), so the thread holds it only between
    chunks. A getter waits for its file; it raises what hashing the file raised."""
    from buildopt.binary.digest import sha256_of

    done = [threading.Event() for _ in paths]
    results: list[str | Exception] = [""] * len(paths)
    stop = threading.Event()

    def hash_all() -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)  # for the main thread, which holds them
        for i, path in enumerate(paths):
            if stop.is_set():
                return
            try:
                results[i] = sha256_of(path)
            except Exception as exc:  # raised by the getter, where the caller reports it
                results[i] = exc
            done[i].set()

    def get(i: int) -> str:
        done[i].wait()
        result = results[i]
        if isinstance(result, Exception):
            raise result
        return result

    # A daemon: an interrupted command exits without waiting for the file being hashed.
    threading.Thread(target=hash_all, name="sha256", daemon=True).start()
    try:
        yield [functools.partial(get, i) for i in range(len(paths))]
    finally:
        stop.set()
