"""Plots of pulls: work curves and the PMF (PNG, written atomically)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .fileio import atomic_file  # noqa: E402
from .jarzynski import PMF  # noqa: E402


def save_figure(fig: plt.Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Save ``fig`` as PNG at ``path`` atomically and close it."""
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def plot_work(
    centre_angstrom: np.ndarray,
    work_kcal_mol: np.ndarray,
    pmf: PMF,
    path: str | os.PathLike,
    unit: str = "A",
) -> None:
    """Work of every replica against the restraint centre (in ``unit``), with the mean and the PMF."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for w in work_kcal_mol:
        ax.plot(centre_angstrom, w, color="0.7", lw=0.8)
    ax.plot(centre_angstrom, pmf.mean_work, color="k", lw=1.5, label="mean work")
    ax.plot(centre_angstrom, pmf.exponential, color="C0", lw=1.5, label="PMF, exponential average")
    ax.plot(centre_angstrom, pmf.cumulant, color="C1", lw=1.5, ls="--", label="PMF, 2nd-order cumulant")
    ax.set_xlabel(f"restraint centre ({unit})")
    ax.set_ylabel("work (kcal/mol)")
    ax.set_title(f"{work_kcal_mol.shape[0]} pulls at {pmf.temperature_k:g} K")
    ax.legend(frameon=False)
    save_figure(fig, path)


def plot_pmf(
    pmf: PMF,
    path: str | os.PathLike,
    along_distance: tuple[np.ndarray, np.ndarray] | None = None,
    unit: str = "A",
    what: str = "distance",
) -> None:
    """The PMF from both estimators, with bootstrap error bands (and along the coordinate, if given).

    ``what``/``unit``: the pulled coordinate's name and unit for the labels.
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    if along_distance is not None:
        ax.plot(*along_distance, color="C2", marker=".", label=f"along the {what} (Hummer-Szabo)")
    c = pmf.centre_angstrom
    for values, err, label, colour in (
        (pmf.exponential, pmf.exponential_err, "exponential average", "C0"),
        (pmf.cumulant, pmf.cumulant_err, "2nd-order cumulant", "C1"),
    ):
        ax.plot(c, values, color=colour, label=label)
        ax.fill_between(c, values - err, values + err, color=colour, alpha=0.25, lw=0)
    ax.set_xlabel(f"restraint centre or {what} ({unit})")
    ax.set_ylabel("PMF (kcal/mol)")
    ax.set_title(f"Jarzynski PMF, {pmf.n_replicas} replicas, bootstrap x{pmf.n_bootstrap}")
    ax.legend(frameon=False)
    save_figure(fig, path)


def plot_string(history: list[dict], path: str | os.PathLike, title: str = "string") -> None:
    """Energy profile of selected iterations, and convergence (largest displacement, energy change)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    n = len(history)
    picks = sorted({0, n // 4, n // 2, (3 * n) // 4, n - 1}) if n else []
    for k in picks:
        e = np.asarray(history[k]["energies_kcal_mol"])
        a.plot(np.linspace(0, 1, len(e)), e - e[0], marker=".", label=f"iteration {history[k]['iteration']}")
    a.set_xlabel("image (fraction of the path)")
    a.set_ylabel("energy above the first image (kcal/mol)")
    a.set_title(f"{title}: energy profile")
    a.legend(frameon=False, fontsize=8)
    it = [h["iteration"] for h in history]
    disp_key = (
        "max_displacement_angstrom"
        if history and "max_displacement_angstrom" in history[0]
        else "max_displacement_cv"
    )
    b.semilogy(it, [h[disp_key] for h in history], label=disp_key)
    b.semilogy(it, [h["max_energy_change_kcal_mol"] for h in history], label="max_energy_change_kcal_mol")
    b.set_xlabel("iteration")
    b.set_title(f"{title}: convergence")
    b.legend(frameon=False, fontsize=8)
    save_figure(fig, path)


def plot_path_pull(csv_rows: np.ndarray, path: str | os.PathLike) -> None:
    """Pull along s: s against its moving target s0, and the work (columns: step, s0, s, z, work kcal/mol)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(csv_rows[:, 1], csv_rows[:, 2], ".", ms=3)
    a.plot([0, 1], [0, 1], "k--", lw=0.8)
    a.set_xlabel("s0 (restraint centre)")
    a.set_ylabel("s")
    b.plot(csv_rows[:, 1], csv_rows[:, 4])
    b.set_xlabel("s0")
    b.set_ylabel("work (kcal/mol)")
    save_figure(fig, path)


def plot_work_comparison(curves: list[tuple[str, np.ndarray, np.ndarray]], path: str | os.PathLike) -> None:
    """Mean work against the restraint centre of several pulls: (label, centre A, work kcal/mol) each."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, centre, work in curves:
        ax.plot(centre, work, label=label)
    ax.set_xlabel("restraint centre (A)")
    ax.set_ylabel("work (kcal/mol)")
    ax.legend(frameon=False)
    save_figure(fig, path)
