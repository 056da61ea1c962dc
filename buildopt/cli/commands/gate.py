"""``buildopt gate``: the profile's budgets on a build record: PASS/WARN/FAIL."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.commands.build import build_command
from buildopt.cli.common import _dist, _load_record, _profile, _relative
from buildopt.cli.images import _gated_record, _image_records, _make_images, _profile_ids
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError, visible

if TYPE_CHECKING:
    from buildopt.config.profile import Profile
    from buildopt.config.toolchain import Toolchain
    from buildopt.system.outputs import Input, Output


def gate(
    *,
    profile: str = "",
    baseline: str = "",
    record: str = "",
    build: bool = False,
    json: bool = False,
    bytes: bool = False,
    markdown: str = "",
    markdown_mode: str = "",
    junit: str = "",
    report_url: str = "",
    baseline_missing: str = "",
    acknowledge: str = "",
    dist: str = "",
) -> int:
    """``buildopt gate``: every budget of the profile on the build record it is given."""
    from buildopt.analysis import gate
    from buildopt.cli import lists
    from buildopt.cli import reads as reads_of
    from buildopt.output import console as report
    from buildopt.output import gate as gate_output
    from buildopt.output import gate_tables
    from buildopt.system.outputs import Input, output_to, stdout_taken

    cwd, environ = Path.cwd(), dict(os.environ)
    if markdown_mode not in ("", "append", "replace"):
        raise UsageError(f"--markdown-mode {markdown_mode}: expected append or replace")
    loaded = _profile(profile, cwd, "gate")
    tools, has_lists = _judged(loaded, environ)
    record_path = (cwd / record) if record else loaded.record_path(_dist(dist, cwd))
    reads = [
        *reads_of.profile_inputs(loaded),
        Input(record_path, "the build record"),
        *(lists.list_inputs(loaded) if has_lists else ()),
    ]
    reads += [Input(cwd / baseline, "the baseline record")] if baseline else []
    md_out = output_to("--markdown", markdown, cwd, reads) if markdown else None
    junit_out = output_to("--junit", junit, cwd, reads) if junit else None
    on_stdout = stdout_taken([md_out, junit_out], json=json)
    built = _build_for_gate(loaded, record_path, dist, cwd, environ) if build else EXIT_OK
    data = _gated_record(loaded, record_path)
    baseline_path, missing = _gate_baseline(baseline, baseline_missing, cwd)
    no_baseline = f"no baseline: {missing}" if missing else gate.NO_BASELINE
    if missing:  # one was asked for (the rows say it when none was)
        print(f"{visible(no_baseline)}: growth budgets are SKIP", file=sys.stderr)
    old = _load_record(baseline_path) if baseline_path else None
    # the real images an image budget asks for: made (or found unchanged) first
    others = _image_records(loaded)
    squashfs = [i for i in loaded.images if i.filesystem is not None]
    images_dir = loaded.images_dir(_dist(dist, cwd))
    made = _make_images(
        loaded, squashfs, record_path, data, others, images_dir, environ, 0, strict=False
    )
    ids = _profile_ids(loaded, data)
    checks = gate.evaluate(
        loaded.budgets, loaded.images, data, old, others, made, no_baseline, ids=ids
    )
    checks += lists.gate_checks(loaded, tools, data, environ, _dist(dist, cwd)) if has_lists else []
    acknowledge = " ".join(acknowledge.split())
    checks = gate.acknowledge(checks, acknowledge) if acknowledge else checks
    reads += [
        *reads_of.record_inputs(record_path, data),
        *(
            reads_of.record_inputs(baseline_path, old, "the baseline record")
            if baseline_path
            else ()
        ),
        *reads_of.image_inputs(made, images_dir),
    ]
    if md_out:
        text = gate_output.markdown(
            checks,
            loaded.name,
            report_url=report_url,
            acknowledged=acknowledge,
            baseline_missing=missing,
        )
        summary = environ.get("GITHUB_STEP_SUMMARY")
        _write_markdown(md_out, text, markdown_mode, summary, reads)
    if junit_out:
        junit_out.write(gate_output.junit(checks, loaded.name), reads)
    if environ.get("GITHUB_ACTIONS") == "true":
        for line in gate_output.workflow_commands(checks, _relative(loaded.path, loaded.root)):
            print(line, file=sys.stderr)
    if json:
        report.print_json(
            gate_output.gate_report(
                checks,
                data,
                str(baseline_path) if baseline_path else None,
                acknowledged=acknowledge,
                baseline_missing=missing,
            )
        )
    else:
        gate_tables.show_gate(
            report.make_console(stderr=on_stdout), checks, loaded.name, exact=bytes
        )
    return EXIT_FAILED if gate.failed(checks) or built != EXIT_OK else EXIT_OK


def _judged(loaded: Profile, environ: Mapping[str, str]) -> tuple[Toolchain, bool]:
    """The toolchain, and whether the profile has dependency lists (deps/PROFILE/), which the
    gate checks; UsageError when a budget selects no id, or there is nothing to judge."""
    from buildopt.cli import lists
    from buildopt.config.budgets import check_selectors
    from buildopt.pipeline.plan import all_ids
    from buildopt.system import toolchain

    tools = toolchain.load(environ)
    check_selectors(loaded.budgets, loaded.images, all_ids(loaded, tools))
    has_lists = lists.lists_dir(loaded).is_dir()
    if not loaded.budgets and not loaded.images and not has_lists:
        raise UsageError(
            f"gate: {loaded.path} has no [[budget]] or [[image]] tables, and no dependency "
            f"lists ({lists.DEPS_DIR}/{loaded.name}/)"
        )
    return tools, has_lists


def _gate_baseline(
    baseline: str | None, baseline_missing: str, cwd: Path
) -> tuple[Path | None, str]:
    """The baseline record growth is judged against; without one, why (one line: what
    --baseline-missing said, or that the --baseline file is not there; "" when none was
    asked for)."""
    path = (cwd / baseline) if baseline else None
    if path is not None and os.path.lexists(path):  # a FIFO or a folder is read, and refused
        return path, ""
    missing = " ".join(baseline_missing.split())
    if path is not None:
        missing = missing or f"no baseline record at {path}"
    return None, missing


def _build_for_gate(
    loaded: Profile, record_path: Path, dist: str | None, cwd: Path, environ: Mapping[str, str]
) -> int:
    """gate --build: build the profile into the record first; its exit code."""
    print(f"building {loaded.name} first (--build)", file=sys.stderr)
    built = build_command(
        str(loaded.path),
        record=str(record_path),
        dist=dist,
        cwd=cwd,
        environ=environ,
        results_on_stderr=True,  # stdout is the gate's
    )
    if built != EXIT_OK:
        print(
            "some builds failed (exit 1): the record keeps the last good binary of each, "
            "and those are gated",
            file=sys.stderr,
        )
    return built


def _write_markdown(
    target: Output, text: str, mode: str, summary: str | None, reads: Sequence[Input]
) -> None:
    """The gate's Markdown, appended to GitHub's step summary (earlier steps wrote there too)
    and written whole anywhere else, unless --markdown-mode says which."""
    if not mode:
        is_summary = bool(summary) and target.path == Path(str(summary)).resolve()
        mode = "append" if is_summary else "replace"
    (target.append if mode == "append" else target.write)(text, reads)
