"""What the loader maps of an ELF file, from its PT_LOAD segments: the static part of a
process's memory, before any heap or stack.

Each PT_LOAD segment maps ``p_memsz`` bytes at ``p_vaddr``, in whole pages: from the page its
first byte is on to the end of the page its last byte is on. The part backed by the file
(``p_filesz``) is file pages; past it (.bss) anonymous zero pages. By permission:

* read-execute (code) and read-only (rodata, Go's function tables) file pages are clean: the
  kernel shares them between every process of the same binary (and keeps them in the page
  cache) - **shared**;
* read-write file pages (data) are copied on the first write, and .bss is anonymous: each
  process has its own - **private**. So are the pages of PT_GNU_RELRO (written by the dynamic
  loader's relocations, then made read-only), which count as private, not shared.

For N processes of one binary: shared once, private N times, plus each process's heap and
stacks (what ``buildopt startup`` measures as peak RSS). The page size is 4 KiB unless given:
the size of the device's pages, not of the build machine's.
"""

from __future__ import annotations

from buildopt.binary.elf.reader import PF_W, PF_X, ElfLayout
from buildopt.binary.facts import MemoryModel

PAGE = 4096


def memory_of(layout: ElfLayout, page: int = PAGE) -> MemoryModel:
    """The loader's mappings of the file, by permission and by shared or private."""
    read_only = read_execute = read_write = bss = 0
    for seg in layout.segments:
        if seg.type != "PT_LOAD" or not seg.memsz:
            continue
        start = seg.vaddr // page * page
        end = -(-(seg.vaddr + seg.memsz) // page) * page
        file_end = -(-(seg.vaddr + seg.filesz) // page) * page if seg.filesz else start
        file_pages = min(end, file_end) - start
        anonymous = end - start - file_pages
        if seg.flags & PF_W:
            read_write += file_pages
            bss += anonymous
        elif seg.flags & PF_X:
            read_execute += file_pages + anonymous
        else:
            read_only += file_pages + anonymous
    relro = 0
    for seg in layout.segments:
        if seg.type == "PT_GNU_RELRO" and seg.memsz:
            start = seg.vaddr // page * page
            relro += (seg.vaddr + seg.memsz) // page * page - start  # whole pages only
    # RELRO lies inside a writable PT_LOAD (counted as read_write already, private) in the
    # layouts GNU ld and Go's linker write; it is reported apart for what it is.
    shared = read_only + read_execute
    private = read_write + bss
    return MemoryModel(
        page_size=page,
        mapped_bytes=shared + private,
        read_execute_bytes=read_execute,
        read_only_bytes=read_only,
        read_write_bytes=read_write,
        bss_bytes=bss,
        relro_bytes=max(0, relro),
        shared_bytes=shared,
        private_bytes=private,
    )
