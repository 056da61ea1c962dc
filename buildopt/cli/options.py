"""The command line's one option spec: every command and its flags, declared once.

COMMANDS is the table of the commands: a command's code is the module of its name,
buildopt.cli.commands.NAME, imported when it runs. The invoke tasks (buildopt.cli.tasks) are
made from it - names, summaries, parameters, help texts, repeatable and short flags; the argv
rewriting in buildopt.cli.main (bare file names become repeated flags, everything after
``--`` goes to the program under test) and the fast path read the same declarations, so a
flag added here works everywhere at once. Short flags are chosen here and mean one thing in
every command; invoke's automatic ones are off. Whole numbers reach the tasks as text and are
read by ``count`` (buildopt.cli.values), so ``--jobs abc`` is one line and exit 2.

This module imports nothing heavy (the fast path reads it before it loads invoke); its facts
are NamedTuples: importing ``dataclasses`` alone costs 4 ms, on every ``buildopt`` start.
"""

from __future__ import annotations

from typing import NamedTuple

from buildopt.config import defaults
from buildopt.names import FORMAT_COMMANDS, FORMATS


def _and(words: list[str] | tuple[str, ...]) -> str:
    """``a, b and c``"""
    return f"{', '.join(words[:-1])} and {words[-1]}"


class Flag(NamedTuple):
    name: str  # the task's parameter: ready_port is --ready-port
    help: str
    value: str = ""  # what it takes, for --help (FILE, N, PATTERN); "" for an on/off switch
    repeatable: bool = False
    short: str = ""  # "-p"; the same letter means the same flag in every command
    number: bool = False  # a whole number, read by count()
    on: bool = False  # a switch that is on unless --no-NAME is given

    @property
    def long(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def takes_value(self) -> bool:
        return bool(self.value)


class Command(NamedTuple):
    name: str
    flags: tuple[Flag, ...]
    bare: str = ""  # the flag that bare words fill: `inspect A B` is --file A --file B
    rest: str = ""  # the flag that the words after `--` fill, unparsed (the program's arguments)
    about: str = ""  # what it does: its first line is its summary in `buildopt --help`

    def flag(self, word: str) -> Flag | None:
        """The flag a command-line word names (``--jobs``, ``-j`` or ``--jobs=4``)."""
        name = word.split("=", 1)[0]
        for flag in self.flags:
            if name in (flag.long, flag.short):
                return flag
        return None

    def usage(self) -> str:
        """``inspect [FILE...]``: the command and the words it takes besides its flags."""
        bare = next((f for f in self.flags if f.name == self.bare), None)
        words = f" [{bare.name.upper()}{'...' if bare.repeatable else ''}]" if bare else ""
        return self.name + words + (" [-- ARGS...]" if self.rest else "")

    def help(self) -> dict[str, str]:
        return {f.name: f.help + (" (repeatable)" if f.repeatable else "") for f in self.flags}

    def repeatable(self) -> list[str]:
        return [f.name for f in self.flags if f.repeatable]

    def shorts(self) -> dict[str, str]:
        return {f.name: f.short for f in self.flags if f.short}


# Flags several commands share, with one meaning and one short letter each.
PROFILE = Flag(
    "profile", "profile name (profiles/NAME.toml) or path to a .toml file", "NAME", short="-p"
)
VARIANT = Flag(
    "variant",
    "fnmatch pattern over variant names (static*) or ids (*@linux-arm64)",
    "PATTERN",
    True,
    short="-v",
)
DIST = Flag("dist", "output directory (default: dist/ in the project root)", "DIR")
JSON = Flag("json", "print JSON on stdout")
BYTES = Flag("bytes", "sizes in exact bytes in the tables (--json always has them)")
JOBS_HELP = "parallel builds (default: number of CPUs)"

COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "init",
            (
                Flag("dir", "a directory of the Go module (default: the current one)", "DIR"),
                Flag(
                    "package",
                    "the main package to profile: its folder or import path (default: the one "
                    "init runs in, else chosen by name)",
                    "DIR",
                ),
                Flag("budgets", "build once and set size budgets at each size plus 10%"),
                Flag("tasks", "also write tasks.py, for `invoke build --profile=NAME`"),
            ),
            bare="dir",
            about=(
                "Write a commented starter profile for the Go module's main package.\n\n"
                "With --budgets, build once and set size budgets; with --tasks, also write a "
                "tasks.py."
            ),
        ),
        Command(
            "plan",
            (PROFILE, VARIANT, JSON, DIST),
            about=(
                "Show every variant x target with its exact go build argv and env; build nothing."
            ),
        ),
        Command(
            "docs",
            (Flag("topic", "the page to print (without it: the list of pages)", "TOPIC"),),
            bare="topic",
            about="Print a page of buildopt's documentation (profiles, commands, budgets, ...).",
        ),
        Command(
            "build",
            (
                PROFILE,
                VARIANT,
                Flag("jobs", JOBS_HELP, "N", short="-j", number=True),
                Flag("json", "print the build record on stdout (the table goes to stderr)"),
                BYTES,
                Flag(
                    "record",
                    "where to write the build record (default: DIST/PROFILE/build.json)",
                    "FILE",
                ),
                DIST,
            ),
            about=(
                "Build the profile's variants in parallel, verify each binary, write the build "
                "record."
            ),
        ),
        Command(
            "inspect",
            (
                Flag(
                    "file",
                    "an ELF file to inspect (`buildopt inspect A B` works too)",
                    "FILE",
                    True,
                ),
                Flag("json", "print one buildopt.inspect/1 JSON document on stdout"),
                Flag("packages", "rows of the package table (default 15)", "N", number=True),
                Flag(
                    "jobs",
                    "compressions at a time with --compressed (default: one per CPU)",
                    "N",
                    short="-j",
                    number=True,
                ),
                Flag("dwarf", "also count DWARF bytes per Go package (decompresses the DWARF)"),
                Flag(
                    "attribution",
                    "every byte of the file to a Go package or a named bucket (code, pclntab, "
                    "data per package; ~5 us a function)",
                ),
                Flag(
                    "modules",
                    "the modules of the build info with the file bytes of their packages "
                    "(implies --attribution)",
                ),
                Flag(
                    "symbols",
                    "the N largest functions (works stripped) and data objects",
                    "N",
                    number=True,
                ),
                Flag(
                    "compressed",
                    f"also the file's size after {_and([*FORMAT_COMMANDS.values()])} (exact; "
                    "seconds to minutes a file, --jobs at a time)",
                ),
                Flag(
                    "compressor_cli",
                    f"--compressed by the installed {_and(FORMATS)} commands, not the "
                    "libraries buildopt runs on",
                ),
            ),
            bare="file",
            about=(
                "Exact facts of ELF files: sections by category, linking, symbols, DWARF, Go "
                "packages."
            ),
        ),
        Command(
            "compare",
            (
                Flag(
                    "profile",
                    "compare the variants of the profile's build record with its baseline",
                    "NAME",
                    short="-p",
                ),
                Flag(
                    "record",
                    "a build record; two are compared with each other "
                    "(`buildopt compare OLD.json NEW.json` works too)",
                    "FILE",
                    True,
                ),
                JSON,
                BYTES,
                Flag("rows", "rows of the record-to-record tables (default 30)", "N", number=True),
                DIST,
            ),
            bare="record",
            about=(
                "Variants side by side against the baseline, each delta explained; or two records."
            ),
        ),
        Command(
            "gate",
            (
                PROFILE,
                Flag(
                    "baseline",
                    "build record to measure growth against (missing: growth budgets SKIP)",
                    "FILE",
                ),
                Flag(
                    "record",
                    "the build record to gate (default: DIST/PROFILE/build.json)",
                    "FILE",
                ),
                Flag("build", "build the profile first (otherwise a missing record is an error)"),
                Flag("json", "print buildopt.gate/1 JSON on stdout"),
                BYTES,
                Flag(
                    "markdown",
                    "add the result as Markdown to this file (e.g. $GITHUB_STEP_SUMMARY; "
                    "- is stdout)",
                    "FILE",
                ),
                Flag(
                    "markdown_mode",
                    "append or replace (default: append to $GITHUB_STEP_SUMMARY, else replace)",
                    "MODE",
                ),
                Flag("junit", "write JUnit XML to this file (- is stdout)", "FILE"),
                Flag(
                    "report_url",
                    "link the HTML report (buildopt report) from the Markdown: its URL",
                    "URL",
                ),
                Flag(
                    "baseline_missing",
                    "the baseline was expected but could not be had: why (growth budgets SKIP)",
                    "REASON",
                ),
                Flag(
                    "acknowledge",
                    "growth acknowledged (a pull request's Binary-Size: line): growth FAILs "
                    "become WARNs quoting it",
                    "REASON",
                ),
                DIST,
            ),
            about=(
                "Evaluate the profile's size budgets: PASS/WARN/FAIL, exit 1 when a budget fails."
            ),
        ),
        Command(
            "diff",
            (
                Flag(
                    "file",
                    "OLD then NEW: ELF files, inspect --json documents or build records "
                    "(`buildopt diff OLD NEW`)",
                    "FILE",
                    True,
                ),
                Flag(
                    "by",
                    "function (symbols: the default), package, module or section",
                    "VIEW",
                ),
                Flag(
                    "categories",
                    "Function, Data and RO Data tables, as bloat-o-meter -c (--by function)",
                    short="-c",
                ),
                Flag("rows", "rows per diff (default: every changed one)", "N", number=True),
                Flag("json", "print buildopt.diff/1 JSON on stdout"),
                Flag(
                    "markdown",
                    "also write the diff as Markdown (a pull request comment; - is stdout)",
                    "FILE",
                ),
            ),
            bare="file",
            about=(
                "What changed between two binaries (or records), in the kernel's bloat-o-meter "
                "format."
            ),
        ),
        Command(
            "why",
            (
                Flag("package", "the package: its import path (`buildopt why crypto/tls`)", "PATH"),
                PROFILE,
                VARIANT,
                JSON,
                DIST,
            ),
            bare="package",
            about=(
                "Why a package is in a variant's binary: its import chain, what it costs and "
                "what cutting it saves."
            ),
        ),
        Command(
            "deps",
            (
                PROFILE,
                VARIANT,
                Flag("update", "write the lists (deps/PROFILE/ID.txt) as the builds link now"),
            ),
            about=(
                "Check each variant's dependency list (deps/PROFILE/ID.txt): exit 1 when one is "
                "stale.\n\nThe list is the packages its go build links, with module versions; "
                "--update writes them, and the gate fails on a package a list lacks."
            ),
        ),
        Command(
            "image",
            (
                PROFILE,
                Flag(
                    "record",
                    "the build record whose binaries go in (default: DIST/PROFILE/build.json)",
                    "FILE",
                ),
                Flag("name", "only this [[image]] (default: every squashfs image)", "NAME"),
                Flag("compare", "two layouts side by side: SEPARATE COMBINED", "IMAGE", True),
                Flag(
                    "jobs",
                    "mksquashfs threads (default: one per CPU)",
                    "N",
                    short="-j",
                    number=True,
                ),
                Flag("json", "print the buildopt.image/1 records on stdout"),
                BYTES,
                DIST,
            ),
            bare="compare",
            about="Make the profile's squashfs images (erase blocks, shares); compare two layouts.",
        ),
        Command(
            "report",
            (
                PROFILE,
                Flag(
                    "record",
                    "the build record to show (default: DIST/PROFILE/build.json)",
                    "FILE",
                ),
                Flag("baseline", "an older build record: each size against it", "FILE"),
                Flag(
                    "history",
                    "build records (files, or folders of them) for size over time",
                    "PATH",
                    True,
                ),
                Flag(
                    "output",
                    "where to write the page (default: DIST/PROFILE/report.html; - is stdout)",
                    "FILE",
                    short="-o",
                ),
                DIST,
            ),
            about=(
                "Write one self-contained HTML page: overview, treemaps, variants, start-up, "
                "history."
            ),
        ),
        Command(
            "matrix",
            (PROFILE, VARIANT),
            about=(
                'Print {"include": [...]} for a GitHub Actions matrix: one job per variant x '
                "target."
            ),
        ),
        Command(
            "merge",
            (
                Flag(
                    "record",
                    "a per-job build record (`buildopt merge A.json B.json` works)",
                    "FILE",
                    True,
                ),
                Flag(
                    "output", "where to write the merged record (- is stdout)", "FILE", short="-o"
                ),
                Flag(
                    "expect",
                    "a job id the matrix expected: recorded as missing when no record has it",
                    "ID",
                    True,
                ),
                Flag(
                    "expect_matrix",
                    "the matrix JSON `buildopt matrix` printed: every job id in it is expected",
                    "FILE",
                ),
            ),
            bare="record",
            about="Join per-job build records (same profile and Go version) into one.",
        ),
        Command(
            "startup",
            (
                Flag(
                    "file",
                    "the executable (`buildopt startup FILE -- ARGS...` works too)",
                    "FILE",
                    True,
                ),
                Flag(
                    "arg",
                    "an argument for it (or everything after --, taken as it is)",
                    "WORD",
                    True,
                ),
                Flag(
                    "profile",
                    "measure every built variant of this profile that runs here",
                    "NAME",
                    short="-p",
                ),
                Flag(
                    "runs",
                    f"measured runs per binary (default {defaults.RUNS}, or [startup] runs)",
                    "N",
                    number=True,
                ),
                Flag(
                    "warmup", f"unmeasured runs first (default {defaults.WARMUP})", "N", number=True
                ),
                Flag(
                    "trace_runs",
                    "runs with GODEBUG=gctrace=1,inittrace=1 for GC cycles and init costs, "
                    f"kept apart from the timed runs (default {defaults.TRACE_RUNS}; 0: none)",
                    "N",
                    number=True,
                ),
                Flag(
                    "timeout",
                    f"give up on a run after this long (default {defaults.TIMEOUT:g}s)",
                    "DURATION",
                ),
                Flag(
                    "cold",
                    "evict the binary from the page cache before each run (default on; --no-cold)",
                    on=True,
                ),
                Flag(
                    "cpus",
                    "pin the program to this many CPUs (see what GOMAXPROCS does in a small box)",
                    "N",
                    number=True,
                ),
                Flag(
                    "ready_stdout",
                    "ready when a stdout line matches this regex (default: at exit)",
                    "REGEX",
                ),
                Flag(
                    "ready_stderr",
                    "ready when a stderr line matches this regex (a server that logs there)",
                    "REGEX",
                ),
                Flag("ready_port", "ready when this loopback port accepts", "PORT", number=True),
                Flag("argv0", "argv[0] of every run (default: its path)", "NAME"),
                Flag("runner", "an argv prefix to run through: qemu-..., 'ssh HOST'", "COMMAND"),
                VARIANT,
                Flag("json", "print buildopt.startup/1 JSON on stdout"),
                DIST,
            ),
            bare="file",
            rest="arg",
            about=(
                "Start-up per variant: time to ready, CPU, peak RSS, GC cycles, init cost by "
                "package.\n\n"
                "GC cycles and init costs come from separate traced runs."
            ),
        ),
        Command(
            "scan",
            (
                Flag(
                    "path",
                    "package patterns or directories (default ./...; `buildopt scan "
                    "./cmd/...` works)",
                    "PATTERN",
                    True,
                ),
                Flag("tags", "build tags, as go build takes them", "TAGS", True),
                Flag("json", "print buildopt.scan/1 JSON on stdout"),
                Flag(
                    "sarif",
                    "write SARIF 2.1.0 to this file (GitHub code scanning; - is stdout)",
                    "FILE",
                ),
                Flag(
                    "include_generated", "also scan files marked 'Code generated ... DO NOT EDIT.'"
                ),
            ),
            bare="path",
            about=(
                "Find start-up anti-patterns in Go sources: GOMAXPROCS calls, heavy init, "
                "automaxprocs."
            ),
        ),
        Command(
            "advise",
            (
                PROFILE,
                Flag(
                    "variant",
                    "the variant to advise on, NAME or NAME@TARGET-ID (default: the baseline, "
                    "on this machine's target when it builds for it)",
                    "NAME",
                    short="-v",
                ),
                Flag("startup", "also measure each what-if's start-up (this machine's target)"),
                Flag("toolchain", "a newer Go release to try (go1.N.M)", "RELEASE", True),
                Flag(
                    "tag",
                    "a build tag to try, beyond those the profile's variants use",
                    "TAG",
                    True,
                ),
                Flag(
                    "write",
                    "add the what-if of --lever to the profile as [variants.NAME]",
                    "NAME",
                ),
                Flag(
                    "lever", "with --write: the lever to write (s-w, cgo-off, tag-X ...)", "LEVER"
                ),
                Flag("jobs", JOBS_HELP, "N", short="-j", number=True),
                Flag("json", "print buildopt.advice/1 JSON on stdout (the table goes to stderr)"),
                BYTES,
                DIST,
            ),
            about=(
                "Build and measure every lever a variant does not use yet, ranked by savings.\n\n"
                "Each what-if is the variant with one change, built for real in "
                "DIST/PROFILE/.advise/ (a second run reuses them); with --write NAME, the "
                "chosen one becomes a variant of the profile."
            ),
        ),
        Command(
            "sweep",
            (
                PROFILE,
                Flag(
                    "variant",
                    "the variant to sweep, NAME or NAME@TARGET-ID (default: [sweep] variant, "
                    "else the baseline, on this machine's target when it builds for it)",
                    "NAME",
                    short="-v",
                ),
                Flag("mode", "remove, add or both (default: both)", "MODE"),
                Flag("jobs", JOBS_HELP, "N", short="-j", number=True),
                Flag("json", "print buildopt.sweep/1 JSON on stdout (the tables go to stderr)"),
                BYTES,
                DIST,
            ),
            about=(
                "Build each [sweep] feature tag removed from the full build and added back to "
                "the minimal one, ranked by bytes.\n\n"
                "Every build is real and kept in DIST/PROFILE/.sweep/: Ctrl-C keeps what "
                "finished, and the next run resumes (go finds those up to date)."
            ),
        ),
    )
}
