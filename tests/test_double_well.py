"""The estimators against exact answers: a particle dragged across a double well, through OpenMM.

Real Langevin pulls (OpenMM, Reference platform), work from OpenMM's own energy of the trap's
force group (:class:`~openmm_bridge.work.MovingParameter`), starts drawn exactly from
equilibrium under the trap at lambda0. The exact answers come from quadrature.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.unit as u
import pytest
from scipy.integrate import quad

from openmm_bridge.context import make_context
from openmm_bridge.double_well import DoubleWellPull, compare_to_exact
from openmm_bridge.errors import PathganInputError
from openmm_bridge.jarzynski import hummer_szabo_bootstrap, jarzynski_pmf

#: The slowest speed: dissipation present (>= 1 kT asserted) yet the estimators converge.
SLOW = DoubleWellPull(speed_angstrom_per_ps=1.25, n_replicas=200, seed=1)
#: Over six times faster: the exponential average's bias must show.
FAST = SLOW.replace(speed_angstrom_per_ps=8.0, seed=2)
#: Grid points along the centre (Jarzynski) and bins along x (Hummer-Szabo).
N_GRID = 20


def _estimates(settings: DoubleWellPull) -> tuple[float, dict[str, dict[str, float]]]:
    """Mean dissipated work (kT) and each estimator's match to its exact curve."""
    result = settings.run()
    rows = result.grid_rows(N_GRID)
    centre = result.centre_angstrom[rows]
    exact_f = settings.free_energy_along_centre(centre)
    pmf = jarzynski_pmf(
        centre, result.work_kcal_mol[:, rows], settings.temperature_k, n_bootstrap=200, seed=0
    )
    a = settings.half_width_angstrom
    edges = np.linspace(-1.25 * a, 1.25 * a, N_GRID + 1)  # where both wells and the barrier are sampled
    z, g, g_err = hummer_szabo_bootstrap(
        result.x_angstrom,
        result.centre_angstrom,
        result.work_kcal_mol,
        settings.k_kcal_mol_a2,
        settings.temperature_k,
        edges,
        n_bootstrap=200,
        seed=0,
    )
    return result.dissipated_work_kt(), {
        "exponential": compare_to_exact(pmf.exponential, pmf.exponential_err, exact_f),
        "cumulant": compare_to_exact(pmf.cumulant, pmf.cumulant_err, exact_f),
        "hummer_szabo": compare_to_exact(g, g_err, settings.potential_kcal_mol(z), fit_offset=True),
    }


@pytest.fixture(scope="module")
def slow() -> tuple[float, dict[str, dict[str, float]]]:
    return _estimates(SLOW)


def test_openmm_energies_are_the_analytic_potential_and_trap():
    s = DoubleWellPull()
    system, group = s.system()
    assert group != 0 and system.getForce(1).getForceGroup() == group
    context = make_context(system)
    context.setParameter("trap_centre", 0.03)  # nm
    for x_a in (-1.7, -1.0, -0.3, 0.0, 0.8, 1.4):
        context.setPositions([mm.Vec3(x_a / 10.0, 0.2, -0.1)] * u.nanometer)  # y, z feel nothing
        well = context.getState(getEnergy=True, groups={0}).getPotentialEnergy()
        trap = context.getState(getEnergy=True, groups={group}).getPotentialEnergy()
        assert well.value_in_unit(u.kilocalorie_per_mole) == pytest.approx(
            s.potential_kcal_mol(x_a), abs=1e-9
        )
        assert trap.value_in_unit(u.kilocalorie_per_mole) == pytest.approx(
            0.5 * s.k_kcal_mol_a2 * (x_a - 0.3) ** 2, abs=1e-9
        )


def test_exact_free_energy_is_the_quadrature_and_the_starts_its_density():
    s = DoubleWellPull()
    kt = s.kt_kcal_mol

    def boltzmann(x: float, lam: float) -> float:
        return np.exp(-(s.potential_kcal_mol(x) + 0.5 * s.k_kcal_mol_a2 * (x - lam) ** 2) / kt)

    lam = np.array([-1.0, 0.0, 0.7, 1.5])
    z0 = quad(boltzmann, -10, 10, args=(s.lambda0_angstrom,), points=[-1, 1])[0]
    expected = [-kt * np.log(quad(boltzmann, -10, 10, args=(c,), points=[-1, 1])[0] / z0) for c in lam]
    np.testing.assert_allclose(s.free_energy_along_centre(lam), expected, atol=1e-6)
    assert s.free_energy_along_centre(np.array([s.lambda0_angstrom]))[0] == pytest.approx(0.0, abs=1e-12)
    # the starts: mean and variance of 40,000 draws against the density's, within 4 standard errors
    x = s.equilibrium_x(40_000, np.random.default_rng(3))
    mean = quad(lambda y: y * boltzmann(y, s.lambda0_angstrom), -10, 10, points=[-1, 1])[0] / z0
    var = quad(lambda y: (y - mean) ** 2 * boltzmann(y, s.lambda0_angstrom), -10, 10, points=[-1, 1])[0] / z0
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / x.size)
    assert x.var() == pytest.approx(var, rel=4 * np.sqrt(2 / x.size))


def test_pull_records_the_work_of_the_moving_trap():
    s = DoubleWellPull(n_replicas=3, speed_angstrom_per_ps=10.0, seed=4)
    r = s.run()
    n_rows = s.n_steps // s.record_interval_steps + 1
    assert r.work_kcal_mol.shape == r.x_angstrom.shape == (3, n_rows)
    np.testing.assert_array_equal(r.work_kcal_mol[:, 0], 0.0)
    assert r.centre_angstrom[0] == s.lambda0_angstrom and r.centre_angstrom[-1] == s.lambda1_angstrom
    assert np.all(r.x_angstrom[:, -1] > 0.5)  # dragged into the other well
    again = s.run()
    np.testing.assert_array_equal(again.work_kcal_mol, r.work_kcal_mol)  # seeded


def test_estimators_recover_the_exact_answers_with_dissipation(slow):
    """Slowest speed: each estimator within 2x its bootstrap error (RMS) and at >= 90% of points within 2 sigma."""
    dissipated_kt, match = slow
    assert dissipated_kt >= 1.0
    for name, m in match.items():
        assert m["n_points"] == N_GRID, name
        assert m["rms_over_error"] <= 2.0, (name, m)
        assert m["fraction_within_2_sigma"] >= 0.9, (name, m)


def test_exponential_bias_grows_with_speed(slow):
    """Over six times faster: far more dissipation, and the exponential average overshoots F (its bias is positive)
    by much more than its whole error at the slowest speed."""
    slow_kt, slow_match = slow
    fast_kt, fast_match = _estimates(FAST)
    assert fast_kt > 4.0 * slow_kt
    fast, calm = fast_match["exponential"], slow_match["exponential"]
    assert fast["mean_deviation_kcal_mol"] > 3.0 * calm["rms_kcal_mol"]
    assert fast["rms_kcal_mol"] > 3.0 * calm["rms_kcal_mol"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"lambda1_angstrom": -1.5}, "nothing is pulled"),
        ({"record_interval_steps": 7}, "multiple of update_interval_steps"),
        ({"speed_angstrom_per_ps": 1e5}, "fewer than one record interval"),
        ({"n_replicas": 1}, "n_replicas"),
        ({"k_kcal_mol_a2": 0.0}, "k_kcal_mol_a2"),
    ],
)
def test_bad_settings_are_refused(change, match):
    with pytest.raises(PathganInputError, match=match):
        DoubleWellPull.from_dict(change, "double_well")


def test_compare_to_exact_fits_the_offset_only_when_asked():
    exact = np.linspace(0.0, 2.0, 10)
    err = np.full(10, 0.1)
    shifted = compare_to_exact(exact + 1.0, err, exact, fit_offset=True)
    assert (
        shifted["rms_kcal_mol"] == pytest.approx(0.0, abs=1e-12) and shifted["fraction_within_2_sigma"] == 1.0
    )
    assert compare_to_exact(exact + 1.0, err, exact)["rms_over_error"] == pytest.approx(10.0)
    est = exact.copy()
    est[3] = np.nan
    assert compare_to_exact(est, err, exact)["n_points"] == 9
    with pytest.raises(PathganInputError, match="shapes"):
        compare_to_exact(exact[:3], err, exact)
