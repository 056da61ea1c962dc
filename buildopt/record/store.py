"""The build record (``dist/<profile>/build.json``): what was built, how, and what came out.

Schema ``buildopt.build/1``; its JSON Schema ships in ``buildopt/schemas/build-record.schema.json``.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from buildopt import __version__
from buildopt.pipeline.plan import Plan
from buildopt.pipeline.verify import Verification
from buildopt.system.files import atomic_write_text

RECORD_SCHEMA = "buildopt.build/1"
Status = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class BuildResult:
    id: str
    variant: str
    target: str
    status: Status
    reason: str = ""
    argv: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, hash=False)
    dir: str = ""
    output: str | None = None
    wall_seconds: float = 0.0
    size: int | None = None
    sha256: str | None = None
    stderr_tail: str = ""
    verification: Verification | None = None
    go_settings: tuple[tuple[str, str], ...] = ()
    inspection: dict[str, Any] | None = field(default=None, hash=False)

    def to_json(self) -> dict[str, Any]:
        v = self.verification
        return {
            "id": self.id,
            "variant": self.variant,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "argv": list(self.argv),
            "env": dict(sorted(self.env.items())),
            "dir": self.dir,
            "output": self.output,
            "wall_seconds": round(self.wall_seconds, 3),
            "size": self.size,
            "sha256": self.sha256,
            "stderr_tail": self.stderr_tail,
            "verification": None
            if v is None
            else {
                "ok": v.ok,
                "checked": list(v.checked),
                "problems": list(v.problems),
                "skipped": v.skipped,
            },
            "go_settings": dict(self.go_settings),
            "inspect": self.inspection,
        }


def record_json(plan: Plan, results: Sequence[BuildResult]) -> dict[str, Any]:
    profile, toolchain = plan.profile, plan.toolchain
    settings = {v.name: v.settings() for v in profile.variants}
    return {
        "schema": RECORD_SCHEMA,
        "buildopt": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "profile": {
            "name": profile.name,
            "path": str(profile.path),
            "description": profile.description,
            "baseline": profile.baseline,
            "package": str(profile.package),
            "binary": profile.binary,
        },
        "go": {
            "version": toolchain.version,
            "path": toolchain.go,
            "goroot": toolchain.goroot,
            "host": f"{toolchain.hostos}/{toolchain.hostarch}",
        },
        "dist": str(plan.dist),
        "variants": settings,
        "builds": [r.to_json() for r in results],
    }


class MergeError(Exception):
    """Records that cannot be merged (different profiles, Go versions, or the same build twice)."""


def merge_records(records: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One record from per-job records of the same profile and Go version (CI matrix jobs)."""
    if not records:
        raise MergeError("merge: name the build records to merge")
    first_name, first = records[0]
    merged = {**first, "builds": [], "merged_from": [name for name, _ in records]}
    seen: dict[str, str] = {}
    for name, data in records:
        if data["profile"]["name"] != first["profile"]["name"]:
            raise MergeError(
                f"{name}: profile {data['profile']['name']!r}, but {first_name} is "
                f"of {first['profile']['name']!r}"
            )
        if data["go"]["version"] != first["go"]["version"]:
            raise MergeError(
                f"{name}: built with {data['go']['version']}, but {first_name} with "
                f"{first['go']['version']}"
            )
        for build in data["builds"]:
            if build["id"] in seen:
                raise MergeError(f"{name}: {build['id']} is also in {seen[build['id']]}")
            seen[build["id"]] = name
            merged["builds"].append(build)
        merged["variants"] = {**merged["variants"], **data.get("variants", {})}
    return merged


def write_record(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
