"""pipeline.steps: the order a run takes, when a step applies, and what each record update keeps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import pytest
from msgspec.structs import replace

from buildopt.binary.facts import CompressedSizes
from buildopt.config.profile import Profile, load_profile
from buildopt.errors import UsageError
from buildopt.pipeline import steps
from buildopt.pipeline.build import Quiet
from buildopt.record import store
from buildopt.record.model import SCAN_SCHEMA, ScanReport
from tests.conftest import write_profile
from tests.records import build, inspection, record

A, B = "a@linux-amd64", "b@linux-amd64"


class Said:
    """A Progress that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def say(self, line: str) -> None:
        self.lines.append(line)

    def skipped(self, note: str) -> None:
        self.lines.append(f"skipped {note}")

    @contextmanager
    def builds(self, total: int) -> Iterator[Quiet]:
        yield Quiet()

    @contextmanager
    def runs(self, total: int) -> Iterator[steps.RunProgress]:
        yield lambda name, label, run: None


def profile(project: Path, extra: str = "") -> Profile:
    text = f'schema = 1\npackage = "./app"\n[variants.a]\n[variants.b]\n{extra}'
    write_profile(project, "p", text)
    return load_profile("p", project)


def context(project: Path, extra: str = "", **given: object) -> steps.Context:
    fields: dict[str, object] = {
        "profile": profile(project, extra),
        "record_path": project / "build.json",
        "environ": {},
        "progress": Said(),
        "cwd": project,
    }
    return steps.Context(**(fields | given))  # type: ignore[arg-type]


def scan(root: str) -> ScanReport:
    return ScanReport(
        schema=SCAN_SCHEMA, root=root, tags=(), files=1, counts={}, findings=(), inventory=()
    )


def test_every_default_is_filled_before_any_step_runs(project: Path) -> None:
    done: list[str] = []

    def check(ctx: steps.Context) -> steps.Context:
        if ctx.jobs == 0:
            raise UsageError("jobs: expected a number")
        return ctx

    def ran(name: str) -> steps.Step:
        return steps.Step(name, lambda ctx: done.append(name) or ctx)  # type: ignore[func-returns-value]

    with pytest.raises(UsageError):
        steps.run(
            [ran("first"), steps.Step("second", lambda ctx: ctx, defaults=check)], context(project)
        )
    assert done == []  # a bad setting of the second step stopped the first too
    steps.run(
        [ran("first"), steps.Step("second", lambda ctx: ctx, defaults=check)],
        context(project, jobs=2),
    )
    assert done == ["first"]


def test_a_bad_build_timeout_stops_the_run_before_the_plan_step(project: Path) -> None:
    ctx = context(project, environ={"BUILDOPT_BUILD_TIMEOUT": "soon"})  # no plan: never reached
    with pytest.raises(UsageError, match="BUILDOPT_BUILD_TIMEOUT"):
        steps.run(steps.BUILD_STEPS, ctx)


def test_the_build_defaults_fill_jobs_and_timeout(project: Path) -> None:
    filled = steps.BUILD.defaults(context(project, environ={"BUILDOPT_BUILD_TIMEOUT": "90s"}))
    assert filled.jobs >= 1
    assert filled.timeout == 90.0
    given = steps.BUILD.defaults(context(project, jobs=3, timeout=5.0))
    assert (given.jobs, given.timeout) == (3, 5.0)
    assert steps.BUILD.defaults(context(project)).timeout == 3600.0


def test_steps_say_when_they_do_not_apply(project: Path) -> None:
    plain = context(project)
    assert steps.COMPRESS.skip(plain) == "no max_compressed budget"
    assert steps.SCAN.skip(plain) == "[scan] is not enabled"
    assert steps.IMAGE.skip(plain) is not None
    assert steps.STARTUP.skip(plain) is not None
    compressed = context(
        project, "[[budget]]\nname = 'c'\nselect = '*'\nmax_compressed = { zstd = '1MB' }\n"
    )
    assert steps.COMPRESS.skip(compressed) is None
    assert steps.SCAN.skip(context(project, "[scan]\nenabled = true\n")) is None
    assert steps.RECORD.skip(plain) is None


def test_skipped_steps_do_not_run(project: Path) -> None:
    ran: list[str] = []

    def step(name: str, skip: str | None) -> steps.Step:
        return steps.Step(name, lambda ctx: ran.append(name) or ctx, skip=lambda ctx: skip)  # type: ignore[func-returns-value]

    steps.run([step("one", None), step("two", "not asked"), step("three", None)], context(project))
    assert ran == ["one", "three"]


def test_measurements_attach_only_to_the_binary_they_measured() -> None:
    a = build(A, inspection(10), sha256="a1")
    b = build(B, inspection(10), sha256="b2")
    attached = steps.attach(record(a, b), scan={A: scan("x"), B: scan("y")}, of={A: "a1", B: "old"})
    assert attached.builds[0].scan == msgspec.structs.replace(scan("x"), sha256="a1")
    assert attached.builds[1] == b  # rebuilt since it was scanned: left as it is
    assert steps.attach(record(a), scan={A: scan("x")}).builds[0].scan is not None


def test_the_record_step_keeps_the_run_and_its_scans(project: Path, tmp_path: Path) -> None:
    out = tmp_path / A
    out.write_bytes(b"x" * 10)
    built = build(A, inspection(10), sha256="a1", output=str(out))
    ctx = context(project, header=record(), order=(A, B), builds=(built,))
    steps.record_build(ctx, built)
    done = steps.RECORD.run(replace(ctx, scans={A: scan("x")}))
    assert done.record is not None
    assert done.record == store.load(ctx.record_path)
    assert [b.id for b in done.record.builds] == [A]
    assert done.record.builds[0].scan is not None
    assert done.record.builds[0].scan.sha256 == "a1"


def test_compressed_sizes_go_only_to_the_binary_compressed(tmp_path: Path) -> None:
    path = tmp_path / "build.json"
    a = build(A, inspection(10), sha256="a1")
    b = build(B, inspection(10), sha256="b-now")
    store.save(path, record(a, b))
    sizes = CompressedSizes(zstd=5)
    after = steps.record_compressed(path, {A: ("a1", sizes), B: ("b-before", sizes)})
    assert after.builds[0].inspect is not None
    assert after.builds[0].inspect.compressed == sizes
    assert after.builds[1] == b  # rebuilt by another run since it was compressed
    assert store.load(path) == after
