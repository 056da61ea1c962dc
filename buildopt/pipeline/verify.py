"""Check that a built binary carries what its variant asked for.

The binary's own Go build info (what ``go version -m`` prints) says GOOS, GOARCH, the arch level,
CGO_ENABLED, -tags, -trimpath, -buildmode, -gcflags and -ldflags. Go does not record -ldflags
when -trimpath is set (golang/go#52372), so stripping is checked where it shows for certain:
the section table (``-s`` removes .symtab, ``-w`` removes .debug_*).
"""

from __future__ import annotations

from pathlib import Path

from buildopt.binary.facts import GoFacts, Inspection
from buildopt.inputs import NotRegularFile, open_regular
from buildopt.pipeline.plan import Step, go_quote_join, ldflags
from buildopt.record.model import Verification

# GOOS values whose binaries are ELF files (the only format buildopt reads).
ELF_GOOS = frozenset(
    {"linux", "android", "freebsd", "netbsd", "openbsd", "dragonfly", "solaris", "illumos"}
)


def verify(
    step: Step, binary: Path, *, dwarf: bool = False
) -> tuple[Verification, Inspection | None]:
    """Inspect the binary at ``binary`` and compare it with what ``step`` asked for."""
    # The ELF reader (pyelftools, ~15 ms to import) only when a binary is verified: an
    # unchanged rebuild reuses what was verified before and never needs it.
    from buildopt.binary.elf.reader import NotElfError
    from buildopt.binary.inspect import inspect_file

    if step.target.goos not in ELF_GOOS:
        return Verification.of((), (), f"{step.target.goos} binaries are not ELF"), None
    try:
        facts = inspect_file(binary, dwarf=dwarf, attribution=True)
    except NotElfError as exc:
        if _is_archive(binary):  # go build -o of a package that is not main writes its archive
            why = (
                f"{step.package} is not a main package: go build wrote its package archive, "
                "not a program (packages and package name main packages)"
            )
            return Verification.of((), (why,)), None
        return Verification.of((), (f"cannot read the binary: {exc.message}",)), None
    if facts.go is None:
        return Verification.of((), ("the binary carries no Go build info",)), facts
    checked, problems = compare_settings(facts.go, expected_settings(step))
    if step.release is not None:  # GOTOOLCHAIN was honoured: the binary says which Go built it
        checked += ("go",)
        if facts.go.version != step.release:
            problems += (f"built by {facts.go.version}, the variant asked for {step.release}",)
    tags_problem = check_tags(step, facts.go)
    if tags_problem:
        problems += (tags_problem,)
    strip_checked, strip_problems = check_strip(step, facts)
    return Verification.of((*checked, "-tags", *strip_checked), problems + strip_problems), facts


def expected_settings(step: Step) -> dict[str, str | None]:
    """Build-info settings the variant determines; None means 'must be absent'.

    The target is the authority for GOOS, GOARCH and the arch level, whatever env.* says.
    """
    v = step.variant
    expected: dict[str, str | None] = {
        **step.target.env(),
        "-buildmode": v.buildmode or "exe",
        "-trimpath": "true" if v.trimpath else None,
        "-gcflags": go_quote_join(v.gcflags) if v.gcflags else None,
    }
    if v.cgo is not None:
        expected["CGO_ENABLED"] = "1" if v.cgo else "0"
    if not v.trimpath:
        words = ldflags(v)
        expected["-ldflags"] = go_quote_join(words) if words else None
    return expected


def as_recorded(value: str | None) -> str | None:
    """A setting as Go writes it into build info: cmd/go's appendBuildSetting replaces every
    newline with a space ("make value safe"), so an -X value with a newline reads back so."""
    return None if value is None else value.replace("\n", " ")


def compare_settings(
    info: GoFacts, expected: dict[str, str | None]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    checked: list[str] = []
    problems: list[str] = []
    for key, want in expected.items():
        got = info.setting(key)
        checked.append(key)
        if got != as_recorded(want):
            problems.append(f"{key} is {_show(got)}, the variant asked for {_show(want)}")
    return tuple(checked), tuple(problems)


def check_tags(step: Step, info: GoFacts) -> str | None:
    got = set(filter(None, (info.setting("-tags") or "").split(",")))
    want = set(step.variant.tags)
    if got == want:
        return None
    return (
        f"-tags is {','.join(sorted(got)) or 'absent'}, "
        f"the variant asked for {','.join(sorted(want)) or 'none'}"
    )


def check_strip(step: Step, facts: Inspection) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = {s.name for s in facts.sections}
    has_symtab = ".symtab" in names
    has_dwarf = any(n.startswith((".debug_", ".zdebug_")) for n in names)
    strip = step.variant.strip
    problems = []
    if strip == "all" and has_symtab:
        problems.append("strip=all asked for, but .symtab is present")
    if strip in ("all", "dwarf") and has_dwarf:
        problems.append(f"strip={strip} asked for, but DWARF sections are present")
    if strip == "none" and not has_symtab:
        problems.append("strip=none asked for, but .symtab is missing")
    return ("symbols", "dwarf"), tuple(problems)


def _show(value: str | None) -> str:
    return "absent" if value is None else repr(value)


def _is_archive(path: Path) -> bool:
    """An ar archive ("!<arch>"), as go build writes for a package that is not main."""
    try:
        with open_regular(path) as f:
            return f.read(8) == b"!<arch>\n"
    except (OSError, NotRegularFile):
        return False
