"""MBAR for harmonic umbrella windows along one coordinate: the shared machinery of both umbrella modules.

Each window k holds a time series of the coordinate x sampled under the bias
``1/2 k (x - c_k)^2`` (kcal/mol; x in its own unit, Angstrom or dimensionless s). This
module only computes (no files): decorrelation with ``pymbar.timeseries`` (statistical
inefficiency g per window, samples kept every g; optionally each window's starting transient
cut first, by pymbar's ``detect_equilibration``), the PMF with pymbar's own ``FES``
(histogram bins, bootstrap errors), the overlap matrix (``MBAR.compute_overlap``) with the
neighbours that do not overlap, and a convergence check: the PMF from the first half of
every window against the PMF from the second half. Used by :mod:`.umbrella` (along a path's
s) and :mod:`.umbrella_distance` (along a distance).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import PathganInputError
from .timeseries import transient
from .units import kt_kcal_mol

__all__ = [
    "MIN_BIN_SAMPLES",
    "MIN_NEIGHBOUR_OVERLAP",
    "bin_edges",
    "decorrelate",
    "harmonic_u_kn",
    "overlap",
    "place_centres",
    "production",
    "umbrella_pmf",
]

log = logging.getLogger(__name__)

#: A bin of the PMF needs this many samples (pymbar's bootstrap cannot lose a bin).
MIN_BIN_SAMPLES = 20
#: Neighbouring windows overlap when their overlap-matrix element is at least this (Klimovich,
#: Shirts and Mobley, J. Comput.-Aided Mol. Des. 29, 397 (2015), recommend 0.03).
MIN_NEIGHBOUR_OVERLAP = 0.03


def _pymbar() -> Any:
    """pymbar, imported without its banner on stdout, its loggers quiet."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import pymbar
        import pymbar.timeseries  # noqa: F401 - the submodule, for pymbar.timeseries below
    logging.getLogger("pymbar").setLevel(logging.ERROR)
    return pymbar


def decorrelate(x: Sequence[float] | np.ndarray) -> tuple[np.ndarray, float]:
    """Uncorrelated samples of one window's time series and its statistical inefficiency g.

    ``x``: (n,) samples at equal time intervals. Returns the samples kept (every g-th, by
    ``pymbar.timeseries.subsample_correlated_data``) and g (>= 1, in sample intervals). A
    constant or too short series (fewer than 3 samples) is returned whole with g = 1; so is one
    constant to rounding (a path CV pinned at 0 or 1 varies by 1e-17), where pymbar's g is NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3 or np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return x, 1.0
    ts = _pymbar().timeseries
    g = float(ts.statistical_inefficiency(x))
    if not np.isfinite(g):
        return x, 1.0
    return x[np.asarray(ts.subsample_correlated_data(x, g=g), dtype=int)], g


def production(x: Sequence[float] | np.ndarray) -> tuple[np.ndarray, int]:
    """A window's series without its starting transient, and the number of samples cut.

    The cut is pymbar's ``detect_equilibration`` origin (the one that keeps the most
    independent samples; Chodera, J. Chem. Theory Comput. 12, 1799 (2016)), at most half the
    series so that a slow window keeps a production half to be judged by.
    """
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 3 or np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return x, 0
    t0 = min(transient(x), len(x) // 2)
    return x[t0:], t0


def harmonic_u_kn(
    x_n: np.ndarray, centres: np.ndarray, k_kcal_mol: float | np.ndarray, temperature_k: float
) -> np.ndarray:
    """Reduced bias energies ``u_kn = 1/2 k_k (x_n - c_k)^2 / kT``, shape (K, N) (pymbar's layout).

    ``k_kcal_mol``: one force constant or one per window (kcal/mol per unit of x squared).
    """
    k = np.broadcast_to(np.asarray(k_kcal_mol, dtype=np.float64), np.shape(centres))
    return 0.5 * k[:, None] * (x_n[None, :] - np.asarray(centres)[:, None]) ** 2 / kt_kcal_mol(temperature_k)


def bin_edges(
    samples: np.ndarray | Sequence[np.ndarray], bins: int, min_count: int = MIN_BIN_SAMPLES
) -> np.ndarray:
    """Equal bins over the samples' range, sparse bins merged into their neighbours.

    ``samples``: one array, or several (the halves of a convergence check): every bin keeps at
    least ``min_count`` samples of each. Returns the edges, (n_bins + 1,).
    """
    sets = (
        [np.asarray(samples, dtype=np.float64)]
        if np.ndim(samples[0]) == 0
        else [np.asarray(s, dtype=np.float64) for s in samples]
    )
    lo = min(s.min() for s in sets)
    hi = max(s.max() for s in sets)
    edges = list(np.linspace(lo, hi + 1e-9 * max(abs(hi), 1.0), bins + 1))
    while len(edges) > 2:
        counts = np.min([np.histogram(s, edges)[0] for s in sets], axis=0)
        k = int(np.argmin(counts))
        if counts[k] >= min_count:
            break
        # merge bin k with its smaller neighbour (drop the edge between them)
        left = counts[k - 1] if k > 0 else np.inf
        right = counts[k + 1] if k < len(counts) - 1 else np.inf
        del edges[k if left <= right else k + 1]
    return np.asarray(edges)


def _fes_once(
    samples: list[np.ndarray],
    centres: np.ndarray,
    k_kcal_mol: float | np.ndarray,
    temperature_k: float,
    edges: np.ndarray,
    initial_f_k: np.ndarray | None = None,
) -> tuple[np.ndarray, Any]:
    """Reduced free energy per unit of x of each bin (pymbar's FES, histogram), and its MBAR."""
    pymbar = _pymbar()
    x_n = np.concatenate(samples)
    n_k = np.array([len(s) for s in samples])
    options = {"initial_f_k": initial_f_k} if initial_f_k is not None else None
    fes = pymbar.FES(harmonic_u_kn(x_n, centres, k_kcal_mol, temperature_k), n_k, mbar_options=options)
    fes.generate_fes(
        np.zeros_like(x_n),  # the unbiased state
        x_n,
        fes_type="histogram",
        histogram_parameters={"bin_edges": edges},
        n_bootstraps=0,
    )
    mid = 0.5 * (edges[1:] + edges[:-1])
    f = np.asarray(fes.get_fes(mid, reference_point="from-lowest", uncertainty_method=None)["f_i"])
    # pymbar's histogram free energies are per bin: divide by the bin width for a density
    return f + np.log(np.diff(edges)), fes.mbar


def _fes(
    samples: list[np.ndarray],
    centres: np.ndarray,
    k_kcal_mol: float | np.ndarray,
    temperature_k: float,
    edges: np.ndarray,
    n_bootstrap: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, Any]:
    """PMF per bin (kcal/mol, zero at its minimum), its bootstrap s.d. and pymbar's MBAR.

    The bootstrap resamples every window's samples with replacement and solves pymbar's FES
    again (from the full solution's f_k). It is done here, not by ``generate_fes(n_bootstraps=)``,
    because pymbar 4.0.3 re-solves MBAR once per window inside each resample (K times the
    work) and draws from the unseeded global ``np.random``.
    """
    kt = kt_kcal_mol(temperature_k)
    f, mbar = _fes_once(samples, centres, k_kcal_mol, temperature_k, edges)
    ref = int(np.argmin(f))
    f = (f - f[ref]) * kt
    if not n_bootstrap:
        return f, np.zeros_like(f), mbar
    rng = np.random.default_rng(seed)
    boots = np.empty((n_bootstrap, len(f)))
    for b in range(n_bootstrap):
        resampled = [s[rng.integers(0, len(s), len(s))] for s in samples]
        fb = _fes_once(resampled, centres, k_kcal_mol, temperature_k, edges, mbar.f_k)[0]
        boots[b] = np.where(np.isfinite(fb), (fb - fb[ref]) * kt, np.nan)
    return f, np.nanstd(boots, axis=0, ddof=1), mbar


def overlap(mbar: Any, centres: np.ndarray, threshold: float = MIN_NEIGHBOUR_OVERLAP) -> dict[str, Any]:
    """pymbar's overlap matrix of the windows, its neighbours' elements and the pairs below ``threshold``.

    Windows are taken in order of their centres. Returns ``matrix`` (K, K), ``neighbours``
    (K - 1,) (the symmetric mean of ``O[i, i+1]`` and ``O[i+1, i]``), ``scalar`` (pymbar's
    one minus the second eigenvalue), ``poor_pairs`` (``[c_i, c_i+1, O]`` below threshold).
    """
    o = np.asarray(mbar.compute_overlap()["matrix"], dtype=np.float64)
    order = np.argsort(centres)
    o = o[np.ix_(order, order)]
    c = np.asarray(centres)[order]
    neighbours = 0.5 * (np.diagonal(o, 1) + np.diagonal(o, -1))
    poor = [[float(c[i]), float(c[i + 1]), float(v)] for i, v in enumerate(neighbours) if v < threshold]
    return {
        "centres": c.tolist(),
        "matrix": o.tolist(),
        "neighbours": neighbours.tolist(),
        "scalar": float(mbar.compute_overlap()["scalar"]),
        "threshold": threshold,
        "poor_pairs": poor,
    }


def umbrella_pmf(
    centres: Sequence[float],
    series: Sequence[Sequence[float]],
    k_kcal_mol: float | Sequence[float],
    temperature_k: float,
    bins: int = 25,
    n_bootstrap: int = 50,
    seed: int = 0,
    decorrelated: bool = True,
    label: str = "umbrella",
    discard_transient: bool = False,
) -> dict[str, Any]:
    """The PMF along x from harmonic umbrella windows, with errors, overlap and a convergence check.

    Parameters
    ----------
    centres
        (K,) window centres, in x's unit.
    series
        K time series of x (one per window, equal time steps; lengths may differ).
    k_kcal_mol
        Force constant(s), kcal/mol per unit of x squared: one, or one per window.
    temperature_k
        Temperature (K).
    bins
        Histogram bins over the sampled range before sparse ones are merged
        (:func:`bin_edges`).
    n_bootstrap
        pymbar's bootstrap resamples (MBAR solved again each time); 0: no error bars.
    decorrelated
        Keep every g-th sample of each window (:func:`decorrelate`); False: all samples.
    label
        Names the windows in warnings.
    discard_transient
        Cut each window's starting transient first (:func:`production`): windows started from
        a fast pull's strained frames relax for longer than a fixed equilibration where the
        coordinate's correlation time is long. The halves are then halves of the production.

    Returns
    -------
    dict
        ``x`` (bin centres), ``pmf_kcal_mol`` (zero at its minimum), ``pmf_err_kcal_mol``
        (bootstrap s.d.), ``bin_edges``, ``samples_per_window`` (used), ``raw_samples_per_window``,
        ``statistical_inefficiency`` (g per window, in sample intervals), ``overlap``
        (:func:`overlap`), ``convergence`` (``max_abs_diff_kcal_mol`` between the PMFs of the first
        and second halves over the bins both sample, with both curves), ``transient_samples``
        (cut from the start of each window; zeros unless ``discard_transient``) and ``warnings``.
    """
    centres = np.asarray(centres, dtype=np.float64)
    raw = [np.asarray(s, dtype=np.float64) for s in series]
    if len(raw) != len(centres) or len(raw) < 2:
        raise PathganInputError(f"{label}: {len(raw)} sample series for {len(centres)} windows (need >= 2)")
    short = [float(c) for c, s in zip(centres, raw, strict=True) if len(s) < 3]
    if short:
        raise PathganInputError(f"{label}: windows at {short} have fewer than 3 samples")
    cut = [0] * len(raw)
    if discard_transient:
        raw, cut = (list(v) for v in zip(*(production(s) for s in raw), strict=True))
    kept, g = zip(*(decorrelate(s) if decorrelated else (s, 1.0) for s in raw), strict=True)
    kept = list(kept)
    edges = bin_edges(np.concatenate(kept), bins)
    f, err, mbar = _fes(kept, centres, np.asarray(k_kcal_mol), temperature_k, edges, n_bootstrap, seed)
    ov = overlap(mbar, centres)
    warnings = [
        f"{label}: windows at {a:g} and {b:g} barely overlap (overlap-matrix element {o:.3f} < "
        f"{ov['threshold']}): add a window between them or use a softer spring"
        for a, b, o in ov["poor_pairs"]
    ]
    convergence = halves(raw, centres, k_kcal_mol, temperature_k, bins, decorrelated)
    for w in warnings:
        log.warning(w)
    return {
        "x": (0.5 * (edges[1:] + edges[:-1])).tolist(),
        "pmf_kcal_mol": f.tolist(),
        "pmf_err_kcal_mol": err.tolist(),
        "bin_edges": edges.tolist(),
        "samples_per_window": [len(s) for s in kept],
        "raw_samples_per_window": [len(s) + t0 for s, t0 in zip(raw, cut, strict=True)],
        "transient_samples": [int(t0) for t0 in cut],
        "statistical_inefficiency": [round(float(v), 3) for v in g],
        "n_bootstrap": n_bootstrap,
        "overlap": ov,
        "convergence": convergence,
        "warnings": warnings,
    }


def halves(
    series: Sequence[np.ndarray],
    centres: np.ndarray,
    k_kcal_mol: float | Sequence[float],
    temperature_k: float,
    bins: int = 25,
    decorrelated: bool = True,
) -> dict[str, Any]:
    """PMF from the first half of every window against the PMF from the second half (no bootstrap).

    Both on the same bins (each keeps :data:`MIN_BIN_SAMPLES` of both halves), both zero at
    their common minimum bin. Returns ``max_abs_diff_kcal_mol`` (None when a half has too
    few samples), ``x``, ``first_kcal_mol``, ``second_kcal_mol``.
    """
    first = [np.asarray(s)[: len(s) // 2] for s in series]
    second = [np.asarray(s)[len(s) // 2 :] for s in series]
    if decorrelated:
        first = [decorrelate(s)[0] for s in first]
        second = [decorrelate(s)[0] for s in second]
    a, b = np.concatenate(first), np.concatenate(second)
    if min(len(a), len(b)) < 2 * MIN_BIN_SAMPLES:
        return {"max_abs_diff_kcal_mol": None, "x": [], "first_kcal_mol": [], "second_kcal_mol": []}
    edges = bin_edges([a, b], bins)
    k = np.asarray(k_kcal_mol)
    f1 = _fes(first, centres, k, temperature_k, edges, 0, 0)[0]
    f2 = _fes(second, centres, k, temperature_k, edges, 0, 0)[0]
    # the same zero for both: each curve's value at the bin where their sum is lowest
    ref = int(np.argmin(f1 + f2))
    f1, f2 = f1 - f1[ref], f2 - f2[ref]
    return {
        "max_abs_diff_kcal_mol": float(np.max(np.abs(f1 - f2))),
        "x": (0.5 * (edges[1:] + edges[:-1])).tolist(),
        "first_kcal_mol": f1.tolist(),
        "second_kcal_mol": f2.tolist(),
    }


def place_centres(
    pilot_centres: Sequence[float],
    pilot_sigma: Sequence[float],
    lo: float,
    hi: float,
    spacing_sigma: float = 1.0,
    max_windows: int = 100,
) -> np.ndarray:
    """Window centres over [lo, hi] spaced by at most ``spacing_sigma`` times the local spread of x.

    ``pilot_sigma``: the standard deviation of x measured in pilot windows at
    ``pilot_centres`` (interpolated between them). Neighbours ``spacing_sigma`` sigma apart
    overlap well (1 to 1.5 is usual). The centres are equally spaced in the measure
    ``dx / (spacing_sigma * sigma(x))``; at least 2, at most ``max_windows`` (an error beyond).
    """
    c = np.asarray(pilot_centres, dtype=np.float64)
    sigma = np.asarray(pilot_sigma, dtype=np.float64)
    if len(c) != len(sigma) or len(c) == 0 or not np.all(sigma > 0) or not hi > lo:
        raise PathganInputError(
            f"window placement: need pilot centres with positive spreads and lo < hi, got {len(c)} "
            f"centres, spreads {sigma.tolist()}, range [{lo}, {hi}]"
        )
    order = np.argsort(c)
    grid = np.linspace(lo, hi, 2001)
    density = 1.0 / (spacing_sigma * np.interp(grid, c[order], sigma[order]))
    cumulative = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
    n = max(int(np.ceil(cumulative[-1])) + 1, 2)
    if n > max_windows:
        raise PathganInputError(
            f"window placement: {n} windows needed for spacing <= {spacing_sigma} sigma over [{lo}, {hi}] "
            f"(max {max_windows}); use a softer bias (its spread grows as 1/sqrt(k)), a larger spacing_sigma "
            "or max_windows"
        )
    return np.interp(np.linspace(0.0, cumulative[-1], n), cumulative, grid)
