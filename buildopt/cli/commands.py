"""The commands behind the CLI: each runs the stages in order and returns an exit code.

Tasks (buildopt.cli.tasks) are thin adapters over these functions; nothing here imports invoke.
Stages are imported where they are used, so that each command loads only what it needs.
``inspect`` is in buildopt.cli.inspect (it is run on many files and kept lean).
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.errors import EXIT_FAILED, EXIT_OK, BuildoptError, ProfileError, UsageError, visible

if TYPE_CHECKING:
    from typing import Protocol

    from buildopt.config.budgets import ImageBudget
    from buildopt.config.profile import Profile
    from buildopt.config.startup import StartupOverrides
    from buildopt.pipeline.plan import Plan, Step
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import Build, Record, ScanReport, StartupResult
    from buildopt.record.store import RecordError
    from buildopt.system.outputs import Input, Output
    from buildopt.system.toolchain import Module

    class BuildProgressLike(Protocol):
        """What build_command shows builds with: output.console.BuildProgress, or
        output.progress.LogProgress."""

        def __enter__(self) -> BuildProgressLike: ...
        def __exit__(self, *exc: object) -> None: ...
        def started(self, step: Step) -> None: ...
        def finished(self, result: Build) -> None: ...


def _profile(spec: str | None, cwd: Path, command: str) -> Profile:
    """The profile spec names (from cwd or a folder above it); without a spec, the only one."""
    from buildopt.config.profile import load_profile

    try:
        return load_profile(spec, cwd)
    except UsageError as exc:
        if spec:
            raise
        raise UsageError(f"{command}: {exc.message}", exc.details) from None


def _dist(dist: str | None, cwd: Path) -> Path | None:
    return (cwd / dist).resolve() if dist else None


def _load_plan(
    profile: str | None,
    variants: Sequence[str],
    dist: str | None,
    cwd: Path,
    environ: Mapping[str, str],
    *,
    command: str = "plan",
) -> Plan:
    from buildopt.pipeline.plan import make_plan
    from buildopt.system import toolchain

    loaded = _profile(profile, cwd, command)
    return make_plan(loaded, toolchain.load(environ), environ, variants, _dist(dist, cwd))


def plan_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    as_json: bool = False,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt plan``: every variant x target with its argv and env, nothing built."""
    from buildopt.output import console as report

    plan = _load_plan(profile, variants, dist, cwd or Path.cwd(), environ or os.environ)
    if as_json:
        report.print_json(report.plan_json(plan))
    else:
        report.show_plan(report.make_console(), plan)
    return EXIT_OK


def _load_record(path: Path) -> Record:
    """A build record, with the size limit BUILDOPT_MAX_JSON sets (default 256 MiB)."""
    from buildopt.config.units import UnitError, parse_size
    from buildopt.record import store

    given = os.environ.get("BUILDOPT_MAX_JSON")
    try:
        limit = parse_size(given) if given else store.MAX_RECORD_BYTES
    except UnitError as exc:
        raise UsageError(f"BUILDOPT_MAX_JSON: {exc}") from None
    return store.load(path, limit)


def _seconds_from(environ: Mapping[str, str], name: str, default: float) -> float:
    """Seconds from the environment variable ``name`` (``90``, ``90s``, ``500ms``), else
    default; a value that is not a duration is one line, exit 2."""
    from buildopt.config.units import UnitError, parse_seconds

    given = environ.get(name)
    try:
        return parse_seconds(given) if given else default
    except UnitError as exc:
        raise UsageError(f"{name}: {exc}") from None


def _existing_record(profile: Profile, dist: str | None, cwd: Path, command: str) -> Path:
    path = profile.record_path(_dist(dist, cwd))
    if not path.is_file():
        raise UsageError(
            f"{command} --profile {profile.name}: no build record {path}; run buildopt build"
            + (f" --dist {dist}" if dist else "")
        )
    return path


def compare_command(
    profile: str | None,
    records: Sequence[str] = (),
    *,
    as_json: bool = False,
    exact: bool = False,
    rows: int = 30,
    dist: str | None = None,
    cwd: Path | None = None,
) -> int:
    """``buildopt compare``: variants against the baseline, or two build records."""
    from buildopt.analysis import compare
    from buildopt.output import console as report

    cwd = cwd or Path.cwd()
    if rows < 1:
        raise UsageError(f"--rows {rows}: expected 1 or more")
    if len(records) > 2:
        raise UsageError("compare: give one build record (or --profile), or two to compare")
    if len(records) == 2:
        old, new = (_load_record(cwd / r) for r in records)
        result = compare.compare_records(old, new)
        if as_json:
            report.print_json(compare.records_json(result))
        else:
            report.show_record_comparison(report.make_console(), result, rows, exact=exact)
        return EXIT_OK
    if records:
        path = cwd / records[0]
    else:  # the profile's record (without --profile: the project's only profile)
        path = _existing_record(_profile(profile, cwd, "compare"), dist, cwd, "compare")
    record = _load_record(path)
    variant_rows = compare.compare_variants(record)
    for target in compare.missing_baselines(record, variant_rows):
        print(
            f"warning: no {record.profile.baseline!r} build for {target} in {path}: its variants "
            "are shown without deltas (build the baseline too, or set baseline in the profile)",
            file=sys.stderr,
        )
    _warn_changed(record)
    if as_json:
        report.print_json(compare.variants_json(record, variant_rows))
    else:
        report.show_variant_comparison(report.make_console(), record, variant_rows, exact=exact)
    return EXIT_OK


def gate_command(
    profile: str | None,
    *,
    baseline: str | None = None,
    record: str | None = None,
    build: bool = False,
    as_json: bool = False,
    exact: bool = False,
    markdown: str | None = None,
    markdown_mode: str | None = None,
    junit: str | None = None,
    report_url: str = "",
    baseline_missing: str = "",
    acknowledge: str = "",
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt gate``: every budget of the profile on the build record it is given."""
    from buildopt.analysis import gate
    from buildopt.cli import reads as reads_of
    from buildopt.config.budgets import check_selectors
    from buildopt.output import console as report
    from buildopt.output import gate as gate_output
    from buildopt.pipeline.plan import all_ids
    from buildopt.system import toolchain
    from buildopt.system.outputs import Input, output_to, stdout_taken

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    if markdown_mode not in (None, "append", "replace"):
        raise UsageError(f"--markdown-mode {markdown_mode}: expected append or replace")
    loaded = _profile(profile, cwd, "gate")
    check_selectors(loaded.budgets, loaded.images, all_ids(loaded, toolchain.load(environ)))
    if not loaded.budgets and not loaded.images:
        raise UsageError(f"gate: {loaded.path} has no [[budget]] or [[image]] tables")
    record_path = (cwd / record) if record else loaded.record_path(_dist(dist, cwd))
    reads = [*reads_of.profile_inputs(loaded), Input(record_path, "the build record")]
    reads += [Input(cwd / baseline, "the baseline record")] if baseline else []
    md_out = output_to("--markdown", markdown, cwd, reads) if markdown else None
    junit_out = output_to("--junit", junit, cwd, reads) if junit else None
    on_stdout = stdout_taken([md_out, junit_out], json=as_json)
    built = _build_for_gate(loaded, record_path, dist, cwd, environ) if build else EXIT_OK
    data = _gated_record(loaded, record_path)
    baseline_path, missing = _gate_baseline(baseline, baseline_missing, cwd)
    no_baseline = f"no baseline: {missing}" if missing else gate.NO_BASELINE
    if missing:  # one was asked for (the rows say it when none was)
        print(f"{visible(no_baseline)}: growth budgets are SKIP", file=sys.stderr)
    old = _load_record(baseline_path) if baseline_path else None
    # the real images an image budget asks for: made (or found unchanged) first
    others = _image_records(loaded)
    squashfs = [i for i in loaded.images if i.filesystem is not None]
    images_dir = loaded.images_dir(_dist(dist, cwd))
    made = _make_images(loaded, squashfs, data, others, images_dir, environ, 0, strict=False)
    checks = gate.evaluate(loaded.budgets, loaded.images, data, old, others, made, no_baseline)
    acknowledge = " ".join(acknowledge.split())
    checks = gate.acknowledge(checks, acknowledge) if acknowledge else checks
    reads += [
        *reads_of.record_inputs(record_path, data),
        *(
            reads_of.record_inputs(baseline_path, old, "the baseline record")
            if baseline_path
            else ()
        ),
        *reads_of.image_inputs(made, images_dir),
    ]
    if md_out:
        text = gate_output.markdown(
            checks,
            loaded.name,
            report_url=report_url,
            acknowledged=acknowledge,
            baseline_missing=missing,
        )
        summary = environ.get("GITHUB_STEP_SUMMARY")
        _write_markdown(md_out, text, markdown_mode, summary, reads)
    if junit_out:
        junit_out.write(gate_output.junit(checks, loaded.name), reads)
    if environ.get("GITHUB_ACTIONS") == "true":
        for line in gate_output.workflow_commands(checks, _relative(loaded.path, loaded.root)):
            print(line, file=sys.stderr)
    if as_json:
        report.print_json(
            gate_output.to_json(
                checks,
                data,
                str(baseline_path) if baseline_path else None,
                acknowledged=acknowledge,
                baseline_missing=missing,
            )
        )
    else:
        report.show_gate(report.make_console(stderr=on_stdout), checks, loaded.name, exact=exact)
    return EXIT_FAILED if gate.failed(checks) or built != EXIT_OK else EXIT_OK


def _gate_baseline(
    baseline: str | None, baseline_missing: str, cwd: Path
) -> tuple[Path | None, str]:
    """The baseline record growth is judged against; without one, why (one line: what
    --baseline-missing said, or that the --baseline file is not there; "" when none was
    asked for)."""
    path = (cwd / baseline) if baseline else None
    if path is not None and os.path.lexists(path):  # a FIFO or a folder is read, and refused
        return path, ""
    missing = " ".join(baseline_missing.split())
    if path is not None:
        missing = missing or f"no baseline record at {path}"
    return None, missing


def image_command(
    profile: str | None,
    *,
    record: str | None = None,
    name: str | None = None,
    jobs: int = 0,
    as_json: bool = False,
    exact: bool = False,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt image``: make the profile's squashfs images from its built binaries."""
    from buildopt.output import console as report

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    loaded = _profile(profile, cwd, "image")
    images = [i for i in loaded.images if i.filesystem is not None]
    if name is not None:
        images = [i for i in images if i.name == name]
        if not images:
            known = ", ".join(repr(i.name) for i in loaded.images if i.filesystem) or "none"
            raise UsageError(f"image --name {name}: no squashfs [[image]] of that name ({known})")
    if not images:
        raise UsageError(
            f'image: {loaded.path} has no [[image]] with filesystem = "squashfs" '
            "(see `buildopt docs budgets`)"
        )
    record_path = (cwd / record) if record else loaded.record_path(_dist(dist, cwd))
    data = _gated_record(loaded, record_path, command="image")
    images_dir = loaded.images_dir(_dist(dist, cwd))
    others = _image_records(loaded)
    made = _make_images(loaded, images, data, others, images_dir, environ, jobs, strict=True)
    records = [m.record for m in made.values() if m.record is not None]
    if as_json:
        report.print_json({"images": records})
    else:
        report.show_images(report.make_console(), records, exact=exact)
    return EXIT_OK


def report_command(
    profile: str | None,
    *,
    record: str | None = None,
    baseline: str | None = None,
    history: Sequence[str] = (),
    output: str | None = None,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt report``: the record as one self-contained HTML page."""
    from buildopt.analysis import compare, gate
    from buildopt.cli import reads as reads_of
    from buildopt.output.report import ReportInput, render
    from buildopt.record import images as image_records
    from buildopt.system.outputs import output_to

    cwd = cwd or Path.cwd()
    loaded = _profile(profile, cwd, "report")
    record_path = (cwd / record) if record else loaded.record_path(_dist(dist, cwd))
    given = output or str(loaded.dist_dir(_dist(dist, cwd)) / "report.html")
    known = [*reads_of.profile_inputs(loaded), *reads_of.record_inputs(record_path, None)]
    page_out = output_to("-o" if output else "report", given, cwd, known)  # -o not given
    data = _gated_record(loaded, record_path, command="report")
    old = _load_record(cwd / baseline) if baseline else None
    images_dir = loaded.images_dir(_dist(dist, cwd))
    made: dict[str, ImageOutcome] = {}
    for image in loaded.images:  # images made before (buildopt image): the report makes none
        if image.filesystem is not None:
            path = image_records.record_path(images_dir, image.name)
            try:
                made[image.name] = image_records.ImageOutcome(image_records.load(path))
            except image_records.ImageRecordError:
                why = f"not made yet (buildopt image --profile {loaded.name})"
                made[image.name] = image_records.ImageOutcome(reason=why)
    checks = gate.evaluate(loaded.budgets, loaded.images, data, old, _image_records(loaded), made)
    history_records = _history_records(history, cwd)
    page = render(
        ReportInput(
            record=data,
            record_path=str(record_path),
            rows=compare.compare_variants(data),
            checks=checks,
            budgets=loaded.budgets,
            baseline=old,
            history=[(label, r) for label, _, r in history_records],
            images=[m.record for m in made.values() if m.record is not None],
        )
    )
    reads = [
        *reads_of.profile_inputs(loaded),
        *reads_of.record_inputs(record_path, data),
        *(reads_of.record_inputs(cwd / baseline, old, "the baseline record") if baseline else ()),
        *(i for _, path, r in history_records for i in reads_of.record_inputs(path, r, "a record")),
        *reads_of.image_inputs(made, images_dir),
    ]
    page_out.write(page, reads)
    if not page_out.to_stdout:
        print(f"report: {page_out.path} ({len(page.encode()) / 1024:.0f} KiB)")
    return EXIT_OK


def _history_records(paths: Sequence[str], cwd: Path) -> list[tuple[str, Path, Record]]:
    """The records named (files, or every *.json of a folder), oldest first by their time."""
    files: list[Path] = []
    for given in paths:
        path = cwd / given
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        else:
            files.append(path)
    loaded = [(p, _load_record(p)) for p in files]
    loaded.sort(key=lambda item: item[1].created)
    return [(f"{r.created[:10]} {p.stem}", p, r) for p, r in loaded]


def _make_images(  # noqa: PLR0917 - the images and everything they are made from
    loaded: Profile,
    images: Sequence[ImageBudget],
    data: Record,
    others: Mapping[Path, Record | RecordError],
    images_dir: Path,
    environ: Mapping[str, str],
    jobs: int,
    *,
    strict: bool,
) -> dict[str, ImageOutcome]:
    """Each squashfs image made (or its record, when its inputs are unchanged), by name; with
    strict, an image that cannot be made is an error, else the reason takes its place (the
    gate then skips its checks with that note)."""
    from buildopt.pipeline.image import build_image
    from buildopt.record.images import ImageOutcome
    from buildopt.system.files import remove_stale_temporaries
    from buildopt.system.squashfs import ToolMissing

    out: dict[str, ImageOutcome] = {}
    for stale in remove_stale_temporaries(images_dir):
        print(f"removed {stale}: left by a buildopt that was killed", file=sys.stderr)
    for image in images:
        name = visible(image.name)
        try:
            records = [data, *(_loaded(image, path, others) for path in image.records)]
            made, fresh = build_image(
                image,
                records,
                images_dir,
                environ=environ,
                jobs=jobs,
                root=loaded.root,
                making=functools.partial(_say_making, name, image.compressor),
            )
        except (ToolMissing, ProfileError):  # no mksquashfs, or the [[image]] is wrong: exit 2
            raise
        except BuildoptError as exc:
            if strict:
                raise
            out[image.name] = ImageOutcome(reason=exc.message)
            continue
        state = "made" if fresh else "unchanged, not made again"
        print(f"image {name}: {visible(made.image)} ({state})", file=sys.stderr)
        out[image.name] = ImageOutcome(made)
    return out


def _say_making(name: str, compressor: str) -> None:
    print(f"image {name}: mksquashfs -comp {compressor}...", file=sys.stderr)


def _loaded(image: ImageBudget, path: Path, others: Mapping[Path, Record | RecordError]) -> Record:
    """One of the other records an image takes binaries from; UsageError if it was not read."""
    from buildopt.record import store

    other = others.get(path, store.RecordError(f"{path}: not loaded"))
    if isinstance(other, store.RecordError):
        raise UsageError(f"image {image.name!r}: {other.message}")
    return other


def _build_for_gate(
    loaded: Profile, record_path: Path, dist: str | None, cwd: Path, environ: Mapping[str, str]
) -> int:
    """gate --build: build the profile into the record first; its exit code."""
    print(f"building {loaded.name} first (--build)", file=sys.stderr)
    built = build_command(
        str(loaded.path),
        record=str(record_path),
        dist=dist,
        cwd=cwd,
        environ=environ,
        results_on_stderr=True,  # stdout is the gate's
    )
    if built != EXIT_OK:
        print(
            "some builds failed (exit 1): the record keeps the last good binary of each, "
            "and those are gated",
            file=sys.stderr,
        )
    return built


def _gated_record(loaded: Profile, record_path: Path, command: str = "gate") -> Record:
    """The record gate judges: it must be there (no silent build) and be of this profile."""
    if not record_path.exists():
        hint = "build first, or gate --build" if command == "gate" else "build first"
        raise UsageError(f"{command}: no build record at {record_path} ({hint})")
    data = _load_record(record_path)
    if data.profile.name != loaded.name:
        raise UsageError(
            f"{command} --record {record_path}: a record of profile {data.profile.name!r}, "
            f"not of {loaded.name!r}"
        )
    return data


def _write_markdown(
    target: Output, text: str, mode: str | None, summary: str | None, reads: Sequence[Input]
) -> None:
    """The gate's Markdown, appended to GitHub's step summary (earlier steps wrote there too)
    and written whole anywhere else, unless --markdown-mode says which."""
    if mode is None:
        is_summary = bool(summary) and target.path == Path(str(summary)).resolve()
        mode = "append" if is_summary else "replace"
    (target.append if mode == "append" else target.write)(text, reads)


def _image_records(profile: Profile) -> dict[Path, Record | RecordError]:
    """The other records the profile's image budgets sum, each loaded once (or its error)."""
    from buildopt.record import store

    out: dict[Path, Record | RecordError] = {}
    for path in {p for image in profile.images for p in image.records}:
        try:
            out[path] = _load_record(path)
        except store.RecordError as exc:
            out[path] = exc
    return out


def matrix_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt matrix``: the GitHub Actions strategy.matrix, one job per variant x target
    the profile declares - whether or not this machine could build it - with what its job
    needs (a C cross compiler's packages). A job that still cannot build records a skip with
    its reason, which the gate shows: no variant is silently left out."""
    from buildopt.pipeline.plan import job_needs, step_id, variant_points

    loaded = _profile(profile, cwd or Path.cwd(), "matrix")
    plan = _load_plan(
        str(loaded.path), variants, None, cwd or Path.cwd(), environ or os.environ, command="matrix"
    )
    chosen = {s.id for s in plan.steps} | {k.id for k in plan.skipped}
    include = []
    for variant in loaded.variants:
        for target, release in variant_points(loaded, variant, plan.toolchain):
            job_id = step_id(variant, target, release)
            if job_id in chosen:
                needs = job_needs(variant, target, plan.toolchain)
                include.append(
                    {
                        "id": job_id,
                        "variant": variant.name,
                        "target": target.spec,
                        "toolchain": release or plan.toolchain.version,
                        "cc": needs.cc,
                        "needs": list(needs.packages),
                    }
                )
    print(json.dumps({"include": include}))
    return EXIT_OK


def merge_command(
    records: Sequence[str],
    *,
    output: str,
    expect: Sequence[str] = (),
    expect_matrix: str | None = None,
    cwd: Path | None = None,
) -> int:
    """``buildopt merge``: join per-job build records into one; with the ids the matrix
    expected, the record names each that no job's record holds (the gate fails on it)."""
    from buildopt.cli.reads import record_inputs
    from buildopt.inputs import read_limited
    from buildopt.record import store
    from buildopt.system.outputs import Input, output_to

    cwd = cwd or Path.cwd()
    if not output:
        raise UsageError("merge: -o/--output FILE is required")
    matrix_inputs = [Input(cwd / expect_matrix, "the expected matrix")] if expect_matrix else []
    merged_out = output_to(
        "-o",
        output,
        cwd,
        [i for r in records for i in record_inputs(cwd / r, None, "an input record")]
        + matrix_inputs,
        record=True,
    )
    expected = list(expect)
    if expect_matrix:
        try:
            data = read_limited(cwd / expect_matrix, store.MAX_RECORD_BYTES)
        except (OSError, ValueError) as exc:  # not there, not a regular file, too large
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"--expect-matrix {expect_matrix}: cannot read: {why}") from None
        expected += store.matrix_ids(data, expect_matrix)
    loaded = [(r, _load_record(cwd / r)) for r in records]
    merged = store.merge(loaded, expected)
    reads = [i for r, data in loaded for i in record_inputs(cwd / r, data, "an input record")]
    store.write_to(merged_out, merged, reads + matrix_inputs)
    print(
        f"merged {len(records)} records, {len(merged.builds)} builds -> "
        + ("stdout" if merged_out.to_stdout else output),
        file=sys.stderr,
    )
    for missing in merged.missing or ():
        print(f"missing {missing.id}: {missing.reason}", file=sys.stderr)
    return EXIT_OK


def _relative(path: Path, root: Path) -> str:
    """path relative to root when inside it (GitHub annotations want repository paths)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def startup_command(
    profile: str | None,
    files: Sequence[str] = (),
    *,
    args: Sequence[str] = (),
    overrides: StartupOverrides | None = None,
    as_json: bool = False,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt startup``: cold start of a binary, or of every built variant of a profile."""
    from dataclasses import replace

    from buildopt.config.startup import StartupConfig, StartupOverrides, apply_overrides
    from buildopt.measure import startup
    from buildopt.output import console as report
    from buildopt.output import tables
    from buildopt.record import store
    from buildopt.record.model import STARTUP_SCHEMA, StartupReport
    from buildopt.system import proc

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    record_path: Path | None = None
    record: Record | None = None
    if profile:
        loaded = _profile(profile, cwd, "startup")
        config = loaded.startup
        record_path = _existing_record(loaded, dist, cwd, "startup")
        record = _load_record(record_path)
        binaries, skipped, baseline = _runnable(record, environ)
        if args:
            config = replace(config, args=tuple(args))
    elif len(files) == 1:
        config = StartupConfig(args=tuple(args))
        binaries, skipped, baseline = {files[0]: cwd / files[0]}, [], files[0]
    else:
        raise UsageError(
            "startup: give one executable (and its arguments after --), or --profile P"
        )
    config = apply_overrides(config, overrides or StartupOverrides())
    console = report.make_console(stderr=True)  # progress and notes
    for note in skipped:
        console.print(tables.data(("skipped", "yellow"), f" {note}"))
    if not binaries:
        raise UsageError("startup: nothing this machine can run")
    with (
        proc.sigterm_as_interrupt(),  # a CI cancel stops the measured program, as Ctrl-C does
        report.StartupProgress(
            console, len(binaries) * (config.warmup + config.trace_runs + config.runs)
        ) as bar,
    ):
        series = startup.run_series(
            binaries, config, environ, startup.spawn_helper(environ), bar.advance
        )
    base = next((s for s in series if s.name == baseline), None)
    results = tuple(startup.summarize_series(s, config, base) for s in series)
    if record is not None and record_path is not None:
        measured = {r.name: r for r in results}
        shas = {b.id: b.sha256 for b in record.builds if b.id in measured}
        kept = record

        def attach(now: Record | None) -> Record:
            return _with(now or kept, startup=measured, of=shas)

        store.update(record_path, attach)
    report.show_startup(report.make_console(stderr=as_json), results, baseline)
    if as_json:
        report.print_json(StartupReport(schema=STARTUP_SCHEMA, baseline=baseline, variants=results))
    return EXIT_FAILED if any(r.failed_runs for r in results) else EXIT_OK


def _warn_changed(record: Record) -> None:
    """A warning for each binary of the record changed since its build (its row shows the
    binary as it was built, not the file in dist/)."""
    from buildopt.record.integrity import changed

    for build in record.builds:
        if (problem := changed(build)) is not None:
            print(f"warning: {build.id}: {problem}: shown as built", file=sys.stderr)


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


def _with(
    record: Record,
    *,
    startup: Mapping[str, StartupResult] | None = None,
    scan: Mapping[str, ScanReport] | None = None,
    of: Mapping[str, str | None] | None = None,
) -> Record:
    """record with start-up results or scans attached to the builds they are of (by id) -
    with ``of`` (id -> sha256), only where the entry still describes that binary (another
    run may have rebuilt it since)."""
    import msgspec

    builds: list[Build] = []
    for build in record.builds:
        if of is not None and (build.id not in of or of[build.id] != build.sha256):
            builds.append(build)
            continue
        changes: dict[str, object] = {}
        if startup and build.id in startup:
            changes["startup"] = msgspec.structs.replace(startup[build.id], sha256=build.sha256)
        if scan and build.id in scan:
            changes["scan"] = msgspec.structs.replace(scan[build.id], sha256=build.sha256)
        builds.append(msgspec.structs.replace(build, **changes) if changes else build)
    return record.with_builds(tuple(builds))


def _runnable(record: Record, environ: Mapping[str, str]) -> tuple[dict[str, Path], list[str], str]:
    """Built binaries this machine can run (its own GOOS/GOARCH), the others, and the baseline."""
    from buildopt.record.integrity import changed
    from buildopt.system import toolchain

    tools = toolchain.load(environ)
    host = f"{tools.hostos}/{tools.hostarch}"
    runnable: dict[str, Path] = {}
    skipped = []
    for build in record.builds:
        if not build.ok or build.output is None:
            continue
        if build.pair != host:
            skipped.append(f"{build.id}: a {build.pair} binary cannot run on this {host} machine")
            continue
        if (problem := changed(build)) is not None:  # its result would be another binary's
            skipped.append(f"{build.id}: {problem}: build again")
            continue
        runnable[build.id] = Path(build.output)
    baseline_name = record.profile.baseline
    baseline = next((i for i in runnable if i.split("@")[0] == baseline_name), "")
    return runnable, skipped, baseline


def scan_command(
    patterns: Sequence[str] = (),
    *,
    tags: Sequence[str] = (),
    as_json: bool = False,
    sarif: str | None = None,
    include_generated: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt scan``: start-up anti-patterns in the Go sources; exit 1 on an error finding."""
    from buildopt.config.profile import is_build_tag
    from buildopt.measure import scan as scanner
    from buildopt.output import console as report
    from buildopt.output.sarif import to_sarif
    from buildopt.system.outputs import GoSources, output_to, stdout_taken

    bad = next((t for t in tags if not is_build_tag(t)), None)
    if bad is not None:
        raise UsageError(f"scan: --tags: {bad!r} is not a build tag (letters, digits, _ .)")
    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    targets = _scan_targets(cwd, patterns, environ)
    sources = [GoSources(root) for root, _ in targets]
    sarif_out = output_to("--sarif", sarif, cwd, sources) if sarif else None
    on_stdout = stdout_taken([sarif_out], json=as_json)
    reports = [
        scanner.scan(root, pats, tags, environ=environ, include_generated=include_generated)
        for root, pats in targets
    ]
    result = reports[0] if len(reports) == 1 else scanner.combine(reports, cwd)
    if sarif_out:
        text = json.dumps(to_sarif(result), indent=2) + "\n"
        sarif_out.write(text, sources)
    if as_json:
        report.print_json(result)
    else:
        report.show_scan(report.make_console(stderr=on_stdout), result)
    return EXIT_FAILED if result.count("error") else EXIT_OK


def _scan_targets(
    cwd: Path, patterns: Sequence[str], environ: Mapping[str, str]
) -> list[tuple[Path, list[str]]]:
    """Where to run go list, and with what patterns: a directory or file argument in the root
    of its own module (a directory with what is below it, a file with its package); package
    patterns from cwd; nothing, outside any module: every module below cwd."""
    from buildopt.measure.scan import modules_below
    from buildopt.system.toolchain import module_root

    targets: dict[Path, list[str]] = {}
    for pattern in patterns:
        path = cwd / pattern
        if "..." not in pattern and not path.exists() and pattern.startswith(("/", "./", "../")):
            raise UsageError(f"scan: {pattern}: no such file or directory")
        if "..." not in pattern and path.exists():
            where = path if path.is_dir() else path.parent
            root = module_root(where, environ)
            if root is None:
                raise UsageError(f"scan: {pattern}: not in a Go module (no go.mod there or above)")
            rel = where.resolve().relative_to(root.resolve()).as_posix()
            suffix = "/..." if path.is_dir() else ""
            targets.setdefault(root, []).append("." + suffix if rel == "." else f"./{rel}{suffix}")
        else:
            targets.setdefault(cwd, []).append(pattern)
    if patterns:
        return list(targets.items())
    if module_root(cwd, environ) is not None:
        return [(cwd, [])]
    below = modules_below(cwd)
    if not below:
        raise UsageError(f"scan: no Go module in {cwd} or below it (no go.mod)")
    return [(root, []) for root in below]


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
    from buildopt.output import tables

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
            report.show_scan(results, scanned[0].scan)  # type: ignore[arg-type]
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


TASKS_PY = '''"""invoke tasks: buildopt's commands (`invoke build --profile=NAME`, ...)."""

from buildopt.cli.tasks import ns  # noqa: F401
'''


def init_command(
    directory: str | None = None,
    *,
    package: str | None = None,
    budgets: bool = False,
    tasks: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt init``: a commented starter profile for a Go module's main package."""
    import shutil

    from buildopt.config.profile import PROFILES_DIR
    from buildopt.config.starter import module_binary_name, profile_name, starter_profile
    from buildopt.system import toolchain
    from buildopt.system.files import atomic_write_text

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    where = (cwd / directory).resolve() if directory else cwd
    if not where.is_dir():
        raise UsageError(f"init: {where} is not a directory")
    print(f"looking for main packages in the Go module of {where} ...", file=sys.stderr)
    module = toolchain.module_at(where, environ)
    mains = [(m.import_path, _relative_package(m.dir, module.root)) for m in module.mains]
    if not mains:
        raise UsageError(f"init: the module {module.path} at {module.root} has no main package")
    chosen = _main_to_profile(module, mains, package, cwd, where)
    binary = Path(chosen[1]).name if chosen[1] != "." else module_binary_name(module.path)
    name = profile_name(binary)
    path = module.root / PROFILES_DIR / f"{name}.toml"
    if path.exists():
        raise UsageError(f"init: {path} exists already (edit it, or remove it to start again)")
    tools = toolchain.load(environ)
    host = f"{tools.hostos}/{tools.hostarch}"
    targets = [host, *(["linux/arm64"] if host != "linux/arm64" else ["linux/amd64"])]
    cc = environ.get("CC") or next((c for c in ("gcc", "cc") if shutil.which(c)), None)
    text = starter_profile(
        module_path=module.path,
        package=chosen[1],
        others=[m[1] for m in mains if m != chosen],
        targets=targets,
        c_compiler=cc,
        written=_dt.date.today().isoformat(),
        binary=binary if chosen[1] == "." else None,
    )
    atomic_write_text(path, text)
    print(f"wrote {path} (profile {name!r}: {chosen[1]}, {', '.join(targets)})", file=sys.stderr)
    tasks_py = module.root / "tasks.py"
    if tasks and not tasks_py.exists():
        atomic_write_text(tasks_py, TASKS_PY)
        print(f"wrote {tasks_py}: `invoke build --profile={name}` works too", file=sys.stderr)
    elif tasks:
        print(f"{tasks_py} exists already: not written", file=sys.stderr)
    status = _initial_budgets(path, name, module.root, environ) if budgets else EXIT_OK
    print(f"next: buildopt plan --profile {name}   (then build, compare, gate)", file=sys.stderr)
    return status


LISTED_MAINS = 20  # main packages named on stderr when init chooses among them


def _main_to_profile(
    module: Module,
    mains: list[tuple[str, str]],
    package: str | None,
    cwd: Path,
    where: Path,
) -> tuple[str, str]:
    """(import path, ./dir) of the main package init profiles: --package's, else the one
    choose_main picks, saying so on stderr with the others when there are several."""
    from buildopt.config.starter import choose_main

    if package:
        return _named_main(module, mains, package, cwd)
    try:
        here = where.resolve().relative_to(module.root.resolve()).as_posix()
    except ValueError:
        here = "."
    chosen, why = choose_main(module.path, mains, here)
    if len(mains) > 1:
        others = [m[1] for m in mains if m != chosen]
        print(
            f"init: {module.path} has {len(mains)} main packages; profiling {chosen[1]} ({why})",
            file=sys.stderr,
        )
        for other in others[:LISTED_MAINS]:
            print(f"  also: {other}", file=sys.stderr)
        if len(others) > LISTED_MAINS:
            print(
                f"  and {len(others) - LISTED_MAINS} more (in the profile's comments)",
                file=sys.stderr,
            )
        print("  another one: buildopt init --package DIR", file=sys.stderr)
    return chosen


def _named_main(
    module: Module, mains: list[tuple[str, str]], package: str, cwd: Path
) -> tuple[str, str]:
    """The main package --package names: a folder relative to the current directory or to the
    module root, or an import path."""
    for base in (cwd, module.root):
        folder = (base / package).resolve()
        for main in mains:
            if main[0] == package or (module.root / main[1]).resolve() == folder:
                return main
    raise UsageError(
        f"init: --package {package}: not a main package of {module.path}; its main packages:",
        details=[m[1] for m in mains],
    )


def _relative_package(directory: Path, root: Path) -> str:
    rel = directory.relative_to(root).as_posix()
    return "." if rel == "." else f"./{rel}"


def _initial_budgets(path: Path, name: str, root: Path, environ: Mapping[str, str]) -> int:
    """init --budgets: build every variant, then budget each binary (variant x target) at its
    own size plus 10%; byte-identical binaries share one budget. EXIT_FAILED when a build
    failed: its binary has no budget (all failing printed "budgets: 0 for 0 binaries", exit 0)."""
    from buildopt.config.starter import Binary, identical_groups, size_budgets
    from buildopt.system.files import append_text

    print(f"building {name} to set its budgets ...", file=sys.stderr)
    build_command(str(path), cwd=root, environ=environ, results_on_stderr=True)
    record = _load_record(_profile(str(path), root, "init").record_path())
    binaries = [
        Binary(b.id, b.size, b.sha256) for b in record.builds if b.ok and b.size is not None
    ]
    append_text(path, size_budgets(binaries))
    groups = identical_groups(binaries)
    print(
        f"budgets: {len(groups)} for {len(binaries)} binaries, at their size plus 10%, in {path}",
        file=sys.stderr,
    )
    for group in (g for g in groups if len(g) > 1):
        same = ", ".join(b.build_id for b in group[1:])
        print(f"  {same}: byte-identical to {group[0].build_id}, one budget", file=sys.stderr)
    failed = [b.id for b in record.builds if not b.ok]
    if not failed:
        return EXIT_OK
    print(
        f"error: init --budgets: {len(failed)} of {len(record.builds)} builds failed (above), "
        "so their binaries have no budget; fix them, `buildopt build`, then add their "
        "[[budget]] tables (buildopt docs budgets)",
        file=sys.stderr,
    )
    return EXIT_FAILED


def docs_command(topic: str | None) -> int:
    """``buildopt docs``: a page of the documentation shipped with buildopt, on stdout."""
    from importlib.resources import files

    pages = files("buildopt") / "docs"
    names = sorted(p.name[:-3] for p in pages.iterdir() if p.name.endswith(".md"))
    if not topic:
        print("buildopt docs TOPIC prints one of: " + ", ".join(names))
        return EXIT_OK
    name = topic.removesuffix(".md").lower()
    if name not in names:
        from buildopt.config.keys import did_you_mean

        hint = did_you_mean(name, names) or f"; pages: {', '.join(names)}"
        raise UsageError(f"docs: no page {topic!r}{hint}")
    sys.stdout.write((pages / f"{name}.md").read_text(encoding="utf-8"))
    return EXIT_OK
