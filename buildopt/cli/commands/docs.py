"""``buildopt docs``: a page of the documentation shipped with buildopt."""

from __future__ import annotations

import sys

from buildopt.errors import EXIT_OK, UsageError


def docs(*, topic: str = "") -> int:
    """``buildopt docs``: a page of the documentation shipped with buildopt, on stdout."""
    from importlib.resources import files

    pages = files("buildopt") / "docs"
    names = sorted(p.name[:-3] for p in pages.iterdir() if p.name.endswith(".md"))
    if not topic:
        print("buildopt docs TOPIC prints one of: " + ", ".join(names))
        return EXIT_OK
    name = topic.removesuffix(".md").lower()
    if name not in names:
        from buildopt.config.keys import did_you_mean

        hint = did_you_mean(name, names) or f"; pages: {', '.join(names)}"
        raise UsageError(f"docs: no page {topic!r}{hint}")
    sys.stdout.write((pages / f"{name}.md").read_text(encoding="utf-8"))
    return EXIT_OK
