"""The report's torsion-plane section: angles of frames, the numbers read off a known surface, the figure."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from openmm_bridge.torsion_landscape import Landscape
from openmm_bridge.units import kcal_to_kj
from pathgan.landscape_report import landscape_summary, plot_paths_on_landscape, torsion_angles

GRID = np.linspace(-180.0, 180.0, 73)[:-1]
START = ((-120.0, -60.0), (-30.0, 30.0))
END = ((60.0, 120.0), (-30.0, 30.0))


def _line(x):
    """F along y = 0 (x in radians)."""
    return 3.0 * np.cos(x) ** 2 + 4.0 * (1 - np.cos(x)) * (np.cos(x) < 0) + 0.5 * (1 + np.sin(x))


@pytest.fixture(scope="module")
def surface() -> Landscape:
    """Wells at x = -90 (0) and +90 (1 kcal/mol), tops near x = 0 (3.5) and 180 (11.5); y adds 2 (1 - cos y)."""
    x, y = np.meshgrid(np.radians(GRID), np.radians(GRID))
    f = _line(x) + 2.0 * (1 - np.cos(y))
    return Landscape(("phi:ALA2", "psi:ALA2"), GRID, GRID.copy(), f - f.min(), 300.0, {"half_kcal_mol": 0.1})


@pytest.fixture(scope="module")
def dipeptide():
    from openmm_bridge.system import MolecularSystem

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MolecularSystem.from_sequence("A", ("amber99sbildn.xml",))


def test_torsion_angles_are_the_systems_phi_and_psi(dipeptide):
    from openmm_bridge.collective_variables import available_torsions
    from openmm_bridge.pull_coordinates import dihedral_degrees
    from openmm_bridge.trajio import mdtraj_topology

    xyz = dipeptide.positions_angstrom()
    frames = np.stack([xyz, xyz + np.random.default_rng(0).normal(0, 0.1, xyz.shape)])
    angles = torsion_angles(frames[None], dipeptide, ("phi:ALA2", "psi:ALA2"))
    assert angles.shape == (1, 2, 2)
    quads = available_torsions(mdtraj_topology(dipeptide))
    assert angles[0, :, 0] == pytest.approx(dihedral_degrees(frames, quads["phi:ALA2"]))
    assert angles[0, :, 1] == pytest.approx(dihedral_degrees(frames, quads["psi:ALA2"]))
    assert -100.0 < angles[0, 0, 0] < -60.0  # the built structure is C7eq


def test_the_summary_reads_basins_routes_and_paths_off_the_surface(surface):
    t = np.linspace(0.0, 1.0, 11)
    straight = np.stack([-90.0 + 180.0 * t, 0.0 * t], axis=1)  # through x = 0
    stops_short = np.stack([-90.0 + 100.0 * t, 0.0 * t], axis=1)  # ends at x = 10, outside the end basin
    candidates = np.stack([straight, straight, straight, stops_short])
    energies = np.array([-10.0, -8.0, -5.0, -7.0, -9.5, -9.0, -9.0, -9.5, -9.8, -9.9, -9.9])
    out = landscape_summary(surface, START, END, candidates, [straight, stops_short], straight, energies)
    # y only adds: each route's barrier is the top of F along y = 0 on its side (grid values)
    line = _line(np.radians(GRID))
    inner = np.abs(GRID) <= 90.0
    assert out["barrier_via_x0_kcal_mol"] == pytest.approx(line[inner].max() - line.min())
    assert out["barrier_via_x180_kcal_mol"] == pytest.approx(line[~inner].max() - line.min())
    assert out["saddle_via_x0_deg"] == [5.0, 0.0] and out["saddle_via_x180_deg"][0] > 170.0
    # the end well is 1 kcal/mol higher at its bottom, a little softer: kT/2 ln(2.75/3) lower than that
    assert out["free_energy_difference_kcal_mol"] == pytest.approx(1.0 - 0.026, abs=0.03)
    assert out["candidates_end_in_end_basin"] == 0.75 and out["candidates_start_in_start_basin"] == 1.0
    assert out["pulls_end_in_end_basin"] == 0.5
    assert out["string_highest_free_energy_at_deg"] == [
        0.0,
        0.0,
    ]  # the straight string's image nearest the top
    assert out["string_highest_free_energy_kcal_mol"] == pytest.approx(3.5, abs=0.01)
    assert out["string_max_energy_above_start_kcal_mol"] == pytest.approx(5.0)
    energies[1] = -12.0  # an image lower than the start, before the top: the barrier counts from it
    dip = landscape_summary(surface, START, END, candidates, [straight], straight, energies)
    assert dip["string_barrier_kcal_mol"] == pytest.approx(7.0) and out["string_barrier_kcal_mol"] == 5.0
    assert out["string_max_energy_kj_mol"] == pytest.approx(kcal_to_kj(-5.0))
    assert out["string_max_energy_at_deg"] == pytest.approx([-90.0 + 36.0, 0.0])


def test_the_figure_is_drawn_with_paths_that_wrap(surface, tmp_path):
    wraps = np.array([[-150.0, 170.0], [-160.0, -175.0], [-170.0, -160.0]])
    plot_paths_on_landscape(
        surface, wraps[None], [wraps, wraps], [False, True], wraps, (START, END), tmp_path / "plane.png"
    )
    assert (tmp_path / "plane.png").read_bytes()[:4] == b"\x89PNG"
