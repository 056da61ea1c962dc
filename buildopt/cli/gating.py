"""The commands behind the CLI, gate, image and report: the budgets judged, the flash images
made, the HTML page.

Shared helpers are in buildopt.cli.commands; stages are imported where they are used.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.building import build_command
from buildopt.errors import EXIT_FAILED, EXIT_OK, BuildoptError, ProfileError, UsageError, visible

if TYPE_CHECKING:
    from buildopt.config.budgets import ImageBudget
    from buildopt.config.profile import Profile
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import Record
    from buildopt.record.store import RecordError
    from buildopt.system.outputs import Input, Output


from buildopt.cli.commands import (
    _dist,
    _load_record,
    _profile,
    _relative,
)


def gate_command(  # noqa: PLR0915 - one import per output module it prints with
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
    from buildopt.output import gate_tables
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
        gate_tables.show_gate(
            report.make_console(stderr=on_stdout), checks, loaded.name, exact=exact
        )
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
    from buildopt.output import gate_tables

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
        gate_tables.show_images(report.make_console(), records, exact=exact)
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
