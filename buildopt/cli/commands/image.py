"""``buildopt image``: the profile's squashfs images, made from its built binaries."""

from __future__ import annotations

import os
from pathlib import Path

from buildopt.cli.common import _dist, _profile
from buildopt.cli.images import _gated_record, _image_records, _make_images
from buildopt.cli.values import count
from buildopt.errors import EXIT_OK, UsageError


def image(
    *,
    profile: str = "",
    record: str = "",
    name: str = "",
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
    if name:
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
    if json:
        report.print_json(ImagesReport(images=tuple(records)))
    else:
        gate_tables.show_images(report.make_console(), records, exact=bytes)
    return EXIT_OK
