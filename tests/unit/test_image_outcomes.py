"""An image a command asked for is a typed outcome: its record, or why there is none; the gate
judges the record and skips each check with the reason."""

from __future__ import annotations

from pathlib import Path

from buildopt.analysis.gate import evaluate_filesystem
from buildopt.config.budgets import ImageBudget
from buildopt.output.gate import figure_text
from buildopt.record.images import ImageEntry, ImageOutcome, ImageRecord

BUDGET = ImageBudget(
    name="rootfs",
    source=Path("/p/profiles/edge.toml"),
    where="image[0]",
    select=("edge@*",),
    records=(),
    max_size=8192,
    filesystem="squashfs",
    max_erase_blocks=1,
    max_share={"edge@*": 3000},
)
ENTRY = ImageEntry(
    path="/usr/bin/edge", source="edge@linux-arm64", sha256="0" * 64, size=9000, stored_bytes=4000
)
MADE = ImageRecord(
    schema="buildopt.image/1",
    name="rootfs",
    image="/dist/images/rootfs.squashfs",
    filesystem="squashfs",
    compressor="xz",
    block_size=131072,
    key="k",
    created="2026-01-01T00:00:00Z",
    size=4096,
    bytes_used=4000,
    metadata_bytes=96,
    erase_block=131072,
    erase_blocks=1,
    sha256="0" * 64,
    files=(ENTRY,),
    tool="mksquashfs version 4.5.1",
)


def test_a_made_image_is_judged() -> None:
    checks = evaluate_filesystem(BUDGET, ImageOutcome(MADE))
    got = [(c.check, c.verdict, figure_text(c.headroom)) for c in checks]
    assert got == [
        ("max_size", "pass", "+4.00 KiB"),
        ("max_erase_blocks", "pass", "+0 blocks"),
        ("max_share[edge@*]", "fail", "-1000 B"),
    ]


def test_an_image_not_made_skips_each_check_saying_why() -> None:
    checks = evaluate_filesystem(BUDGET, ImageOutcome(reason="mksquashfs: out of space"))
    assert {(c.verdict, c.note) for c in checks} == {("skip", "mksquashfs: out of space")}
    assert len(checks) == 3
    (alone,) = {c.note for c in evaluate_filesystem(BUDGET, None)}
    assert alone == "the image was not made"
