"""store.put_builds: the rules that keep a build record in step with dist/ across runs."""

from __future__ import annotations

from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from buildopt.config.budgets import selects
from buildopt.record.model import Build
from buildopt.record.store import put_builds
from tests.records import build, inspection, record

ORDER = ["a@linux-amd64", "b@linux-amd64", "c@linux-amd64"]


def on_disk(tmp_path: Path, vid: str, size: int = 10, status: str = "ok", **given: object) -> Build:
    """An entry whose binary exists (when ok) with its size."""
    out = tmp_path / vid
    if status == "ok":
        out.write_bytes(b"x" * size)
    return build(vid, inspection(size), status=status, output=str(out), **given)


def test_an_ok_build_replaces_its_entry_and_the_others_stay(tmp_path: Path) -> None:
    old_a, old_b = on_disk(tmp_path, ORDER[0], sha256="old"), on_disk(tmp_path, ORDER[1])
    new_a = msgspec.structs.replace(old_a, sha256="new")
    merged = put_builds(record(old_b, old_a), record(), [new_a], ORDER)
    assert merged.builds == (new_a, old_b)  # in the profile's order


def test_a_failed_build_keeps_the_entry_of_the_binary_in_place(tmp_path: Path) -> None:
    old = on_disk(tmp_path, ORDER[0])
    failed = build(ORDER[0], None, status="failed", reason="go build exited with 1")
    assert put_builds(record(old), record(), [failed], ORDER).builds == (old,)
    Path(str(old.output)).unlink()  # once the binary is gone, the failure is what is true
    assert put_builds(record(old), record(), [failed], ORDER).builds == (failed,)


def test_a_binary_of_another_size_loses_its_entry(tmp_path: Path) -> None:
    old = on_disk(tmp_path, ORDER[0])
    Path(str(old.output)).write_bytes(b"changed by hand, longer")
    assert put_builds(record(old), record(), [], ORDER).builds == ()


def test_a_record_of_another_profile_or_dist_is_not_merged(tmp_path: Path) -> None:
    old = on_disk(tmp_path, ORDER[1])
    new = on_disk(tmp_path, ORDER[0])
    assert put_builds(record(old, name="q"), record(), [new], ORDER).builds == (new,)
    other_dist = msgspec.structs.replace(record(old), dist="/elsewhere")
    assert put_builds(other_dist, record(), [new], ORDER).builds == (new,)


def test_ids_no_longer_in_the_profile_lose_their_entries(tmp_path: Path) -> None:
    """They came last and stayed: the review found gate failing, startup timing and compare
    listing comb@linux-amd64/ctl after `programs = ["srv"]` took ctl out of comb, and the id
    small@linux-amd64 of a profile whose package became packages PASS for ever."""
    gone = on_disk(tmp_path, "z@linux-amd64")
    (tmp_path / "a@linux-amd64").mkdir()
    old_form = on_disk(tmp_path, "a@linux-amd64/srv")
    new = on_disk(tmp_path, ORDER[2])
    assert put_builds(record(gone, old_form), record(), [new], ORDER).builds == (new,)
    assert put_builds(record(gone), record(), [], ORDER).builds == ()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(ORDER), st.sampled_from(["ok", "failed", "skipped"]))),
)
def test_every_id_once_and_ok_entries_only_for_binaries_in_place(
    runs: list[tuple[str, str]],
) -> None:
    """However builds succeed and fail, one entry per id, and every ok entry's binary is in
    place; an id whose last ok build is still on disk keeps an ok entry."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        where = Path(directory)
        current = None
        last_ok: set[str] = set()
        for vid, status in runs:
            entry = on_disk(where, vid, status=status)
            current = put_builds(current, record(), [entry], ORDER)
            if status == "ok":
                last_ok.add(vid)
        builds = current.builds if current else ()
        ids = [b.id for b in builds]
        assert len(ids) == len(set(ids))
        assert {b.id for b in builds if b.ok} == last_ok


def test_variant_patterns() -> None:
    assert selects("a", "a@linux-amd64")
    assert not selects("a", "ab@linux-amd64")
    assert selects("static*", "static-stripped@linux-arm-v7")
    assert selects("*@linux-arm64", "default@linux-arm64")
    assert not selects("*arm64", "default@linux-arm64")  # no @: a variant name


def test_measurements_follow_their_binary_across_rebuilds(tmp_path: Path) -> None:
    from tests.unit.test_gate import _scan, _with_startup

    (measured,) = _with_startup([20.0]).builds
    old = on_disk(tmp_path, ORDER[0], sha256="a" * 64)
    old = msgspec.structs.replace(old, startup=measured.startup, scan=_scan())  # no sha256 yet
    same = on_disk(tmp_path, ORDER[0], sha256="a" * 64)  # an unchanged rebuild
    (kept,) = put_builds(record(old), record(), [same], ORDER).builds
    assert kept == old  # the entry still holds, measurements and all
    assert not kept.startup_stale and not kept.scan_stale
    other = on_disk(tmp_path, ORDER[0], sha256="b" * 64)
    (moved,) = put_builds(record(kept), record(), [other], ORDER).builds
    assert moved.startup is not None and moved.startup.sha256 == "a" * 64  # what it measured
    assert moved.scan is not None and moved.scan.sha256 == "a" * 64  # kept, not dropped
    assert moved.startup_stale and moved.scan_stale  # and not taken for the new binary's


def test_an_unchanged_rebuild_adds_the_attribution_an_older_entry_lacks(tmp_path: Path) -> None:
    """An unchanged rebuild keeps the entry as it was (and its measurements); an entry written
    before the whole-file attribution would then never get it, and budgets would judge code
    bytes for ever. The newer facts replace it, measurements kept."""
    from buildopt.binary.facts import Attribution
    from buildopt.record.model import StartupResult

    measured = StartupResult(
        name=ORDER[0],
        binary="x",
        runs=1,
        failed_runs=0,
        errors=(),
        ready="exit",
        cold=False,
        evicted=False,
        sha256="same",
    )
    old = on_disk(tmp_path, ORDER[0], sha256="same", startup=measured)
    assert old.inspect is not None
    whole = Attribution(
        file_bytes=10, file_bytes_attributed_to_packages=0, by_package=(), buckets=()
    )
    new = msgspec.structs.replace(
        old, inspect=msgspec.structs.replace(old.inspect, attribution=whole), startup=None
    )
    (merged,) = put_builds(record(old), record(), [new], ORDER).builds
    assert merged.inspect is not None and merged.inspect.attribution == whole
    assert merged.startup == measured
    # once there, an unchanged rebuild keeps the entry as before
    assert put_builds(record(merged), record(), [new], ORDER).builds == (merged,)


def test_a_run_that_changes_nothing_keeps_the_record_and_its_time(tmp_path: Path) -> None:
    """An unchanged rebuild leaves the record as it was - its time too - so that it is not
    rewritten; any change (a new binary, another toolchain) takes the run's time."""
    old = on_disk(tmp_path, ORDER[0], sha256="a" * 64)
    current = record(old)
    later = msgspec.structs.replace(record(), created="2026-02-02T00:00:00+00:00")
    same = on_disk(tmp_path, ORDER[0], sha256="a" * 64)
    assert put_builds(current, later, [same], ORDER) is current
    assert put_builds(current, later, [], ORDER) is current
    changed = put_builds(current, later, [on_disk(tmp_path, ORDER[0], sha256="b" * 64)], ORDER)
    assert changed.created == later.created
    newer_go = msgspec.structs.replace(later, go=record(go="go1.27").go)
    assert put_builds(current, newer_go, [same], ORDER).created == later.created


def test_an_unchanged_rebuild_adds_the_memory_model_and_keeps_compressed_sizes(
    tmp_path: Path,
) -> None:
    """An entry of a buildopt without the memory model gets it from an unchanged rebuild (the
    gate skipped max_ram_static for ever before); sizes compressed from that very binary stay."""
    from buildopt.binary.facts import CompressedSizes, MemoryModel

    old = on_disk(tmp_path, ORDER[0], sha256="a" * 64)
    assert old.inspect is not None and old.inspect.memory is None
    sizes = CompressedSizes(xz=3, libraries={})
    old = msgspec.structs.replace(
        old, inspect=msgspec.structs.replace(old.inspect, compressed=sizes)
    )
    model = MemoryModel(
        page_size=4096,
        mapped_bytes=8192,
        read_execute_bytes=4096,
        read_only_bytes=0,
        read_write_bytes=4096,
        bss_bytes=0,
        relro_bytes=0,
        shared_bytes=4096,
        private_bytes=4096,
    )
    same = on_disk(tmp_path, ORDER[0], sha256="a" * 64)
    same = msgspec.structs.replace(
        same, inspect=msgspec.structs.replace(same.inspect, memory=model)
    )
    (kept,) = put_builds(record(old), record(), [same], ORDER).builds
    assert kept.inspect is not None
    assert kept.inspect.memory == model
    assert kept.inspect.compressed == sizes


def test_the_what_ifs_record_keeps_every_runs_entries(tmp_path: Path) -> None:
    """advise and sweep each build a part of one what-if record: pruning by one run's ids
    dropped the others' and the next run built them all again."""
    other = on_disk(tmp_path, "z@linux-amd64")
    new = on_disk(tmp_path, ORDER[2])
    merged = put_builds(record(other), record(), [new], ORDER, prune=False)
    assert merged.builds == (new, other)
