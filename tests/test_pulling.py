"""The pulling Force and reporters, in a user's own OpenMM Simulation (a free dimer and deca-alanine)."""

from __future__ import annotations

import csv

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pulling import (
    PULL_COLUMNS,
    ConstantVelocityPull,
    PullDataReporter,
    centroid_distance_force,
)
from openmm_bridge.units import KJ_PER_KCAL


def _dimer(force: mm.Force, seed: int = 1) -> app.Simulation:
    """Two non-interacting argon atoms 4 A apart, with ``force``, Langevin at 300 K."""
    system = mm.System()
    for _ in range(2):
        system.addParticle(39.9)
    system.addForce(force)
    top = app.Topology()
    res = top.addResidue("AR", top.addChain())
    for _ in range(2):
        top.addAtom("AR", app.element.argon, res)
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 5 / u.picosecond, 2 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    sim = app.Simulation(top, system, integrator, mm.Platform.getPlatformByName("Reference"))
    sim.context.setPositions(np.array([[0.0, 0.0, 0.0], [0.4, 0.0, 0.0]]))
    sim.context.setVelocitiesToTemperature(300 * u.kelvin, seed)
    return sim


def test_force_energy_and_centre_derivative():
    force = centroid_distance_force([0], [1], k_kcal_mol_a2=2.0, centre_angstrom=3.0)
    sim = _dimer(force)
    state = sim.context.getState(getEnergy=True, getParameterDerivatives=True)
    energy = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
    assert energy == pytest.approx(0.5 * 2.0 * (4.0 - 3.0) ** 2, rel=1e-6)
    # dU/dc = -k (d - c), in kJ/mol/nm as OpenMM reports it
    dudc = state.getEnergyParameterDerivatives()["pull_centre"]
    assert dudc == pytest.approx(-2.0 * (4.0 - 3.0) * KJ_PER_KCAL * 10.0, rel=1e-6)


def test_geometric_centres_of_groups():
    force = centroid_distance_force([0, 1], [2], k_kcal_mol_a2=1.0, centre_angstrom=0.0)
    system = mm.System()
    for mass in (1.0, 100.0, 12.0):  # unequal masses: a mass-weighted centre would differ
        system.addParticle(mass)
    system.addForce(force)
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(np.array([[0.0, 0, 0], [0.2, 0, 0], [1.1, 0, 0]]))
    energy = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
    assert energy == pytest.approx(0.5 * 10.0**2, rel=1e-6)  # geometric centre at 1 A; d = 10 A


def test_pull_moves_centre_and_work_is_exact(tmp_path):
    force = centroid_distance_force([0], [1], k_kcal_mol_a2=10.0, centre_angstrom=4.0)
    sim = _dimer(force)
    pull = ConstantVelocityPull(force, 4.0, 6.0, n_steps=2000, update_interval=10)
    pull.start(sim.context)
    data = PullDataReporter(tmp_path / "pull.csv", 10, pull)
    sim.reporters += [pull, data]
    sim.step(2500)  # 500 steps past the end: the centre stays at c1
    data.close()
    rows = list(csv.DictReader((tmp_path / "pull.csv").read_text().splitlines()))
    assert tuple(rows[0]) == PULL_COLUMNS and len(rows) == 250
    c = np.array([float(r["centre_angstrom"]) for r in rows])
    d = np.array([float(r["distance_angstrom"]) for r in rows])
    w = np.array([float(r["work_kcal_mol"]) for r in rows])
    np.testing.assert_allclose(c[:200], 4.0 + 2.0 * np.arange(1, 201) / 200, atol=1e-9)
    assert np.all(c[200:] == 6.0)
    # Rows are written at every move, so the work can be rebuilt exactly from them.
    c_prev = np.concatenate([[4.0], c[:-1]])
    rebuilt = np.cumsum(0.5 * 10.0 * ((d - c) ** 2 - (d - c_prev) ** 2))
    np.testing.assert_allclose(w, rebuilt, atol=1e-5)
    assert sim.context.getParameter("pull_centre") == pytest.approx(0.6)
    assert pull.work_kcal_mol == pytest.approx(w[-1], abs=1e-6)


def test_free_dimer_pmf_is_entropic():
    """Jarzynski on a free dimer pulled 4 -> 8 A recovers the exact PMF -2 kT ln(d/d0)."""
    from openmm_bridge.jarzynski import jarzynski_pmf
    from openmm_bridge.units import kt_kcal_mol

    works = []
    for seed in range(1, 17):
        force = centroid_distance_force([0], [1], k_kcal_mol_a2=10.0, centre_angstrom=4.0)
        sim = _dimer(force, seed)
        sim.step(5000)  # equilibrate at the start centre
        sim.currentStep = 0
        pull = ConstantVelocityPull(force, 4.0, 8.0, n_steps=20000)
        pull.start(sim.context)
        sim.reporters.append(pull)
        sim.step(20000)
        works.append([0.0, pull.work_kcal_mol])
    pmf = jarzynski_pmf(np.array([4.0, 8.0]), np.array(works), 300.0, n_bootstrap=200, seed=1)
    exact = -2 * kt_kcal_mol(300.0) * np.log(2.0)  # -0.83 kcal/mol
    assert abs(pmf.cumulant[1] - exact) < max(3 * pmf.cumulant_err[1], 0.15)
    assert abs(pmf.exponential[1] - exact) < max(3 * pmf.exponential_err[1], 0.15)
    assert np.mean(np.array(works)[:, 1]) > pmf.exponential[1]  # second law: <W> >= dF


def test_bad_pulls_raise_clear_errors(tmp_path):
    force = centroid_distance_force([0], [1], 1.0, 12.0)
    with pytest.raises(PathganInputError, match="c0 and c1 are both 12"):
        ConstantVelocityPull(force, 12.0, 12.0, 100)
    with pytest.raises(PathganInputError, match="must be positive"):
        ConstantVelocityPull(force, 12.0, 34.0, 0)
    pull = ConstantVelocityPull(force, 12.0, 34.0, 100, update_interval=10)
    with pytest.raises(PathganInputError, match="not a multiple"):
        PullDataReporter(tmp_path / "x.csv", 15, pull)


# ---------------------------------------------------------------- periodic boundaries
def test_minimum_image_is_the_shortest_of_all_images_in_a_triclinic_box():
    """Exact where OpenMM's own periodic forces are: for images shorter than half the box's smallest width."""
    from openmm_bridge.pulling import minimum_image

    box = np.array([[3.0, 0.0, 0.0], [1.0, 2.8, 0.0], [-0.9, 1.2, 2.6]])  # OpenMM's reduced form
    half_width = 0.5 * min(
        abs(np.linalg.det(box)) / np.linalg.norm(np.cross(box[i], box[j]))
        for i, j in ((1, 2), (2, 0), (0, 1))
    )
    rng = np.random.default_rng(0)
    shifts = np.array([[i, j, k] for i in range(-2, 3) for j in range(-2, 3) for k in range(-2, 3)]) @ box
    n_checked = 0
    for delta in rng.uniform(-4.0, 4.0, size=(400, 3)):
        image = minimum_image(delta, box)
        n = np.linalg.solve(box.T, image - delta)
        np.testing.assert_allclose(n, np.round(n), atol=1e-9)  # an image of delta: whole box vectors apart
        brute = np.min(np.linalg.norm(delta + shifts, axis=1))
        if brute < half_width:
            assert np.linalg.norm(image) == pytest.approx(brute, abs=1e-9)
            n_checked += 1
    assert n_checked > 50


def test_the_recorded_distance_of_a_periodic_force_is_the_nearest_images(tmp_path):
    """24 A apart in a 30 A box, 6 A through its boundary: the force and the pull.csv row agree on 6 A."""
    force = centroid_distance_force([0], [1], 2.0, 6.0)
    force.setUsesPeriodicBoundaryConditions(True)
    system = mm.System()
    system.setDefaultPeriodicBoxVectors(*(3.0 * np.eye(3)))
    for _ in range(2):
        system.addParticle(39.9)
    system.addForce(force)
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(np.array([[0.2, 1.5, 1.5], [2.6, 1.5, 1.5]]))
    pull = ConstantVelocityPull(force, 6.0, 9.0, 100)
    pull.start(ctx)
    state = ctx.getState(getPositions=True, getEnergy=True, groups={force.getForceGroup()})
    assert state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole) == pytest.approx(0.0, abs=1e-9)
    reporter = PullDataReporter(tmp_path / "pull.csv", 10, pull)
    reporter.write_row(0, state)
    reporter.close()
    with open(tmp_path / "pull.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["distance_angstrom"]) == pytest.approx(6.0, abs=1e-6)
    assert float(row["force_kcal_mol_angstrom"]) == pytest.approx(0.0, abs=1e-6)
    x = state.getPositions(asNumpy=True).value_in_unit(u.nanometer)
    assert pull.value(x) == pytest.approx(24.0)  # without the box: the raw distance
