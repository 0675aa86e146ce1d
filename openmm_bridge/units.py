"""Units: the one place where pathgan converts between OpenMM's and its own.

pathgan's Python API speaks **Angstrom and kcal/mol** (as the TorchMD potential does),
picoseconds and femtoseconds where named, kelvin. OpenMM works in nm and kJ/mol; every
crossing goes through the constants and functions here, so a factor of 10 or 4.184 is
written exactly once. Parameters of an OpenMM ``Context`` (``pull_centre``, ``pathcv_s0``,
``pathcv_ks``, ...) stay in OpenMM's units, as OpenMM requires; each is documented where it
is defined.

Wherever a user passes a number with units, an OpenMM ``Quantity`` is accepted too and
converted (:func:`value_in`); a bare number is taken in the unit the argument's name says.
"""

from __future__ import annotations

from typing import Any, TypeVar

import openmm.unit as u

#: A float, numpy array or torch tensor: the conversions keep the type.
T = TypeVar("T")

#: Angstrom per nanometre.
ANGSTROM_PER_NM: float = 10.0
#: kJ per kcal (thermochemical calorie, as OpenMM and AMBER use).
KJ_PER_KCAL: float = 4.184
#: Boltzmann constant, kcal/mol/K.
KB_KCAL_MOL_K: float = u.MOLAR_GAS_CONSTANT_R.value_in_unit(u.kilocalorie_per_mole / u.kelvin)

KCAL_MOL = u.kilocalorie_per_mole
#: The unit of each suffix of pathgan's argument and setting names (checked in this order).
SUFFIX_UNITS: dict[str, u.Unit] = {
    "_kcal_mol_a2": KCAL_MOL / u.angstrom**2,
    "_kcal_mol_a": KCAL_MOL / u.angstrom,
    "_kcal_mol": KCAL_MOL,
    "_angstrom": u.angstrom,
    "_per_a2": u.angstrom**-2,
    "_a2": u.angstrom**2,
    "_per_ps": u.picosecond**-1,
    "_ps": u.picosecond,
    "_fs": u.femtosecond,
    "_k": u.kelvin,
}


def nm_to_angstrom(x: T) -> T:
    """Convert a value or array in nm to Angstrom."""
    return x * ANGSTROM_PER_NM


def angstrom_to_nm(x: T) -> T:
    """Convert a value or array in Angstrom to nm."""
    return x / ANGSTROM_PER_NM


def kj_to_kcal(x: T) -> T:
    """Convert a value or array in kJ/mol to kcal/mol."""
    return x / KJ_PER_KCAL


def kcal_to_kj(x: T) -> T:
    """Convert a value or array in kcal/mol to kJ/mol."""
    return x * KJ_PER_KCAL


def kcal_a2_to_kj_nm2(x: T) -> T:
    """A force constant in kcal/mol/A^2 as kJ/mol/nm^2."""
    return x * KJ_PER_KCAL * ANGSTROM_PER_NM**2


def kt_kcal_mol(temperature_k: float) -> float:
    """kT in kcal/mol."""
    return KB_KCAL_MOL_K * temperature_k


def unit_of(name: str) -> u.Unit | None:
    """The unit a name's suffix declares (``"c0_angstrom"`` -> Angstrom), or None."""
    for suffix, unit in SUFFIX_UNITS.items():
        if name.endswith(suffix):
            return unit
    return None


def value_in(value: Any, unit: u.Unit, name: str = "value") -> Any:
    """A bare number (taken to be in ``unit``), or an OpenMM ``Quantity`` converted to ``unit``.

    Raises ``TypeError`` naming ``name`` for a Quantity of another dimension.
    """
    if not u.is_quantity(value):
        return value
    if not value.unit.is_compatible(unit):
        raise TypeError(f"{name}: {value} is not convertible to {unit}")
    return value.value_in_unit(unit)


def strip_units(name: str, value: Any) -> Any:
    """``value`` as a bare number in the unit ``name``'s suffix declares (unchanged without one)."""
    unit = unit_of(name)
    if unit is None:
        if u.is_quantity(value):
            raise TypeError(f"{name}: has no unit suffix, so it takes a plain number, not {value}")
        return value
    return value_in(value, unit, name)
