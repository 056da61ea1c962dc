"""``buildopt scan``: start-up anti-patterns in the Go sources."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from json import dumps
from pathlib import Path

from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError


def scan(
    *,
    path: list[str] | None = None,
    tags: list[str] | None = None,
    json: bool = False,
    sarif: str = "",
    include_generated: bool = False,
) -> int:
    """``buildopt scan``: start-up anti-patterns in the Go sources; exit 1 on an error finding."""
    from buildopt.config.variant import is_build_tag
    from buildopt.measure import scan as scanner
    from buildopt.output import console as report
    from buildopt.output import startup_tables
    from buildopt.output.sarif import to_sarif
    from buildopt.system.outputs import GoSources, output_to, stdout_taken

    split_tags = [t for group in (tags or []) for t in group.split(",") if t]
    bad = next((t for t in split_tags if not is_build_tag(t)), None)
    if bad is not None:
        raise UsageError(f"scan: --tags: {bad!r} is not a build tag (letters, digits, _ .)")
    cwd, environ = Path.cwd(), dict(os.environ)
    targets = _scan_targets(cwd, path or [], environ)
    sources = [GoSources(root) for root, _ in targets]
    sarif_out = output_to("--sarif", sarif, cwd, sources) if sarif else None
    on_stdout = stdout_taken([sarif_out], json=json)
    reports = [
        scanner.scan(root, pats, split_tags, environ=environ, include_generated=include_generated)
        for root, pats in targets
    ]
    result = reports[0] if len(reports) == 1 else scanner.combine(reports, cwd)
    if sarif_out:
        text = dumps(to_sarif(result), indent=2) + "\n"
        sarif_out.write(text, sources)
    if json:
        report.print_json(result)
    else:
        startup_tables.show_scan(report.make_console(stderr=on_stdout), result)
    return EXIT_FAILED if result.count("error") else EXIT_OK


def _scan_targets(
    cwd: Path, patterns: Sequence[str], environ: Mapping[str, str]
) -> list[tuple[Path, list[str]]]:
    """Where to run go list, and with what patterns: a directory or file argument in the root
    of its own module (a directory with what is below it, a file with its package); package
    patterns from cwd; nothing, outside any module: every module below cwd."""
    from buildopt.measure.scan import modules_below
    from buildopt.system.toolchain import module_root

    targets: dict[Path, list[str]] = {}
    for pattern in patterns:
        path = cwd / pattern
        if "..." not in pattern and not path.exists() and pattern.startswith(("/", "./", "../")):
            raise UsageError(f"scan: {pattern}: no such file or directory")
        if "..." not in pattern and path.exists():
            where = path if path.is_dir() else path.parent
            root = module_root(where, environ)
            if root is None:
                raise UsageError(f"scan: {pattern}: not in a Go module (no go.mod there or above)")
            rel = where.resolve().relative_to(root.resolve()).as_posix()
            suffix = "/..." if path.is_dir() else ""
            targets.setdefault(root, []).append("." + suffix if rel == "." else f"./{rel}{suffix}")
        else:
            targets.setdefault(cwd, []).append(pattern)
    if patterns:
        return list(targets.items())
    if module_root(cwd, environ) is not None:
        return [(cwd, [])]
    below = modules_below(cwd)
    if not below:
        raise UsageError(f"scan: no Go module in {cwd} or below it (no go.mod)")
    return [(root, []) for root in below]
