"""The string method with swarms of trajectories: it converges, by its window tests, on known free-energy paths.

1. The curved double well of :mod:`openmm_bridge.model_surfaces` (one particle, CVs its x and
   y): the free energy is V, so the minimum free-energy path is V's exact minimum energy path.
   Nine images start on the straight line between the minima, 0.6 A from the path at the middle.
   The run must stop by its own convergence test (window drift and profile), every image of the
   last window's mean string within 0.1 A of the exact path, and the profile must match the
   exact value of its estimator (the trapezoid of the exact restrained mean force at the images,
   by quadrature) within 3 of its standard errors at every image. That estimator sits below V by
   the restraint's smoothing and the trapezoid rule (0.37 kcal/mol at the saddle here; asserted).
2. Two independent harmonic "diatomics" (atoms 0-1 and 2-3, r0 = 1.5 A) in the plane of their two
   bond lengths: the free energy is F = k/2 (r1 - r0)^2 + k/2 (r2 - r0)^2 - 2 kT ln(r1 r2), minimal
   at r* (k (r* - r0) = 2 kT / r*), not V's minimum: between the fixed ends (1.3, r*) and
   (r*, 1.3) the minimum free-energy path runs through (r*, r*), not along the straight line
   through (1.4, 1.4). A string of three images cuts the path's corner (the noise of the swarms
   along the path becomes, after reparametrisation, a pull inwards) and its images fluctuate with
   the swarms' noise, so the middle image, averaged over the last ten iterations, is asked to come
   within 0.05 A of the minimum; it starts 0.15 A away.
"""

from __future__ import annotations

import json

import numpy as np
import openmm as mm
import pytest

from openmm_bridge.collective_variables import CollectiveVariable, backbone_names, cartesian, resolve
from openmm_bridge.errors import PathganInputError
from openmm_bridge.model_surfaces import CurvedDoubleWell, distance_to_path, minimum_energy_path, structures
from openmm_bridge.swarms import (
    SwarmsConfig,
    SwarmsString,
    first_convergence,
    free_energy_profile,
    measure,
    plot_swarms,
    profile_stationarity,
    smooth,
    structures_for_images,
    unwrap_string,
    wrap,
    write_swarms_result,
)
from openmm_bridge.trajio import mdtraj_topology
from openmm_bridge.units import kcal_a2_to_kj_nm2, kt_kcal_mol

K, R0 = 100.0, 1.5  # kcal/mol/A^2, A
XY = [cartesian("x:0", 1), cartesian("y:0", 1)]


def test_swarms_converge_on_the_curved_double_well(tmp_path):
    surface = CurvedDoubleWell()
    exact = minimum_energy_path(surface, 401)
    start = np.linspace(*surface.minima, 9)
    cfg = SwarmsConfig(
        max_iterations=60,
        restraint_k_kcal_mol=100.0,  # per A^2
        equilibration_steps=400,
        sample_every_steps=5,
        swarm_size=48,
        swarm_steps=10,
        friction_per_ps=5.0,
        timestep_fs=2.0,
        smoothing=0.0,
        convergence_window=10,
        tol_drift=0.025,  # A
        seed=1,
    )
    string = SwarmsString(surface.system(mass_amu=4.0), structures(start), XY, cfg)
    assert distance_to_path(string.z, exact).max() == pytest.approx(0.6, abs=1e-3)
    result = string.run(n_workers=2, progress=False)
    assert result.converged and 20 <= result.iterations < 60
    last = result.history[-1]
    assert last["window_drift_cv"] < 0.025 and last["window_profile_within_error"]
    # a recorded history replayed through the same test stops where the run stopped
    assert first_convergence(result.history, cfg, np.zeros(2, bool)) == result.iterations
    np.testing.assert_allclose(result.z_mean[[0, -1]], surface.minima, atol=1e-9)  # ends fixed
    assert distance_to_path(result.z_mean, exact).max() < 0.1
    mean_force = surface.restrained_mean_force(result.z_mean, 100.0, 300.0)
    expected, _ = free_energy_profile(result.z_mean, mean_force, np.zeros_like(mean_force), np.zeros(2, bool))
    z_scores = (result.profile_kcal_mol - expected)[1:] / result.profile_error_kcal_mol[1:]
    assert np.abs(z_scores).max() < 3, z_scores
    # the estimator's own bias against V (restraint smoothing + trapezoid), at the saddle image
    assert surface.energy(result.z_mean[4]) - surface.energy(surface.minima[0]) - expected[4] < 0.45
    write_swarms_result(result, XY, tmp_path, cfg)
    meta = json.loads((tmp_path / "swarms.json").read_text())
    assert len(meta["history"]) == result.iterations and len(meta["history"][0]["profile_kcal_mol"]) == 9
    assert meta["delta_f_kcal_mol"] == result.profile_kcal_mol[-1] and "openmm" in meta["versions"]
    plot_swarms(result, tmp_path / "swarms.png")
    assert (tmp_path / "swarms.png").stat().st_size > 0


def test_swarms_converge_on_the_curved_double_well_by_the_profile_test():
    """The "profile" test: the start's transient left out, the production's mean string on the path."""
    surface = CurvedDoubleWell()
    exact = minimum_energy_path(surface, 401)
    cfg = SwarmsConfig(
        max_iterations=80, restraint_k_kcal_mol=100.0, equilibration_steps=400, sample_every_steps=5,
        swarm_size=48, swarm_steps=10, friction_per_ps=5.0, timestep_fs=2.0, smoothing=0.0,
        convergence="profile", profile_precision_kcal_mol=0.25, seed=2,
    )  # fmt: skip
    string = SwarmsString(surface.system(mass_amu=4.0), structures(np.linspace(*surface.minima, 9)), XY, cfg)
    result = string.run(n_workers=2, progress=False)
    last = result.history[-1]
    assert result.converged and last["profile_converged"] and result.iterations < 80
    assert last["production_from_iteration"] > 1  # the first strings, 0.6 A off the path, are a transient
    assert last["effective_iterations_per_half"] >= 10 and last["profile_error_max_kcal_mol"] <= 0.25
    assert distance_to_path(result.z_mean, exact).max() < 0.1
    assert last["string_drift_between_halves_cv"] < 0.1  # here the path, too, is stationary
    mean_force = surface.restrained_mean_force(result.z_mean, 100.0, 300.0)
    expected, _ = free_energy_profile(result.z_mean, mean_force, np.zeros_like(mean_force), np.zeros(2, bool))
    z_scores = (result.profile_kcal_mol - expected)[1:] / result.profile_error_kcal_mol[1:]
    assert np.abs(z_scores).max() < 3, z_scores


def _rows(profiles: np.ndarray, middle: np.ndarray | None = None) -> list[dict]:
    """History rows of a 3-image string in two Cartesian variables with these profiles (n, 3).

    ``middle`` (n, 2): the middle image of each iteration (default: fixed at (0.5, 0.5)).
    """
    middle = np.full((len(profiles), 2), 0.5) if middle is None else middle
    return [
        {"iteration": i + 1, "z": [[0.0, 0.0], m.tolist(), [1.0, 1.0]], "profile_kcal_mol": p.tolist()}
        for i, (p, m) in enumerate(zip(profiles, middle, strict=True))
    ]


def test_profile_stationarity_tells_a_drifting_profile_from_a_stationary_one():
    rng = np.random.default_rng(5)
    base = np.array([0.0, 4.0, 2.0])
    noise = np.hstack([np.zeros((200, 1)), rng.normal(size=(200, 2))])  # 1 kcal/mol per iteration
    flat = np.zeros(2, bool)

    def test(profiles: np.ndarray) -> dict:
        return profile_stationarity(_rows(profiles), flat, 0.5, 3.0, 0.5)

    steady = test(base + noise)
    assert steady["profile_converged"] and steady["profile_g_max"] < 1.5
    assert steady["profile_error_kcal_mol"][2] == pytest.approx(np.std(noise[:, 2]) / np.sqrt(200), rel=0.3)
    # a trend of 3 kcal/mol over the run: the halves differ by 1.5, ten times their error
    trend = np.outer(np.linspace(0.0, 3.0, 200), [0.0, 1.0, 1.0])
    assert not test(base + noise + trend)["profile_converged"]
    assert not test(base + noise[:15])["profile_converged"]  # 7 iterations a half: too few to judge
    assert not test(base + 10 * noise)["profile_converged"]  # error 0.7 > the 0.5 asked for
    # a transient (the first 30 iterations 20 kcal/mol off) is discarded, then the rest passes
    start = base + noise + np.where(np.arange(200)[:, None] < 30, [0.0, 20.0, 20.0], 0.0)
    late = test(start)
    assert late["profile_converged"] and 25 <= late["production_from_iteration"] <= 60
    assert late["profile_kcal_mol"][1] == pytest.approx(4.0, abs=0.3)
    # the string relaxes over its first 100 iterations while the profile's noise hides its shift:
    # the string's own distance marks the transient
    t = np.arange(200)[:, None]
    settling = 0.5 + np.hstack([2.0 * np.exp(-t / 25.0), np.zeros_like(t)]) + 0.01 * rng.normal(size=(200, 2))
    shifted = base + 3 * noise + np.where(t < 100, [0.0, 1.0, 1.0], 0.0)
    st = profile_stationarity(_rows(shifted, settling), flat, 0.5, 3.0, 1.0)
    assert st["production_from_iteration"] >= 80 and st["profile_kcal_mol"][1] == pytest.approx(4.0, abs=0.3)
    no_string = profile_stationarity(_rows(shifted), flat, 0.5, 3.0, 1.0)
    assert no_string["production_from_iteration"] < st["production_from_iteration"]


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


def test_swarms_find_the_minimum_free_energy_path():
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
        tol_drift=0.0,  # run every iteration
        seed=3,
    )
    string = SwarmsString(_diatomics(), images, cvs, cfg)
    np.testing.assert_allclose(string.z[1], [1.404, 1.404], atol=0.01)  # the straight line's middle
    result = string.run(n_workers=2, progress=False)
    assert result.iterations == 20 and result.z.shape == (3, 2)
    np.testing.assert_allclose(result.z[[0, -1]], images_cv(images)[[0, -1]], atol=1e-6)  # ends fixed
    middle = np.mean([row["z"][1] for row in result.history[-10:]], axis=0)
    assert np.linalg.norm(middle - r_star) < 0.05, middle


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
    assert np.isfinite(result.profile_kcal_mol).all() and np.all(np.abs(result.z) <= np.pi + 1e-12)
    assert result.history[0]["statistical_inefficiency_max"] >= 1.0 and not result.converged


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
    with pytest.raises(PathganInputError, match="tol_energy_kcal_mol: removed: it compared single-snapshot"):
        SwarmsConfig.from_dict({"tol_energy_kcal_mol": 0.5})
    with pytest.raises(PathganInputError, match="tol_displacement: removed: .* use tol_drift"):
        SwarmsConfig.from_dict({"tol_displacement": 0.02})
    with pytest.raises(PathganInputError, match="sample_every_steps: must be at most half"):
        SwarmsConfig(equilibration_steps=100, sample_every_steps=60).validate()
    with pytest.raises(PathganInputError, match="convergence_window: must be at least 2"):
        SwarmsConfig(convergence_window=1).validate()
    same = np.repeat(frames[:1], 3, axis=0)
    same[1] += 0.01
    same[-1] = same[0] + 1.0  # a rigid shift: another structure, the same torsions
    with pytest.raises(PathganInputError, match="same collective variables"):
        SwarmsString(deca.md_system(None), same, cvs)


def test_free_energy_profile_integrates_the_mean_force():
    # F = x^2 + 2 y^2 on a bent path: the trapezoid rule is exact for a linear mean force
    z = np.array([[0.0, 0.0], [0.5, 0.2], [1.0, 0.1], [1.5, 0.6]])
    force = np.column_stack([2 * z[:, 0], 4 * z[:, 1]])
    error = np.full_like(z, 0.1)
    profile, sigma = free_energy_profile(z, force, error, np.zeros(2, bool))
    np.testing.assert_allclose(profile, z[:, 0] ** 2 + 2 * z[:, 1] ** 2 - 0.0, atol=1e-12)
    # error: each image's force weighs half of each neighbouring segment
    dz = np.diff(z, axis=0)
    w1 = np.array([0.5 * dz[0], 0.5 * dz[0]])
    assert sigma[0] == 0 and sigma[1] == pytest.approx(0.1 * np.linalg.norm(w1))
    assert np.all(np.diff(sigma) > 0)
    # an angle across +-pi: the step is the short way round
    p, _ = free_energy_profile(np.array([[3.0], [-3.0]]), np.ones((2, 1)), np.zeros((2, 1)), np.array([True]))
    assert p[1] == pytest.approx(2 * np.pi - 6.0)


def test_structures_for_images_and_measure():
    surface = CurvedDoubleWell()
    system = surface.system()
    z = np.array([[-1.0, 0.0], [-0.5, -0.4], [0.0, -0.6], [0.6, -0.3]])
    xyz = structures_for_images(system, structures(z[:1])[0], XY, z, k_kcal_mol=1e4)
    assert xyz.shape == (4, 1, 3)
    got = measure(system, xyz, XY)
    # minimised under the restraint: off the target by the surface's force / K
    np.testing.assert_allclose(got, z - surface.gradient(z) / 1e4, atol=2e-4)
