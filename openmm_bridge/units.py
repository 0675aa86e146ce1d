"""Unit conversions between OpenMM (nm, kJ/mol) and torchmd (Angstrom, kcal/mol).

Every crossing between the two worlds goes through these constants, so that a
factor of 10 or 4.184 is written exactly once in the code base.
"""

from __future__ import annotations

from typing import TypeVar

#: A float, numpy array or torch tensor: the conversions keep the type.
T = TypeVar("T")

#: Angstrom per nanometre.
ANGSTROM_PER_NM: float = 10.0
#: kJ per kcal (thermochemical calorie, as OpenMM and AMBER use).
KJ_PER_KCAL: float = 4.184


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
