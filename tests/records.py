"""Valid build-record models for unit tests: every field filled, the ones a test cares about
given. Records are built the way the pipeline builds them, never as partial dicts."""

from __future__ import annotations

from typing import Any

import msgspec

from buildopt.binary.facts import (
    DwarfFacts,
    ElfIdentity,
    Inspection,
    Linking,
    PackageCode,
    SectionFact,
    SymbolFacts,
)
from buildopt.record.model import (
    RECORD_SCHEMA,
    Build,
    ProfileInfo,
    Record,
    ToolchainInfo,
    VariantSettings,
)

SETTINGS: dict[str, Any] = {
    "description": "",
    "cgo": None,
    "strip": "none",
    "linkmode": None,
    "extldflags": [],
    "buildmode": None,
    "trimpath": False,
    "tags": [],
    "x": {},
    "gcflags": [],
    "asmflags": [],
    "ldflags": [],
    "flags": [],
    "env": {},
    "buildid": None,
    "output": None,
    "targets": None,
}


def settings(**given: Any) -> VariantSettings:
    return msgspec.convert({**SETTINGS, **given}, VariantSettings)


def inspection(
    size: int,
    *,
    totals: dict[str, int] | None = None,
    static: bool = True,
    pie: bool = False,
    needed: tuple[str, ...] = (),
    dwarf: int = 0,
    sections: dict[str, int] | None = None,
    packages: dict[str, int] | None = None,
) -> Inspection:
    return Inspection(
        path="/dist/x",
        size=size,
        sha256="0" * 64,
        gnu_build_id=None,
        go_build_id=None,
        elf=ElfIdentity(
            elfclass=64, endian="little", machine="EM_X86_64", type="ET_EXEC", goarch="amd64"
        ),
        sections=tuple(
            SectionFact(
                name=n,
                type="SHT_PROGBITS",
                size=s,
                file_size=s,
                compressed=False,
                uncompressed_size=s,
                category="code",
            )
            for n, s in (sections or {}).items()
        ),
        totals=totals or {},
        symbols=SymbolFacts(count=0, symtab_bytes=0, strtab_bytes=0, by_package=()),
        dwarf=DwarfFacts(file_bytes=dwarf, uncompressed_bytes=dwarf),
        linking=Linking(
            static=static,
            interpreter=None,
            needed=needed,
            rpath=None,
            runpath=None,
            soname=None,
            pie=pie,
            relro="none",
            nx=True,
            stripped=False,
            glibc_min=None,
        ),
        go=None,
        pclntab=None,
        packages=tuple(
            PackageCode(package=p, module="std", text_bytes=n, init_bytes=0, functions=1)
            for p, n in (packages or {}).items()
        ),
        modules=(),
        warnings=(),
    )


def build(vid: str, facts: Inspection | None, *, status: str = "ok", **given: Any) -> Build:
    variant, _, place = vid.partition("@")  # VARIANT@TARGET[/PROGRAM]
    target, _, program = place.partition("/")
    fields: dict[str, Any] = {
        "id": vid,
        "variant": variant,
        "target": "linux/" + target.split("@")[0].split("-")[1],
        "status": status,
        "reason": "",
        "argv": (),
        "env": {},
        "dir": "/src",
        "output": f"/dist/{vid}",
        "wall_seconds": 1.0,
        "size": facts.size if facts else None,
        "sha256": None,
        "stderr_tail": "",
        "verification": None,
        "go_settings": {},
        "inspect": facts,
        "program": program or "app",
        "package": ".",
    }
    return Build(**(fields | given))


def record(
    *builds: Build,
    variants: dict[str, VariantSettings] | None = None,
    name: str = "p",
    go: str = "go1.26.8",
) -> Record:
    return Record(
        schema=RECORD_SCHEMA,
        buildopt="0",
        created="2026-01-01T00:00:00+00:00",
        profile=ProfileInfo(
            name=name,
            path=f"/p/profiles/{name}.toml",
            description="",
            baseline="default",
            package="/src",
            binary="app",
        ),
        go=ToolchainInfo(version=go, path="/usr/bin/go", goroot="/go", host="linux/amd64"),
        dist="/dist",
        variants=variants or {},
        builds=builds,
    )
