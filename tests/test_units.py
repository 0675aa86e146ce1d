"""Unit conversions."""

from openmm_bridge import units


def test_roundtrips():
    assert units.nm_to_angstrom(1.5) == 15.0
    assert units.angstrom_to_nm(15.0) == 1.5
    assert units.kcal_to_kj(1.0) == 4.184
    assert units.kj_to_kcal(4.184) == 1.0
