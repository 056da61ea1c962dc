"""A twin link: a variant's own ``go build`` again, with ``-dumpdep -v=2`` added to its -ldflags
and ``-s``/``-w`` dropped, so that the linker says what it reached and from where (its dead-code
pass, binary/go/dumpdep.py), which methods it could keep and which interface methods the program
calls (``-v=2``: binary/go/linkerlog.py), and the twin keeps a symbol table.

The twin is not the shipped binary: ``go version -m`` shows the other flags, and a few bytes
of code and data differ (the build settings string, the build ID). Checked on Go 1.26 for
amd64, arm64 and arm: the loaded sections keep their names, addresses and sizes, and
.gopclntab and .typelink are byte-identical - ``same_layout`` checks that on every twin before
anything is read from it against the shipped binary.

The twin and the linker's output (10^5-10^6 lines for a large program) are written to a
private folder beside the variant's stage (its name carries this process's pid, so what a
killed run left is removed by the next: system/files.py remove_stale_temporaries); the caller
removes it when done.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import msgspec

from buildopt.binary.elf.reader import ElfLayout, NotElfError, Section, open_elf, section_bytes
from buildopt.binary.go.dumpdep import Reach, parse
from buildopt.binary.go.linkerlog import MethodLog, read_methods
from buildopt.errors import EXIT_FAILED, BuildoptError
from buildopt.pipeline.plan import Step, go_build_argv
from buildopt.system import proc
from buildopt.system.files import temp_prefix

STRIP_WORDS = frozenset({"-s", "-w"})
IDENTICAL = (".gopclntab", ".typelink")  # sections that must match byte for byte
SHF_ALLOC = 0x2


class TwinFailed(BuildoptError):
    """The twin link did not build (exit 1: the build environment is at fault, not the input)."""

    exit_code = EXIT_FAILED


class Twin(msgspec.Struct, frozen=True):
    """A twin link's binary (unstripped) and the linker's -dumpdep output, in their folder."""

    binary: Path
    dumpdep: Path
    seconds: float

    def reach(self) -> Reach:
        with self.dumpdep.open(encoding="utf-8", errors="surrogateescape") as lines:
            return parse(lines)

    def methods(self) -> MethodLog:
        with self.dumpdep.open(encoding="utf-8", errors="surrogateescape") as lines:
            return read_methods(lines)

    def remove(self) -> None:
        shutil.rmtree(self.binary.parent, ignore_errors=True)


def twin_argv(step: Step, output: Path) -> list[str]:
    """The step's go build with -dumpdep -v=2 and without -s/-w, writing to output."""
    variant = msgspec.structs.replace(
        step.variant,
        strip="none",
        ldflags=(*(w for w in step.variant.ldflags if w not in STRIP_WORDS), "-dumpdep", "-v=2"),
    )
    return go_build_argv(step.argv[0], variant, output, step.package)


@contextmanager
def twin_link(
    step: Step,
    environ: Mapping[str, str],
    group: proc.ProcessGroup,
    *,
    timeout: float,
) -> Iterator[Twin]:
    """Link step's twin; TwinFailed (one line) when go build fails. Its folder is removed when
    the block ends."""
    step.stage.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=temp_prefix(), dir=step.stage.parent))
    twin = Twin(folder / step.output.name, folder / "dumpdep.txt", 0.0)
    try:
        with twin.dumpdep.open("wb") as out:
            done = group.run(
                twin_argv(step, twin.binary),
                env={**environ, **step.env},
                cwd=step.dir,
                timeout=timeout,
                stderr_copy=out,
            )
        if done.returncode != 0 or not twin.binary.is_file():
            why = "timed out" if done.timed_out else proc.first_error(done.stderr) or "failed"
            raise TwinFailed(f"{step.id}: the -dumpdep link (go build) {why}")
        yield Twin(twin.binary, twin.dumpdep, done.seconds)
    finally:
        twin.remove()


def same_layout(shipped: Path, twin: Path) -> tuple[str, ...]:
    """Why what the twin says cannot be read against the shipped binary (empty: it can): the
    loaded sections differ in name, address or size, or .gopclntab or .typelink differ."""
    try:
        with open_elf(shipped) as (a, ours), open_elf(twin) as (b, theirs):
            problems = list(_section_problems(ours, theirs))
            for name in IDENTICAL:
                mine, other = ours.section(name), theirs.section(name)
                if mine and other and section_bytes(a, mine) != section_bytes(b, other):
                    problems.append(f"{name}: its bytes differ in the twin")
    except NotElfError as exc:
        return (str(exc),)
    return tuple(problems)


def _loaded(layout: ElfLayout) -> dict[str, Section]:
    return {s.name: s for s in layout.sections if s.flags & SHF_ALLOC and s.name}


def _section_problems(ours: ElfLayout, theirs: ElfLayout) -> Iterator[str]:
    mine, other = _loaded(ours), _loaded(theirs)
    for name in sorted(mine.keys() ^ other.keys()):
        where = "the shipped binary" if name in mine else "the twin"
        yield f"{name}: only in {where}"
    for name in sorted(mine.keys() & other.keys()):
        a, b = mine[name], other[name]
        if (a.addr, a.size) != (b.addr, b.size):
            yield (
                f"{name}: {a.size:#x} bytes at {a.addr:#x} in the shipped binary, "
                f"{b.size:#x} at {b.addr:#x} in the twin"
            )
