"""Free energy from the work of steered-MD replicas (Jarzynski's equality).

For pulls that all follow the same protocol, the work W_r(lambda) of replica r up
to centre lambda gives the potential of mean force along the restraint centre::

    exponential average   F(lambda) = -kT ln < exp(-W / kT) >
    2nd-order cumulant    F(lambda) = <W> - var(W) / (2 kT)

(Jarzynski 1997; Park and Schulten, J. Chem. Phys. 120, 5946 (2004), who recommend
the cumulant form for stiff springs, where the work is Gaussian). Error bars come
from a bootstrap over replicas. F is along the centre lambda of the moving
restraint, which approximates the PMF along the pulled distance itself when the
spring is stiff compared with the PMF's curvature.

Estimators only: reading and writing pull tables is :mod:`.pmf_outputs`' job.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, softmax

from .errors import PathganInputError
from .units import kt_kcal_mol


def exponential_average(work_kcal_mol: np.ndarray, temperature_k: float) -> np.ndarray:
    """Jarzynski's estimator over replicas (axis 0): ``-kT ln mean exp(-W/kT)``, kcal/mol.

    ``work_kcal_mol``: (n_replicas, n_points). Computed with log-sum-exp (no overflow).
    """
    w = np.asarray(work_kcal_mol, dtype=np.float64)
    kt = kt_kcal_mol(temperature_k)
    return -kt * (logsumexp(-w / kt, axis=0) - np.log(w.shape[0]))


def cumulant_estimate(work_kcal_mol: np.ndarray, temperature_k: float) -> np.ndarray:
    """Second-order cumulant estimator ``<W> - var(W) / (2 kT)`` over replicas (axis 0), kcal/mol."""
    w = np.asarray(work_kcal_mol, dtype=np.float64)
    ddof = 1 if w.shape[0] > 1 else 0
    return w.mean(axis=0) - w.var(axis=0, ddof=ddof) / (2.0 * kt_kcal_mol(temperature_k))


@dataclass
class PMF:
    """A potential of mean force from pulls (all arrays of shape (n_points,); kcal/mol, Angstrom)."""

    centre_angstrom: np.ndarray
    mean_work: np.ndarray
    exponential: np.ndarray
    exponential_err: np.ndarray
    cumulant: np.ndarray
    cumulant_err: np.ndarray
    n_replicas: int
    temperature_k: float
    n_bootstrap: int

    COLUMNS = (
        "centre_angstrom",
        "mean_work_kcal_mol",
        "pmf_exponential_kcal_mol",
        "pmf_exponential_err_kcal_mol",
        "pmf_cumulant_kcal_mol",
        "pmf_cumulant_err_kcal_mol",
    )

    def rows(self) -> list[tuple[float, ...]]:
        """One tuple per point, in :attr:`COLUMNS` order."""
        return list(
            zip(
                self.centre_angstrom,
                self.mean_work,
                self.exponential,
                self.exponential_err,
                self.cumulant,
                self.cumulant_err,
                strict=True,
            )
        )


def jarzynski_pmf(
    centre_angstrom: np.ndarray,
    work_kcal_mol: np.ndarray,
    temperature_k: float,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> PMF:
    """PMF along the restraint centre from the work of replicas.

    Parameters
    ----------
    centre_angstrom
        (n_points,) restraint centre at each recorded point (the same for every replica).
    work_kcal_mol
        (n_replicas, n_points) accumulated work.
    temperature_k
        Temperature of the pulls.
    n_bootstrap
        Bootstrap resamples of the replicas for the error bars (standard deviations).
    """
    w = np.asarray(work_kcal_mol, dtype=np.float64)
    c = np.asarray(centre_angstrom, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != c.shape[0]:
        raise PathganInputError(f"work has shape {w.shape}; expected (n_replicas, {c.shape[0]})")
    if w.shape[0] < 2:
        raise PathganInputError(f"a PMF needs at least 2 replicas, got {w.shape[0]}")
    if not np.isfinite(w).all():
        raise PathganInputError("the work contains NaN or infinite values")
    rng = np.random.default_rng(seed)
    exp_boot, cum_boot = [], []
    for _ in range(n_bootstrap):
        sample = w[rng.integers(0, w.shape[0], w.shape[0])]
        exp_boot.append(exponential_average(sample, temperature_k))
        cum_boot.append(cumulant_estimate(sample, temperature_k))
    zeros = np.zeros_like(c)
    return PMF(
        centre_angstrom=c,
        mean_work=w.mean(axis=0),
        exponential=exponential_average(w, temperature_k),
        exponential_err=np.std(exp_boot, axis=0) if n_bootstrap else zeros,
        cumulant=cumulant_estimate(w, temperature_k),
        cumulant_err=np.std(cum_boot, axis=0) if n_bootstrap else zeros,
        n_replicas=int(w.shape[0]),
        temperature_k=float(temperature_k),
        n_bootstrap=int(n_bootstrap),
    )


def hummer_szabo_pmf(
    distance_angstrom: np.ndarray,
    centre_angstrom: np.ndarray,
    work_kcal_mol: np.ndarray,
    k_kcal_mol_a2: float,
    temperature_k: float,
    bin_edges_angstrom: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """PMF along the pulled distance itself, reweighting every time slice (Hummer and Szabo 2001).

    ``G(z) = -kT ln [ sum_t <delta(z - z_t) e^{-W_t/kT}> / <e^{-W_t/kT}>  /  sum_t e^{-(u(z, t) - G_lambda(t))/kT} ]``
    with ``u(z, t) = k/2 (z - lambda_t)^2`` and ``G_lambda`` the exponential average
    (PNAS 98, 3658 (2001), eq. 9). Inputs are (n_replicas, n_points) except the centres
    (n_points,). Returns the bin centres (A) and G (kcal/mol, zero at its minimum; NaN in
    empty bins).
    """
    d, lam, w, edges = _hummer_szabo_inputs(
        distance_angstrom, centre_angstrom, work_kcal_mol, bin_edges_angstrom
    )
    g = _hummer_szabo(d, lam, w, k_kcal_mol_a2, temperature_k, edges)
    return 0.5 * (edges[1:] + edges[:-1]), g - np.nanmin(g)


def hummer_szabo_bootstrap(
    distance_angstrom: np.ndarray,
    centre_angstrom: np.ndarray,
    work_kcal_mol: np.ndarray,
    k_kcal_mol_a2: float,
    temperature_k: float,
    bin_edges_angstrom: np.ndarray,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`hummer_szabo_pmf` with bootstrap errors over replicas: bin centres (A), G and its error (kcal/mol).

    G is defined up to a constant, so each bootstrap curve is first shifted onto G (by its mean
    difference over the bins both fill) and the error is the spread of the shape: a standard
    deviation per bin (NaN where G is; bins a resample leaves empty are skipped for that resample).
    """
    d, lam, w, edges = _hummer_szabo_inputs(
        distance_angstrom, centre_angstrom, work_kcal_mol, bin_edges_angstrom
    )
    g = _hummer_szabo(d, lam, w, k_kcal_mol_a2, temperature_k, edges)
    g = g - np.nanmin(g)
    rng = np.random.default_rng(seed)
    boot = np.full((n_bootstrap, g.shape[0]), np.nan)
    for b in range(n_bootstrap):
        pick = rng.integers(0, w.shape[0], w.shape[0])
        gb = _hummer_szabo(d[pick], lam, w[pick], k_kcal_mol_a2, temperature_k, edges)
        both = np.isfinite(gb) & np.isfinite(g)
        if both.any():
            boot[b] = gb - np.mean(gb[both] - g[both])
    err = np.full_like(g, np.nan)
    if n_bootstrap > 1:
        filled = np.isfinite(boot).sum(axis=0) > 1
        err[filled] = np.nanstd(boot[:, filled], axis=0, ddof=1)
    err[~np.isfinite(g)] = np.nan
    return 0.5 * (edges[1:] + edges[:-1]), g, err


def _hummer_szabo_inputs(
    distance: np.ndarray, centre: np.ndarray, work: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    d, lam, w, e = (np.asarray(a, dtype=np.float64) for a in (distance, centre, work, edges))
    if w.ndim != 2 or d.shape != w.shape or lam.shape != (w.shape[1],):
        raise PathganInputError(
            f"Hummer-Szabo: distance {d.shape} and work {w.shape} must both be (n_replicas, n_points) "
            f"and the centres (n_points,), got {lam.shape}"
        )
    if e.ndim != 1 or e.shape[0] < 2 or np.any(np.diff(e) <= 0):
        raise PathganInputError("Hummer-Szabo: the bin edges must be increasing, at least two of them")
    if not (np.isfinite(d).all() and np.isfinite(w).all()):
        raise PathganInputError("Hummer-Szabo: the distance or the work contains NaN or infinite values")
    return d, lam, w, e


def _hummer_szabo(
    d: np.ndarray, lam: np.ndarray, w: np.ndarray, k: float, temperature_k: float, edges: np.ndarray
) -> np.ndarray:
    """G per bin (kcal/mol, arbitrary constant; NaN in empty bins) of checked inputs."""
    kt = kt_kcal_mol(temperature_k)
    # per time slice, replica weights e^{-W/kT} normalised over replicas (a softmax)
    weights = softmax(-w / kt, axis=0)
    centres = 0.5 * (edges[1:] + edges[:-1])
    which = np.digitize(d, edges) - 1  # bin of every (replica, slice); -1 and n_bins fall outside
    inside = (which >= 0) & (which < len(centres))
    numerator = np.bincount(which[inside], weights=weights[inside], minlength=len(centres)) / np.diff(edges)
    g_lambda = exponential_average(w, temperature_k)
    expo = -(0.5 * k * (centres[:, None] - lam[None, :]) ** 2 - g_lambda[None, :]) / kt
    log_den = logsumexp(expo, axis=1)
    with np.errstate(divide="ignore"):
        g = -kt * (np.log(numerator) - log_den)
    g[~np.isfinite(g)] = np.nan
    return g
