"""Settings: unknown, renamed and mistyped keys, constraints, cross-field checks, Quantities, renamed arguments."""

from __future__ import annotations

import dataclasses
import re
from typing import ClassVar

import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.settings import (
    Settings,
    at_least,
    non_negative,
    one_of,
    positive,
    renamed_arguments,
    within,
)


@dataclasses.dataclass
class Inner(Settings):
    """A nested group of settings."""

    width_angstrom: float = positive(1.0)
    mode: str = one_of(("a", "b"), "a")


@dataclasses.dataclass
class Outer(Settings):
    """One field of each kind, and a cross-field rule (lo below hi)."""

    RENAMED: ClassVar[dict[str, str]] = {"k_kj_mol": "k_kcal_mol", "old_count": "count"}

    k_kcal_mol: float = positive(1.0)
    count: int = at_least(2, 3)
    fraction: float = within(0.0, 1.0, 0.5)
    half_open: float = within(0.0, 1.0, 0.0, closed=False)
    offset: float = non_negative(0.0)
    flag: bool = False
    names: list[str] = dataclasses.field(default_factory=lambda: ["x"])
    table: dict[str, int] = dataclasses.field(default_factory=dict)
    maybe: int | None = None
    optional_inner: Inner | None = None
    inner: Inner = dataclasses.field(default_factory=Inner)
    lo_angstrom: float = 1.0
    hi_angstrom: float = 2.0

    def check(self, where: str) -> None:
        if self.lo_angstrom >= self.hi_angstrom:
            raise PathganInputError(
                f"{where}: lo ({self.lo_angstrom} A) must lie below hi ({self.hi_angstrom} A)"
            )


@dataclasses.dataclass
class Tagged(Settings):
    """A constrained field with a factory default (a mutable list)."""

    tags: list[str] = one_of((["a"], ["a", "b"]), lambda: ["a"])


def _raises(data: dict, pattern: str) -> None:
    with pytest.raises(PathganInputError, match=re.escape(pattern)):
        Outer.from_dict(data, "cfg")


# ---------------------------------------------------------------- from_dict
def test_defaults_from_an_empty_or_missing_mapping():
    for data in ({}, None):
        obj = Outer.from_dict(data)
        assert obj == Outer() and obj.inner == Inner() and obj.names == ["x"]
    assert Outer().names is not Outer().names and Outer().inner is not Outer().inner
    with pytest.raises(PathganInputError, match=r"cfg: expected a mapping of settings, got \[1, 2\]"):
        Outer.from_dict([1, 2], "cfg")


def test_known_keys_are_the_fields_in_order():
    assert Outer.known_keys() == [
        "k_kcal_mol",
        "count",
        "fraction",
        "half_open",
        "offset",
        "flag",
        "names",
        "table",
        "maybe",
        "optional_inner",
        "inner",
        "lo_angstrom",
        "hi_angstrom",
    ]  # the class variable RENAMED is not a setting


def test_unknown_keys_are_named_with_the_known_ones():
    with pytest.raises(PathganInputError) as err:
        Outer.from_dict({"counts": 3, "zeta": 1}, "cfg")
    msg = str(err.value)
    assert msg.startswith("cfg: unknown settings ['counts', 'zeta']; known: ")
    assert f"known: {sorted(Outer.known_keys())}" in msg


def test_renamed_keys_name_the_new_one():
    _raises(
        {"k_kj_mol": 4.184},
        "cfg.k_kj_mol: was renamed 'k_kcal_mol' (in kilocalorie/mole; pathgan's Python API speaks Angstrom and kcal/mol)",
    )
    _raises({"old_count": 3}, "cfg.old_count: was renamed 'count' (same meaning)")
    _raises({"old_count": 3, "bogus": 1}, "was renamed 'count'")  # the hint comes first


def test_wrong_types_are_refused_with_the_expected_type():
    _raises({"count": "3"}, "cfg.count: expected int, got '3'")
    _raises({"count": 2.5}, "cfg.count: expected int, got 2.5")
    _raises({"flag": 1}, "cfg.flag: expected bool, got 1")
    _raises({"names": ["a", 1]}, "cfg.names: expected list, got ['a', 1]")
    _raises({"names": "abc"}, "cfg.names: expected list")
    _raises({"table": {"a": "x"}}, "cfg.table: expected dict")
    _raises({"maybe": "x"}, "cfg.maybe: expected int | None, got 'x'")
    _raises({"inner": 5}, "cfg.inner: expected Inner, got 5")
    _raises({"k_kcal_mol": "1.0"}, "cfg.k_kcal_mol: expected float")


def test_ints_fit_floats_but_bools_fit_neither():
    obj = Outer.from_dict({"k_kcal_mol": 2, "fraction": 1})
    assert obj.k_kcal_mol == 2 and obj.fraction == 1
    _raises({"count": True}, "cfg.count: expected int, got True")
    _raises({"k_kcal_mol": True}, "cfg.k_kcal_mol: expected float, got True")
    _raises({"maybe": False}, "cfg.maybe: expected int | None, got False")
    assert Outer.from_dict({"flag": True, "maybe": None, "table": {"a": 1}}).flag is True


def test_tuples_are_taken_as_lists():
    obj = Outer.from_dict({"names": ("a", "b")})
    assert obj.names == ["a", "b"] and isinstance(obj.names, list)


def test_nested_settings_are_built_from_dicts():
    obj = Outer.from_dict({"inner": {"width_angstrom": 2}, "optional_inner": {"mode": "b"}})
    assert isinstance(obj.inner, Inner) and obj.inner == Inner(width_angstrom=2.0, mode="a")
    assert isinstance(obj.optional_inner, Inner) and obj.optional_inner.mode == "b"
    given = Inner(width_angstrom=3.0)
    assert Outer.from_dict({"inner": given}).inner is given
    _raises({"inner": {"zzz": 1}}, "cfg.inner: unknown settings ['zzz']; known: ['mode', 'width_angstrom']")
    _raises({"inner": {"width_angstrom": -1.0}}, "cfg.inner.width_angstrom: must be positive, got -1.0")
    _raises({"optional_inner": {"mode": "c"}}, "cfg.optional_inner.mode: must be one of ['a', 'b'], got 'c'")


def test_round_trip_through_a_plain_dict():
    obj = Outer.from_dict({"count": 7, "inner": {"mode": "b"}, "names": ["p", "q"], "table": {"t": 2}})
    data = obj.to_dict()
    assert data["inner"] == {"width_angstrom": 1.0, "mode": "b"} and isinstance(data["inner"], dict)
    assert Outer.from_dict(data) == obj


# ---------------------------------------------------------------- constraints
def test_positive_and_non_negative():
    _raises({"k_kcal_mol": 0}, "cfg.k_kcal_mol: must be positive, got 0")
    _raises({"k_kcal_mol": -1.5}, "cfg.k_kcal_mol: must be positive, got -1.5")
    assert Outer.from_dict({"k_kcal_mol": 1e-9}).k_kcal_mol == 1e-9
    _raises({"offset": -0.1}, "cfg.offset: must be >= 0, got -0.1")
    assert Outer.from_dict({"offset": 0}).offset == 0


def test_at_least_is_inclusive():
    _raises({"count": 1}, "cfg.count: must be at least 2, got 1")
    assert Outer.from_dict({"count": 2}).count == 2


def test_within_closed_and_half_open():
    _raises({"fraction": 1.5}, "cfg.fraction: must lie in [0.0, 1.0], got 1.5")
    _raises({"fraction": -0.01}, "cfg.fraction: must lie in [0.0, 1.0]")
    assert Outer.from_dict({"fraction": 0.0}).fraction == 0.0
    assert Outer.from_dict({"fraction": 1.0}).fraction == 1.0
    _raises({"half_open": 1.0}, "cfg.half_open: must lie in [0.0, 1.0), got 1.0")
    assert Outer.from_dict({"half_open": 0.999}).half_open == 0.999


def test_one_of():
    _raises({"inner": {"mode": "A"}}, "cfg.inner.mode: must be one of ['a', 'b'], got 'A'")
    assert Outer.from_dict({"inner": {"mode": "b"}}).inner.mode == "b"


def test_a_constrained_field_may_have_a_factory_default():
    a, b = Tagged(), Tagged()
    assert a.tags == ["a"] and a.tags is not b.tags  # each its own list
    assert Tagged.from_dict({"tags": ["a", "b"]}).tags == ["a", "b"]
    with pytest.raises(
        PathganInputError, match=re.escape("t.tags: must be one of [['a'], ['a', 'b']], got ['b']")
    ):
        Tagged.from_dict({"tags": ["b"]}, "t")


def test_validate_names_where_the_setting_lives():
    obj = Outer(count=0)  # construction alone does not validate
    assert obj.count == 0
    with pytest.raises(PathganInputError, match=re.escape("config.train.count: must be at least 2, got 0")):
        obj.validate("config.train")


# ---------------------------------------------------------------- check()
def test_cross_field_check_runs_after_the_fields():
    _raises({"lo_angstrom": 3.0}, "cfg: lo (3.0 A) must lie below hi (2.0 A)")
    assert Outer.from_dict({"lo_angstrom": 3.0, "hi_angstrom": 4.0}).lo_angstrom == 3.0
    # a field's own constraint is reported before the cross-field rule
    _raises({"lo_angstrom": 3.0, "count": 0}, "cfg.count: must be at least 2")


# ---------------------------------------------------------------- units
def test_quantities_convert_on_construction():
    obj = Outer(lo_angstrom=0.05 * u.nanometer, k_kcal_mol=4.184 * u.kilojoule_per_mole)
    assert obj.lo_angstrom == pytest.approx(0.5) and obj.k_kcal_mol == pytest.approx(1.0)
    assert not u.is_quantity(obj.lo_angstrom)
    assert Inner(width_angstrom=1 * u.nanometer).width_angstrom == pytest.approx(10.0)
    with pytest.raises(TypeError, match="lo_angstrom: .* is not convertible to angstrom"):
        Outer(lo_angstrom=1 * u.kelvin)
    with pytest.raises(TypeError, match="count: has no unit suffix"):
        Outer(count=3 * u.nanometer)


# ---------------------------------------------------------------- replace
def test_replace_is_a_validated_copy():
    obj = Outer()
    new = obj.replace(count=5, hi_angstrom=3 * u.angstrom)
    assert new.count == 5 and new.hi_angstrom == 3.0 and not u.is_quantity(new.hi_angstrom)
    assert obj.count == 3 and obj.hi_angstrom == 2.0  # the original is unchanged
    with pytest.raises(PathganInputError, match=re.escape("settings.count: must be at least 2, got 1")):
        obj.replace(count=1)
    with pytest.raises(PathganInputError, match="must lie below hi"):
        obj.replace(lo_angstrom=1 * u.nanometer)  # 10 A, above hi = 2 A: the unit was converted first


# ---------------------------------------------------------------- renamed_arguments
@renamed_arguments(k_kj_mol="k_kcal_mol", old_width="width")
def _restrain(x: float, k_kcal_mol: float = 1.0, width: float = 2.0) -> float:
    """A documented function."""
    return x * k_kcal_mol + width


def test_renamed_arguments_raise_type_error_naming_the_new_one():
    assert _restrain(2.0, k_kcal_mol=3.0) == 8.0 and _restrain(1.0, 1.0, 0.0) == 1.0
    with pytest.raises(
        TypeError,
        match=re.escape("_restrain: argument 'k_kj_mol' was renamed 'k_kcal_mol' (in kilocalorie/mole"),
    ):
        _restrain(2.0, k_kj_mol=3.0)
    with pytest.raises(TypeError, match=re.escape("argument 'old_width' was renamed 'width' (same meaning)")):
        _restrain(2.0, old_width=3.0)
    assert _restrain.__name__ == "_restrain" and _restrain.__doc__ == "A documented function."


def test_keys_that_yaml_reads_as_booleans_are_named_not_crashed():
    from openmm_bridge.protocol import PullProtocol

    with pytest.raises(PathganInputError, match=r"unknown settings \['True', 'zz'\]"):
        PullProtocol.from_dict({True: 1, "zz": 2})
