"""Property test: any key with any TOML value in any table of a profile. The tables are decoded
into their models (buildopt.config.keys.decode); whatever the value, loading either succeeds or
refuses the profile in one line that starts with the file and names the table - never a
traceback, never a message without its key."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buildopt.config.budgets import Budget, ImageBudget
from buildopt.config.keys import table_keys
from buildopt.config.profile import load_profile
from buildopt.config.startup import StartupConfig
from buildopt.config.variant import DefaultsLayer, VariantLayer
from buildopt.errors import EXIT_BAD_INPUT, BuildoptError

# table header, the model of its keys, what a message about it names
TABLES: dict[str, tuple[type[msgspec.Struct], tuple[str, ...]]] = {
    "[variants.a]": (VariantLayer, ("variants.a",)),  # and extends, tags_file
    "[defaults]": (DefaultsLayer, ("defaults", "variants.a")),
    '[[budget]]\nselect = "a"': (Budget, ("budget[1]",)),
    '[[image]]\nselect = "a"\nmax_size = 1': (ImageBudget, ("image[1]",)),
    "[startup]": (StartupConfig, ("startup",)),
}
LIKELY = ["6 MiB", "2%", "10s", "linux/amd64", "go1.24.13", "0644", "/usr/bin/x", "squashfs", "x"]
scalars = st.one_of(
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(codec="utf-8"), max_size=8),
    st.sampled_from(LIKELY),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def toml(value: object) -> str:
    """A TOML value: JSON's strings and numbers are TOML's; tables inline; dates, times and
    infinities as TOML writes them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(map(toml, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[no-any-return]
    return json.dumps(value)


def outcome_of(factory: object, table: str, key: str, value: object) -> tuple[Path, object]:
    """(the profile's path, what loading it gave: the Profile or the BuildoptError) for a
    profile of variant a whose table sets key to value, in a folder removed afterwards."""
    root = Path(factory.mktemp("values"))  # type: ignore[attr-defined]
    (root / "app").mkdir()
    (root / "profiles").mkdir()
    path = root / "profiles" / "p.toml"
    lines = ['package = "./app"', "[variants.a]", table, f"{json.dumps(key)} = {toml(value)}"]
    path.write_text("\n".join(lines) + "\n")
    try:
        return path, load_profile(str(path), root)
    except BuildoptError as exc:
        return path, exc
    finally:
        shutil.rmtree(root)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), table=st.sampled_from(list(TABLES)))
def test_any_value_of_any_key_loads_or_is_refused_in_one_line_naming_it(
    tmp_path_factory: object, data: st.DataObject, table: str
) -> None:
    model, names = TABLES[table]
    key = data.draw(st.one_of(st.sampled_from(table_keys(model)), st.text(max_size=6)))
    path, outcome = outcome_of(tmp_path_factory, table, key, data.draw(values))
    if isinstance(outcome, BuildoptError):
        message = outcome.message
        assert outcome.exit_code == EXIT_BAD_INPUT
        assert "\n" not in message and message.startswith(str(path)), message
        assert any(name in message for name in names) or "invalid TOML" in message, message


@pytest.mark.parametrize(
    ("table", "key", "name"),
    [
        ('[[budget]]\nselect = "a"', "where", "budget[1].where"),
        ("[variants.b]", "name", "variants.b.name"),
    ],
)
def test_internal_fields_are_no_keys(tmp_path: Path, table: str, key: str, name: str) -> None:
    """A budget's source and where, a variant's name, are the program's: a profile that sets
    them is refused as with any unknown key (msgspec alone would have taken them)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "profiles").mkdir()
    path = tmp_path / "profiles" / "p.toml"
    path.write_text(f'package = "./app"\n[variants.a]\n{table}\n{key} = "x"\n')
    with pytest.raises(BuildoptError, match=f"unknown key '{re.escape(name)}'"):
        load_profile(str(path), tmp_path)


plain_values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True),
        st.dates(),
        st.times(),
        st.text("abc xyz", max_size=4),
    ),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text("abc", min_size=1, max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)
# what a message must not say: Python's reprs, msgspec's names of types, entries from 0
LEAKS = re.compile(
    r"datetime\.|\bTrue\b|\bFalse\b|\{'|"
    r"got (a boolean|an integer|a string|a list|a table|a number|date|time|datetime)\b|\w\[0\]"
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), table=st.sampled_from(list(TABLES)))
def test_a_refused_value_is_shown_as_toml_writes_it(
    tmp_path_factory: object, data: st.DataObject, table: str
) -> None:
    """Whatever a key is given, its message says the value as the profile wrote it: no Python
    repr (True, datetime.date(...), {'a': 1}), no msgspec type name (got date), and list
    entries numbered from 1."""
    model, _ = TABLES[table]
    key = data.draw(st.sampled_from(table_keys(model)))
    _, outcome = outcome_of(tmp_path_factory, table, key, data.draw(plain_values))
    if isinstance(outcome, BuildoptError):
        assert outcome.exit_code == EXIT_BAD_INPUT
        assert not LEAKS.search(outcome.message), outcome.message
