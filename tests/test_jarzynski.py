"""Jarzynski and Hummer-Szabo estimators against closed forms, pymbar, and the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.jarzynski import cumulant_estimate, exponential_average, jarzynski_pmf
from openmm_bridge.units import kt_kcal_mol


def test_estimators_agree_with_pymbar():
    """pymbar's exp and exp_gauss on reduced work W/kT give the same free energies."""
    import pymbar

    rng = np.random.default_rng(5)
    kt = kt_kcal_mol(300.0)
    w = rng.normal(4.0, 1.5, size=(64, 1))
    assert exponential_average(w, 300.0)[0] == pytest.approx(
        pymbar.other_estimators.exp(w[:, 0] / kt)["Delta_f"] * kt, rel=1e-10
    )
    # pymbar's Gaussian estimate takes the biased variance (ddof 0), ours the unbiased one (ddof 1)
    n = len(w)
    gauss = pymbar.other_estimators.exp_gauss(w[:, 0] / kt)["Delta_f"] * kt
    assert cumulant_estimate(w, 300.0)[0] == pytest.approx(
        w.mean() - (w.mean() - gauss) * n / (n - 1), rel=1e-10
    )


def test_gaussian_work_gives_mean_minus_variance_over_2kt():
    """For Gaussian work both estimators converge to <W> - sigma^2 / 2kT (exact for a Gaussian)."""
    rng = np.random.default_rng(0)
    kt = kt_kcal_mol(300.0)
    mu, sigma = 5.0, 1.0
    w = rng.normal(mu, sigma, size=(200_000, 1))
    exact = mu - sigma**2 / (2 * kt)
    assert cumulant_estimate(w, 300.0)[0] == pytest.approx(exact, abs=0.02)
    assert exponential_average(w, 300.0)[0] == pytest.approx(exact, abs=0.05)


def test_identical_work_is_the_free_energy_and_no_overflow():
    w = np.full((10, 3), [0.0, 500.0, -500.0])  # exp(-W/kT) alone would overflow / underflow
    np.testing.assert_allclose(exponential_average(w, 300.0), [0.0, 500.0, -500.0])
    np.testing.assert_allclose(cumulant_estimate(w, 300.0), [0.0, 500.0, -500.0])


def test_exponential_average_below_mean_work():
    rng = np.random.default_rng(1)
    w = rng.normal(3.0, 2.0, size=(50, 20))
    assert np.all(exponential_average(w, 300.0) <= w.mean(axis=0) + 1e-12)  # Jensen: dF <= <W>


def test_pmf_bootstrap_and_errors():
    rng = np.random.default_rng(2)
    c = np.linspace(12, 34, 5)
    w = np.cumsum(rng.normal(1.0, 0.5, size=(16, 5)), axis=1)
    pmf = jarzynski_pmf(c, w, 300.0, n_bootstrap=100, seed=3)
    assert pmf.n_replicas == 16 and pmf.exponential.shape == (5,)
    assert np.all(pmf.cumulant_err > 0) and np.all(pmf.exponential_err > 0)
    again = jarzynski_pmf(c, w, 300.0, n_bootstrap=100, seed=3)
    np.testing.assert_array_equal(again.cumulant_err, pmf.cumulant_err)  # seeded
    with pytest.raises(PathganInputError, match="at least 2 replicas"):
        jarzynski_pmf(c, w[:1], 300.0)
    with pytest.raises(PathganInputError, match="expected"):
        jarzynski_pmf(c[:3], w, 300.0)
    w[0, 2] = np.nan
    with pytest.raises(PathganInputError, match="NaN"):
        jarzynski_pmf(c, w, 300.0)


def test_hummer_szabo_recovers_a_known_pmf_from_equilibrium_samples():
    """With reversible (zero-dissipation) pulls on F(z) = 0.5 z^2 in kT units, it returns F(z)."""
    from openmm_bridge.jarzynski import hummer_szabo_pmf

    rng = np.random.default_rng(4)
    kt = kt_kcal_mol(300.0)
    k_pmf, k_spring = 2.0 * kt, 4.0 * kt  # F(z) = k_pmf/2 z^2
    lam = np.linspace(-2.0, 2.0, 41)
    # In equilibrium at every lambda: z ~ N(mean, var) of the product of two Gaussians,
    # and the reversible work is the exact lambda-PMF G(lambda) = 0.5 k_pmf k_s/(k_pmf+k_s) lambda^2.
    k_tot = k_pmf + k_spring
    z = rng.normal(k_spring * lam / k_tot, np.sqrt(kt / k_tot), size=(4000, len(lam)))
    g_lambda = 0.5 * k_pmf * k_spring / k_tot * lam**2
    work = np.broadcast_to(g_lambda - g_lambda[0], z.shape)
    centres, g = hummer_szabo_pmf(z, lam, work, k_spring, 300.0, np.linspace(-1.2, 1.2, 13))
    exact = 0.5 * k_pmf * centres**2
    np.testing.assert_allclose(g, exact - exact.min(), atol=0.1)


def _reversible_pulls(n_replicas: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equilibrium samples z at every centre of a harmonic PMF (kT units as above), with the reversible work."""
    rng = np.random.default_rng(seed)
    kt = kt_kcal_mol(300.0)
    k_pmf, k_spring = 2.0 * kt, 4.0 * kt
    lam = np.linspace(-2.0, 2.0, 41)
    k_tot = k_pmf + k_spring
    z = rng.normal(k_spring * lam / k_tot, np.sqrt(kt / k_tot), size=(n_replicas, len(lam)))
    g_lambda = 0.5 * k_pmf * k_spring / k_tot * lam**2
    return z, lam, np.broadcast_to(g_lambda - g_lambda[0], z.shape).copy()


def test_hummer_szabo_bootstrap_errors_are_seeded_and_shrink_with_replicas():
    from openmm_bridge.jarzynski import hummer_szabo_bootstrap, hummer_szabo_pmf

    k_spring, edges = 4.0 * kt_kcal_mol(300.0), np.linspace(-1.2, 1.2, 13)
    z, lam, w = _reversible_pulls(100, 6)
    centres, g, err = hummer_szabo_bootstrap(z, lam, w, k_spring, 300.0, edges, n_bootstrap=100, seed=1)
    np.testing.assert_allclose(g, hummer_szabo_pmf(z, lam, w, k_spring, 300.0, edges)[1])
    assert centres.shape == g.shape == err.shape == (12,)
    assert np.all(np.isfinite(err)) and np.all(err > 0)
    again = hummer_szabo_bootstrap(z, lam, w, k_spring, 300.0, edges, n_bootstrap=100, seed=1)[2]
    np.testing.assert_array_equal(again, err)
    z9, lam9, w9 = _reversible_pulls(900, 7)  # 9x the replicas: errors about 3x smaller
    err9 = hummer_szabo_bootstrap(z9, lam9, w9, k_spring, 300.0, edges, n_bootstrap=50, seed=1)[2]
    assert 2.0 < np.median(err / err9) < 4.5


def test_hummer_szabo_refuses_bad_input():
    from openmm_bridge.jarzynski import hummer_szabo_bootstrap

    z, lam, w = _reversible_pulls(10, 8)
    edges = np.linspace(-1.0, 1.0, 5)
    with pytest.raises(PathganInputError, match="n_replicas, n_points"):
        hummer_szabo_bootstrap(z[:, :5], lam, w, 1.0, 300.0, edges)
    with pytest.raises(PathganInputError, match="bin edges"):
        hummer_szabo_bootstrap(z, lam, w, 1.0, 300.0, edges[::-1])
    w[2, 3] = np.inf
    with pytest.raises(PathganInputError, match="NaN or infinite"):
        hummer_szabo_bootstrap(z, lam, w, 1.0, 300.0, edges)
