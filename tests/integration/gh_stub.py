"""A stand-in for the GitHub CLI in the workflow test: the calls size.yml makes, served from a
scenario file ($GH_STUB: JSON) - canned runs and artifacts, a pull request's comments - or
failed as the scenario says. ``--jq`` goes through the real jq, as gh applies it. Every call is
appended to the scenario's log (JSON lines), comment bodies included."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def _flags(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    words, flags = [], {}
    i = 0
    while i < len(argv):
        if argv[i].startswith("--") and argv[i] != "--paginate":
            flags[argv[i]] = argv[i + 1]
            i += 2
        elif argv[i] in ("-F", "-f"):
            key, _, value = argv[i + 1].partition("=")
            flags[f"field:{key}"] = value
            i += 2
        else:
            words.append(argv[i])
            i += 1
    return words, flags


def _jq(data: Any, query: str | None) -> str:
    text = json.dumps(data)
    if query is None:
        return text + "\n"
    done = subprocess.run(
        ["jq", "-r", query], input=text, capture_output=True, text=True, check=True
    )
    return done.stdout


def main() -> int:
    scenario = json.loads(Path(os.environ["GH_STUB"]).read_text())
    words, flags = _flags(sys.argv[1:])
    with open(scenario["log"], "a") as log:
        call: dict[str, Any] = {"argv": sys.argv[1:]}
        if "field:body" in flags and flags["field:body"].startswith("@"):
            call["body"] = Path(flags["field:body"][1:]).read_text()
        log.write(json.dumps(call) + "\n")
    if not os.environ.get("GH_TOKEN"):
        print(
            "gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.",
            file=sys.stderr,
        )
        return 4
    serve = {"list": _run_list, "download": _run_download, "api": _api}
    verb = words[1] if words[:1] == ["run"] and len(words) > 1 else words[0] if words else ""
    if verb not in serve:
        print(f"gh stub: not a call size.yml makes: {sys.argv[1:]}", file=sys.stderr)
        return 2
    return serve[verb](scenario, words, flags)


def _run_list(scenario: dict[str, Any], words: list[str], flags: dict[str, str]) -> int:
    if scenario.get("run_list_error"):
        print(scenario["run_list_error"], file=sys.stderr)
        return 1
    assert flags["--workflow"] == "size.yml" and flags["--status"] == "success", flags
    runs = [r for r in scenario.get("runs", []) if r["branch"] == flags["--branch"]]
    shown = [{"databaseId": r["id"]} for r in runs[: int(flags.get("--limit", "20"))]]
    sys.stdout.write(_jq(shown, flags.get("--jq")))
    return 0


def _run_download(scenario: dict[str, Any], words: list[str], flags: dict[str, str]) -> int:
    stored = scenario.get("artifacts", {}).get(words[2], {}).get(flags["--name"])
    if stored is None:
        print("no artifact matches any of the names or patterns provided", file=sys.stderr)
        return 1
    shutil.copytree(stored, flags.get("--dir", "."), dirs_exist_ok=True)
    return 0


def _api(scenario: dict[str, Any], words: list[str], flags: dict[str, str]) -> int:
    if flags.get("--method", "GET") == "GET":
        sys.stdout.write(_jq(scenario.get("comments", []), flags.get("--jq")))
    else:
        sys.stdout.write(json.dumps({"id": 1, "html_url": "https://github.example/c/1"}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
