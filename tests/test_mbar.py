"""MBAR for harmonic umbrella windows, checked against exact answers: samples drawn exactly from known PMFs."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.mbar import bin_edges, decorrelate, harmonic_u_kn, place_centres, umbrella_pmf
from openmm_bridge.units import kt_kcal_mol

KT = kt_kcal_mol(300.0)


def harmonic_windows(
    rng, a: float, k: float, centres: np.ndarray, n: int, shift: float = 0.0
) -> list[np.ndarray]:
    """Exact samples of windows ``k/2 (x - c)^2`` on the PMF ``a/2 x^2 + shift x`` (kcal/mol): Gaussians."""
    return [rng.normal((k * c - shift) / (a + k), np.sqrt(KT / (a + k)), n) for c in centres]


def test_decorrelate_finds_the_inefficiency_of_an_ar1_series():
    """AR(1) with coefficient phi has g = (1 + phi) / (1 - phi) = 19 at phi = 0.9."""
    rng = np.random.default_rng(3)
    x = np.zeros(20_000)
    for t in range(1, len(x)):
        x[t] = 0.9 * x[t - 1] + rng.normal()
    kept, g = decorrelate(x)
    assert 14.0 < g < 25.0
    assert abs(len(kept) - len(x) / g) <= 1.0 + len(x) / g * 0.05
    white, g_white = decorrelate(rng.normal(size=5000))
    assert g_white < 1.5 and len(white) > 3000
    assert decorrelate(np.ones(10))[1] == 1.0  # a constant series is kept whole
    pinned = 1e-17 * rng.normal(size=200)  # a path CV pinned at 0: pymbar's g would be NaN
    kept_pinned, g_pinned = decorrelate(pinned)
    assert g_pinned == 1.0 and len(kept_pinned) == 200


def test_harmonic_u_kn_layout():
    u = harmonic_u_kn(np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0]), 2.0, 300.0)
    np.testing.assert_allclose(u * KT, [[0.0, 1.0, 4.0], [4.0, 1.0, 0.0]])


def test_pmf_of_a_known_harmonic_landscape_within_its_bootstrap_errors():
    """F(x) = a/2 x^2: the issue's criterion (RMS within 2x the mean bootstrap error, 90% of bins in 2 sigma)."""
    rng = np.random.default_rng(0)
    a, k = 2.0, 10.0
    centres = np.linspace(-2.0, 2.0, 9)
    r = umbrella_pmf(centres, harmonic_windows(rng, a, k, centres, 1500), k, 300.0, bins=24, n_bootstrap=10)
    x, f, err = (np.array(r[key]) for key in ("x", "pmf_kcal_mol", "pmf_err_kcal_mol"))
    inner = slice(1, -1)  # the end bins are cut at the extreme samples
    exact = 0.5 * a * x**2
    ref = int(np.argmin(f))
    dev = (f - (exact - exact[ref]))[inner]
    assert f.min() == 0.0 and np.ptp(exact[inner]) > 3.0
    assert np.sqrt(np.mean(dev**2)) <= 2.0 * np.mean(err[inner])
    assert np.mean(np.abs(dev) <= 2.0 * err[inner] + 1e-12) >= 0.9
    assert r["overlap"]["poor_pairs"] == [] and r["warnings"] == []
    assert r["raw_samples_per_window"] == [1500] * 9
    assert all(g < 1.2 for g in r["statistical_inefficiency"])  # independent samples: g near 1


def test_a_starting_transient_is_cut_and_the_pmf_recovered():
    """Windows whose first 400 samples sit on a tilted landscape (a strained start): cut, they give the exact PMF."""
    rng = np.random.default_rng(4)
    a, k, n, strained = 2.0, 10.0, 2000, 400
    centres = np.linspace(-2.0, 2.0, 9)
    start = harmonic_windows(rng, a, k, centres, strained, shift=-4.0)
    rest = harmonic_windows(rng, a, k, centres, n - strained)
    series = [np.concatenate([s, r]) for s, r in zip(start, rest, strict=True)]

    def rms_from_exact(r: dict) -> tuple[float, float]:
        """RMS of the PMF from the exact one (best offset; the end bins left out) and the mean error."""
        x, f, err = (np.array(r[key])[1:-1] for key in ("x", "pmf_kcal_mol", "pmf_err_kcal_mol"))
        exact = 0.5 * a * x**2
        dev = f - exact - np.mean(f - exact)
        return float(np.sqrt(np.mean(dev**2))), float(np.mean(err))

    cut = umbrella_pmf(centres, series, k, 300.0, bins=24, n_bootstrap=10, discard_transient=True)
    whole = umbrella_pmf(centres, series, k, 300.0, bins=24, n_bootstrap=10)
    # pymbar tries origins every n/200 = 10 samples
    assert all(strained - 20 <= t0 <= strained + 100 for t0 in cut["transient_samples"])
    assert whole["transient_samples"] == [0] * 9 and cut["raw_samples_per_window"] == [n] * 9
    rms_cut, err_cut = rms_from_exact(cut)
    assert rms_cut <= 2.0 * err_cut
    # kept, the strained start poses as a slow correlation: g ~ 100 leaves ~20 samples a window
    assert min(whole["statistical_inefficiency"]) > 20.0 * max(cut["statistical_inefficiency"])
    assert sum(whole["samples_per_window"]) < 0.1 * sum(cut["samples_per_window"])


def test_windows_that_do_not_overlap_are_reported():
    rng = np.random.default_rng(1)
    centres = np.array([0.0, 0.2, 2.0])  # a gap of 2 at k = 50: 11 sigma
    r = umbrella_pmf(centres, harmonic_windows(rng, 0.0, 50.0, centres, 400), 50.0, 300.0, n_bootstrap=0)
    assert [p[:2] for p in r["overlap"]["poor_pairs"]] == [[0.2, 2.0]]
    assert len(r["warnings"]) == 1 and "0.2 and 2" in r["warnings"][0]
    o = np.array(r["overlap"]["matrix"])
    np.testing.assert_allclose(o.sum(axis=1), 1.0, atol=1e-8)
    assert r["overlap"]["neighbours"][0] > 0.03


def test_halves_agree_when_stationary_and_differ_when_drifting():
    rng = np.random.default_rng(2)
    a, k = 2.0, 10.0
    centres = np.linspace(-2.0, 2.0, 9)
    same = harmonic_windows(rng, a, k, centres, 2000)
    drift = [
        np.concatenate([s[:1000], t[1000:]])  # second half on a tilted landscape, 1.5 kcal/mol per unit of x
        for s, t in zip(same, harmonic_windows(rng, a, k, centres, 2000, shift=1.5), strict=True)
    ]
    steady = umbrella_pmf(centres, same, k, 300.0, n_bootstrap=0)["convergence"]
    moved = umbrella_pmf(centres, drift, k, 300.0, n_bootstrap=0)["convergence"]
    assert steady["max_abs_diff_kcal_mol"] < 0.5
    assert moved["max_abs_diff_kcal_mol"] > 3.0  # the tilt changes F by 1.5 * (range of x ~ 3.5)


def test_bin_edges_merge_sparse_bins_for_every_sample_set():
    s = np.concatenate([np.linspace(0.0, 0.5, 200), [0.95, 0.97]])  # two stray samples at the end
    edges = bin_edges(s, 10, min_count=20)
    assert np.histogram(s, edges)[0].min() >= 20 and edges[0] == 0.0 and edges[-1] > 0.97
    halves = [np.linspace(0.0, 1.0, 300), np.linspace(0.0, 0.5, 300)]
    edges = bin_edges(halves, 10, min_count=20)
    assert min(np.histogram(h, edges)[0].min() for h in halves) >= 20


def test_window_placement_from_the_measured_spread():
    even = place_centres([0.0, 1.0], [0.05, 0.05], 0.0, 1.0, spacing_sigma=1.0)
    assert even[0] == 0.0 and even[-1] == 1.0 and np.diff(even).max() <= 0.05 + 1e-9
    np.testing.assert_allclose(np.diff(even), np.diff(even)[0])
    c = place_centres([0.0, 0.5, 1.0], [0.02, 0.1, 0.1], 0.0, 1.0, spacing_sigma=1.5)
    gaps = np.diff(c)
    assert gaps[0] < gaps[-1] and gaps.max() <= 1.5 * 0.1 + 1e-9  # denser where s spreads less
    with pytest.raises(PathganInputError, match="max_windows"):
        place_centres([0.0, 1.0], [0.001, 0.001], 0.0, 1.0, max_windows=50)
    with pytest.raises(PathganInputError, match="positive spreads"):
        place_centres([0.0, 1.0], [0.0, 0.1], 0.0, 1.0)
