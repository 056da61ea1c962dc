"""``buildopt report``: the build record as one self-contained HTML page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _dist, _load_record, _profile
from buildopt.cli.images import _gated_record, _image_records, _profile_ids
from buildopt.errors import EXIT_OK

if TYPE_CHECKING:
    from buildopt.config.profile import Profile
    from buildopt.record.advice import AdviceReport
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import Record
    from buildopt.record.store import RecordError
    from buildopt.record.sweep import SweepReport


def report(
    *,
    profile: str = "",
    record: str = "",
    baseline: str = "",
    history: list[str] | None = None,
    output: str = "",
    dist: str = "",
) -> int:
    """``buildopt report``: the record as one self-contained HTML page."""
    from buildopt.analysis import compare, gate
    from buildopt.cli import reads as reads_of
    from buildopt.output.report import ReportInput, render
    from buildopt.system.outputs import output_to

    cwd = Path.cwd()
    loaded = _profile(profile, cwd, "report")
    record_path = (cwd / record) if record else loaded.record_path(_dist(dist, cwd))
    given = output or str(loaded.dist_dir(_dist(dist, cwd)) / "report.html")
    known = [*reads_of.profile_inputs(loaded), *reads_of.record_inputs(record_path, None)]
    page_out = output_to("-o" if output else "report", given, cwd, known)  # -o not given
    data = _gated_record(loaded, record_path, command="report")
    old = _load_record(cwd / baseline) if baseline else None
    images_dir = loaded.images_dir(_dist(dist, cwd))
    others = _image_records(loaded)
    ids = _profile_ids(loaded, data)
    made = _made_before(loaded, data, others, images_dir, ids)
    checks = gate.evaluate(loaded.budgets, loaded.images, data, old, others, made, ids=ids)
    history_records = _history_records(history or (), cwd)
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
            unshown=[(name, m.reason) for name, m in made.items() if m.record is None],
            advice=_advice(loaded.dist_dir(_dist(dist, cwd))),
            sweep=_sweep(loaded.dist_dir(_dist(dist, cwd))),
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


def _made_before(
    loaded: Profile,
    data: Record,
    others: Mapping[Path, Record | RecordError],
    images_dir: Path,
    ids: Sequence[str],
) -> dict[str, ImageOutcome]:
    """The squashfs images buildopt image made, each only if it is what the profile and the
    records make now: the report makes none, and shows no stale image nor judges one."""
    import os

    from buildopt.pipeline.image import made_before
    from buildopt.record.images import ImageOutcome
    from buildopt.record.model import Record

    made: dict[str, ImageOutcome] = {}
    for image in loaded.images:
        if image.filesystem is None:
            continue
        records = [data, *(others[p] for p in image.records)]
        unread = [r for r in records if not isinstance(r, Record)]
        made[image.name] = (
            ImageOutcome(reason=f"a record it takes cannot be read: {unread[0]}")
            if unread
            else made_before(
                image,
                [r for r in records if isinstance(r, Record)],
                images_dir,
                environ=dict(os.environ),
                root=loaded.root,
                ids=ids,
            )
        )
    return made


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


def _advice(dist: Path) -> AdviceReport | None:
    """What buildopt advise last found for the profile, if it ran (an unreadable file is
    said on stderr and left out)."""
    import sys

    from buildopt.pipeline.advise import ADVISE_DIR
    from buildopt.record.advice import ADVICE_FILE, AdviceError, load_advice

    path = dist / ADVISE_DIR / ADVICE_FILE
    if not path.exists():
        return None
    try:
        return load_advice(path)
    except AdviceError as exc:
        print(f"warning: advice left out: {exc}", file=sys.stderr)
        return None


def _sweep(dist: Path) -> SweepReport | None:
    """What buildopt sweep last found for the profile, if it ran (an unreadable file is said
    on stderr and left out)."""
    import sys

    from buildopt.pipeline.sweep import SWEEP_DIR
    from buildopt.record.sweep import SWEEP_FILE, SweepError, load_sweep

    path = dist / SWEEP_DIR / SWEEP_FILE
    if not path.exists():
        return None
    try:
        return load_sweep(path)
    except SweepError as exc:
        print(f"warning: sweep left out: {exc}", file=sys.stderr)
        return None
