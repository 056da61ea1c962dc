"""The commands as plain functions of their flags' values: what a task is given, as text.

Shared by the invoke tasks (buildopt.cli.tasks) and the fast path of buildopt.cli.main, which
runs a command without loading invoke (~50 ms) when its arguments are plain flags of its own.
Parameter names are the flags' names (buildopt.cli.options); whole numbers arrive as text and
are read with ``count``, so a bad value is one line, exit 2. Each returns the exit code.
"""

from __future__ import annotations

from buildopt.cli.options import count, program_args


def init(*, dir: str = "", package: str = "", budgets: bool = False, tasks: bool = False) -> int:
    """Write a commented starter profile for the Go module's main package.

    With --budgets, build once and set size budgets; with --tasks, also write a tasks.py."""
    from buildopt.cli.new_profile import init_command

    return init_command(dir or None, package=package or None, budgets=budgets, tasks=tasks)


def docs(*, topic: str = "") -> int:
    """Print a page of buildopt's documentation (profiles, commands, budgets, ...)."""
    from buildopt.cli.commands import docs_command

    return docs_command(topic or None)


def plan(
    *,
    profile: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
) -> int:
    """Show every variant x target with its exact go build argv and env; build nothing."""
    from buildopt.cli.commands import plan_command

    return plan_command(profile or None, variants=variant or (), as_json=json, dist=dist or None)


def build(
    *,
    profile: str = "",
    variant: list[str] | None = None,
    jobs: str = "",
    json: bool = False,
    bytes: bool = False,
    record: str = "",
    dist: str = "",
) -> int:
    """Build the profile's variants in parallel, verify each binary, write the build record."""
    from buildopt.cli.building import build_command

    return build_command(
        profile or None,
        variants=variant or (),
        jobs=count("--jobs", jobs, 0),
        as_json=json,
        exact=bytes,
        record=record or None,
        dist=dist or None,
    )


def inspect(
    *,
    file: list[str] | None = None,
    json: bool = False,
    packages: str = "",
    jobs: str = "",
    dwarf: bool = False,
    attribution: bool = False,
    modules: bool = False,
    symbols: str = "",
    compressed: bool = False,
    compressor_cli: bool = False,
) -> int:
    """Exact facts of ELF files: sections by category, linking, symbols, DWARF, Go packages."""
    from buildopt.cli.inspect import inspect_command

    return inspect_command(
        file or [],
        as_json=json,
        packages=count("--packages", packages, 15),
        jobs=count("--jobs", jobs, 1, least=1) if jobs else None,
        dwarf=dwarf,
        attribution=attribution or modules,
        modules=modules,
        symbols=count("--symbols", symbols, 0) if symbols else 0,
        compressed=compressed or compressor_cli,
        compressor_cli=compressor_cli,
    )


def compare(
    *,
    profile: str = "",
    record: list[str] | None = None,
    json: bool = False,
    bytes: bool = False,
    rows: str = "",
    dist: str = "",
) -> int:
    """Variants side by side against the baseline, each delta explained; or two records."""
    from buildopt.cli.commands import compare_command

    return compare_command(
        profile or None,
        record or [],
        as_json=json,
        exact=bytes,
        rows=count("--rows", rows, 30, least=1),
        dist=dist or None,
    )


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
    """Evaluate the profile's size budgets: PASS/WARN/FAIL, exit 1 when a budget fails."""
    from buildopt.cli.gating import gate_command

    return gate_command(
        profile or None,
        baseline=baseline or None,
        record=record or None,
        build=build,
        as_json=json,
        exact=bytes,
        markdown=markdown or None,
        markdown_mode=markdown_mode or None,
        junit=junit or None,
        report_url=report_url,
        baseline_missing=baseline_missing,
        acknowledge=acknowledge,
        dist=dist or None,
    )


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
    """Make the profile's squashfs images from its built binaries: size, erase blocks, shares."""
    from buildopt.cli.gating import image_command

    return image_command(
        profile or None,
        record=record or None,
        name=name or None,
        jobs=count("--jobs", jobs, 0),
        as_json=json,
        exact=bytes,
        dist=dist or None,
    )


def report(
    *,
    profile: str = "",
    record: str = "",
    baseline: str = "",
    history: list[str] | None = None,
    output: str = "",
    dist: str = "",
) -> int:
    """Write one self-contained HTML page: overview, treemaps, variants, start-up, history."""
    from buildopt.cli.gating import report_command

    return report_command(
        profile or None,
        record=record or None,
        baseline=baseline or None,
        history=history or (),
        output=output or None,
        dist=dist or None,
    )


def matrix(*, profile: str = "", variant: list[str] | None = None) -> int:
    """Print {"include": [...]} for a GitHub Actions matrix: one job per variant x target."""
    from buildopt.cli.ci_jobs import matrix_command

    return matrix_command(profile or None, variants=variant or ())


def diff(
    *,
    file: list[str] | None = None,
    by: str = "",
    categories: bool = False,
    rows: str = "",
    json: bool = False,
    markdown: str = "",
) -> int:
    """What changed between two binaries (or records), in the kernel's bloat-o-meter format."""
    from buildopt.cli.diff import diff_command

    return diff_command(
        file or [],
        by=by or "function",
        categories=categories,
        as_json=json,
        markdown=markdown or None,
        rows=count("--rows", rows, 0) if rows else None,
    )


def why(
    *,
    package: str = "",
    profile: str = "",
    variant: list[str] | None = None,
    json: bool = False,
    dist: str = "",
) -> int:
    """Why a package is in a variant's binary: its import chain, and what it costs there."""
    from buildopt.cli.why import why_command

    return why_command(
        package, profile or None, variants=variant or (), as_json=json, dist=dist or None
    )


def merge(
    *,
    record: list[str] | None = None,
    output: str = "",
    expect: list[str] | None = None,
    expect_matrix: str = "",
) -> int:
    """Join per-job build records (same profile and Go version) into one."""
    from buildopt.cli.ci_jobs import merge_command

    return merge_command(
        record or [], output=output, expect=expect or [], expect_matrix=expect_matrix or None
    )


def startup(
    *,
    file: list[str] | None = None,
    arg: list[str] | None = None,
    profile: str = "",
    runs: str = "",
    warmup: str = "",
    trace_runs: str = "",
    timeout: str = "",
    cold: bool = True,
    cpus: str = "",
    ready_stdout: str = "",
    ready_stderr: str = "",
    ready_port: str = "",
    json: bool = False,
    dist: str = "",
    remainder: str = "",
) -> int:
    """Start-up per variant: time to ready, CPU, peak RSS, GC cycles, init cost by package.

    GC cycles and init costs come from separate traced runs."""
    from buildopt.cli.measuring import startup_command
    from buildopt.config.startup import StartupOverrides

    def command() -> int:
        def given(flag: str, text: str, least: int) -> int | None:
            return count(flag, text, 0, least) if text else None

        overrides = StartupOverrides(
            runs=given("--runs", runs, 1),
            warmup=given("--warmup", warmup, 0),
            trace_runs=given("--trace-runs", trace_runs, 0),
            timeout=timeout or None,
            cold=cold,
            cpus=given("--cpus", cpus, 1),
            ready_stdout=ready_stdout or None,
            ready_stderr=ready_stderr or None,
            ready_port=given("--ready-port", ready_port, 1),
        )
        return startup_command(
            profile or None,
            file or [],
            args=[*(arg or []), *program_args(remainder)],
            overrides=overrides,
            as_json=json,
            dist=dist or None,
        )

    return command()


def scan(
    *,
    path: list[str] | None = None,
    tags: list[str] | None = None,
    json: bool = False,
    sarif: str = "",
    include_generated: bool = False,
) -> int:
    """Find start-up anti-patterns in Go sources: GOMAXPROCS calls, heavy init, automaxprocs."""
    from buildopt.cli.measuring import scan_command

    split_tags = [t for group in (tags or []) for t in group.split(",") if t]
    return scan_command(
        path or [],
        tags=split_tags,
        as_json=json,
        sarif=sarif or None,
        include_generated=include_generated,
    )
