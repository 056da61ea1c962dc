"""The loader's mappings of a binary (inspect's memory model) against readelf's program
headers and a running process's /proc/PID/smaps."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from buildopt.binary.inspect import inspect_file
from tests.integration.conftest import probe, readelf

pytestmark = pytest.mark.integration
__all__ = ["probe"]  # the fixture, used by name

PAGE = 4096


def test_mapped_bytes_are_readelfs_pt_loads_in_pages(probe: Path) -> None:
    memory = inspect_file(probe).memory
    assert memory is not None
    mapped = 0
    for line in readelf("-lW", str(probe)).splitlines():
        fields = line.split()
        if fields[:1] == ["LOAD"]:
            vaddr, memsz = int(fields[2], 16), int(fields[5], 16)
            mapped += -(-(vaddr + memsz) // PAGE) * PAGE - vaddr // PAGE * PAGE
    assert memory.mapped_bytes == mapped
    assert memory.shared_bytes + memory.private_bytes == mapped
    assert memory.read_execute_bytes and memory.read_only_bytes and memory.bss_bytes


def test_a_running_process_maps_what_the_model_says(probe: Path) -> None:
    """The file-backed mappings of a running static binary are the model's file pages, and
    its .bss starts an anonymous mapping right after its data."""
    memory = inspect_file(probe).memory
    assert memory is not None
    running = subprocess.Popen([str(probe), "-mode", "never"])
    try:
        deadline = time.monotonic() + 10
        smaps = ""
        while time.monotonic() < deadline:
            smaps = Path(f"/proc/{running.pid}/smaps").read_text()
            if str(probe) in smaps:
                break
            time.sleep(0.01)
        regions = []
        for m in re.finditer(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+[ \t]*(.*)$", smaps, re.M):
            regions.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)))
    finally:
        running.kill()
        running.wait()
    backed = [(lo, hi, perms) for lo, hi, perms, name in regions if name == str(probe)]
    file_pages = memory.read_execute_bytes + memory.read_only_bytes + memory.read_write_bytes
    assert sum(hi - lo for lo, hi, _ in backed) == file_pages
    assert sum(hi - lo for lo, hi, p in backed if "x" in p) == memory.read_execute_bytes
    data_end = max(hi for lo, hi, p in backed if "w" in p)
    after = next(hi - lo for lo, hi, _, name in regions if lo == data_end and not name)
    assert after >= memory.bss_bytes
