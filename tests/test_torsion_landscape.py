"""The free-energy surface over two torsions: grid arithmetic against analytic surfaces, and a real metadynamics run."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.torsion_landscape import (
    KB_KCAL_MOL_K,
    Landscape,
    LandscapeSettings,
    in_box,
    metadynamics_landscape,
)

GRID = np.linspace(-180.0, 180.0, 73)[:-1]  # 5 degrees


def _surface(fn) -> Landscape:
    gx, gy = np.meshgrid(GRID, GRID)
    f = fn(np.radians(gx), np.radians(gy))
    return Landscape(("phi:ALA2", "psi:ALA2"), GRID, GRID.copy(), f - f.min(), 300.0)


def test_boxes_wrap_through_180():
    assert in_box(np.array([170.0, -170.0, 0.0]), np.zeros(3), ((150.0, 210.0), (-10.0, 10.0))).tolist() == [
        True,
        True,
        False,
    ]
    assert in_box(np.array([-90.0]), np.array([200.0 - 360.0]), ((-120.0, -40.0), (150.0, 240.0))).all()


def test_basin_free_energy_is_the_boltzmann_sum_of_its_cells():
    land = _surface(lambda x, y: 1.0 * (1 - np.cos(x)) + 0.5 * (1 - np.cos(y)))
    box = ((-60.0, 60.0), (-180.0, 180.0))
    kt = KB_KCAL_MOL_K * 300.0
    f = land.free_energy_kcal_mol[land.box_mask(box)]
    assert land.basin_free_energy(box) == pytest.approx(-kt * np.log(np.exp(-f / kt).sum()))
    # a box twice as wide on a flat direction holds twice the cells: F lower by kT ln 2
    flat = _surface(lambda x, y: 0.0 * x + 1.0 * (1 - np.cos(y)))
    narrow = flat.basin_free_energy(((-40.0, 35.0), (-180.0, 180.0)))  # 16 columns
    wide = flat.basin_free_energy(((-80.0, 75.0), (-180.0, 180.0)))  # 32 columns
    assert narrow - wide == pytest.approx(kt * np.log(2.0), rel=1e-9)
    with pytest.raises(PathganInputError, match="no grid point"):
        land.basin_free_energy(((1.0, 2.0), (1.0, 2.0)))


def test_saddle_finds_each_route_over_its_own_barrier():
    """F = A(x) + B(1 - cos y): the barrier of each route is the top of A on that side, at y = 0."""

    def a(x):  # minima near -90 and +90; a low top at 0 and a high one at 180
        return 3.0 * np.cos(x) ** 2 * (1 + 0.0 * x) + 4.0 * (1 - np.cos(x)) * (np.cos(x) < 0)

    land = _surface(lambda x, y: a(x) + 2.0 * (1 - np.cos(y)))
    start, end = ((-120.0, -60.0), (-30.0, 30.0)), ((60.0, 120.0), (-30.0, 30.0))
    f0, x0, y0 = land.saddle(start, end, avoid_x=(150.0, 210.0))
    exact_x = np.radians(GRID)
    top_zero = a(exact_x[np.abs(GRID) <= 30]).max()
    assert (x0, y0) == (0.0, 0.0) and f0 == pytest.approx(top_zero - land.free_energy_kcal_mol.min())
    f180, x180, _ = land.saddle(start, end, avoid_x=(-30.0, 30.0))
    assert abs(x180) == 180.0 and f180 > f0 + 5.0
    assert land.saddle(start, end) == (f0, x0, y0)  # unconstrained: the lower route
    with pytest.raises(PathganInputError, match="no path"):
        land.saddle(start, end, avoid_x=(-180.0, 180.0))


def test_interpolation_matches_the_grid_at_nodes_and_between_them():
    land = _surface(lambda x, y: np.cos(x) + 2 * np.sin(y))
    gx, gy = np.meshgrid(GRID, GRID)
    assert np.allclose(land.at(gx, gy), land.free_energy_kcal_mol)
    mid = land.at(np.array([2.5]), np.array([0.0]))[0]
    j = int(np.where(GRID == 0.0)[0][0])
    assert mid == pytest.approx(0.5 * (land.free_energy_kcal_mol[j, j] + land.free_energy_kcal_mol[j, j + 1]))
    assert land.at(np.array([180.0]), np.array([0.0])) == pytest.approx(
        land.at(np.array([-180.0]), np.array([0.0]))
    )


def test_save_and_load_round_trip_and_an_unreadable_folder(tmp_path):
    land = _surface(lambda x, y: np.cos(x) * np.cos(y))
    land.metadata = {"half_kcal_mol": 0.5}
    land.save(tmp_path / "l")
    back = Landscape.load(tmp_path / "l")
    assert (
        back.names == land.names and back.temperature_k == 300.0 and back.metadata == {"half_kcal_mol": 0.5}
    )
    assert np.array_equal(back.free_energy_kcal_mol, land.free_energy_kcal_mol)
    (tmp_path / "l" / "landscape.npz").write_bytes(b"not a numpy file")
    with pytest.raises(PathganDataError, match="cannot read the landscape"):
        Landscape.load(tmp_path / "l")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"torsions": ["phi:ALA2"]}, "two distinct torsions"),
        ({"torsions": ["phi:ALA2", "phi:ALA2"]}, "two distinct torsions"),
        ({"bias_factor": 1.0}, "must exceed 1"),
        ({"length_ps": 0.5}, "fewer than 2 Gaussians"),
    ],
)
def test_bad_settings_are_refused(changes, message):
    with pytest.raises(PathganInputError, match=message):
        LandscapeSettings.from_dict(changes, "landscape")


@pytest.fixture(scope="module")
def dipeptide():
    import warnings

    from openmm_bridge.system import MolecularSystem

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MolecularSystem.from_sequence("A", ("amber99sbildn.xml",))


def test_a_short_metadynamics_run_fills_the_start_basin_first(dipeptide):
    """20 ps from C7eq: the bias grows where the molecule is, so F is lowest in the start basin."""
    land = metadynamics_landscape(dipeptide, LandscapeSettings(length_ps=20.0, grid=36, seed=3))
    assert land.free_energy_kcal_mol.shape == (35, 35) and land.free_energy_kcal_mol.min() == 0.0
    assert land.names == ("phi:ALA2", "psi:ALA2") and land.metadata["settings"]["length_ps"] == 20.0
    assert np.isfinite(land.metadata["half_kcal_mol"])
    f_min, phi, psi = land.minimum(((-180.0, 180.0), (-180.0, 180.0)))
    assert -180.0 < phi < -30.0 and psi > 0.0  # C7eq / C5, where it started
    assert land.basin_free_energy(((30.0, 100.0), (-110.0, -20.0))) > land.basin_free_energy(
        ((-120.0, -40.0), (30.0, 120.0))
    )


def test_torsions_the_system_lacks_are_refused(dipeptide):
    with pytest.raises(PathganInputError, match=r"landscape.torsions: \['phi:ALA5'\]"):
        metadynamics_landscape(dipeptide, LandscapeSettings(torsions=["phi:ALA5", "psi:ALA2"], length_ps=2.0))
