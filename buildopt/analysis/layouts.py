"""Two layouts of one device's programs side by side: separate binaries against one combined
binary that picks what to be by ``argv[0]`` (busybox style, with links to it).

Each layout is a squashfs image buildopt made: its flash is the image file's bytes and its
erase blocks; its RAM is the static RAM of every program it offers running once, from the
memory model of each binary's ELF file (buildopt.binary.memory, the ``max_ram_static`` fact):

* a **program** is a name the layout can run: a binary, and every link that leads to one; paths
  with one base name that lead to one binary are one program (``/bin/a`` and ``/usr/bin/a``);
* the RAM of both layouts is that of the same workload: the program names both offer, each
  running once (a name one layout alone has - a combined binary's own name, when nothing
  runs it by that name - is listed, not run);
* each running program has its own **private** pages: the binary's writable data (copied on
  write) and .bss - so one combined binary run as three programs counts them three times;
* the **shared** pages (code, read-only data, Go's tables) of one file are in RAM once however
  many programs run from it (the page cache maps them into each process);
* every Go binary carries its own runtime: **Go runtimes** is the distinct Go binaries.

Every figure is what the loader maps, exactly: an upper bound of what is resident, since a page
takes RAM once touched - .bss is zero pages that take RAM once written (Go 1.26's FIPS random
generator alone maps 32 MiB of .bss it may never write), data pages are copied once written.
Heap and stacks are not static: ``buildopt startup`` measures them (peak RSS).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Annotated, Literal

from buildopt.binary.facts import Bytes, Count, Fact, MemoryModel, Sha256, described
from buildopt.binary.memory import PAGE
from buildopt.errors import BuildoptError
from buildopt.record.images import ImageLinkEntry, ImageRecord

LAYOUTS_SCHEMA: Literal["buildopt.layouts/1"] = "buildopt.layouts/1"


class LayoutBinary(Fact, frozen=True):
    path: Annotated[str, described("the binary's place in the image")]
    source: Annotated[str, described("the build id it was built as")]
    sha256: Sha256
    go: Annotated[bool, described("a Go binary (it carries a Go runtime)")]
    shared_bytes: Annotated[
        Bytes, described("code and read-only pages the loader maps: in RAM once")
    ]
    private_bytes: Annotated[
        Bytes, described("writable data and .bss pages: in RAM once per process")
    ]
    data_bytes: Annotated[Bytes, described("of private_bytes: data, file pages copied on write")]
    bss_bytes: Annotated[
        Bytes, described("of private_bytes: .bss, zero pages that take RAM once written")
    ]
    runs: Annotated[Count, described("the workload's programs that run this binary")]


class LayoutProgram(Fact, frozen=True):
    name: Annotated[str, described("argv[0]'s base name: what a combined binary dispatches on")]
    paths: Annotated[tuple[str, ...], described("the image paths that run it")]
    binary: Annotated[str, described("the image path of the binary it runs")]
    private_bytes: Annotated[Bytes, described("its process's writable data and .bss pages")]
    data_bytes: Bytes
    bss_bytes: Bytes
    runs: Annotated[
        bool, described("in the workload: both layouts offer the name (else listed, not run)")
    ]


class Layout(Fact, frozen=True):
    name: Annotated[str, described("the [[image]]'s name")]
    image: Annotated[str, described("the image file")]
    files: Annotated[tuple[str, ...], described("the regular files it holds")]
    links: tuple[ImageLinkEntry, ...]
    flash_bytes: Annotated[Bytes, described("the image file's bytes")]
    erase_block: Bytes
    erase_blocks: Count
    binaries: tuple[LayoutBinary, ...]
    programs: tuple[LayoutProgram, ...]
    go_runtimes: Annotated[Count, described("distinct Go binaries: each carries its own runtime")]
    page_size: Annotated[Bytes, described("the page size of the memory model")]
    shared_bytes: Annotated[
        Bytes, described("the shared pages of every binary the workload runs, once per binary")
    ]
    private_bytes: Annotated[
        Bytes, described("the private pages of every program of the workload, once per program")
    ]
    data_bytes: Annotated[Bytes, described("of private_bytes: the data pages")]
    bss_bytes: Annotated[Bytes, described("of private_bytes: the .bss pages")]
    ram_static_bytes: Annotated[
        Bytes,
        described(
            "shared_bytes + private_bytes: the static RAM the loader maps for the workload, "
            "every program running once, before any heap or stack - an upper bound of what "
            "is resident (a page takes RAM once touched; .bss and data pages privately once "
            "written)"
        ),
    ]


class LayoutsReport(Fact, frozen=True):
    """``buildopt image --compare SEPARATE COMBINED --json``."""

    schema: Literal["buildopt.layouts/1"]
    workload: Annotated[
        tuple[str, ...], described("the program names both layouts offer, each run once")
    ]
    separate: Layout
    combined: Layout
    flash_delta: Annotated[int, described("combined less separate, bytes")]
    erase_blocks_delta: int
    ram_static_delta: Annotated[int, described("combined less separate, bytes")]
    go_runtimes_delta: int


class LayoutError(BuildoptError):
    """Layouts that cannot be compared: a binary whose build has no memory model, or no
    program name in common (exit 2)."""


Memory = tuple[MemoryModel | None, bool]  # a build's loader mappings, and whether it is Go
Models = dict[str, tuple[MemoryModel, bool]]  # by the binary's image path


def compare(
    separate: ImageRecord, combined: ImageRecord, memory: Mapping[str, Memory]
) -> LayoutsReport:
    """Two images as layouts of the same workload; memory gives each build's model by its
    sha256 (a file the profile adds with a build's very bytes is that build)."""
    images = (separate, combined)
    models = [_models(image, memory) for image in images]
    names = [set(_programs(image, m)) for image, m in zip(images, models, strict=True)]
    workload = names[0] & names[1]
    if not workload:
        raise LayoutError(
            f"image --compare: {separate.name!r} runs {sorted(names[0])} and {combined.name!r} "
            f"runs {sorted(names[1])}: no program name in common (links give a binary more)"
        )
    missing = sorted(names[0] - names[1])
    if missing:  # else the combined layout would look smaller by not shipping them
        data = [
            f.path
            for f in combined.files
            if posixpath.basename(f.path) in missing and f.path not in models[1]
        ]
        held = (
            f" ({', '.join(data)} there is no build of the records, nor a copy of one: data)"
            if data
            else ""
        )
        raise LayoutError(
            f"image --compare: {combined.name!r} does not offer {', '.join(missing)}, which "
            f"{separate.name!r} runs{held}: a layout of the same programs gives each a name "
            f"(links = {{ PATH = BINARY }} in {combined.name!r}'s [[image]])"
        )
    a, b = (_layout(image, m, workload) for image, m in zip(images, models, strict=True))
    return LayoutsReport(
        schema=LAYOUTS_SCHEMA,
        workload=tuple(sorted(workload)),
        separate=a,
        combined=b,
        flash_delta=b.flash_bytes - a.flash_bytes,
        erase_blocks_delta=b.erase_blocks - a.erase_blocks,
        ram_static_delta=b.ram_static_bytes - a.ram_static_bytes,
        go_runtimes_delta=b.go_runtimes - a.go_runtimes,
    )


def _models(image: ImageRecord, memory: Mapping[str, Memory]) -> Models:
    """The image's binaries (the files of a build's bytes; others are data) with their
    models."""
    models: Models = {}
    for entry in image.files:
        if entry.sha256 not in memory:
            continue
        model, go = memory[entry.sha256]
        if model is None:
            raise LayoutError(
                f"image {image.name!r}: {entry.path} ({entry.source}) has no loader mappings in "
                "its build record (build it again)"
            )
        models[entry.path] = (model, go)
    return models


def _programs(image: ImageRecord, models: Models) -> dict[str, tuple[str, list[str]]]:
    """Each program name the image offers: (the binary it runs, the paths that run it)."""
    runs: dict[tuple[str, str], list[str]] = {}
    for path in models:
        runs.setdefault((posixpath.basename(path), path), []).append(path)
    for link in image.links:
        if link.resolved in models:
            runs.setdefault((posixpath.basename(link.path), link.resolved), []).append(link.path)
    programs: dict[str, tuple[str, list[str]]] = {}
    for (name, binary), paths in sorted(runs.items()):
        if name in programs:  # one name, two binaries: argv[0] cannot say which
            raise LayoutError(
                f"image {image.name!r}: {programs[name][1][0]} and {paths[0]} are both "
                f"program {name!r} but run different binaries"
            )
        programs[name] = (binary, sorted(paths))
    return programs


def _layout(image: ImageRecord, models: Models, workload: set[str]) -> Layout:
    programs = tuple(
        LayoutProgram(
            name=name,
            paths=tuple(paths),
            binary=binary,
            private_bytes=models[binary][0].private_bytes,
            data_bytes=models[binary][0].read_write_bytes,
            bss_bytes=models[binary][0].bss_bytes,
            runs=name in workload,
        )
        for name, (binary, paths) in _programs(image, models).items()
    )
    entries = {f.path: f for f in image.files}
    binaries = tuple(
        LayoutBinary(
            path=path,
            source=entries[path].source,
            sha256=entries[path].sha256,
            go=go,
            shared_bytes=model.shared_bytes,
            private_bytes=model.private_bytes,
            data_bytes=model.read_write_bytes,
            bss_bytes=model.bss_bytes,
            runs=sum(p.runs and p.binary == path for p in programs),
        )
        for path, (model, go) in sorted(models.items())
    )
    shared = sum(b.shared_bytes for b in binaries if b.runs)
    private = sum(p.private_bytes for p in programs if p.runs)
    return Layout(
        name=image.name,
        image=image.image,
        files=tuple(f.path for f in image.files),
        links=image.links,
        flash_bytes=image.size,
        erase_block=image.erase_block,
        erase_blocks=image.erase_blocks,
        binaries=binaries,
        programs=programs,
        go_runtimes=sum(b.go for b in binaries),
        page_size=max((m.page_size for m, _ in models.values()), default=PAGE),
        shared_bytes=shared,
        private_bytes=private,
        data_bytes=sum(p.data_bytes for p in programs if p.runs),
        bss_bytes=sum(p.bss_bytes for p in programs if p.runs),
        ram_static_bytes=shared + private,
    )
