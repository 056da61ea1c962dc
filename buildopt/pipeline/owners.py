"""Owners from the linker, for one built variant: its twin link (pipeline/twin.py, made by
pipeline/linker.py) says what the
linker reached and from where, the build cache's archives say how big each symbol is, and
binary/owners.py gives the strings, type descriptors and statics of the shipped binary to their
packages - when the twin's layout is the shipped binary's (else the attribution stays the
file's own, with the reason).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from buildopt.binary.elf.reader import NotElfError
from buildopt.binary.facts import Attribution, Inspection
from buildopt.binary.go.dumpdep import Reach
from buildopt.binary.go.objsizes import ObjectSymbols
from buildopt.binary.inspect import generated_functions_of, inspect_file, twin_symbols
from buildopt.binary.owners import MAX_ALIGN, with_linker_owners
from buildopt.errors import BuildoptError
from buildopt.pipeline.plan import Step, go_build_argv
from buildopt.pipeline.twin import Twin, same_layout
from buildopt.system import proc

# The linker moves read-only data with relocations (type descriptors, some statics) to
# .data.rel.ro in a PIE: no archive says which statics those are.
RELRO = (
    "a relro layout (a PIE, or C code linked in): which read-only symbols the linker moved to "
    ".data.rel.ro is not known"
)
NM_BATCH = 40  # archives per go tool nm (its output is read whole: ~10^4 lines per archive)


def linker_attribution(
    step: Step,
    shipped: Path,
    facts: Inspection,
    environ: Mapping[str, str],
    *,
    twin: Twin,
    reach: Reach,
    group: proc.ProcessGroup,
    timeout: float,
) -> Attribution:
    """The shipped binary's attribution with the linker's owners, as its twin link tells them,
    or its own attribution with ``linker_fallback`` saying why not."""
    try:
        better, why = _with_twin(
            step, shipped, facts, environ, twin=twin, reach=reach, group=group, timeout=timeout
        )
    except (BuildoptError, NotElfError) as exc:
        better, why = None, getattr(exc, "message", str(exc))
    return better if better is not None else fallback(shipped, facts, why)


def fallback(shipped: Path, facts: Inspection, why: str) -> Attribution:
    """The file's own attribution, saying why the linker's owners are not in it."""
    own = facts.attribution or inspect_file(shipped, attribution=True).attribution
    if own is None:
        raise ValueError("inspect_file(attribution=True) gave no attribution")
    return msgspec.structs.replace(own, method="symbols", linker_fallback=why)


def _with_twin(
    step: Step,
    shipped: Path,
    facts: Inspection,
    environ: Mapping[str, str],
    *,
    twin: Twin,
    reach: Reach,
    group: proc.ProcessGroup,
    timeout: float,
) -> tuple[Attribution | None, str]:
    if any(s.name.startswith(".data.rel.ro") for s in facts.sections):
        return None, RELRO
    problems = same_layout(shipped, twin.binary)
    if problems:
        # without -trimpath, go records -ldflags in the binary: the twin's differ
        hint = "" if step.variant.trimpath else " (-ldflags is recorded without -trimpath)"
        return None, f"the twin link's layout is not the shipped binary's: {problems[0]}{hint}"
    told = twin_symbols(twin.binary)
    objects = object_symbols(step, environ, timeout, group)
    whole = inspect_file(shipped, attribution=True, twin=told.symbols).attribution
    if whole is None:
        return None, "no attribution"
    modules: tuple[str, ...] = ()
    main = ""
    versions: dict[str, str] = {}
    if facts.go is not None:
        modules = tuple(d.path for d in facts.go.deps)
        main = facts.go.main.path if facts.go.main else ""
        modules = (*modules, main) if main else modules
        versions = {d.path: d.version for d in facts.go.deps}
    return with_linker_owners(
        whole,
        reach,
        objects,
        told.data,
        generated=told.generated,
        functions=generated_functions_of(shipped, told),
        modules=modules,
        main_module=main,
        versions=versions,
        max_align=MAX_ALIGN.get(facts.elf.goarch or "", 32),
    )


def list_argv(step: Step) -> list[str]:
    """``go list -export -deps`` with the step's build flags: each linked package's archive in
    the build cache (the same action IDs as the build's, so go finds them there)."""
    build = go_build_argv(step.argv[0], step.variant, "x", step.package)
    template = "{{if .Export}}{{.Export}}{{end}}"
    return [build[0], "list", "-export", "-deps", "-f", template, *build[4:]]


def object_symbols(
    step: Step, environ: Mapping[str, str], timeout: float, group: proc.ProcessGroup
) -> ObjectSymbols:
    """The data symbols of the step's packages' archives, with their sizes. The commands run
    in group, so that Ctrl-C stops them with the twin link (none starts once it is stopping);
    CommandFailed when one fails or was stopped."""
    env = {**environ, **step.env}

    def run(argv: list[str]) -> str:
        whole = io.BytesIO()  # all of it (what the group keeps of an output is bounded)
        done = group.run(argv, env=env, cwd=step.dir, timeout=timeout, stdout_copy=whole)
        if done.returncode != 0 or done.timed_out:
            raise proc.CommandFailed(
                argv, done.returncode, done.stderr, timeout=timeout if done.timed_out else 0
            )
        return whole.getvalue().decode(errors="replace")

    archives = [line for line in run(list_argv(step)).splitlines() if line]
    found = ObjectSymbols()
    for batch in _batches(archives, NM_BATCH):
        found.add_lines(run([step.argv[0], "tool", "nm", "-size", "-type", *batch]).splitlines())
    return found


def _batches(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
