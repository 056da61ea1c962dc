"""The ``inspect`` command: facts of many ELF files, as JSON or as tables for people.

It imports nothing of buildopt.cli.common, so that ``buildopt inspect FILE...`` - run on many
files from scripts and CI - loads only what it uses: no profiles, no pathlib, no rich for
JSON. Files are hashed in a forked process beside the decoding (a hashing thread would wait
for the GIL behind every long C call of the decoding) and, with --json, decoded by --jobs
processes.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import signal
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, cast

from buildopt.cli.options import count
from buildopt.errors import EXIT_BAD_INPUT, EXIT_OK, UsageError
from buildopt.inputs import size_or_zero

if TYPE_CHECKING:
    from buildopt.binary.facts import CompressedSizes, Inspection


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
    return inspect_command(
        file or [],
        as_json=json,
        packages=count("--packages", packages, 15),
        jobs=count("--jobs", jobs, 1, least=1) if jobs else None,
        dwarf=dwarf,
        attribution=attribution or modules,
        modules=modules,
        symbols=count("--symbols", symbols, 0) if symbols else 0,
        compressed=compressed or compressor_cli,
        compressor_cli=compressor_cli,
    )


INSPECT_SCHEMA = "buildopt.inspect/1"  # buildopt.binary.facts.INSPECT_SCHEMA, not imported: light


def inspect_command(
    files: Sequence[str],
    *,
    as_json: bool = False,
    packages: int = 15,
    jobs: int | None = None,
    dwarf: bool = False,
    attribution: bool = False,
    modules: bool = False,
    symbols: int = 0,
    compressed: bool = False,
    compressor_cli: bool = False,
) -> int:
    """``buildopt inspect``: facts of every file; a bad file is reported, the others still are.

    Files are hashed in one process of their own, forked before pyelftools and msgspec load so
    that the hashing overlaps those imports. With ``--json`` the decoding is spread over
    ``jobs`` processes (default: one per CPU), forked after the imports so that they share
    them. Tables for people are printed one file at a time, as each is read.
    """
    from buildopt.system.forkmap import Helper, Job, TaskQueue, available_cpus, share_work

    if not files:
        raise UsageError("inspect: name at least one ELF file")
    if packages < 0:
        raise UsageError(f"--packages {packages}: expected 0 or more")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs {jobs}: expected 1 or more")
    # Compressing is the long part (a minute for xz -9e of 58 MiB): done first, in processes
    # of its own, with a line on stderr per size; the facts then carry the sizes.
    sizes = _compress(files, jobs or available_cpus(), compressor_cli) if compressed else {}
    if not as_json:
        return _show_inspections(files, packages, dwarf, attribution, modules, symbols, sizes)
    workers = jobs or available_cpus()
    # Largest first, so that the last items taken are small and the processes end together.
    order = sorted(range(len(files)), key=lambda i: -size_or_zero(files[i]))
    hashes = Job("sha256", _sha256_of, files, TaskQueue(order))
    # One helper hashes from the start, while this process loads the decoder.
    helpers = [Helper([hashes])]
    try:
        # Loaded before the other helpers are forked: they share the modules instead of
        # loading their own (~30 ms each).
        _load_decoder()
        # The modules just loaded live as long as the process: frozen, the collector's full
        # passes skip them, and it stops writing to their pages, which the forks share
        # (benchmarks/bench_inspect.py: -2.5 ms of ~133 ms, -7 ms CPU).
        gc.freeze()
        decodes = Job(
            "facts",
            functools.partial(
                _inspect_one,
                dwarf=dwarf,
                attribution=attribution,
                symbols=symbols,
                compressed=sizes,
            ),
            files,
            TaskQueue(order),
        )
        # Every process decodes while there are files to decode, then hashes what is left.
        helpers += [Helper([decodes, hashes]) for _ in range(workers - 1)]
        results = share_work([decodes, hashes], helpers)
    finally:
        for helper in helpers:
            helper.close()
    documents: list[str] = []
    failed = False
    for path, facts, digest in zip(files, results["facts"], results["sha256"], strict=True):
        kind, text = cast("list[str]", facts)
        if kind == "ok":  # the facts were read: the digest may still fail (a file replaced)
            kind, sha256 = cast("list[str]", digest)
            text = text.replace(UNHASHED, f'"sha256":"{sha256}"', 1) if kind == "ok" else sha256
        if kind == "error":  # the file could not be read: its error line
            failed = True
            print(f"error: {text}", file=sys.stderr)
            documents.append(json.dumps({"path": path, "error": text}))
        else:
            documents.append(text)
    # Each file's object is JSON already (msgspec encodes the facts in C, in field order):
    # the document is put together around them, not decoded and encoded again.
    sys.stdout.write(f'{{"schema":"{INSPECT_SCHEMA}","binaries":[{",".join(documents)}]}}\n')
    return EXIT_BAD_INPUT if failed else EXIT_OK


# A file's facts are encoded to JSON where they are decoded, before its digest is known (one
# hashing process computes them all, and only this process reads its pipe): this field stands
# in for the digest until then. It is the first match in the text: only "path" and "size" come
# before "sha256", and a JSON string cannot hold '"sha256":"' unescaped.
UNHASHED = '"sha256":"' + "0" * 64 + '"'


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


def _inspect_one(
    path: str,
    dwarf: bool = False,
    attribution: bool = False,
    symbols: int = 0,
    compressed: Mapping[str, CompressedSizes] | None = None,
) -> list[str]:
    """["ok", the inspect/1 object of the file as JSON text, its sha256 UNHASHED] or
    ["error", why it cannot be read]."""
    from buildopt.binary.elf.reader import NotElfError
    from buildopt.binary.inspect import inspect_file

    try:
        facts = inspect_file(
            path, lambda: "0" * 64, dwarf=dwarf, attribution=attribution, symbols=symbols
        )
    except NotElfError as exc:
        return ["error", exc.message]
    return ["ok", _encode()(_with_sizes(facts, compressed)).decode()]


def _with_sizes(facts: Inspection, sizes: Mapping[str, CompressedSizes] | None) -> Inspection:
    """facts with the file's compressed sizes, when they were computed."""
    import msgspec

    found = (sizes or {}).get(facts.path)
    return facts if found is None else msgspec.structs.replace(facts, compressed=found)


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
        f"{', '.join(FORMAT_COMMANDS.values())} "
        f"in {min(jobs, total)} process(es)...",
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


def _sha256_of(path: str) -> list[str]:
    """["ok", the file's SHA-256] or ["error", why it cannot be read] (a file replaced by a
    directory, say, or removed after it was decoded)."""
    from buildopt.binary.digest import sha256_of
    from buildopt.inputs import NotRegularFile

    try:
        return ["ok", sha256_of(path)]
    except NotRegularFile as exc:
        return ["error", f"{path}: {exc}"]
    except OSError as exc:
        return ["error", f"{path}: {exc.strerror or exc}"]


def _show_inspections(  # noqa: PLR0917 - the command's options, passed along
    files: Sequence[str],
    packages: int,
    dwarf: bool,
    attribution: bool,
    modules: bool = False,
    symbols: int = 0,
    compressed: Mapping[str, CompressedSizes] | None = None,
) -> int:
    failed = False
    with _digests(files) as digests:
        from buildopt.binary.elf.reader import NotElfError
        from buildopt.binary.inspect import inspect_file
        from buildopt.output import console as report  # rich costs ~60 ms: only for people
        from buildopt.output import inspect_tables

        console = report.make_console()
        for path, digest in zip(files, digests, strict=True):
            try:
                facts = inspect_file(
                    path, digest, dwarf=dwarf, attribution=attribution, symbols=symbols
                )
            except NotElfError as exc:
                failed = True
                print(f"error: {exc.message}", file=sys.stderr, flush=True)
                continue
            facts = _with_sizes(facts, compressed)
            inspect_tables.show_inspection(console, facts, packages, modules=modules)
    return EXIT_BAD_INPUT if failed else EXIT_OK


@contextlib.contextmanager
def _digests(paths: Sequence[str]) -> Iterator[list[Callable[[], str]]]:
    """Getters of each file's SHA-256, hashed in one forked process while the others decode:
    a thread would wait for the GIL behind every long C call of the decoding."""
    from buildopt.binary.digest import sha256_of
    from buildopt.system.forkmap import Background

    hashes = Background(sha256_of, paths)
    try:
        yield [functools.partial(hashes.get, i) for i in range(len(paths))]
    finally:
        hashes.close()
