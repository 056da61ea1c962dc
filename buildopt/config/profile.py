"""Load a TOML build profile into frozen, validated facts.

Resolution chain, one function each: read the file (and the files it ``extends``), check every
key and type of each file against the allowed keys, read the tags files its layers name, merge
the files (parent first), then resolve each variant as built-in defaults <- ``[defaults]`` <-
the variants it ``extends`` (the farthest first) <- ``[variants.NAME]`` (or ``[defaults]`` <- a
``[matrix]`` combination). Lists replace by default; ``{ append = [...], remove = [...] }``
edits the list it inherits instead. Maps (``x``, ``env``) merge key by key.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgspec
from msgspec.structs import replace

from buildopt.config.budgets import Budget, ImageBudget, matches, parse_budgets
from buildopt.config.keys import decode, did_you_mean, key_path
from buildopt.config.merging import (
    _normalise,
    _resolve_extends,
    layered_variants,
    merge_files,
    merge_layer,
    read_file_tags,
)
from buildopt.config.startup import StartupConfig, parse_config
from buildopt.config.sweep import Sweep, parse_sweep
from buildopt.config.target import Target, parse_target
from buildopt.config.variant import (
    DefaultsLayer,
    ListEdit,
    Matrix,
    ProfileFile,
    Variant,
    VariantLayer,
)
from buildopt.errors import ProfileError, UsageError
from buildopt.inputs import KINDS, NotRegularFile, TooLarge, read_limited

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PROFILES_DIR = "profiles"


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
RECORD_FILE = "build.json"  # dist/PROFILE/build.json: no variant directory may take its name
MAX_NAME_BYTES = 255  # NAME_MAX of Linux file systems: a variant name is a directory name


class Program(msgspec.Struct, frozen=True):
    """One main package a profile builds, and the name of its binary."""

    name: str
    package: Path


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    path: Path
    root: Path
    description: str
    package: Path  # the first program's (the only one of a profile with package)
    binary: str
    targets: tuple[Target, ...]
    baseline: str
    variants: tuple[Variant, ...]
    chain: tuple[Path, ...]
    tags_files: tuple[Path, ...] = ()  # the tags files its variants' layers read
    budgets: tuple[Budget, ...] = ()
    images: tuple[ImageBudget, ...] = ()
    startup: StartupConfig = msgspec.field(default_factory=StartupConfig)
    scan: bool = False  # [scan] enabled: scan the sources of every built variant
    compressor: str = "library"  # "cli": max_compressed sizes by the installed gzip, xz, zstd
    owners: str = "linker"  # "symbols": no twin link (binary/owners.py)
    sweep: Sweep | None = None  # [sweep]: the feature tags buildopt sweep builds one at a time
    # packages = [...]: every program, its name in every build id; empty: package alone
    programs: tuple[Program, ...] = ()

    @property
    def builds(self) -> tuple[Program, ...]:
        """The programs each variant x target builds: those of ``packages``, else the one of
        ``package`` (its binary named by ``binary``)."""
        return self.programs or (Program(self.binary, self.package),)

    def program_id(self, program: Program) -> str | None:
        """The program's part of a build id: its name in a profile of ``packages``, else None
        (a profile of one ``package`` keeps the ids it always had)."""
        return program.name if self.programs else None

    @property
    def dwarf_by_package(self) -> bool:
        """A budget limits DWARF per package, so builds count it (it costs a DWARF walk)."""
        return any(b.max_dwarf_package for b in self.budgets)

    def compressors_for(self, build_id: str) -> tuple[str, ...]:
        """The compressors whose sizes a build needs: those a ``max_compressed`` budget that
        selects it limits (a build computes them after verifying: it costs seconds to
        minutes)."""
        wanted = {
            name
            for b in self.budgets
            if b.max_compressed and matches(b.select, build_id)
            for name in b.max_compressed
        }
        return tuple(sorted(wanted))

    def dist_dir(self, dist: Path | None = None) -> Path:
        """Where this profile's binaries and record go: ``DIST/<profile>/`` (default
        ``dist/`` in the project root)."""
        return (dist or self.root / "dist") / self.name

    def record_path(self, dist: Path | None = None) -> Path:
        """The one place a profile's build record lives (``--dist`` moves it too)."""
        return self.dist_dir(dist) / RECORD_FILE

    def images_dir(self, dist: Path | None = None) -> Path:
        """Where its squashfs images and their records go: ``DIST/<profile>/images/``."""
        return self.dist_dir(dist) / "images"

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)


# --- reading ---------------------------------------------------------------------------------


def find_profile(spec: str | None, cwd: Path) -> Path:
    """The profile file ``spec`` names: ``NAME`` is ``profiles/NAME.toml`` in the nearest
    folder, from cwd up, that has a ``profiles/`` folder (so buildopt and invoke work from any
    subdirectory of a project); anything with ``/`` or ``.toml`` is a path. No spec: the one
    profile there is, if there is exactly one."""
    if spec and (spec.endswith(".toml") or "/" in spec or spec.startswith(".")):
        try:
            path = (cwd / spec).resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise UsageError(f"--profile {spec}: cannot resolve: {exc}") from None
        if path.exists() and not path.is_file():
            raise UsageError(f"--profile {spec}: {path} is not a regular file")
        if not path.is_file():
            raise UsageError(f"--profile {spec}: no such file {path}")
        return path
    folder = profiles_folder(cwd)
    known = available_profiles(cwd)
    if not spec:
        if len(known) == 1 and folder is not None:
            return (folder / f"{known[0]}.toml").resolve()
        where = f"profiles in {folder}: {', '.join(known)}" if known else _no_profiles(cwd)
        raise UsageError(f"--profile is required ({where})")
    if folder is not None and (folder / f"{spec}.toml").is_file():
        return (folder / f"{spec}.toml").resolve()
    _refuse_other_kind(spec, (folder or cwd / PROFILES_DIR) / f"{spec}.toml")
    hint = did_you_mean(spec, known) or (
        f"; available in {folder}: {', '.join(known)}" if known else f"; {_no_profiles(cwd)}"
    )
    raise UsageError(f"--profile {spec}: no profile {PROFILES_DIR}/{spec}.toml{hint}")


def _refuse_other_kind(spec: str, path: Path) -> None:
    """A profiles/NAME.toml that is there but not a file: say what it is (it is no typo)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if stat.S_ISREG(mode):  # pragma: no cover - find_profile took it
        return
    kind = "a folder" if stat.S_ISDIR(mode) else KINDS.get(stat.S_IFMT(mode), "not regular")
    raise UsageError(f"--profile {spec}: {PROFILES_DIR}/{spec}.toml is {kind}, not a file")


def profiles_folder(cwd: Path) -> Path | None:
    """The nearest ``profiles/`` folder holding a profile, from cwd up to the root."""
    for folder in (cwd, *cwd.parents):
        candidate = folder / PROFILES_DIR
        with contextlib.suppress(OSError):
            if candidate.is_dir() and any(candidate.glob("*.toml")):
                return candidate
    return None


def available_profiles(cwd: Path) -> list[str]:
    """The profiles of the nearest profiles/ folder (see profiles_folder)."""
    folder = profiles_folder(cwd)
    return sorted(p.stem for p in folder.glob("*.toml") if p.is_file()) if folder else []


def _no_profiles(cwd: Path) -> str:
    return (
        f"no {PROFILES_DIR}/ folder with a profile in {cwd} or above it (buildopt init writes one)"
    )


MAX_PROFILE_BYTES = 1 << 20  # a profile is a page or two; a bigger one is refused, not parsed
MAX_KEY_PARTS = 64  # parts of one dotted key: tomllib takes quadratic time in them
_LONG_DOTTED_KEY = re.compile(
    rb"""(?:(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')[ \t]*\.[ \t]*){%d,}""" % MAX_KEY_PARTS
)


def read_toml(path: Path) -> dict[str, Any]:
    """One profile file, parsed; ProfileError for a file that is not regular, too large, not
    UTF-8, not TOML, or shaped to make the parser take minutes or recurse without end."""
    try:
        blob = read_limited(path, MAX_PROFILE_BYTES)
    except (NotRegularFile, TooLarge) as exc:
        raise ProfileError(path, str(exc)) from exc
    except OSError as exc:
        raise ProfileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if _LONG_DOTTED_KEY.search(blob):
        raise ProfileError(path, f"a dotted key of more than {MAX_KEY_PARTS} parts")
    try:
        # "utf-8-sig": a byte order mark, which Windows editors write, is not TOML's and
        # tomllib refused it as "Invalid statement (line 1, column 1)"
        data: dict[str, Any] = tomllib.loads(blob.decode("utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(path, f"invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(path, f"not UTF-8 text: {exc}") from exc
    except RecursionError:
        raise ProfileError(path, "arrays or tables nested too deeply") from None
    return data


def check_file(path: Path, raw: Mapping[str, Any]) -> None:
    """Every key and type of one profile file, before anything is merged."""
    _refuse_nul(path, "", raw)
    decode(path, "", raw, ProfileFile)
    decode(path, "defaults", raw.get("defaults", {}), DefaultsLayer)
    for name, table in raw.get("variants", {}).items():
        check_variant_name(path, f"variants.{name}", name)
        decode(path, f"variants.{name}", table, VariantLayer)
    matrix = raw.get("matrix", {})
    decode(path, "matrix", matrix, Matrix)
    for entry in matrix.get("exclude", []):
        for axis in entry:
            if axis == "toolchain":
                raise ProfileError(
                    path,
                    "matrix.exclude: toolchain applies to every variant; give a "
                    "variant its own toolchain list instead",
                )
            if axis not in matrix or axis == "exclude":
                raise ProfileError(path, f"matrix.exclude: {axis!r} is not an axis of [matrix]")


def _refuse_nul(path: Path, where: str, value: object) -> None:
    """A NUL byte in any key or string: no file name, argument or environment can hold one."""
    if isinstance(value, str):
        if "\0" in value:
            raise ProfileError(path, f"{where}: a NUL byte cannot be passed to a program")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = key_path(where, str(key))
            if "\0" in str(key):
                raise ProfileError(path, f"{name}: a NUL byte in a key")
            _refuse_nul(path, name, item)
    elif isinstance(value, list):
        for i, item in enumerate(value, start=1):  # budget[1], targets[1]: the first
            _refuse_nul(path, f"{where}[{i}]", item)


def check_variant_name(path: Path, where: str, name: str) -> None:
    if "/" in name or "\\" in name:
        raise ProfileError(path, f"{where}: a variant name may not contain '/'")
    if ".." in name:
        raise ProfileError(path, f"{where}: a variant name may not contain '..'")
    if name == RECORD_FILE:
        raise ProfileError(path, f"{where}: {RECORD_FILE} is the build record's name in dist/")
    if not _NAME_RE.fullmatch(name):
        raise ProfileError(
            path, f"{where}: a variant name is letters, digits and . _ + - (got {name!r})"
        )
    if len(name.encode()) > MAX_NAME_BYTES:
        raise ProfileError(
            path,
            f"{where}: a variant name is a directory name; {len(name.encode())} bytes is more "
            f"than a file system holds ({MAX_NAME_BYTES})",
        )


class Chain(msgspec.Struct, frozen=True):
    """A profile and the profiles it extends, merged parent first: the merged tables, the
    files (the profile first), and the tags files their layers read."""

    raw: dict[str, Any]
    files: tuple[Path, ...]
    tags_files: tuple[Path, ...] = ()


def load_chain(path: Path, seen: tuple[Path, ...] = ()) -> Chain:
    """Read a profile and the profiles it extends, merged parent first."""
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        raise ProfileError(seen[0], f"extends: profiles extend each other in a cycle: {cycle}")
    raw = read_toml(path)
    check_file(path, raw)
    inside = (path.parent, project_root(path, raw.get("root")))
    raw, tags_files = read_file_tags(path, _normalise(raw, path), inside)
    parent_spec = raw.get("extends")
    if parent_spec is None:
        return Chain(raw, (*seen, path), tags_files)
    parent = load_chain(_resolve_extends(path, parent_spec), (*seen, path))
    return Chain(merge_files(parent.raw, raw), parent.files, (*parent.tags_files, *tags_files))


# --- resolving -------------------------------------------------------------------------------


def project_root(path: Path, root: str | None) -> Path:
    """The directory paths are relative to: ``root`` if set, else the parent of ``profiles/``."""
    if root is not None:
        return (path.parent / root).resolve()
    if path.parent.name == PROFILES_DIR:
        return path.parent.parent
    return path.parent


class Scan(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``[scan]``: ``enabled = true`` scans the sources of every built variant."""

    enabled: bool = False


def load_profile(spec: str | None, cwd: Path) -> Profile:
    """Find, read, merge, validate and resolve the profile named by ``spec``."""
    path = find_profile(spec, cwd)
    if not _NAME_RE.fullmatch(path.stem) or ".." in path.stem:
        raise ProfileError(
            path,
            f"the file name {path.name!r} cannot name a profile: the name ({path.stem!r}) is a "
            "directory under dist/, so letters, digits and . _ + - only, without '..'",
        )
    chain = load_chain(path)
    raw = chain.raw
    top = decode(path, "", {**raw, "targets": _final_list(raw.get("targets", []))}, ProfileFile)
    root = project_root(path, top.root)
    programs = resolve_programs(path, root, top)
    package = programs[0].package if programs else _main_package(path, root, top.package)
    variants = resolve_variants(path, top)
    if programs:
        _refuse_outputs(path, variants)
    _check_program_choices(path, variants, [p.name for p in programs])
    if not variants:
        raise ProfileError(path, "variants: the profile defines no variant ([variants.NAME])")
    names = [v.name for v in variants]
    baseline = top.baseline or ("default" if "default" in names else names[0])
    if baseline not in names:
        raise ProfileError(
            path, f"baseline: no variant {baseline!r}{did_you_mean(baseline, names)}"
        )
    budgets, images = parse_budgets(path, root, raw)
    return Profile(
        name=path.stem,
        path=path,
        root=root,
        description=top.description,
        package=package,
        binary=programs[0].name if programs else top.binary or package.name,
        targets=tuple(map(parse_target, _final_list(top.targets))),
        baseline=baseline,
        variants=tuple(variants),
        chain=chain.files,
        tags_files=tuple(dict.fromkeys(chain.tags_files)),
        budgets=budgets,
        images=images,
        startup=parse_config(path, top.startup),
        scan=decode(path, "scan", top.scan, Scan).enabled,
        compressor=top.compressor,
        owners=top.owners,
        sweep=parse_sweep(path, root, top.sweep),
        programs=programs,
    )


def one_program(profile: Profile, spec: str) -> tuple[Profile, str]:
    """A profile of several programs as the profile of the one program spec names
    (``VARIANT@TARGET/PROGRAM``; none: its first), and spec without it: a what-if changes one
    build (its ids keep the ``/PROGRAM``, so budgets select them as they select the
    profile's own)."""
    point, _, name = spec.partition("/")
    if not profile.programs:
        if name:
            raise UsageError(
                f"--variant {spec}: {profile.path.name} builds one program (package), so its "
                "ids name none"
            )
        return profile, spec
    names = [p.name for p in profile.programs]
    program = next((p for p in profile.programs if p.name == (name or names[0])), None)
    if program is None:
        raise UsageError(
            f"--variant {spec}: no program {name!r} in {profile.path.name} (its programs: "
            f"{', '.join(names)})"
        )
    alone = replace(profile, programs=(program,), package=program.package, binary=program.name)
    return alone, point


def _main_package(path: Path, root: Path, package: str | None) -> Path:
    if package is None:
        raise ProfileError(
            path,
            "package: required (the main package directory, e.g. './cmd/app'; or packages = "
            "['./cmd/a', './cmd/b'] for several programs)",
        )
    if not package.strip():  # (root / "" is the root: "." says so)
        raise ProfileError(path, "package: empty (the main package's directory; '.' for the root)")
    directory = (root / package).resolve()
    if not directory.is_dir():
        raise ProfileError(path, f"package: no directory {directory}")
    return directory


def resolve_programs(path: Path, root: Path, top: ProfileFile) -> tuple[Program, ...]:
    """The programs of ``packages``, each a directory named after it; () without the key."""
    if top.packages is None:
        return ()
    for key in ("package", "binary"):
        if getattr(top, key) is not None:
            raise ProfileError(
                path,
                f"packages: give package (one program) or packages (several), not both; {key} "
                "is set too (a program of packages is named after its directory)",
            )
    seen: dict[str, str] = {}
    programs = []
    for i, given in enumerate(top.packages, start=1):
        if not given.strip():  # (root / "" is the root: a program named after its folder)
            raise ProfileError(path, f"packages[{i}]: empty (a main package's directory)")
        directory = (root / given).resolve()
        if not directory.is_dir():
            raise ProfileError(path, f"packages[{i}]: {given!r}: no directory {directory}")
        name = directory.name
        if not _NAME_RE.fullmatch(name) or len(name.encode()) > MAX_NAME_BYTES:
            raise ProfileError(
                path,
                f"packages[{i}]: {given!r}: a program is named after its directory, and "
                f"{name!r} cannot name one (letters, digits and . _ + - only)",
            )
        if name in seen:
            raise ProfileError(
                path,
                f"packages[{i}]: {given!r} and {seen[name]!r} are both programs named "
                f"{name!r} (a program is named after its directory; each needs its own)",
            )
        seen[name] = given
        programs.append(Program(name, directory))
    return tuple(programs)


def _refuse_outputs(path: Path, variants: Sequence[Variant]) -> None:
    """A variant's ``output`` names the one binary of ``package``; with ``packages`` each
    program's binary is named after it (all of a point in one folder)."""
    for variant in variants:
        if variant.output is not None:
            raise ProfileError(
                path,
                f"{variant.origin}.output: the profile builds several programs (packages), "
                "each binary named after its program",
            )


def _check_program_choices(path: Path, variants: Sequence[Variant], names: list[str]) -> None:
    """A variant's ``programs`` names programs of ``packages`` (a combined binary's variant
    builds only the program that holds the others)."""
    for variant in variants:
        for name in variant.programs or ():
            if not names:
                raise ProfileError(
                    path,
                    f"{variant.origin}.programs: the profile builds one program (package); "
                    "programs chooses among those of packages = [...]",
                )
            if name not in names:
                raise ProfileError(
                    path,
                    f"{variant.origin}.programs: no program {name!r} in packages"
                    f"{did_you_mean(name, names)} (its programs: {', '.join(names)})",
                )


def resolve_variants(path: Path, top: ProfileFile) -> list[Variant]:
    """Named variants (each over the variants it extends), then the [matrix] combinations,
    all over [defaults]."""
    defaults = dict(top.defaults)
    releases = top.matrix.get("toolchain")
    if releases is not None and "toolchain" not in defaults:
        defaults["toolchain"] = releases  # every variant, with each release: not an axis
    combinations = matrix_combinations(top.matrix)
    layered = layered_variants(defaults, top.variants, {name for name, _ in combinations})
    made = {
        name: make_variant(path, name, table, f"variants.{name}", top.allow_exec)
        for name, table in layered.items()
    }
    variants = [made[name] for name in top.variants]  # in file order, as written
    seen = {v.name for v in variants}
    for name, table in combinations:
        check_variant_name(path, f"matrix (generated name {name!r})", name)
        if name in seen:
            raise ProfileError(path, f"matrix: generated variant {name!r} duplicates a variant")
        seen.add(name)
        variants.append(
            make_variant(path, name, merge_layer(defaults, table), "matrix", top.allow_exec)
        )
    return variants


def matrix_combinations(matrix: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The cartesian product of the axes, less ``exclude``, each with its generated name."""
    axes = {k: v for k, v in matrix.items() if k not in ("exclude", "toolchain")}
    if not axes:
        return []
    excludes = matrix.get("exclude", [])
    combos = []
    for values in itertools.product(*axes.values()):
        combo = dict(zip(axes, values, strict=True))
        if any(all(combo[k] == v for k, v in ex.items()) for ex in excludes):
            continue
        name = "_".join(f"{k}-{_axis_label(v)}" for k, v in combo.items())
        combos.append((name, combo))
    return combos


def _axis_label(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return "+".join(_axis_label(v) for v in value) or "none"
    return re.sub(r"[^A-Za-z0-9.+-]", "-", str(value)).replace("..", "-")


# go build flags a profile may not give as raw flags: the output is buildopt's (it writes each
# binary inside dist/ and verifies it there), and these run programs of the profile's choosing.
OUTPUT_FLAGS = frozenset({"o"})
EXEC_FLAGS = frozenset({"toolexec", "exec"})


def _flag_name(word: str) -> str:
    """'o' for -o, --o, -o=x; '' for a word that is not a flag."""
    return word.lstrip("-").split("=", 1)[0] if word.startswith("-") else ""


def check_raw_flags(
    path: Path, where: str, flags: Sequence[str], goflags: str, allow_exec: bool
) -> None:
    """Refuse -o (buildopt owns the output) and, unless allow_exec, -toolexec/-exec, in the
    variant's flags and in its env.GOFLAGS."""
    for key, words in ((f"{where}.flags", flags), (f"{where}.env.GOFLAGS", goflags.split())):
        for word in words:
            name = _flag_name(word)
            if name in OUTPUT_FLAGS:
                raise ProfileError(
                    path, f"{key}: {word!r}: buildopt sets the output path itself (see output)"
                )
            if name in EXEC_FLAGS and not allow_exec:
                raise ProfileError(
                    path,
                    f"{key}: {word!r} runs a program of the profile's choosing; set "
                    "allow_exec = true at the top of the profile to allow it",
                )


def make_variant(
    path: Path, name: str, table: Mapping[str, Any], where: str, allow_exec: bool = False
) -> Variant:
    """A validated Variant from a fully layered table."""
    table = {k: _final_list(v) for k, v in table.items()}
    variant = decode(path, where, table, Variant, name=name, origin=where)
    check_raw_flags(path, where, variant.flags, variant.env.get("GOFLAGS", ""), allow_exec)
    return variant


def _final_list(value: Any) -> Any:
    """An edit applied to nothing (it inherits no list); any other value as it is."""
    return value.apply([]) if isinstance(value, ListEdit) else value
