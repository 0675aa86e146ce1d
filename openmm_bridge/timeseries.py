"""Correlated time series: statistical inefficiency, the transient to discard, means with honest errors.

One home for ``pymbar.timeseries`` (Chodera, J. Chem. Theory Comput. 12, 1799 (2016)), used by
the equilibrium starts of the pulls (:mod:`.equilibration`) and by the swarms string
(:mod:`.swarms`: the restrained means of each image, and the stationarity of its free-energy
profile over iterations). pymbar's banners and loggers are kept quiet.

``g`` is the statistical inefficiency in samples: ``n / g`` samples of a series of ``n`` are
independent, so the standard error of its mean is ``sd * sqrt(g / n)``.
"""

from __future__ import annotations

import contextlib
import io
import logging
from typing import Any

import numpy as np


def pymbar_timeseries() -> Any:
    """``pymbar.timeseries``, imported without its banners, its loggers quiet."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from pymbar import timeseries
    logging.getLogger("pymbar").setLevel(logging.ERROR)
    return timeseries


def statistical_inefficiency(series: np.ndarray) -> float:
    """pymbar's statistical inefficiency of ``series`` (n,) (>= 1, in samples).

    A series too short to tell (fewer than 4 samples) or constant gets its whole length: the
    conservative answer, one independent sample.
    """
    series = np.asarray(series, dtype=np.float64)
    if len(series) < 4 or np.ptp(series) == 0.0:
        return float(max(len(series), 1))
    timeseries = pymbar_timeseries()  # first: pymbar's import prints banners
    from pymbar.utils import ParameterError

    try:
        g = float(timeseries.statistical_inefficiency(series))
    except ParameterError:
        return float(len(series))
    return max(g, 1.0) if np.isfinite(g) else float(len(series))


def transient(series: np.ndarray) -> int:
    """Samples to discard at the start of ``series`` (pymbar's ``detect_equilibration``; 0 if too short)."""
    series = np.asarray(series, dtype=np.float64)
    if len(series) < 4 or np.ptp(series) == 0.0:
        return 0
    # about 200 candidate origins: detect_equilibration costs one inefficiency per origin
    return int(
        pymbar_timeseries().detect_equilibration(series, fast=True, nskip=max(len(series) // 200, 1))[0]
    )


def mean_and_error(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, standard error and statistical inefficiency of each column of ``samples`` (n, d).

    The error counts n / g independent samples; a constant column has error 0 and g = 1.
    """
    x = np.asarray(samples, dtype=np.float64)
    g = np.array(
        [statistical_inefficiency(x[:, j]) if np.ptp(x[:, j]) > 0 else 1.0 for j in range(x.shape[1])]
    )
    err = x.std(axis=0, ddof=1) * np.sqrt(g / len(x))
    return x.mean(axis=0), err, g
