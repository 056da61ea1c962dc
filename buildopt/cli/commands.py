"""The commands behind the CLI: load, plan, build, report. Each returns an exit code.

Tasks (buildopt/tasks.py) are thin adapters over these functions; nothing here imports invoke.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from buildopt.errors import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
)

if TYPE_CHECKING:
    from buildopt.pipeline.plan import Plan

# The modules of the commands (plan, profile, toolchain, report...) are imported where they
# are used, so that each command loads only what it needs. ``inspect`` is in buildopt.cli.inspect.


def _load_plan(
    profile: str | None,
    variants: Sequence[str],
    dist: str | None,
    cwd: Path,
    environ: Mapping[str, str],
) -> Plan:
    from buildopt.config.profile import available_profiles, load_profile
    from buildopt.pipeline.plan import make_plan
    from buildopt.system import toolchain

    if not profile:
        known = ", ".join(available_profiles(cwd)) or f"none in {cwd / 'profiles'}"
        raise UsageError(f"--profile is required (profiles here: {known})")
    loaded = load_profile(profile, cwd)
    tools = toolchain.load(environ)
    out = (cwd / dist).resolve() if dist else None
    return make_plan(loaded, tools, environ, variants, out)


def plan_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    as_json: bool = False,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt plan``: every variant x target with its argv and env, nothing built."""
    from buildopt.output import console as report

    plan = _load_plan(profile, variants, dist, cwd or Path.cwd(), environ or os.environ)
    if as_json:
        report.print_json(report.plan_json(plan))
    else:
        report.show_plan(report.make_console(), plan)
    return EXIT_OK


def compare_command(
    profile: str | None,
    records: Sequence[str] = (),
    *,
    as_json: bool = False,
    rows: int = 30,
    cwd: Path | None = None,
) -> int:
    """``buildopt compare``: variants against the baseline, or two build records."""
    from buildopt.analysis import compare
    from buildopt.config.profile import load_profile
    from buildopt.output import console as report

    cwd = cwd or Path.cwd()
    if len(records) > 2:
        raise UsageError("compare: give one build record (or --profile), or two to compare")
    if len(records) == 2:
        old, new = (compare.load_record(cwd / r) for r in records)
        items = compare.compare_records(old, new)
        if as_json:
            report.print_json(compare.records_json(items))
        else:
            report.show_record_comparison(report.make_console(), items, rows)
        return EXIT_OK
    if records:
        path = cwd / records[0]
    elif profile:
        loaded = load_profile(profile, cwd)
        path = loaded.root / "dist" / loaded.name / "build.json"
        if not path.is_file():
            raise UsageError(f"--profile {profile}: no build record {path}; run buildopt build")
    else:
        raise UsageError("compare: give --profile P or build record files")
    record = compare.load_record(path)
    variant_rows = compare.compare_variants(record)
    if as_json:
        report.print_json(compare.variants_json(record, variant_rows))
    else:
        report.show_variant_comparison(report.make_console(), record, variant_rows)
    return EXIT_OK


def gate_command(
    profile: str | None,
    *,
    baseline: str | None = None,
    record: str | None = None,
    as_json: bool = False,
    markdown: str | None = None,
    junit: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt gate``: every budget of the profile on the latest build record."""
    from buildopt.analysis import gate
    from buildopt.analysis.compare import load_record
    from buildopt.config.budgets import parse_budgets
    from buildopt.config.profile import load_profile
    from buildopt.output import console as report
    from buildopt.pipeline.plan import all_ids
    from buildopt.system import toolchain
    from buildopt.system.files import atomic_write_text

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    if not profile:
        raise UsageError("gate: --profile is required")
    loaded = load_profile(profile, cwd)
    ids = all_ids(loaded, toolchain.load(environ))
    budgets, images = parse_budgets(
        loaded.path,
        loaded.root,
        {"budget": list(loaded.budgets), "image": list(loaded.images)},
        ids,
    )
    if not budgets and not images:
        raise UsageError(f"gate: {loaded.path} has no [[budget]] or [[image]] tables")
    record_path = (cwd / record) if record else loaded.root / "dist" / loaded.name / "build.json"
    if not record_path.is_file():
        print(f"no build record at {record_path}: building first", file=sys.stderr)
        build_command(profile, record=str(record_path), cwd=cwd, environ=environ)
    data = load_record(record_path)
    baseline_path = (cwd / baseline) if baseline else None
    if baseline_path is not None and not baseline_path.is_file():
        print(f"no baseline record at {baseline_path}: growth budgets pass", file=sys.stderr)
        baseline_path = None
    checks = gate.evaluate(budgets, images, data, gate.load_baseline(baseline_path))
    if markdown:
        atomic_write_text(cwd / markdown, gate.markdown(checks, loaded.name))
    if junit:
        atomic_write_text(cwd / junit, gate.junit(checks, loaded.name))
    if environ.get("GITHUB_ACTIONS") == "true":
        for line in gate.workflow_commands(checks, _relative(loaded.path, loaded.root)):
            print(line, file=sys.stderr)
    if as_json:
        report.print_json(gate.to_json(checks, data, str(baseline_path) if baseline_path else None))
    else:
        report.show_gate(report.make_console(), checks, loaded.name)
    return EXIT_FAILED if gate.failed(checks) else EXIT_OK


def matrix_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt matrix``: the GitHub Actions strategy.matrix, one job per variant x target."""
    plan = _load_plan(profile, variants, None, cwd or Path.cwd(), environ or os.environ)
    include = [{"id": s.id, "variant": s.variant.name, "target": s.target.spec} for s in plan.steps]
    print(json.dumps({"include": include}))
    return EXIT_OK


def merge_command(records: Sequence[str], *, output: str, cwd: Path | None = None) -> int:
    """``buildopt merge``: join per-job build records into one."""
    from buildopt.analysis.compare import load_record
    from buildopt.record.store import MergeError, merge_records, write_record

    cwd = cwd or Path.cwd()
    if not output:
        raise UsageError("merge: -o/--output FILE is required")
    loaded = [(r, load_record(cwd / r)) for r in records]
    try:
        merged = merge_records(loaded)
    except MergeError as exc:
        raise UsageError(str(exc)) from exc
    write_record(cwd / output, merged)
    print(
        f"merged {len(records)} records, {len(merged['builds'])} builds -> {output}",
        file=sys.stderr,
    )
    return EXIT_OK


def _relative(path: Path, root: Path) -> str:
    """path relative to root when inside it (GitHub annotations want repository paths)."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def startup_command(
    profile: str | None,
    files: Sequence[str] = (),
    *,
    args: Sequence[str] = (),
    options: Mapping[str, Any] | None = None,
    as_json: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt startup``: cold start of a binary, or of every built variant of a profile."""
    from buildopt.analysis.compare import load_record
    from buildopt.config.profile import load_profile
    from buildopt.measure import startup
    from buildopt.output import console as report
    from buildopt.record.store import write_record

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    record_path: Path | None = None
    record: dict[str, Any] | None = None
    if profile:
        loaded = load_profile(profile, cwd)
        config = startup.parse_config(loaded.path, loaded.startup)
        record_path = loaded.root / "dist" / loaded.name / "build.json"
        if not record_path.is_file():
            raise UsageError(
                f"--profile {profile}: no build record {record_path}; run buildopt build first"
            )
        record = load_record(record_path)
        binaries, skipped, baseline = _runnable(record, environ)
        if args:
            config = replace(config, args=tuple(args))
    elif len(files) == 1:
        config = startup.StartupConfig(args=tuple(args))
        binaries, skipped, baseline = {files[0]: cwd / files[0]}, [], files[0]
    else:
        raise UsageError(
            "startup: give one executable (and its arguments after --), or --profile P"
        )
    config = _override(config, options or {})
    console = report.make_console()
    for note in skipped:
        console.print(f"[yellow]skipped[/] {note}")
    if not binaries:
        raise UsageError("startup: nothing this machine can run")
    with report.StartupProgress(console, len(binaries) * (config.warmup + config.runs)) as bar:
        series = startup.run_series(
            binaries, config, environ, startup.spawn_helper(environ), bar.advance
        )
    base = next((s for s in series if s.name == baseline), None)
    results = [startup.series_json(s, config, base) for s in series]
    document = {"schema": "buildopt.startup/1", "baseline": baseline, "variants": results}
    if record is not None and record_path is not None:
        for build in record["builds"]:
            for result in results:
                if result["name"] == build["id"]:
                    build["startup"] = result
        write_record(record_path, record)
    report.show_startup(console, results, baseline)
    if as_json:
        report.print_json(document)
    return EXIT_FAILED if any(r["failed_runs"] for r in results) else EXIT_OK


def _runnable(
    record: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Path], list[str], str]:
    """Built binaries this machine can run (its own GOOS/GOARCH), the others, and the baseline."""
    from buildopt.system import toolchain

    tools = toolchain.load(environ)
    host = f"{tools.hostos}/{tools.hostarch}"
    runnable: dict[str, Path] = {}
    skipped = []
    for build in record["builds"]:
        if build.get("status") != "ok":
            continue
        pair = "/".join(build["target"].split("/")[:2])
        if pair != host:
            skipped.append(f"{build['id']}: a {pair} binary cannot run on this {host} machine")
            continue
        runnable[build["id"]] = Path(build["output"])
    baseline_name = record["profile"]["baseline"]
    baseline = next((i for i in runnable if i.split("@")[0] == baseline_name), "")
    return runnable, skipped, baseline


def _override(config: Any, options: Mapping[str, Any]) -> Any:
    """Command-line options over the profile's [startup] table."""
    from buildopt.measure import startup

    changes: dict[str, Any] = {}
    for key in ("runs", "warmup", "cpus"):
        if options.get(key) is not None:
            if options[key] < (1 if key != "warmup" else 0):
                raise UsageError(f"--{key} {options[key]}: too small")
            changes[key] = options[key]
    if options.get("timeout"):
        try:
            changes["timeout"] = startup.parse_seconds(options["timeout"])
        except ValueError as exc:
            raise UsageError(f"--timeout: {exc}") from exc
    if options.get("cold") is not None:
        changes["cold"] = options["cold"]
    if options.get("ready_stdout"):
        changes["ready"] = startup.parse_ready(
            "--ready-stdout", {"stdout": options["ready_stdout"]}
        )
    if options.get("ready_port"):
        changes["ready"] = startup.parse_ready("--ready-port", {"port": options["ready_port"]})
    return replace(config, **changes)


def scan_command(
    patterns: Sequence[str] = (),
    *,
    tags: Sequence[str] = (),
    as_json: bool = False,
    sarif: str | None = None,
    include_generated: bool = False,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt scan``: start-up anti-patterns in the Go sources; exit 1 on an error finding."""
    from buildopt.measure import scan as scanner
    from buildopt.output import console as report
    from buildopt.system.files import atomic_write_text

    cwd = cwd or Path.cwd()
    result = scanner.scan(
        cwd, patterns, tags, environ=environ or os.environ, include_generated=include_generated
    )
    if sarif:
        atomic_write_text(cwd / sarif, json.dumps(scanner.to_sarif(result), indent=2) + "\n")
    if as_json:
        report.print_json(scanner.to_json(result))
    else:
        report.show_scan(report.make_console(), result)
    return EXIT_FAILED if result.count("error") else EXIT_OK


def _attach_scans(plan: Any, data: dict[str, Any], environ: Mapping[str, str]) -> None:
    """[scan] enabled: each built variant's sources scanned with its own build tags."""
    from buildopt.measure import scan as scanner
    from buildopt.pipeline.plan import module_dir, package_arg

    root = module_dir(plan.profile.package)
    pattern = package_arg(plan.profile.package, root)
    results: dict[tuple[str, ...], dict[str, Any]] = {}
    for build in data["builds"]:
        if build["status"] != "ok":
            continue
        tags = tuple(data["variants"][build["variant"]]["tags"])
        if tags not in results:
            found = scanner.scan(root, [pattern], tags, environ=environ)
            results[tags] = scanner.to_json(found)
        build["scan"] = results[tags]


def build_command(
    profile: str | None,
    *,
    variants: Sequence[str] = (),
    jobs: int = 0,
    as_json: bool = False,
    record: str | None = None,
    dist: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``buildopt build``: build the selected variants, verify them, write the build record."""
    from buildopt.output import console as report
    from buildopt.pipeline.build import run_plan
    from buildopt.record.store import record_json, write_record

    cwd = cwd or Path.cwd()
    environ = dict(environ or os.environ)
    if jobs < 0:
        raise UsageError(f"--jobs {jobs}: expected a positive number (0 means one per CPU)")
    plan = _load_plan(profile, variants, dist, cwd, environ)
    console = report.make_console()
    record_path = (cwd / record).resolve() if record else plan.dist / "build.json"
    with report.BuildProgress(console, len(plan.steps)) as progress:
        results = run_plan(plan, environ, jobs or os.cpu_count() or 1, progress)
    data = record_json(plan, results)
    if plan.profile.scan:
        _attach_scans(plan, data, environ)
    write_record(record_path, data)
    report.show_results(console, results, record_path)
    if as_json:
        report.print_json(data)
    return EXIT_FAILED if any(r.status == "failed" for r in results) else EXIT_OK
