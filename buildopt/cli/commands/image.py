"""``buildopt image``: the profile's squashfs images, made from its built binaries."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.common import _dist, _profile
from buildopt.cli.images import _gated_record, _image_records, _make_images
from buildopt.cli.values import count
from buildopt.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from buildopt.config.budgets import ImageBudget
    from buildopt.record.images import ImageRecord
    from buildopt.record.model import Record
    from buildopt.record.store import RecordError


def image(
    *,
    profile: str = "",
    record: str = "",
    name: str = "",
    compare: list[str] | None = None,
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    dist: str = "",
) -> int:
    """``buildopt image``: make the profile's squashfs images from its built binaries."""
    from buildopt.output import console as report
    from buildopt.output import gate_tables
    from buildopt.record.images import ImagesReport

    cwd, environ, threads = Path.cwd(), dict(os.environ), count("--jobs", jobs, 0)
    loaded = _profile(profile, cwd, "image")
    images = [i for i in loaded.images if i.filesystem is not None]
    if compare is not None:
        images = _compared(loaded.path, images, compare, name)
    elif name:
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
    made = _make_images(
        loaded, images, record_path, data, others, images_dir, environ, threads, strict=True
    )
    records = [m.record for m in made.values() if m.record is not None]
    if compare is not None:
        pair = [r for n in compare if (r := made[n].record) is not None]
        return _show_layouts(pair, [data, *others.values()], json=json, exact=bytes)
    if json:
        report.print_json(ImagesReport(images=tuple(records)))
    else:
        gate_tables.show_images(report.make_console(), records, exact=bytes)
    return EXIT_OK


def _compared(
    path: Path, images: list[ImageBudget], names: list[str], name: str
) -> list[ImageBudget]:
    """The two squashfs images --compare names, separate first."""
    if len(names) != 2 or name:
        raise UsageError("image --compare takes two image names: SEPARATE COMBINED (no --name)")
    by_name = {i.name: i for i in images}
    for wanted in names:
        if wanted not in by_name:
            known = ", ".join(repr(i) for i in by_name) or "none"
            raise UsageError(
                f"image --compare {wanted}: no squashfs [[image]] of that name in {path} ({known})"
            )
    if names[0] == names[1]:
        raise UsageError(f"image --compare: {names[0]!r} twice (two layouts to compare)")
    return [by_name[n] for n in names]


def _show_layouts(
    records: Sequence[ImageRecord],
    builds: Sequence[Record | RecordError],
    *,
    json: bool,
    exact: bool,
) -> int:
    """The two images' layouts side by side, from their records and the builds' memory."""
    from buildopt.analysis import layouts
    from buildopt.output import console as report
    from buildopt.output import gate_tables
    from buildopt.record.model import Record

    memory = {
        b.sha256: (b.inspect.memory, b.inspect.go is not None)
        for r in builds
        if isinstance(r, Record)
        for b in r.builds
        if b.ok and b.sha256 is not None and b.inspect is not None
    }
    result = layouts.compare(records[0], records[1], memory)
    if json:
        report.print_json(result)
    else:
        gate_tables.show_layouts(report.make_console(), result, exact=exact)
    return EXIT_OK
