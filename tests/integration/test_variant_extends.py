"""A variant defined by ``extends`` and a ``tags_file``, built from the example service: what
go build gets (`go version -m` of the binary, the independent reference) is exactly the merged
tag list, and plan, the record and the binary agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.integration.conftest import buildopt, go_version_m

FEATURES = """\
# the gateway's feature tags, written once for every variant that builds on them
lazyinit      # tariff table built on first use
enterprise    # the XML export
netgo
osusergo
"""

PROFILE = """\
extends = "base"

[variants.minimal]
cgo = false
tags_file = "features.txt"

[variants.box]
extends = "minimal"
strip = "all"
tags = { remove = ["enterprise"], append = ["box_edition"] }
"""

MERGED = "lazyinit,netgo,osusergo,box_edition"


def example_project(tmp_path: Path) -> Path:
    """The example gateway with the shipped base profile, a tags file and profile p."""
    shutil.copytree(
        REPO / "examples" / "billing-gateway", tmp_path / "examples" / "billing-gateway"
    )
    (tmp_path / "profiles").mkdir()
    shutil.copy(REPO / "profiles" / "base.toml", tmp_path / "profiles" / "base.toml")
    (tmp_path / "profiles" / "features.txt").write_text(FEATURES)
    (tmp_path / "profiles" / "p.toml").write_text(PROFILE)
    return tmp_path


def test_an_extended_variant_builds_with_exactly_the_merged_tags(tmp_path: Path, go: str) -> None:
    project = example_project(tmp_path)
    plan = buildopt(["plan", "--profile", "p", "--variant", "box"], cwd=project)
    assert plan.returncode == 0, plan.stderr
    assert f" -tags={MERGED} " in plan.stdout  # what go build gets, shown before it runs
    done = buildopt(["build", "--profile", "p", "--variant", "box", "--json"], cwd=project)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    (build,) = record["builds"]
    assert build["id"] == "box@linux-amd64" and build["status"] == "ok"
    settings = go_version_m(go, Path(build["output"]))
    assert settings["-tags"] == MERGED
    assert settings["CGO_ENABLED"] == "0"  # from minimal
    # the record holds the resolved settings: no extends, no tags file
    box = record["variants"]["box"]
    assert box["tags"] == MERGED.split(",") and box["strip"] == "all" and box["cgo"] is False
    assert "extends" not in box and "tags_file" not in box
    minimal = buildopt(["plan", "--profile", "p", "--variant", "minimal"], cwd=project)
    assert " -tags=lazyinit,enterprise,netgo,osusergo " in minimal.stdout
