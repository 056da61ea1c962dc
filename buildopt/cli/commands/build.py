"""``buildopt build``: the profile's variants built in parallel, verified, recorded (and
compressed, scanned and measured when the profile asks).
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _dist, _load_plan, _seconds_from, _with
from buildopt.cli.options import count
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from typing import Protocol

    from buildopt.pipeline.plan import Plan, Step
    from buildopt.record.model import Build, Record, ScanReport

    class BuildProgressLike(Protocol):
        """What build_command shows builds with: output.console.BuildProgress, or
        output.progress.LogProgress."""

        def __enter__(self) -> BuildProgressLike: ...
        def __exit__(self, *exc: object) -> None: ...
        def started(self, step: Step) -> None: ...
        def finished(self, result: Build) -> None: ...


def build(
    *,
    profile: str = "",
    variant: list[str] | None = None,
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    record: str = "",
    dist: str = "",
) -> int:
    return build_command(
        profile or None,
        variants=variant or (),
        jobs=count("--jobs", jobs, 0),
        as_json=json,
        exact=bytes,
        record=record or None,
        dist=dist or None,
    )


def _mine(current: Record | None, header: Record, order: Sequence[str]) -> Record:
    """The record at the end of a build run: what is there, if it is of this profile and
    output directory (every build of the run was put in as it finished), else a fresh one."""
    from buildopt.record import store

    return store.put_builds(current, header, (), order)


def _once(action: Callable[[], None]) -> Callable[[], None]:
    """action, done by the first of any threads that call the result; the others wait for it."""
    import threading

    lock, done = threading.Lock(), list[bool]()

    def call() -> None:
        with lock:
            if not done:
                action()
                done.append(True)

    return call


def _say_if_replaced(path: Path, header: Record) -> None:
    """Builds are merged into the record at path; say so if what is there cannot take them."""
    from buildopt.record import store

    if not path.exists():
        return
    try:
        current = store.load_cached(path)  # the first build to land reads it from memory
    except store.RecordError as exc:
        print(f"replacing {path}: {exc.message.removeprefix(f'{path}: ')}", file=sys.stderr)
        return
    if not store.same_builds(current, header):
        print(
            f"replacing {path}: a record of profile {current.profile.name!r} "
            f"with binaries in {current.dist}",
            file=sys.stderr,
        )


def _fetch_releases(plan: Plan, environ: Mapping[str, str]) -> None:
    """The Go releases the plan builds with (toolchain = [...]), fetched through the module
    proxy before the builds start, with a line for each that is not there yet - rather than
    inside every parallel go build, silently. One that cannot be had is said here; its builds
    then fail with go's own message."""
    from buildopt.errors import ToolchainError
    from buildopt.system import toolchain

    for release in sorted({s.release for s in plan.steps if s.release}):
        if release == plan.toolchain.version or toolchain.release_cached(plan.toolchain, release):
            continue  # the go that runs them, or one go fetched before
        print(f"fetching {release} through the Go module proxy (once)...", file=sys.stderr)
        try:
            line = toolchain.fetch_release(plan.toolchain, release, plan.steps[0].dir, environ)
        except ToolchainError as exc:
            print(f"warning: {exc.message}", file=sys.stderr)
            continue
        print(f"fetched: {line}", file=sys.stderr)


def _compress_builds(plan: Plan, record_path: Path, builds: Sequence[Build], jobs: int) -> None:
    """The compressed sizes the profile's ``max_compressed`` budgets need, for the binaries of
    this run whose entries lack them (an unchanged rebuild keeps the sizes it had), stored in
    their entries - only where an entry still describes the binary compressed. A size made by
    the other kind of compressor than the profile's ``compressor`` is made again."""
    if not any(b.max_compressed for b in plan.profile.budgets):
        return  # (nothing loaded: an unchanged rebuild pays for none of it)
    cli = plan.profile.compressor
    import msgspec

    from buildopt.binary.compressed import made_by_cli, merge
    from buildopt.binary.facts import CompressedSizes
    from buildopt.names import FORMAT_COMMANDS
    from buildopt.pipeline.compress import compress_files
    from buildopt.record import integrity, store

    ours = {b.id for b in builds if b.ok}
    wanted: list[tuple[Build, tuple[str, ...]]] = []
    for entry in store.load_cached(record_path).builds if record_path.exists() else ():
        if entry.id not in ours or entry.inspect is None or entry.output is None:
            continue
        if (problem := integrity.changed(entry)) is not None:  # its sizes would be another's
            print(f"warning: not compressed: {problem}", file=sys.stderr)
            continue
        have = entry.inspect.compressed or CompressedSizes()
        missing = tuple(
            a
            for a in plan.profile.compressors_for(entry.id)
            if getattr(have, a) is None or made_by_cli(have, a) != (cli == "cli")
        )
        if missing:
            wanted.append((entry, missing))
    if not wanted:
        return
    names = sorted({FORMAT_COMMANDS[a] for _, missing in wanted for a in missing})
    total = sum(len(missing) for _, missing in wanted)
    print(
        f"compressing {len(wanted)} binaries for max_compressed budgets ({', '.join(names)})...",
        file=sys.stderr,
        flush=True,
    )
    done = 0
    ids = {str(entry.output): entry.id for entry, _ in wanted}

    def progress(path: str, algorithm: str, size: int) -> None:
        nonlocal done
        done += 1
        print(
            f"[{done}/{total}] {FORMAT_COMMANDS[algorithm]}: {ids[path]}: {size} bytes",
            file=sys.stderr,
        )

    found = compress_files(
        [(str(e.output), m) for e, m in wanted], jobs, progress, cli=cli == "cli"
    )
    sizes = {e.id: (e.sha256, s) for (e, _), s in zip(wanted, found, strict=True) if s is not None}

    def merged(entry: Build) -> Build:
        sha256, new = sizes[entry.id]
        if entry.sha256 != sha256 or entry.inspect is None:  # rebuilt by another run since
            return entry
        both = merge(entry.inspect.compressed or CompressedSizes(), new)
        return msgspec.structs.replace(
            entry, inspect=msgspec.structs.replace(entry.inspect, compressed=both)
        )

    def change(now: Record | None) -> Record:
        current = now if now is not None else store.load(record_path)  # unreadable: its error
        return current.with_builds(tuple(merged(b) if b.id in sizes else b for b in current.builds))

    store.update(record_path, change)


def build_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    jobs: int = 0,
    as_json: bool = False,
    exact: bool = False,
    record: str | None = None,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    results_on_stderr: bool = False,
) -> int:
    """``buildopt build``: build the selected variants, verify them, write the build record."""
    from buildopt.pipeline.build import BUILD_TIMEOUT, make_record, run_plan
    from buildopt.pipeline.plan import all_ids
    from buildopt.record import store
    from buildopt.system import toolchain
    from buildopt.system.files import remove_stale_temporaries

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    if jobs < 0:
        raise UsageError(f"--jobs {jobs}: expected a positive number (0 means one per CPU)")
    plan = _load_plan(profile, variants, dist, cwd, environ, command="build")
    record_path = (cwd / record).resolve() if record else plan.profile.record_path(_dist(dist, cwd))
    _record_may_go(plan, record or str(record_path), cwd, "--record" if record else "record")
    timeout = _seconds_from(environ, "BUILDOPT_BUILD_TIMEOUT", BUILD_TIMEOUT)
    for module in sorted({toolchain.enclosing_module(s.dir) for s in plan.steps}):
        toolchain.check_sources(module, cwd)  # a FIFO named *.go: go build would wait forever
    for stale in remove_stale_temporaries(plan.dist):
        print(f"removed {stale}: left by a buildopt that was killed", file=sys.stderr)
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    header = make_record(plan, (), created)
    order = all_ids(plan.profile, plan.toolchain)
    _fetch_releases(plan, environ)

    # Whether the record there can take these builds is said once, before the first lands -
    # while go works (it reads the record: 15 ms before the first go build, if done first)
    check_record = _once(lambda: _say_if_replaced(record_path, header))

    def landed(build: Build) -> None:  # the record says so as soon as the binary is in place
        check_record()
        store.update(record_path, lambda now: store.put_builds(now, header, [build], order))

    with _build_progress(len(plan.steps), environ) as progress:
        builds = run_plan(
            plan,
            environ,
            jobs or os.cpu_count() or 1,
            progress,
            timeout=timeout,
            landed=landed,
            meanwhile=check_record,
        )
    _compress_builds(plan, record_path, builds, jobs or os.cpu_count() or 1)
    from buildopt.output import console as report
    from buildopt.output import startup_tables, tables

    if plan.profile.scan:
        scans = _scans(plan, builds, environ)
        built = {b.id: b.sha256 for b in builds if b.ok}
        data = store.update(
            record_path, lambda now: _with(_mine(now, header, order), scan=scans, of=built)
        )
    else:
        data = store.update(record_path, lambda now: _mine(now, header, order))
    # The results once, on stdout (on stderr when stdout is for JSON: this command's, or the
    # gate's that runs it)
    results = report.make_console(stderr=as_json or results_on_stderr)
    report.show_results(results, builds, record_path, exact=exact)
    if plan.profile.scan:  # what the scan found is shown, not only stored: once per tag set
        by_tags: dict[tuple[str, ...], list[Build]] = {}
        for build in data.builds:
            if build.scan is not None and build.scan.findings and not build.scan_stale:
                by_tags.setdefault(build.scan.tags, []).append(build)
        for scanned in by_tags.values():
            results.print()
            scan_of = tables.data(f"scan of {', '.join(b.id for b in scanned)}:")
            results.print(scan_of, soft_wrap=not results.is_terminal)
            startup_tables.show_scan(results, scanned[0].scan)  # type: ignore[arg-type]
    if as_json:
        report.print_json(data)
    return EXIT_FAILED if any(b.status == "failed" for b in builds) else EXIT_OK


def _record_may_go(plan: Plan, given: str, cwd: Path, option: str = "--record") -> None:
    """The build record (which builds read and update) must be absent or a regular file
    that is none of what the build reads or writes: its profiles, its sources, its binaries."""
    from buildopt.cli.reads import profile_inputs
    from buildopt.pipeline.plan import module_dir
    from buildopt.system.outputs import GoSources, Input, output_to

    binaries = [Input(s.output, f"the binary of {s.id}") for s in plan.steps]
    sources = GoSources(module_dir(plan.profile.package))
    output_to(
        option,  # "record" for the default one: --record was not given
        given,
        cwd,
        [*profile_inputs(plan.profile), sources, *binaries],
        stdout=False,
        record=True,
    )


def _build_progress(total: int, environ: Mapping[str, str]) -> BuildProgressLike:
    """A live progress bar on a terminal; for a log, a line as each build starts and ends and
    a heartbeat (output.progress, without rich: its ~40 ms import is paid only for the tables -
    an unchanged rebuild of three variants was 1.18x the go build commands by hand, mostly this
    fixed start-up, benchmarks/bench_rebuild.py)."""
    if sys.stderr.isatty() or os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE"):
        from buildopt.output import console as report

        return report.BuildProgress(report.make_console(stderr=True), total)
    from buildopt.output.progress import LogProgress, heartbeat_seconds

    return LogProgress(total, every=heartbeat_seconds(environ))


def _scans(
    plan: Plan, builds: Sequence[Build], environ: Mapping[str, str]
) -> dict[str, ScanReport]:
    """[scan] enabled: each built variant's sources scanned with its own build tags."""
    from buildopt.measure import scan as scanner
    from buildopt.pipeline.plan import module_dir, package_arg

    root = module_dir(plan.profile.package)
    pattern = package_arg(plan.profile.package, root)
    by_tags: dict[tuple[str, ...], ScanReport] = {}
    out: dict[str, ScanReport] = {}
    for build in builds:
        if not build.ok:
            continue
        tags = plan.profile.variant(build.variant).tags
        if tags not in by_tags:
            by_tags[tags] = scanner.scan(root, [pattern], tags, environ=environ)
        out[build.id] = by_tags[tags]
    return out
