"""Load a TOML build profile into frozen, validated facts.

Resolution chain, one function each: read the file (and the files it ``extends``), check every
key and type of each file against the allowed keys, merge the files (parent first), then resolve
each variant as built-in defaults <- ``[defaults]`` <- ``[variants.NAME]`` (or a ``[matrix]``
combination). Lists replace by default; ``{ append = [...], remove = [...] }`` edits the list it
inherits instead. Maps (``x``, ``env``) merge key by key.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from buildopt.config.budgets import Budget, ImageBudget, matches, parse_budgets
from buildopt.config.keys import check_keys, did_you_mean
from buildopt.config.startup import StartupConfig, parse_config
from buildopt.config.target import Target, TargetSyntaxError, parse_target
from buildopt.errors import ProfileError, UsageError
from buildopt.inputs import KINDS, NotRegularFile, TooLarge, read_limited

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from buildopt.config.merging import (
    ListEdit,
    ListValue,
    _normalise,
    _resolve_extends,
    merge_files,
    merge_layer,
)
from buildopt.config.variant import (
    CONCATENATED,
    DEFAULTS_KEYS,
    ENV_NAME_RE,
    LIST_KEYS,
    MATRIX_AXES,
    RELEASE_RE,
    TOP_KEYS,
    TOP_TABLES,
    VARIANT_KEYS,
    Checker,
    Variant,
    is_build_tag,
)

SCHEMA_VERSION = 1
PROFILES_DIR = "profiles"


_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
RECORD_FILE = "build.json"  # dist/PROFILE/build.json: no variant directory may take its name
MAX_NAME_BYTES = 255  # NAME_MAX of Linux file systems: a variant name is a directory name


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    path: Path
    root: Path
    description: str
    package: Path
    binary: str
    targets: tuple[Target, ...]
    baseline: str
    variants: tuple[Variant, ...]
    chain: tuple[Path, ...]
    budgets: tuple[Budget, ...] = ()
    images: tuple[ImageBudget, ...] = ()
    startup: StartupConfig = field(default_factory=StartupConfig)
    scan: bool = False  # [scan] enabled: scan the sources of every built variant
    compressor: str = "library"  # "cli": max_compressed sizes by the installed gzip, xz, zstd

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
        data: dict[str, Any] = tomllib.loads(blob.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(path, f"invalid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(path, f"not UTF-8 text: {exc}") from exc
    except RecursionError:
        raise ProfileError(path, "arrays or tables nested too deeply") from None
    return data


def _check_table(path: Path, where: str, table: object, allowed: Mapping[str, Checker]) -> None:
    if not isinstance(table, dict):
        raise ProfileError(path, f"{where}: expected a table")
    for key, value in table.items():
        check_keys(path, where, (key,), allowed)  # key by key: the first mistake is reported
        name = f"{where}.{key}" if where else key
        problem = allowed[key](value)
        if problem:
            raise ProfileError(path, f"{name}: {problem}, got {_show(value)}")


def _show(value: object) -> str:
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= 60 else text[:57] + "..."


def check_file(path: Path, raw: Mapping[str, Any]) -> None:
    """Every key and type of one profile file, before anything is merged."""
    _refuse_nul(path, "", raw)
    top = {k: v for k, v in raw.items() if k not in TOP_TABLES}
    allowed = dict(TOP_KEYS) | dict.fromkeys(TOP_TABLES, _is_table)
    _check_table(path, "", top, allowed)
    schema = raw.get("schema", SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise ProfileError(
            path, f"schema: this buildopt reads schema {SCHEMA_VERSION}, not {schema}"
        )
    _check_table(path, "defaults", raw.get("defaults", {}), DEFAULTS_KEYS)
    variants = raw.get("variants", {})
    if not isinstance(variants, dict):
        raise ProfileError(path, "variants: expected a table of [variants.NAME] tables")
    for name, table in variants.items():
        check_variant_name(path, f"variants.{name}", name)
        _check_table(path, f"variants.{name}", table, VARIANT_KEYS)
    _check_matrix(path, raw.get("matrix", {}))


def _refuse_nul(path: Path, where: str, value: object) -> None:
    """A NUL byte in any key or string: no file name, argument or environment can hold one."""
    if isinstance(value, str):
        if "\0" in value:
            raise ProfileError(path, f"{where}: a NUL byte cannot be passed to a program")
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if "\0" in str(key):
                raise ProfileError(path, f"{name!r}: a NUL byte in a key")
            _refuse_nul(path, name, item)
    elif isinstance(value, list):
        first = 1 if where in CONCATENATED else 0  # [[budget]], [[image]]: budget[1] is the first
        for i, item in enumerate(value, start=first):
            _refuse_nul(path, f"{where}[{i}]", item)


def _is_table(v: object) -> str | None:
    return None if isinstance(v, dict) else "expected a table"


def _check_matrix(path: Path, matrix: object) -> None:
    if not isinstance(matrix, dict):
        raise ProfileError(path, "matrix: expected a table")
    for key, values in matrix.items():
        if key == "exclude":
            _check_excludes(path, matrix, values)
            continue
        if key not in MATRIX_AXES and key != "toolchain":
            hint = did_you_mean(key, [*MATRIX_AXES, "toolchain"])
            raise ProfileError(path, f"matrix.{key}: not a matrix axis{hint}")
        if not isinstance(values, list) or not values:
            raise ProfileError(path, f"matrix.{key}: expected a non-empty list of values")
        # toolchain: one list of Go releases for every variant, not an axis of names
        for value in [values] if key == "toolchain" else values:
            problem = VARIANT_KEYS[key](value)
            if problem:
                raise ProfileError(path, f"matrix.{key}: {problem}, got {_show(value)}")
        if key == "toolchain":
            check_releases(path, "matrix.toolchain", values)


def _check_excludes(path: Path, matrix: Mapping[str, Any], values: object) -> None:
    if not isinstance(values, list) or not all(isinstance(e, dict) for e in values):
        raise ProfileError(path, "matrix.exclude: expected a list of tables")
    for entry in values:
        for axis in entry:
            if axis == "toolchain":
                raise ProfileError(
                    path,
                    "matrix.exclude: toolchain applies to every variant; give a "
                    "variant its own toolchain list instead",
                )
            if axis not in matrix or axis == "exclude":
                raise ProfileError(path, f"matrix.exclude: {axis!r} is not an axis of [matrix]")


def check_releases(path: Path, where: str, releases: Sequence[str]) -> None:
    """Go releases as GOTOOLCHAIN takes them, each once."""
    for release in releases:
        if not RELEASE_RE.fullmatch(release):
            raise ProfileError(path, f"{where}: {release!r} is not a Go release like 'go1.24.13'")
    if len(set(releases)) != len(releases) or not releases:
        raise ProfileError(path, f"{where}: expected distinct Go releases")


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


def load_chain(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, Any], tuple[Path, ...]]:
    """Read a profile and the profiles it extends, merged parent first."""
    if path in seen:
        cycle = " -> ".join(p.name for p in (*seen, path))
        raise ProfileError(seen[0], f"extends: profiles extend each other in a cycle: {cycle}")
    raw = read_toml(path)
    check_file(path, raw)
    raw = _normalise(raw, path)
    parent_spec = raw.get("extends")
    if parent_spec is None:
        return raw, (*seen, path)
    parent_path = _resolve_extends(path, parent_spec)
    parent, chain = load_chain(parent_path, (*seen, path))
    return merge_files(parent, raw), chain


# --- resolving -------------------------------------------------------------------------------


def project_root(path: Path, raw: Mapping[str, Any]) -> Path:
    """The directory paths are relative to: ``root`` if set, else the parent of ``profiles/``."""
    if "root" in raw:
        return (path.parent / str(raw["root"])).resolve()
    if path.parent.name == PROFILES_DIR:
        return path.parent.parent
    return path.parent


def load_profile(spec: str | None, cwd: Path) -> Profile:
    """Find, read, merge, validate and resolve the profile named by ``spec``."""
    path = find_profile(spec, cwd)
    if not _NAME_RE.fullmatch(path.stem) or ".." in path.stem:
        raise ProfileError(
            path,
            f"the file name {path.name!r} cannot name a profile: the name ({path.stem!r}) is a "
            "directory under dist/, so letters, digits and . _ + - only, without '..'",
        )
    raw, chain = load_chain(path)
    root = project_root(path, raw)
    if "package" not in raw:
        raise ProfileError(path, "package: required (the main package directory, e.g. './cmd/app')")
    package = (root / raw["package"]).resolve()
    if not package.is_dir():
        raise ProfileError(path, f"package: no directory {package}")
    binary = raw.get("binary", package.name)
    _check_file_name(path, "binary", binary)
    targets = _resolve_targets(path, "targets", raw.get("targets", []))
    variants = resolve_variants(path, raw)
    if not variants:
        raise ProfileError(path, "variants: the profile defines no variant ([variants.NAME])")
    names = [v.name for v in variants]
    baseline = raw.get("baseline", "default" if "default" in names else names[0])
    if baseline not in names:
        raise ProfileError(
            path, f"baseline: no variant {baseline!r}{did_you_mean(baseline, names)}"
        )
    budgets, images = parse_budgets(path, root, raw)
    return Profile(
        name=path.stem,
        path=path,
        root=root,
        description=raw.get("description", ""),
        package=package,
        binary=binary,
        targets=targets,
        baseline=baseline,
        variants=tuple(variants),
        chain=chain,
        budgets=budgets,
        images=images,
        startup=parse_config(path, raw.get("startup", {})),
        scan=_scan_enabled(path, raw.get("scan", {})),
        compressor=raw.get("compressor", "library"),
    )


def _scan_enabled(path: Path, table: Mapping[str, Any]) -> bool:
    check_keys(path, "scan", table, ("enabled",))
    for value in table.values():
        if not isinstance(value, bool):
            raise ProfileError(path, "scan.enabled: expected true or false")
    return bool(table.get("enabled", False))


def _check_file_name(path: Path, key: str, name: str) -> None:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ProfileError(path, f"{key}: {name!r} is not a plain file name")


def _resolve_targets(path: Path, key: str, value: ListValue) -> tuple[Target, ...]:
    specs = value.apply([]) if isinstance(value, ListEdit) else value
    targets: list[Target] = []
    for spec in specs:
        try:
            target = parse_target(spec)
        except TargetSyntaxError as exc:
            raise ProfileError(path, f"{key}: {exc}") from exc
        if target in targets:
            raise ProfileError(path, f"{key}: {target.spec!r} is listed twice")
        targets.append(target)
    return tuple(targets)


def resolve_variants(path: Path, raw: Mapping[str, Any]) -> list[Variant]:
    """Named variants, then the [matrix] combinations, each over [defaults]."""
    defaults = dict(raw.get("defaults", {}))
    releases = raw.get("matrix", {}).get("toolchain")
    if releases is not None and "toolchain" not in defaults:
        defaults["toolchain"] = releases  # every variant, with each release: see MATRIX_AXES
    allow_exec = bool(raw.get("allow_exec", False))
    variants = [
        make_variant(path, name, merge_layer(defaults, table), f"variants.{name}", allow_exec)
        for name, table in raw.get("variants", {}).items()
    ]
    seen = {v.name for v in variants}
    for name, table in matrix_combinations(raw.get("matrix", {})):
        check_variant_name(path, f"matrix (generated name {name!r})", name)
        if name in seen:
            raise ProfileError(path, f"matrix: generated variant {name!r} duplicates a variant")
        seen.add(name)
        variants.append(
            make_variant(path, name, merge_layer(defaults, table), "matrix", allow_exec)
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
    lists = {k: _final_list(table.get(k, [])) for k in LIST_KEYS}
    check_raw_flags(
        path, where, lists["flags"], table.get("env", {}).get("GOFLAGS", ""), allow_exec
    )
    for tag in lists["tags"]:
        if not is_build_tag(tag):
            raise ProfileError(
                path, f"{where}.tags: {tag!r} is not a build tag (letters, digits, _ .)"
            )
    env = table.get("env", {})
    for key in env:
        if not ENV_NAME_RE.fullmatch(key):
            raise ProfileError(path, f"{where}.env: {key!r} is not an environment variable name")
    for key in table.get("x", {}):
        if not key or "=" in key or any(c.isspace() for c in key):
            raise ProfileError(path, f"{where}.x: {key!r} is not an importpath.name")
    output = table.get("output")
    if output is not None:
        _check_file_name(path, f"{where}.output", output)
    targets = table.get("targets")
    releases = table.get("toolchain")
    if releases is not None:
        releases = _final_list(releases) if isinstance(releases, ListEdit) else list(releases)
        check_releases(path, f"{where}.toolchain", releases)
    return Variant(
        name=name,
        description=table.get("description", ""),
        cgo=table.get("cgo"),
        strip=table.get("strip", "none"),
        linkmode=table.get("linkmode"),
        extldflags=tuple(lists["extldflags"]),
        buildmode=table.get("buildmode"),
        trimpath=table.get("trimpath", False),
        tags=tuple(dict.fromkeys(lists["tags"])),
        x=tuple(sorted(table.get("x", {}).items())),
        gcflags=tuple(lists["gcflags"]),
        asmflags=tuple(lists["asmflags"]),
        ldflags=tuple(lists["ldflags"]),
        flags=tuple(lists["flags"]),
        env=tuple(sorted(env.items())),
        buildid=table.get("buildid"),
        output=output,
        targets=None if targets is None else _resolve_targets(path, f"{where}.targets", targets),
        toolchain=None if releases is None else tuple(releases),
        origin=where,
    )


def _final_list(value: ListValue) -> list[str]:
    return value.apply([]) if isinstance(value, ListEdit) else list(value)
