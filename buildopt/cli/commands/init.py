"""``buildopt init``: a commented starter profile for a Go module's main package."""

from __future__ import annotations

import datetime as _dt
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from buildopt.cli.commands.build import build_command
from buildopt.cli.common import _load_record, _profile
from buildopt.errors import EXIT_FAILED, EXIT_OK, UsageError

if TYPE_CHECKING:
    from buildopt.system.toolchain import Module


def init(*, dir: str = "", package: str = "", budgets: bool = False, tasks: bool = False) -> int:
    """``buildopt init``: a commented starter profile for a Go module's main package."""
    import shutil

    from buildopt.config.profile import PROFILES_DIR
    from buildopt.config.starter import module_binary_name, profile_name, starter_profile
    from buildopt.system import toolchain
    from buildopt.system.files import atomic_write_text

    cwd, environ = Path.cwd(), dict(os.environ)
    where = (cwd / dir).resolve() if dir else cwd
    if not where.is_dir():
        raise UsageError(f"init: {where} is not a directory")
    print(f"looking for main packages in the Go module of {where} ...", file=sys.stderr)
    module = toolchain.module_at(where, environ)
    mains = [(m.import_path, _relative_package(m.dir, module.root)) for m in module.mains]
    if not mains:
        raise UsageError(f"init: the module {module.path} at {module.root} has no main package")
    chosen = _main_to_profile(module, mains, package, cwd, where)
    binary = Path(chosen[1]).name if chosen[1] != "." else module_binary_name(module.path)
    name = profile_name(binary)
    path = module.root / PROFILES_DIR / f"{name}.toml"
    if path.exists():
        raise UsageError(f"init: {path} exists already (edit it, or remove it to start again)")
    tools = toolchain.load(environ)
    host = f"{tools.hostos}/{tools.hostarch}"
    targets = [host, *(["linux/arm64"] if host != "linux/arm64" else ["linux/amd64"])]
    cc = environ.get("CC") or next((c for c in ("gcc", "cc") if shutil.which(c)), None)
    text = starter_profile(
        module_path=module.path,
        package=chosen[1],
        others=[m[1] for m in mains if m != chosen],
        targets=targets,
        c_compiler=cc,
        written=_dt.date.today().isoformat(),
        binary=binary if chosen[1] == "." else None,
    )
    atomic_write_text(path, text)
    print(f"wrote {path} (profile {name!r}: {chosen[1]}, {', '.join(targets)})", file=sys.stderr)
    tasks_py = module.root / "tasks.py"
    if tasks and not tasks_py.exists():
        atomic_write_text(tasks_py, TASKS_PY)
        print(f"wrote {tasks_py}: `invoke build --profile={name}` works too", file=sys.stderr)
    elif tasks:
        print(f"{tasks_py} exists already: not written", file=sys.stderr)
    status = _initial_budgets(path, name, module.root, environ) if budgets else EXIT_OK
    print(f"next: buildopt plan --profile {name}   (then build, compare, gate)", file=sys.stderr)
    return status


def _main_to_profile(
    module: Module,
    mains: list[tuple[str, str]],
    package: str | None,
    cwd: Path,
    where: Path,
) -> tuple[str, str]:
    """(import path, ./dir) of the main package init profiles: --package's, else the one
    choose_main picks, saying so on stderr with the others when there are several."""
    from buildopt.config.starter import choose_main

    if package:
        return _named_main(module, mains, package, cwd)
    try:
        here = where.resolve().relative_to(module.root.resolve()).as_posix()
    except ValueError:
        here = "."
    chosen, why = choose_main(module.path, mains, here)
    if len(mains) > 1:
        others = [m[1] for m in mains if m != chosen]
        print(
            f"init: {module.path} has {len(mains)} main packages; profiling {chosen[1]} ({why})",
            file=sys.stderr,
        )
        for other in others[:LISTED_MAINS]:
            print(f"  also: {other}", file=sys.stderr)
        if len(others) > LISTED_MAINS:
            print(
                f"  and {len(others) - LISTED_MAINS} more (in the profile's comments)",
                file=sys.stderr,
            )
        print("  another one: buildopt init --package DIR", file=sys.stderr)
    return chosen


def _named_main(
    module: Module, mains: list[tuple[str, str]], package: str, cwd: Path
) -> tuple[str, str]:
    """The main package --package names: a folder relative to the current directory or to the
    module root, or an import path."""
    for base in (cwd, module.root):
        folder = (base / package).resolve()
        for main in mains:
            if main[0] == package or (module.root / main[1]).resolve() == folder:
                return main
    raise UsageError(
        f"init: --package {package}: not a main package of {module.path}; its main packages:",
        details=[m[1] for m in mains],
    )


def _relative_package(directory: Path, root: Path) -> str:
    rel = directory.relative_to(root).as_posix()
    return "." if rel == "." else f"./{rel}"


def _initial_budgets(path: Path, name: str, root: Path, environ: Mapping[str, str]) -> int:
    """init --budgets: build every variant, then budget each binary (variant x target) at its
    own size plus 10%; byte-identical binaries share one budget. EXIT_FAILED when a build
    failed: its binary has no budget (all failing printed "budgets: 0 for 0 binaries", exit 0)."""
    from buildopt.config.starter import Binary, identical_groups, size_budgets
    from buildopt.system.files import append_text

    print(f"building {name} to set its budgets ...", file=sys.stderr)
    build_command(str(path), cwd=root, environ=environ, results_on_stderr=True)
    record = _load_record(_profile(str(path), root, "init").record_path())
    binaries = [
        Binary(b.id, b.size, b.sha256) for b in record.builds if b.ok and b.size is not None
    ]
    append_text(path, size_budgets(binaries))
    groups = identical_groups(binaries)
    print(
        f"budgets: {len(groups)} for {len(binaries)} binaries, at their size plus 10%, in {path}",
        file=sys.stderr,
    )
    for group in (g for g in groups if len(g) > 1):
        same = ", ".join(b.build_id for b in group[1:])
        print(f"  {same}: byte-identical to {group[0].build_id}, one budget", file=sys.stderr)
    failed = [b.id for b in record.builds if not b.ok]
    if not failed:
        return EXIT_OK
    print(
        f"error: init --budgets: {len(failed)} of {len(record.builds)} builds failed (above), "
        "so their binaries have no budget; fix them, `buildopt build`, then add their "
        "[[budget]] tables (buildopt docs budgets)",
        file=sys.stderr,
    )
    return EXIT_FAILED


TASKS_PY = '''"""invoke tasks: buildopt's commands (`invoke build --profile=NAME`, ...)."""

from buildopt.cli.tasks import ns  # noqa: F401
'''


LISTED_MAINS = 20  # main packages named on stderr when init chooses among them
