"""Unit conversions, Quantities at the interface, unit suffixes."""

import openmm.unit as u
import pytest

from openmm_bridge import units


def test_roundtrips():
    assert units.nm_to_angstrom(1.5) == 15.0
    assert units.angstrom_to_nm(15.0) == 1.5
    assert units.kcal_to_kj(1.0) == 4.184
    assert units.kj_to_kcal(4.184) == 1.0
    assert units.kcal_a2_to_kj_nm2(1.0) == pytest.approx(418.4)


def test_kt():
    assert units.kt_kcal_mol(300.0) == pytest.approx(0.596, abs=1e-3)


def test_quantities_are_converted_and_bare_numbers_kept():
    assert units.value_in(1.2 * u.nanometer, u.angstrom) == pytest.approx(12.0)
    assert units.value_in(12.0, u.angstrom) == 12.0
    with pytest.raises(TypeError, match="k: 1.0 kJ/mol is not convertible"):
        units.value_in(1.0 * u.kilojoule_per_mole, u.angstrom, "k")


def test_suffixes_declare_units():
    assert units.unit_of("c0_angstrom") == u.angstrom
    assert units.unit_of("k_kcal_mol_a2") == u.kilocalorie_per_mole / u.angstrom**2
    assert units.unit_of("friction_per_ps") == u.picosecond**-1  # not "_ps"
    assert units.unit_of("lam_per_a2") == u.angstrom**-2  # not "_a2"
    assert units.unit_of("seed") is None
    assert units.strip_units("length_ps", 2 * u.nanosecond) == pytest.approx(2000.0)
    with pytest.raises(TypeError, match="seed: has no unit suffix"):
        units.strip_units("seed", 3 * u.kelvin)
