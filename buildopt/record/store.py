"""Reading, writing and merging build records: the only code that touches ``build.json``.

``load`` checks the whole shape against the model (buildopt.record.model) and turns every
mismatch into one line naming the file and the JSON path (``builds[3].inspect.size: expected
an integer``), exit 2. Its JSON Schema ships in ``buildopt/schemas/build-record.schema.json``.
"""

from __future__ import annotations

import functools
import json
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import msgspec

from buildopt.config.ids import point_of
from buildopt.config.keys import JSON_WORDS, describe
from buildopt.errors import BuildoptError
from buildopt.inputs import NotRegularFile, TooLarge, read_limited
from buildopt.record.model import RECORD_SCHEMA, Build, Missing, Record
from buildopt.system.files import atomic_write_text, locked
from buildopt.system.outputs import Output, Protected


class RecordError(BuildoptError):
    """A build record that cannot be read, has the wrong shape, or does not fit the command."""


class MergeError(RecordError):
    """Records that cannot be merged (different profiles, Go versions, or the same build twice)."""


@functools.cache
def _record_decoder() -> msgspec.json.Decoder[Record]:
    """Made on first use (~5 ms: the model's types): not by every command that imports this."""
    return msgspec.json.Decoder(Record)


def decode(data: bytes, source: object) -> Record:
    """A record from JSON bytes; RecordError names source and the path of the first problem.

    A record is what msgspec's typed decoder reads: strict JSON (no NaN or Infinity, no lone
    surrogate escapes, numbers in range) that fits the model. It reads a good one in C, 3-5x
    faster than the checks below (Caddy's 2.1 MB: 5 ms, not 17); a bad one is read again by
    them, to say what is wrong in the words of every other JSON error of buildopt."""
    refused: str | msgspec.ValidationError  # why the typed decoder did not read it
    try:
        if not data.isascii():  # msgspec checks UTF-8 only in what it keeps; json.loads, all
            bytes(data).decode("utf-8")
        return with_programs(_record_decoder().decode(data))
    except UnicodeDecodeError as exc:  # json.loads reads UTF-16 and UTF-32 too
        refused = str(exc)
    except RecursionError:
        refused = "nested too deeply"
    except msgspec.ValidationError as exc:
        refused = exc
    except msgspec.DecodeError as exc:
        refused = str(exc)
    try:
        head = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{source}: not a JSON build record: {exc}") from None
    except RecursionError:
        raise RecordError(f"{source}: not a build record: nested too deeply") from None
    if not isinstance(head, dict) or head.get("schema") != RECORD_SCHEMA:
        found = head.get("schema") if isinstance(head, dict) else None
        what = f"schema {found!r}" if isinstance(found, str) else "no schema field"
        raise RecordError(
            f"{source}: not a buildopt build record ({what}; {RECORD_SCHEMA} expected)"
        )
    try:
        msgspec.convert(head, Record)
    except msgspec.ValidationError as exc:
        raise RecordError(f"{source}: {describe(exc, Record, words=JSON_WORDS)}") from None
    # What Python's json reads but msgspec does not - a lone surrogate ("\ud800", which no
    # UTF-8 output can hold), NaN, Infinity, 1e999, UTF-16: not a record.
    if isinstance(refused, msgspec.ValidationError):
        raise RecordError(f"{source}: {describe(refused, Record, words=JSON_WORDS)}")
    raise RecordError(f"{source}: not a JSON build record: {refused}")


def with_programs(record: Record) -> Record:
    """A record of an older buildopt, whose builds do not say their program: the profile's one
    binary, built from the package its go build was given (the argv's last word)."""
    if all(b.program for b in record.builds):
        return record
    profile = record.profile
    builds = tuple(
        b
        if b.program
        else msgspec.structs.replace(
            b, program=profile.binary, package=b.argv[-1] if b.argv else profile.package
        )
        for b in record.builds
    )
    return record.with_builds(builds)


MAX_RECORD_BYTES = 256 << 20  # a record of 100 large binaries is a few MB; BUILDOPT_MAX_JSON


def load(path: Path, limit: int = MAX_RECORD_BYTES) -> Record:
    """Read and check the build record at path: a regular file of at most limit bytes."""
    try:
        data = read_limited(path, limit)
    except NotRegularFile as exc:
        raise RecordError(f"{path}: {exc}, not a build record") from None
    except TooLarge as exc:
        raise RecordError(f"{path}: {exc} for a build record (BUILDOPT_MAX_JSON)") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return decode(data, path)


def encode(record: msgspec.Struct) -> str:
    """A record (this one, or an image's) as indented JSON text, keys in the model's order.
    (msgspec encodes and
    indents in C: a 2.4 MB record of 7 Caddy variants in 8 ms, where json.dumps took 53 ms -
    and the record is written again as each build lands.)"""
    return msgspec.json.format(msgspec.json.encode(record), indent=2).decode() + "\n"


def save(path: Path, record: Record) -> None:
    """Write the record atomically: readers see the old file or the new one, never a part."""
    atomic_write_text(path, encode(record))


def write_to(out: Output, record: Record, inputs: Iterable[Protected]) -> None:
    """The record where an output option says (``merge -o``: a file, or stdout), under the
    rule of buildopt.system.outputs: never over a device, a FIFO or one of the inputs."""
    out.write(encode(record), inputs)


def lock_path(path: Path) -> Path:
    """The lock file of the record at path: ``.build.json.lock`` beside ``build.json``."""
    return path.with_name(f".{path.name}.lock")


def update(path: Path, change: Callable[[Record | None], Record]) -> Record:
    """Change the record at path under its lock, so that concurrent buildopt runs (and build
    threads) merge their changes instead of replacing each other's: ``change`` gets what the
    file holds now (None when there is nothing there that can be read as a record) and returns
    what to write. Returns what was written."""
    with locked(lock_path(path)):
        try:
            current: Record | None = load_cached(path)
        except RecordError:
            current = None
        new = change(current)
        if new != current:  # an unchanged rebuild changes nothing: no rewrite
            save(path, new)
            _remember(path, new)
        return new


# The record this process last read or wrote, by path, with the file's identity then: as each
# build lands, the record is read and written again (under its lock); unless another process
# wrote it meanwhile, what is in memory is what is on disk (2.4 MB of JSON: ~10 ms to read).
_cache: dict[Path, tuple[tuple[int, int, int], Record]] = {}


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def load_cached(path: Path) -> Record:
    """``load``, unless this process read or wrote the file last and it is unchanged since."""
    seen = _cache.get(path)
    if seen is not None and seen[0] == _identity(path):
        return seen[1]
    record = load(path)
    _remember(path, record)
    return record


def _remember(path: Path, record: Record) -> None:
    identity = _identity(path)
    if identity is not None:
        _cache[path] = (identity, record)


def in_place(build: Build) -> bool:
    """Whether the binary an ok entry describes is still where it says, with its size."""
    if not build.ok or build.output is None:
        return False
    try:
        info = os.stat(build.output)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_size == build.size


def same_builds(current: Record | None, header: Record) -> bool:
    """Whether current is a record of header's profile and output directory (one that builds
    can be merged into)."""
    return (
        current is not None
        and current.profile.name == header.profile.name
        and current.dist == header.dist
    )


def put_builds(
    current: Record | None,
    header: Record,
    builds: Sequence[Build],
    order: Sequence[str],
    *,
    prune: bool = True,
) -> Record:
    """The record after builds: header's profile, toolchain, time and variants, with the
    entries of current (when it is of the same profile and output directory) updated by id.

    So that the record always says what ``dist/`` holds: an ok build replaces its entry; a
    failed or skipped one replaces it only when the entry's binary is no longer in place (the
    binary a failed build would have replaced is still there, and so is its entry). Entries of
    other ids stay while their binaries are in place; failed and skipped ones stay as they are.
    An id that is no longer one of the profile's (``order``: a variant, a target or a program
    removed, ``package`` turned into ``packages``) loses its entry: gate, startup and compare
    would judge, time and list a build the profile no longer makes - unless not ``prune`` (the
    what-ifs' record, which each advise and sweep run builds a part of). Entries follow
    ``order``; others come after, sorted.
    """
    entries: dict[str, Build] = {}
    variants = {}
    ids = set(order)
    if current is not None and same_builds(current, header):
        entries = {
            b.id: b
            for b in current.builds
            if (b.id in ids or not prune) and (not b.ok or in_place(b))
        }
        variants = dict(current.variants)
    for build in builds:
        old = entries.get(build.id)
        if (
            build.ok
            and old is not None
            and old.ok
            and _same_binary(old, build)
            and not _adds_attribution(old, build)
        ):
            continue  # go found it up to date: the entry (and its measurements) still holds
        if build.ok and old is not None and old.ok:
            entries[build.id] = _keep_measurements(old, build)
        elif build.ok or old is None or not old.ok:
            entries[build.id] = build
    variants.update(header.variants)
    rank = {build_id: i for i, build_id in enumerate(order)}
    ordered = sorted(entries.values(), key=lambda b: (rank.get(b.id, len(rank)), b.id))
    new = msgspec.structs.replace(
        header, variants=variants, builds=tuple(ordered), merged_from=None
    )
    if current is not None and msgspec.structs.replace(new, created=current.created) == current:
        # Nothing but the time would change (an unchanged rebuild): the record still describes
        # dist/ as it is, so it stays as it was - not rewritten (2 MB for 3 Caddy variants:
        # ~18 ms between two builds, benchmarks/bench_rebuild.py).
        return current
    return new


def _adds_attribution(old: Build, new: Build) -> bool:
    """new has facts an entry of an older buildopt lacks: the whole-file attribution, the
    memory model (budgets would skip them for ever, the binary being unchanged)."""
    if new.inspect is None:
        return False
    if old.inspect is None:
        return True
    return (new.inspect.attribution is not None and old.inspect.attribution is None) or (
        new.inspect.memory is not None and old.inspect.memory is None
    )


def _same_binary(old: Build, new: Build) -> bool:
    """new is the binary old describes, built by the same command (an unchanged rebuild)."""
    return (
        old.sha256 == new.sha256
        and old.built == new.built
        and old.output == new.output
        and old.argv == new.argv
        and old.env == new.env
        and old.stamp == new.stamp  # else the entry would not know the file it describes
    )


def _keep_measurements(old: Build, new: Build) -> Build:
    """new, with the start-up results and scan of old where new has none: they stay attached
    to the binary they measured (their sha256), so they read as stale once it was replaced -
    kept for reference, never taken for the new binary's."""
    changes: dict[str, object] = {}
    if new.startup is None and old.startup is not None:
        changes["startup"] = old.startup
        if old.startup.sha256 is None:  # written before results named their binary
            changes["startup"] = msgspec.structs.replace(old.startup, sha256=old.sha256)
    if new.scan is None and old.scan is not None:
        changes["scan"] = old.scan
        if old.scan.sha256 is None:
            changes["scan"] = msgspec.structs.replace(old.scan, sha256=old.sha256)
    if new.dead_code is None and old.dead_code is not None and old.dead_code.sha256 == new.sha256:
        changes["dead_code"] = old.dead_code  # of the file: kept for the very same binary only
    if (  # compressed sizes are facts of the file: kept only for the very same binary
        new.sha256 == old.sha256
        and new.inspect is not None
        and new.inspect.compressed is None
        and old.inspect is not None
        and old.inspect.compressed is not None
    ):
        changes["inspect"] = msgspec.structs.replace(new.inspect, compressed=old.inspect.compressed)
    return msgspec.structs.replace(new, **changes) if changes else new


NO_RECORD = "its job uploaded no record (failed or cancelled)"


class _MatrixJob(msgspec.Struct):
    id: str


class _Matrix(msgspec.Struct):
    include: tuple[_MatrixJob, ...]


def matrix_ids(data: bytes, source: object) -> tuple[str, ...]:
    """The job ids of a ``buildopt matrix`` document (``{"include": [{"id": ...}, ...]}``)."""
    try:  # JSON first: a file cut short is said to be one, not "expected an object"
        matrix = msgspec.convert(msgspec.json.decode(data), type=_Matrix)
    except msgspec.ValidationError as exc:
        raise RecordError(
            f"{source}: not a buildopt matrix: {describe(exc, _Matrix, words=JSON_WORDS)}"
        ) from None
    except msgspec.DecodeError as exc:
        raise RecordError(f"{source}: not JSON: {exc}") from None
    return tuple(job.id for job in matrix.include)


def merge(records: Sequence[tuple[str, Record]], expected: Sequence[str] = ()) -> Record:
    """One record from per-job records of the same profile and Go version (CI matrix jobs);
    each expected id that no record holds is in its ``missing``, with the reason."""
    if not records:
        raise MergeError("merge: name the build records to merge")
    first_name, first = records[0]
    builds = []
    variants = dict(first.variants)
    seen: dict[str, str] = {}
    for name, record in records:
        if record.profile.name != first.profile.name:
            raise MergeError(
                f"{name}: profile {record.profile.name!r}, but {first_name} is "
                f"of {first.profile.name!r}"
            )
        if record.go.version != first.go.version:
            raise MergeError(
                f"{name}: built with {record.go.version}, but {first_name} with {first.go.version}"
            )
        for build in record.builds:
            if build.id in seen:
                raise MergeError(f"{name}: {build.id} is also in {seen[build.id]}")
            seen[build.id] = name
            builds.append(build)
        variants.update(record.variants)
    return msgspec.structs.replace(
        first,
        builds=tuple(builds),
        variants=variants,
        merged_from=tuple(name for name, _ in records),
        missing=_missing(expected, seen, variants, first.profile.name),
    )


def _missing(
    expected: Sequence[str], seen: Mapping[str, str], variants: Mapping[str, object], profile: str
) -> tuple[Missing, ...] | None:
    """Each expected id no record holds, once; an id of no variant of the profile is a
    mistake in the matrix or in --expect, not a job that failed (when the records name the
    profile's variants)."""
    if not expected:
        return None
    for job in expected:
        if variants and job.partition("@")[0] not in variants:
            raise MergeError(
                f"expected {job}: {job.partition('@')[0]!r} is not a variant of profile "
                f"{profile!r} (its variants: {', '.join(variants)})"
            )
    held = {*seen, *map(point_of, seen)}  # a matrix job is a point: all its programs
    return tuple(Missing(id=i, reason=NO_RECORD) for i in dict.fromkeys(expected) if i not in held)
