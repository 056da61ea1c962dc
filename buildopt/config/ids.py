"""Build ids and their parts: ``VARIANT@TARGET[@RELEASE][/PROGRAM]``.

The part before ``/`` is the *point* (a variant built for a target, with a Go release when it
names one); a profile with several programs (``packages``) adds ``/PROGRAM`` to every id, a
profile of one ``package`` keeps the point alone. Variant names, target ids and program names
hold neither ``@`` nor ``/``, so these splits are exact.
"""

from __future__ import annotations


def build_id(variant: str, target: str, release: str | None, program: str | None) -> str:
    """``VARIANT@TARGET``, ``@RELEASE`` for a variant built with several Go releases, and
    ``/PROGRAM`` in a profile of several programs."""
    point = f"{variant}@{target}" + (f"@{release}" if release else "")
    return point + (f"/{program}" if program else "")


def point_of(build_id: str) -> str:
    """``static@linux-arm64`` of ``static@linux-arm64/billing-ctl`` (and of itself)."""
    return build_id.partition("/")[0]


def program_of(build_id: str) -> str | None:
    """The program an id names (``billing-ctl``), None for an id of a one-program profile."""
    return build_id.partition("/")[2] or None


def variant_of(build_id: str) -> str:
    return build_id.partition("@")[0]


def release_of(build_id: str) -> str | None:
    """The Go release of an id built with one (``static@linux-arm64@go1.24.13``), else None."""
    parts = point_of(build_id).split("@")
    return parts[2] if len(parts) > 2 else None


def peer_key(build_id: str) -> str:
    """What an id names beside its variant: the target, release and program. Two builds with
    one key are the same program built for the same place by two variants (the pairs compare,
    diff and the report make against the baseline)."""
    return build_id.partition("@")[2]


def with_variant(build_id: str, variant: str) -> str:
    """The id of the same target, release and program built by another variant."""
    return f"{variant}@{peer_key(build_id)}"
