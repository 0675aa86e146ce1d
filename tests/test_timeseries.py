"""Correlated time series: pymbar's statistical inefficiency and transient on series of known correlation,
and standard errors that count correlated samples once."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ar1_series

from openmm_bridge.timeseries import mean_and_error, statistical_inefficiency, transient


def test_statistical_inefficiency_of_ar1_series():
    assert statistical_inefficiency(ar1_series(0.9, 40_000, 1)) == pytest.approx(19.0, rel=0.2)
    assert statistical_inefficiency(ar1_series(0.0, 40_000, 2)) == pytest.approx(1.0, abs=0.1)


def test_a_series_too_short_or_constant_counts_as_one_sample():
    assert statistical_inefficiency(np.array([1.0, 2.0, 1.5])) == 3.0
    assert statistical_inefficiency(np.full(50, 2.0)) == 50.0
    assert transient(np.full(50, 2.0)) == 0 and transient(np.array([1.0, 2.0])) == 0


def test_transient_is_found_and_a_stationary_series_keeps_its_start():
    x = ar1_series(0.5, 4000, 3)
    assert 100 <= transient(x + 30.0 * np.exp(-np.arange(4000) / 100.0)) <= 1500
    assert transient(x) < 100


def test_mean_and_error_counts_correlated_samples_once():
    rng = np.random.default_rng(0)
    white = rng.normal(size=(2000, 1))
    ar = ar1_series(0.9, 2000, 4)[:, None]
    m, e, g = mean_and_error(np.hstack([white, ar, np.ones((2000, 1))]))
    assert g[0] < 1.5 and 12 < g[1] < 28 and g[2] == 1 and e[2] == 0
    assert e[0] == pytest.approx(1 / np.sqrt(2000), rel=0.1)
    assert e[1] == pytest.approx(np.std(ar) * np.sqrt(19 / 2000), rel=0.3)
    np.testing.assert_allclose(m, [white.mean(), ar.mean(), 1.0])
