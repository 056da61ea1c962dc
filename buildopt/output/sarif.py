"""SARIF 2.1.0 of a source scan, for GitHub code scanning (paths relative to the scan root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from buildopt import __version__
from buildopt.measure.scan import RULES
from buildopt.record.model import ScanReport


def to_sarif(result: ScanReport) -> dict[str, Any]:
    """SARIF 2.1.0, for GitHub code scanning (paths relative to the scan root)."""
    used = sorted({f.rule for f in result.findings} | set(RULES))
    rules = [
        {
            "id": rule,
            "name": rule,
            "shortDescription": {"text": RULES[rule][1]},
            "fullDescription": {"text": RULES[rule][1]},
            "help": {"text": RULES[rule][2]},
            "defaultConfiguration": {"level": RULES[rule][0]},
        }
        for rule in used
    ]
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": used.index(f.rule),
            "level": f.severity,
            "message": {"text": f"{f.message}. Fix: {f.fix}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file, "uriBaseId": "SRCROOT"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
        }
        for f in result.findings
    ]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "buildopt",
                        "version": __version__,
                        "informationUri": "https://github.com/buildopt/buildopt",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": Path(result.root).as_uri() + "/"}},
                "results": results,
            }
        ],
    }
