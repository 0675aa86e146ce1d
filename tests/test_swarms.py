"""The string method with swarms of trajectories: it finds a known minimum free-energy path, through Dask.

Two independent harmonic "diatomics" (atoms 0-1 and 2-3, r0 = 1.5 A) in the plane of their two
bond lengths: the free energy is F = k/2 (r1 - r0)^2 + k/2 (r2 - r0)^2 - 2 kT ln(r1 r2), minimal
at r* (k (r* - r0) = 2 kT / r*). Between the fixed ends (1.3, r*) and (r*, 1.3), the minimum
free-energy path runs through the minimum (r*, r*), not along the straight line through
(1.4, 1.4): the middle image must move there. A string of three images cuts the path's corner
(the noise of the swarms along the path becomes, after reparametrisation, a pull inwards) and
its images fluctuate with the swarms' noise, so the middle image, averaged over the last ten
iterations, is asked to come within 0.05 A of the minimum; it starts 0.15 A away.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import pytest

from openmm_bridge.collective_variables import CollectiveVariable, backbone_names, resolve
from openmm_bridge.errors import PathganInputError
from openmm_bridge.swarms import SwarmsConfig, SwarmsString, smooth, unwrap_string, wrap, write_swarms_result
from openmm_bridge.trajio import mdtraj_topology
from openmm_bridge.units import kcal_a2_to_kj_nm2, kt_kcal_mol

K, R0 = 100.0, 1.5  # kcal/mol/A^2, A


def _diatomics() -> mm.System:
    system = mm.System()
    for _ in range(4):
        system.addParticle(12.0)
    bonds = mm.HarmonicBondForce()
    for i, j in ((0, 1), (2, 3)):
        bonds.addBond(i, j, R0 / 10, kcal_a2_to_kj_nm2(K))
    system.addForce(bonds)
    return system


def _structure(r1: float, r2: float) -> np.ndarray:
    """Atom positions (A): the two diatomics far apart, along x and along y."""
    return np.array([[0.0, 0, 0], [r1, 0, 0], [20.0, 0, 0], [20.0, r2, 0]])


def test_swarms_find_the_minimum_free_energy_path(tmp_path):
    kt = kt_kcal_mol(300.0)
    r_star = 0.5 * (R0 + np.sqrt(R0**2 + 8 * kt / K))  # k (r - r0) = 2 kT / r
    images = np.array([_structure(1.3, r_star), _structure(1.4, 1.4), _structure(r_star, 1.3)])
    cvs = [
        CollectiveVariable("distance:0-1", "distance", (0, 1)),
        CollectiveVariable("distance:2-3", "distance", (2, 3)),
    ]
    cfg = SwarmsConfig(
        max_iterations=20,
        restraint_k_kcal_mol=200.0,
        equilibration_steps=200,
        swarm_size=256,
        swarm_steps=12,
        smoothing=0.0,
        tol_displacement=0.0,  # run every iteration
        seed=3,
    )
    string = SwarmsString(_diatomics(), images, cvs, cfg)
    np.testing.assert_allclose(string.z[1], [1.404, 1.404], atol=0.01)  # the straight line's middle
    result = string.run(n_workers=2, progress=False)
    assert result.iterations == 20 and result.z.shape == (3, 2)
    np.testing.assert_allclose(result.z[[0, -1]], images_cv(images)[[0, -1]], atol=1e-6)  # ends fixed
    middle = np.mean([row["z"][1] for row in result.history[-10:]], axis=0)
    assert np.linalg.norm(middle - r_star) < 0.05, middle
    write_swarms_result(result, cvs, tmp_path, cfg)
    assert (tmp_path / "swarms.json").stat().st_size > 0


def images_cv(images: np.ndarray) -> np.ndarray:
    """The two bond lengths (A) of structures (n, 4, 3)."""
    return np.stack(
        [
            np.linalg.norm(images[:, 1] - images[:, 0], axis=1),
            np.linalg.norm(images[:, 3] - images[:, 2], axis=1),
        ],
        axis=1,
    )


def test_swarms_iteration_on_deca_alanine(deca, small_pull):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=50).frames[0]  # 5 frames
    top = mdtraj_topology(deca)
    cvs = resolve(top, backbone_names(top))
    cfg = SwarmsConfig(max_iterations=1, equilibration_steps=50, swarm_size=3, swarm_steps=5)
    result = SwarmsString(deca.md_system(None), frames, cvs, cfg).run(n_workers=2, progress=False)
    assert result.z.shape == (5, 20) and result.structures.shape == (5, deca.n_atoms, 3)
    assert np.isfinite(result.energies).all() and np.all(np.abs(result.z) <= np.pi + 1e-12)


def test_unwrap_wrap_smooth():
    periodic = np.array([True, False])
    z = np.array([[3.0, 1.0], [-3.1, 2.0], [-2.9, 3.0]])
    u = unwrap_string(z, periodic)
    np.testing.assert_allclose(u[:, 0], [3.0, 2 * np.pi - 3.1, 2 * np.pi - 2.9])
    np.testing.assert_allclose(wrap(u, periodic), z)
    s = smooth(np.array([[0.0], [1.0], [0.0]]), 0.2)
    np.testing.assert_allclose(s[:, 0], [0.0, 0.8, 0.0])


def test_bad_input(deca, small_pull):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=50).frames[0]
    top = mdtraj_topology(deca)
    cvs = resolve(top, ["phi:ALA2", "psi:ALA2"])
    with pytest.raises(PathganInputError, match="at least 3 images"):
        SwarmsString(deca.md_system(None), frames[:2], cvs)
    with pytest.raises(PathganInputError, match="swarm_size: must be positive"):
        SwarmsConfig(swarm_size=0).validate()
    same = np.repeat(frames[:1], 3, axis=0)
    same[1] += 0.01
    same[-1] = same[0] + 1.0  # a rigid shift: another structure, the same torsions
    with pytest.raises(PathganInputError, match="same collective variables"):
        SwarmsString(deca.md_system(None), same, cvs)
