"""The levers ``buildopt advise`` knows: each one's name and what it changes in what the program
does (its caveat, shown beside its figures), and which names a lever can have - checked before
anything is built (``--lever``). Which levers a variant is offered is pipeline/advise.py's."""

from __future__ import annotations

import re

CAVEATS = {
    "s-w": "no symbol table or DWARF: debuggers and profilers see no names (panics still "
    "show file:line)",
    "trimpath": "file paths in panics and runtime.Caller become module paths",
    "cgo-off": "no C: the pure-Go DNS resolver (no glibc NSS: nsswitch.conf, mDNS, LDAP "
    "hosts) and user lookup (/etc/passwd and /etc/group only)",
    "internal-link": "Go's own linker instead of the C linker: -extldflags no longer apply",
    "pie-off": "no ASLR of the executable's own code",
    "netgo": "the pure-Go DNS resolver instead of glibc's (no NSS: nsswitch.conf, mDNS, LDAP)",
    "osusergo": "user and group lookup from /etc/passwd and /etc/group only (no NSS)",
    "go": "another Go release: runtime and standard library change (read its release notes)",
    "goamd64": "runs only on CPUs of that x86-64 level: fails to start on older ones",
    "goarm": "runs only on CPUs with that ARM architecture level",
    "tag": "builds the files of this tag: a feature tag may change or remove a feature",
}


_FIXED = frozenset(CAVEATS) - {"go", "goamd64", "goarm", "tag"}


def is_lever_name(name: str) -> bool:
    """Whether name is one a lever can have (which ones a variant is offered depends on it and
    its build): s-w, trimpath, cgo-off, ..., goamd64-vN, goarm-7, tag-NAME, a Go release."""
    from buildopt.config.variant import RELEASE_RE, is_build_tag

    if name in _FIXED or name == "goarm-7" or re.fullmatch(r"goamd64-v[2-4]", name):
        return True
    tag = name.removeprefix("tag-")
    return (tag != name and is_build_tag(tag)) or bool(RELEASE_RE.fullmatch(name))
