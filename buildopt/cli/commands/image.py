"""``buildopt image``: the profile's squashfs images, made from its built binaries."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from buildopt.cli.common import _dist, _profile
from buildopt.cli.images import _gated_record, _image_records, _make_images
from buildopt.cli.options import count
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
    return image_command(
        profile or None,
        record=record or None,
        name=name or None,
        jobs=count("--jobs", jobs, 0),
        as_json=json,
        exact=bytes,
        dist=dist or None,
    )


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
    made = _make_images(
        loaded, images, record_path, data, others, images_dir, environ, jobs, strict=True
    )
    records = [m.record for m in made.values() if m.record is not None]
    if as_json:
        report.print_json({"images": records})
    else:
        gate_tables.show_images(report.make_console(), records, exact=exact)
    return EXIT_OK
