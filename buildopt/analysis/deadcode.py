"""Whether the linker's method dead-code elimination was on, why not, and about what it cost.

Read from a second link of the variant with ``-ldflags=-dumpdep -v=2`` (pipeline/twin.py):
its edges (binary/go/dumpdep.py, each symbol with the one that first reached it) and its
method log (binary/go/linkerlog.py). cmd/link/internal/ld/deadcode.go turns the elimination
off when a function it reaches is marked REFLECTMETHOD (it calls reflect.Value.Method or
MethodByName with a name the compiler cannot see: ``<ReflectMethod>`` in the dump), or when it
links dynamically (package plugin with cgo); it then keeps every exported method of every
type the program can convert to an interface.

The cause is the first ``<ReflectMethod>`` function reached: the linker floods from the roots
before it keeps any method by name, so that one was reached without reflection's help (later
ones are often methods kept because the elimination was off, such as reflect's own
``(*Value).MethodByName``). The estimate is the file bytes of the methods kept only because
it was off - exported, of a type the linker could convert to an interface, named by no
interface method the program calls - and of all that only they reached first (docs/deadcode.md
says what it misses).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import msgspec

from buildopt.binary.go.names import GENERATED, module_of, package_of, package_path
from buildopt.record.model import DeadCode

if TYPE_CHECKING:  # (costs reads ELF files: loaded by the estimate, not by whoever shows one)
    from buildopt.binary.go.costs import SymbolCosts
    from buildopt.binary.go.dumpdep import Reach
    from buildopt.binary.go.linkerlog import Method, MethodLog

REFLECT_METHOD = "ReflectMethod"
MAIN = "main.main"


def judge(
    reach: Reach,
    log: MethodLog,
    costs: SymbolCosts | None,
    *,
    sha256: str,
    modules: tuple[str, ...] = (),
    main_module: str = "",
    no_costs: str = "",
) -> DeadCode:
    """The DeadCode of a binary from its twin link; costs None when they cannot be read
    (``no_costs`` says why).
    ``modules`` (the build info's main module and dependencies) tell the standard library's
    packages from the others."""
    children = _children(reach)
    if _linked_dynamically(children, log):
        chain = _plugin_chain(reach)
        return DeadCode(
            sha256=sha256,
            state="off",
            reason="plugin" if "plugin" in log.loaded else "dynamic-link",
            chain=chain,
            fix=package_to_fix(chain, modules, main_module),
            counted="no estimate: linking dynamically also keeps unexported methods and "
            "every type's methods for other modules",
        )
    cause = _first_reflect_method(reach)
    if cause is None and not _kept_by_reflection(children, log):
        return DeadCode(sha256=sha256, state="on", reason="")
    chain = (*reach.chain(cause), *_reflect_call(children, cause)) if cause else ()
    off = DeadCode(
        sha256=sha256,
        state="off",
        reason="reflect-method",
        chain=chain,
        fix=package_to_fix(chain, modules, main_module),
    )
    found = _estimated(off, reach, children, log, costs, no_costs=no_costs)
    if cause is None:  # kept what only reflection keeps, yet no function is marked
        return msgspec.structs.replace(found, counted=f"{UNMARKED}; {found.counted}")
    return found


UNMARKED = (
    "the linker kept exported methods only reflection calls but marked no <ReflectMethod> "
    "function (older Go releases print no markers): the chain is not known"
)


def _estimated(
    off: DeadCode,
    reach: Reach,
    children: Mapping[str, list[str]],
    log: MethodLog,
    costs: SymbolCosts | None,
    *,
    no_costs: str,
) -> DeadCode:
    if not log.logged:
        why = "no estimate: the second link did not log its methods (-v=2)"
        return msgspec.structs.replace(off, counted=why)
    kept = _kept_only_for_reflection(children, log)
    if costs is None:
        why = f"no estimate: {no_costs or 'the second link could not be read'}"
        return msgspec.structs.replace(off, methods=len(kept), counted=why)
    seeds = [symbol for symbols in kept.values() for symbol in symbols]
    only = reached_only_through(children, seeds)
    sized = sum(costs.bytes.get(symbol, 0) for symbol in only)
    from buildopt.binary.go.costs import name_bytes, string_bytes

    strings = sum(filter(None, map(string_bytes, only)))
    names = sum(filter(None, map(name_bytes, only)))
    types, average = _type_descriptors(reach, only, costs)
    what = "code and function table" if costs.table else "code"
    counted = (
        f"{sized} bytes of {what} and sized data of the {len(kept)} methods kept only for "
        f"reflection and what only they reached first, {strings} of their strings, {names} "
        f"of type names, "
        + (
            f"{types} type descriptors at this binary's average of {average} bytes"
            if average
            else "no type descriptors (the second link's symbol table has no type:* region)"
        )
    )
    total = sized + strings + names + types * average
    return msgspec.structs.replace(off, methods=len(kept), estimate=total, counted=counted)


def _type_descriptors(reach: Reach, only: set[str], costs: SymbolCosts) -> tuple[int, int]:
    """How many type descriptors only the kept methods reached, and the binary's average
    descriptor size: its type region less its names, over the descriptors the linker reached
    (their own sizes are in no table)."""
    reached = [s for s in reach.parent if s.startswith("type:") and not s.startswith("type:.")]
    from buildopt.binary.go.costs import name_bytes

    names = sum(filter(None, map(name_bytes, reach.parent)))
    if not reached or costs.types <= names:
        return 0, 0
    ours = sum(1 for s in only if s.startswith("type:") and not s.startswith("type:."))
    return ours, (costs.types - names) // len(reached)


def _kept_only_for_reflection(
    children: Mapping[str, list[str]], log: MethodLog
) -> dict[Method, tuple[str, ...]]:
    """Each exported method the linker kept because the elimination was off, with its
    symbols that its receiver's type first reached (its code, and the wrapper a pointer
    receiver's type has).

    A method an interface call names is kept anyway - unless every such call was reached only
    through methods kept for reflection (``os.(*File).ReadFrom`` reaches io.Copy, which calls
    ReadFrom through io.ReaderFrom). Starting from every exported method, calls made from
    outside what the kept methods reach are taken away until nothing changes: the largest set
    of methods that only reflection and each other keep."""
    world: set[str] | None = None
    kept: dict[Method, tuple[str, ...]] = {}
    for _ in range(_ROUNDS):
        outside = _called_from_outside(log, world)
        kept = {}
        for method in log.markable:
            if not method.exported or method.name in log.named:
                continue
            if (method.name, method.signature) in outside:
                continue
            found = tuple(s for s in children.get(method.receiver, ()) if _names(s, method.name))
            if found:
                kept[method] = found
        reached = reached_only_through(children, (s for f in kept.values() for s in f))
        if reached == world:
            break
        world = reached
    return kept


_ROUNDS = 100  # each round only shrinks the set; a real program settles in two or three


def _called_from_outside(log: MethodLog, world: set[str] | None) -> set[tuple[str, str]]:
    if world is None:
        return set()
    return {key for key, found in log.callers.items() if any(c not in world for c in found)}


def _kept_by_reflection(children: Mapping[str, list[str]], log: MethodLog) -> bool:
    """The linker kept an exported method no interface call and no constant name names: only
    when the elimination is off (deadcode.go: ``d.reflectSeen && m.isExported()``)."""
    return any(
        m.exported
        and not log.kept_anyway(m)
        and any(_names(s, m.name) for s in children.get(m.receiver, ()))
        for m in log.markable
    )


def _linked_dynamically(children: Mapping[str, list[str]], log: MethodLog) -> bool:
    """The linker kept an unexported method no interface call names: only when it links
    dynamically (deadcode.go: ``m.isExported() || d.dynlink``)."""
    return any(
        not m.exported
        and not log.kept_anyway(m)
        and any(_names(s, m.name) for s in children.get(m.receiver, ()))
        for m in log.markable
    )


def _names(symbol: str, method: str) -> bool:
    return not symbol.startswith("type:") and symbol.endswith("." + method)


def _children(reach: Reach) -> dict[str, list[str]]:
    """Each symbol -> those the linker first reached from it."""
    children: dict[str, list[str]] = {}
    for symbol, parent in reach.parent.items():
        if parent:
            children.setdefault(parent, []).append(symbol)
    return children


def _first_reflect_method(reach: Reach) -> str | None:
    """The first <ReflectMethod> symbol the linker reached (its dump's order)."""
    for symbol in reach.parent:
        if REFLECT_METHOD in reach.flags.get(symbol, ()):
            return symbol
    return None


def _reflect_call(children: Mapping[str, list[str]], cause: str) -> tuple[str, ...]:
    """The reflect method cause calls, when the linker first reached it from there."""
    called = (c for c in children.get(cause, ()) if c.startswith("reflect.") and "Method" in c)
    return tuple(sorted(called)[:1])


def _plugin_chain(reach: Reach) -> tuple[str, ...]:
    """The chain from main.main to the first function of package plugin reached through it
    (none when the program imports plugin without calling it)."""
    for symbol in reach.parent:
        if symbol.startswith("plugin.") and MAIN in (chain := reach.chain(symbol)):
            return chain
    return ()


def reached_only_through(children: Mapping[str, list[str]], seeds: Iterable[str]) -> set[str]:
    """seeds and every symbol the linker first reached from one of them, transitively."""
    found: set[str] = set()
    stack = list(seeds)
    while stack:
        symbol = stack.pop()
        if symbol not in found:
            found.add(symbol)
            stack.extend(children.get(symbol, ()))
    return found


def symbol_package(symbol: str) -> str:
    """The package of a symbol in the dump, or "" for generated and type symbols."""
    if symbol.startswith(("type:", "go:")) or symbol == "_":
        return ""
    raw = package_of(symbol.encode())
    return "" if raw == GENERATED.encode() else package_path(raw)


def package_to_fix(chain: Iterable[str], modules: tuple[str, ...], main_module: str) -> str:
    """The chain's package nearest its end (the reflect call) that is not the standard
    library's: the one whose code calls the reflecting function, or calls into the standard
    library package that does (text/template's users)."""
    for symbol in reversed(tuple(chain)):
        package = symbol_package(symbol)
        if package and module_of(package, modules, main_module) != "std":
            return package
    return ""


def shown_chain(dead_code: DeadCode) -> tuple[str, ...]:
    """The chain from main.main (the runtime's start before it says nothing), or whole."""
    chain = dead_code.chain
    return chain[chain.index(MAIN) :] if MAIN in chain else chain


def why_off(dead_code: DeadCode) -> str:
    """The chain and the package to fix, in words."""
    chain = " -> ".join(shown_chain(dead_code)) or _WITHOUT_CHAIN.get(
        dead_code.reason, "the linker links dynamically"
    )
    return f"{chain} (fix: package {dead_code.fix})" if dead_code.fix else chain


_WITHOUT_CHAIN = {
    "reflect-method": "a function calls reflect's Method or MethodByName (the linker did not "
    "say which)",
    "plugin": "package plugin is linked, with cgo",
}
