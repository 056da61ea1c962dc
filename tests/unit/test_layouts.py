"""The layouts --compare sets side by side: which names are programs, what runs, what is
refused - on records written out by hand (the figures against real images and readelf are
tests/integration/test_image_layouts.py's)."""

from __future__ import annotations

import msgspec
import pytest

from buildopt.analysis.layouts import LayoutError, compare
from buildopt.binary.facts import MemoryModel
from buildopt.record.images import IMAGE_SCHEMA, ImageEntry, ImageLinkEntry, ImageRecord


def model(shared: int, private: int) -> MemoryModel:
    return MemoryModel(
        page_size=4096,
        mapped_bytes=shared + private,
        read_execute_bytes=shared,
        read_only_bytes=0,
        read_write_bytes=private,
        bss_bytes=0,
        relro_bytes=0,
        shared_bytes=shared,
        private_bytes=private,
    )


def image(name: str, files: dict[str, str], links: dict[str, str] | None = None) -> ImageRecord:
    """files: path -> build id (its sha256 is the id's first letter, repeated)."""
    return ImageRecord(
        schema=IMAGE_SCHEMA,
        name=name,
        image=f"/dist/{name}.squashfs",
        filesystem="squashfs",
        compressor="xz",
        block_size=131072,
        key="k",
        created="2026-12-08T00:00:00+00:00",
        size=8192,
        bytes_used=8000,
        metadata_bytes=100,
        erase_block=4096,
        erase_blocks=2,
        sha256="0" * 64,
        files=tuple(
            ImageEntry(path=p, source=s, sha256=s[0] * 64, size=10, stored_bytes=5)
            for p, s in files.items()
        ),
        tool="mksquashfs version 4.5.1",
        links=tuple(ImageLinkEntry(path=p, target=t, resolved=t) for p, t in (links or {}).items()),
    )


MEMORY = {
    "a" * 64: (model(40960, 8192), True),
    "b" * 64: (model(40960, 8192), True),
    "c" * 64: (model(65536, 12288), True),
}


def test_a_dispatcher_name_alone_is_listed_not_run() -> None:
    """busybox style: /bin/box runs nothing by its own name the separate layout has."""
    separate = image("separate", {"/bin/a": "a", "/bin/b": "b", "/etc/conf": "x"})
    combined = image("combined", {"/bin/box": "c"}, {"/bin/a": "/bin/box", "/bin/b": "/bin/box"})
    report = compare(separate, combined, MEMORY)
    assert report.workload == ("a", "b")
    runs = {p.name: p.runs for p in report.combined.programs}
    assert runs == {"a": True, "b": True, "box": False}
    assert report.combined.private_bytes == 2 * 12288  # two processes of one binary
    assert report.combined.shared_bytes == 65536  # its code once
    assert report.separate.ram_static_bytes == 2 * (40960 + 8192)
    assert report.separate.files == ("/bin/a", "/bin/b", "/etc/conf")  # the file: data
    assert [b.path for b in report.separate.binaries] == ["/bin/a", "/bin/b"]
    assert (report.separate.go_runtimes, report.combined.go_runtimes) == (2, 1)


def test_two_paths_of_one_name_and_binary_are_one_program() -> None:
    separate = image("s", {"/usr/bin/a": "a"}, {"/bin/a": "/usr/bin/a"})
    report = compare(separate, image("c", {"/usr/bin/a": "c"}), MEMORY)
    (program,) = report.separate.programs
    assert program.paths == ("/bin/a", "/usr/bin/a") and program.runs


def test_no_name_in_common_is_refused() -> None:
    with pytest.raises(LayoutError, match="no program name in common"):
        compare(image("s", {"/bin/a": "a"}), image("c", {"/bin/box": "c"}), MEMORY)


def test_one_name_for_two_binaries_is_refused() -> None:
    both = image("s", {"/bin/a": "a", "/sbin/a": "b"})
    with pytest.raises(LayoutError, match="both program 'a' but run different binaries"):
        compare(both, image("c", {"/bin/a": "c"}), MEMORY)


def test_a_build_without_a_memory_model_is_named() -> None:
    memory = {**MEMORY, "a" * 64: (None, True)}
    with pytest.raises(LayoutError, match=r"/bin/a \(a\) has no loader mappings"):
        compare(image("s", {"/bin/a": "a"}), image("c", {"/bin/a": "c"}), memory)


def test_a_combined_layout_that_leaves_a_program_out_is_refused() -> None:
    """Forgetting the CLI's link read as "flash -588 KiB, Go runtimes -1": the combined image
    simply did not ship the CLI."""
    separate = image("separate", {"/bin/a": "a", "/bin/b": "b"})
    with pytest.raises(LayoutError, match=r"'combined' does not offer b, which 'separate' runs"):
        compare(separate, image("combined", {"/bin/a": "c"}), MEMORY)


def test_a_file_of_a_builds_bytes_is_that_build() -> None:
    """A prebuilt copy of a binary, added by files, ran no program and counted no runtime."""
    separate = image("separate", {"/bin/a": "a", "/bin/b": "prebuilt/b"})
    entries = [
        e if e.path != "/bin/b" else msgspec.structs.replace(e, sha256="b" * 64)
        for e in separate.files
    ]
    separate = msgspec.structs.replace(separate, files=tuple(entries))
    combined = image("combined", {"/bin/box": "c"}, {"/bin/a": "/bin/box", "/bin/b": "/bin/box"})
    report = compare(separate, combined, MEMORY)
    assert report.workload == ("a", "b") and report.separate.go_runtimes == 2


def test_a_file_of_the_programs_name_that_is_no_build_is_said_to_be_data() -> None:
    separate = image("separate", {"/bin/a": "a", "/bin/b": "b"})
    combined = image("combined", {"/bin/a": "c", "/bin/b": "prebuilt/b-other"})
    with pytest.raises(LayoutError, match=r"runs \(/bin/b there is no build of the records"):
        compare(separate, combined, MEMORY)
