"""The analytic 2-D surface: OpenMM computes the same V as numpy, and its exact minimum energy path."""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.model_surfaces import (
    Z_STIFFNESS_KCAL_MOL_A2,
    CurvedDoubleWell,
    distance_to_path,
    minimum_energy_path,
    structures,
)

SURFACE = CurvedDoubleWell()


def test_openmm_energy_and_force_are_the_analytic_ones():
    rng = np.random.default_rng(0)
    points = np.column_stack(
        [rng.uniform(-1.5, 1.5, 20), rng.uniform(-1.0, 0.5, 20), rng.uniform(-0.2, 0.2, 20)]
    )
    context = mm.Context(
        SURFACE.system(), mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference")
    )
    for p in points:
        context.setPositions([p / 10])  # nm
        state = context.getState(getEnergy=True, getForces=True)
        e = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
        f = state.getForces(asNumpy=True).value_in_unit(u.kilocalorie_per_mole / u.angstrom)[0]
        assert e == pytest.approx(SURFACE.energy(p[:2]) + 0.5 * Z_STIFFNESS_KCAL_MOL_A2 * p[2] ** 2, rel=1e-9)
        np.testing.assert_allclose(f[:2], -SURFACE.gradient(p[:2]), rtol=1e-7, atol=1e-9)
        assert f[2] == pytest.approx(-Z_STIFFNESS_KCAL_MOL_A2 * p[2], abs=1e-9)
    h = 1e-6  # the analytic gradient against central differences
    for p in points[:5, :2]:
        fd = [(SURFACE.energy(p + h * e) - SURFACE.energy(p - h * e)) / (2 * h) for e in np.eye(2)]
        np.testing.assert_allclose(SURFACE.gradient(p), fd, rtol=1e-6, atol=1e-6)


def test_minimum_energy_path_runs_through_the_saddle_along_the_gradient():
    path = minimum_energy_path(SURFACE, 101)
    np.testing.assert_allclose(path[[0, -1]], SURFACE.minima, atol=1e-12)
    np.testing.assert_allclose(path[50], SURFACE.saddle, atol=1e-6)
    assert SURFACE.energy(path).max() == pytest.approx(SURFACE.barrier_kcal_mol, abs=1e-9)
    # on a minimum energy path the gradient has no component across the path
    tangent = path[2:] - path[:-2]
    tangent /= np.linalg.norm(tangent, axis=1)[:, None]
    g = SURFACE.gradient(path[1:-1])
    across = g - np.sum(g * tangent, axis=1)[:, None] * tangent
    assert np.abs(across).max() < 0.02 * np.abs(g).max()
    # the straight line between the minima is far from it (the valley bends by c)
    line = np.linspace(*SURFACE.minima, 9)
    assert distance_to_path(line, path).max() == pytest.approx(SURFACE.bend_angstrom, abs=1e-3)


def test_restrained_mean_force_tends_to_the_gradient():
    z = np.array([[0.5, -0.3], [-0.8, 0.1]])
    stiff = SURFACE.restrained_mean_force(z, 1e5, 300.0)
    np.testing.assert_allclose(stiff, SURFACE.gradient(z), rtol=2e-3)
    soft = SURFACE.restrained_mean_force(z, 50.0, 300.0)
    assert np.abs(soft - SURFACE.gradient(z)).max() > 10 * np.abs(stiff - SURFACE.gradient(z)).max()


def test_distance_to_path_and_structures():
    path = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(
        distance_to_path(np.array([[0.5, 0.2], [2.0, 0.5], [-1.0, 0.0]]), path), [0.2, 1.0, 1.0]
    )
    xyz = structures(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert xyz.shape == (2, 1, 3) and np.all(xyz[:, 0, 2] == 0)


def test_bad_input():
    with pytest.raises(PathganInputError, match="barrier_kcal_mol: must be positive"):
        CurvedDoubleWell(barrier_kcal_mol=0.0)
    with pytest.raises(PathganInputError, match="mass_amu must be positive"):
        SURFACE.system(mass_amu=-1.0)
    with pytest.raises(PathganInputError, match="shape \\(n, 2\\)"):
        structures(np.zeros((3, 3)))
    with pytest.raises(PathganInputError, match="n_images must be at least 3"):
        minimum_energy_path(SURFACE, 2)
