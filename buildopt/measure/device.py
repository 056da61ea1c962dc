"""Where a start-up series runs: here, under an emulator here, or on a device a runner reaches.

A runner is an argv prefix from ``[startup] runner``. An emulator (``qemu-aarch64-static``)
runs each binary here: the spawn helper runs natively and execs the emulator with the binary.
Any other runner (``ssh -o BatchMode=yes HOST``) reaches a device: it is given one more
argument, a POSIX shell command line, which it runs there (as ssh and ``adb shell`` do). The
spawn helper, cross-compiled for the device, and the binaries are copied into a fresh folder
there (``mktemp -d``, then ``cat >`` fed from the runner's stdin), the helper runs there and
speaks its protocol over the runner's stdin and stdout, and the folder is removed at the end -
after a failure and on Ctrl-C too, when the device can still be reached.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import msgspec

from buildopt.config.startup import StartupConfig
from buildopt.errors import EXIT_FAILED, BuildoptError, UsageError
from buildopt.system import proc

COMMAND_SECONDS = 60.0  # a command on the device (mktemp, uname, rm) over a slow link
COPY_SECONDS = 600.0  # one file copied there
FOLDER_PREFIX = "buildopt-startup."

# uname -m (and qemu-ARCH) as GOARCH; every armv* is arm
_GOARCH = {
    "aarch64": "arm64",
    "arm64": "arm64",
    "x86_64": "amd64",
    "i386": "386",
    "i486": "386",
    "i586": "386",
    "i686": "386",
    "mips": "mips",
    "mipsel": "mipsle",
    "mips64": "mips64",
    "mips64el": "mips64le",
    "riscv64": "riscv64",
    "ppc64": "ppc64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "loongarch64": "loong64",
}


class DeviceError(BuildoptError):
    """The device could not be reached or stopped answering (exit 1)."""

    exit_code = EXIT_FAILED


def goarch(machine: str, little_endian: bool | None = None) -> str | None:
    """The GOARCH of a ``uname -m`` machine name (mips: by the endianness, when known)."""
    if machine.startswith("arm") and machine != "arm64":
        return "arm"
    found = _GOARCH.get(machine)
    if found in ("mips", "mips64") and little_endian:
        found += "le"
    return found


def emulator_platform(runner: Sequence[str]) -> str | None:
    """``linux/GOARCH`` of a qemu-user runner (``qemu-aarch64-static`` -> linux/arm64)."""
    name = os.path.basename(runner[0])
    match = re.fullmatch(r"qemu-([a-z0-9_]+?)(?:-static)?", name)
    arch = goarch(match.group(1)) if match else None
    return f"linux/{arch}" if arch else None


def program_path(
    runner: Sequence[str], environ: Mapping[str, str], where: str = "startup.runner"
) -> str:
    """The runner's program as a path (the helper execs it without searching PATH); exit 2
    naming where it was given (the profile's key, or --runner) when there is none."""
    found = shutil.which(runner[0], path=environ.get("PATH", os.defpath))
    if found is None:
        name = runner[0]
        if os.sep in name and os.path.isdir(name):
            why = "a folder, not a program"
        elif os.sep in name and os.path.exists(name):
            why = "not executable"
        else:
            why = "no such program" + ("" if os.sep in name else " on PATH")
        raise UsageError(f"{where}: {name}: {why}")
    return os.path.abspath(found)


class Device:
    """A fresh folder on the device the runner reaches, removed when the block ends."""

    def __init__(
        self, runner: Sequence[str], environ: Mapping[str, str], where: str = "startup.runner"
    ) -> None:
        self.runner = [program_path(runner, environ, where), *runner[1:]]
        self.shown = shlex.join(runner)
        self.environ = dict(environ)
        self.folder = ""

    def command(
        self, line: str, *, timeout: float = COMMAND_SECONDS, upload: Path | None = None
    ) -> str:
        """Run a shell command line on the device; its stdout. DeviceError when it fails."""
        try:
            done = proc.run(
                [*self.runner, line],
                env=self.environ,
                timeout=timeout,
                input_file=upload,
                owned=True,  # a copy under way ends with buildopt, even on kill -9
            )
        except proc.CommandFailed as exc:
            what = f"did not answer within {timeout:g}s" if exc.timed_out else _why(exc)
            raise DeviceError(f"{self.shown}: {what} (running {line!r} on the device)") from None
        return done.stdout

    def platform(self) -> str:
        """``GOOS/GOARCH`` of the device, from ``uname`` and its shell's ELF header."""
        said = self.command("uname -s -m; od -An -tu1 -j5 -N1 /bin/sh 2>/dev/null || true")
        words = said.split()
        arch = goarch(words[1], words[2] == "1" if len(words) > 2 else None) if words[1:] else None
        if not words or arch is None:
            raise DeviceError(f"{self.shown}: cannot tell the device's architecture: {said!r}")
        return f"{words[0].lower()}/{arch}"

    def __enter__(self) -> Device:
        said = self.command(f'mktemp -d "${{TMPDIR:-/tmp}}/{FOLDER_PREFIX}XXXXXX"').strip()
        if not said.startswith("/") or "\n" in said:
            raise DeviceError(f"{self.shown}: mktemp -d on the device said {said!r}")
        self.folder = said
        return self

    def copy(self, local: Path, name: str) -> str:
        """local copied into the folder as an executable named name; its path there."""
        there = f"{self.folder}/{name}"
        quoted, folder = shlex.quote(there), shlex.quote(posixpath.dirname(there))
        self.command(
            f"mkdir -p {folder} && cat > {quoted} && chmod 700 {quoted}",
            timeout=COPY_SECONDS,
            upload=local,
        )
        return there

    def helper(self, path: str) -> list[str]:
        """The command that starts the copied spawn helper, its stdin and stdout ours."""
        return [*self.runner, f"exec {shlex.quote(path)}"]

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> None:
        if not self.folder:
            return
        with proc.interrupts_held():  # a second Ctrl-C must not leave the folder there
            try:
                self.command(f"rm -rf {shlex.quote(self.folder)}")
            except DeviceError as exc:
                note = f"{self.folder} is left on the device: {exc.message}"
                if error is None:
                    raise DeviceError(note) from None
                if isinstance(error, BuildoptError):  # said below the error's own line
                    error.details = (*error.details, note)
                else:  # Ctrl-C: exit 130 stays, the note goes to stderr
                    print(f"warning: {note}", file=sys.stderr, flush=True)


def _why(failed: proc.CommandFailed) -> str:
    said = failed.stderr_tail.splitlines()[-1] if failed.stderr_tail else ""
    code = "could not start" if failed.returncode is None else f"exited with {failed.returncode}"
    return f"{code}: {said}" if said else code


class Placed(msgspec.Struct, frozen=True):
    """A series' place: the command that starts the spawn helper, the path it execs for each
    binary, the emulator before each binary (if any), and whether the files are on a device
    (then only the helper can evict them from the page cache there)."""

    helper: tuple[str, ...]
    programs: Mapping[str, str]
    emulator: tuple[str, ...] = ()
    remote: bool = False
    platform: str = ""
    cpus: int | None = msgspec.field(default=None)

    def command(self, name: str, argv0: str | None, args: Sequence[str]) -> tuple[str, list[str]]:
        """What the helper execs for binary name, and its argv."""
        binary = self.programs[name]
        if self.emulator:  # qemu-user's -0 sets the program's argv[0]
            named = ["-0", argv0] if argv0 else []
            return self.emulator[0], [*self.emulator, *named, binary, *args]
        return binary, [argv0 or binary, *args]


def platform_of(config: StartupConfig, environ: Mapping[str, str], host: str) -> str:
    """``GOOS/GOARCH`` the series runs on: the emulator's, the device's, or this machine's."""
    if config.emulator:
        found = emulator_platform(config.runner)
        if found is None:
            raise UsageError(
                f"{config.runner_from}: {config.runner[0]}: an emulator is named qemu-ARCH, "
                "so that buildopt knows which builds it runs"
            )
        return found
    if config.remote:
        return Device(config.runner, environ, config.runner_from).platform()
    return host


@contextmanager
def placed(
    binaries: Mapping[str, Path], config: StartupConfig, environ: Mapping[str, str], platform: str
) -> Iterator[Placed]:
    """Where the series runs, ready: on a device, the helper and binaries copied there (and
    removed when the block ends)."""
    from buildopt.measure.helpers import build_helper

    if not config.remote:
        here = {name: str(path) for name, path in binaries.items()}
        helper = (str(build_helper("spawn", environ)),)
        if not config.emulator:
            yield Placed(helper, here, platform=platform, cpus=config.cpus)
            return
        if config.argv0 and not os.path.basename(config.runner[0]).startswith("qemu-"):
            raise UsageError("[startup] argv0: only a qemu-user emulator can pass it (-0)")
        emulator = (program_path(config.runner, environ, config.runner_from), *config.runner[1:])
        yield Placed(helper, here, emulator=emulator, platform=platform, cpus=config.cpus)
        return
    if config.cpus:
        raise UsageError("--cpus pins CPUs of this machine: not with a runner to a device")
    goos, goarch_ = platform.split("/")
    helper_here = build_helper("spawn", environ, target=(goos, goarch_))
    with Device(config.runner, environ, config.runner_from) as device:
        there = device.copy(helper_here, "spawn")
        copies = {
            name: device.copy(path, f"{n}/{path.name}")  # its own name: a busybox-style
            # binary dispatches on its argv[0]'s base name, which is then the program's
            for n, (name, path) in enumerate(binaries.items(), 1)
        }
        yield Placed(tuple(device.helper(there)), copies, remote=True, platform=platform)
