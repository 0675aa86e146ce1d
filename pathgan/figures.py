"""pathgan's plots: a path comparison (the RMSD heatmap, the paper's Figure 2; profiles along t) and the loss curves."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from openmm_bridge.plots import plt, save_figure
from openmm_bridge.protocol import PullProtocol


def plot_rmsd(result: dict[str, Any], out: Path) -> None:
    """``rmsd_heatmap.png`` (generated frames x frames of the first reference trajectory) and
    ``rmsd_curves.png`` (per generated frame: RMSD to the same-t frames, and to the nearest frame)."""
    a, pf = result["arrays"], result["per_frame"]
    first = a["ref_which"] == 0
    rmsd0 = a["rmsd"][:, first]
    t_ref0 = a["ref_t"][first]
    t = np.asarray(pf["t"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    im = ax.imshow(
        rmsd0,
        aspect="auto",
        origin="lower",
        cmap="viridis",
        extent=(t_ref0[0], t_ref0[-1], -0.5, len(t) - 0.5),
    )
    best = rmsd0.argmin(axis=1)
    ax.plot(t_ref0[best], np.arange(len(t)), "w.", ms=6, label="best match")
    ax.set_xlabel("reference frame (t of reference trajectory 1)")
    ax.set_ylabel("generated frame")
    ax.legend(loc="upper left", frameon=False, labelcolor="w")
    fig.colorbar(im, label="heavy-atom RMSD (A)")
    save_figure(fig, out / "rmsd_heatmap.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(t, pf["rmsd_same_t_min_angstrom"], "o-", label="to reference at same t (best replica)")
    ax.plot(t, pf["rmsd_same_t_mean_angstrom"], "s--", label="to reference at same t (replica mean)")
    ax.plot(t, pf["rmsd_nearest_any_angstrom"], "^:", label="to nearest reference frame (any t)")
    ax.set_xlabel("t")
    ax.set_ylabel("heavy-atom RMSD (A)")
    ax.legend(frameon=False, fontsize=8)
    save_figure(fig, out / "rmsd_curves.png")


def progress_measure(result: dict[str, Any]) -> tuple[str, str, str]:
    """Per-frame keys (generated, reference) and axis label of a comparison's progress measure.

    The pulled coordinate when the comparison has it, else (older metrics) the CA(1)-CA(N) distance.
    """
    about = result.get("coordinate")
    if about and "coordinate" in result.get("per_frame", {}):
        return "coordinate", "reference_coordinate_same_t", f"{about['label']} ({about['unit']})"
    return "end_to_end_angstrom", "reference_end_to_end_same_t_angstrom", "CA(1)-CA(N) distance (A)"


def plot_profiles(result: dict[str, Any], out: Path) -> None:
    """``profiles.png``: OpenMM energy, the pulled coordinate and helix fraction along t."""
    pf = result["per_frame"]
    t = np.asarray(pf["t"])
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(t, pf["openmm_energy_kcal_mol"]["total"], "o-", label="generated")
    axes[0].plot(t, pf["reference_openmm_energy_same_t_kcal_mol"]["total"], "k--", label="reference (mean)")
    axes[0].set_ylabel("OpenMM energy (kcal/mol)")
    key, ref_key, label = progress_measure(result)
    axes[1].plot(t, pf[key], "o-", label="generated")
    axes[1].plot(t, pf[ref_key], "k--", label="reference (mean)")
    axes[1].set_ylabel(label)
    axes[2].plot(t, pf["helix_fraction"], "o-", label="generated")
    axes[2].plot(t, pf["reference_helix_fraction_same_t"], "k--", label="reference (mean)")
    axes[2].set_ylabel("DSSP helix fraction")
    for ax in axes:
        ax.set_xlabel("t")
        ax.legend(frameon=False)
    save_figure(fig, out / "profiles.png")


def plot_losses(history: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """Loss curves by epoch: adversarial losses, energy by term (log scale), validation."""
    from openmm_bridge.plots import plt, save_figure

    if not history:
        return
    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))

    def series(key):
        return [r.get(key, np.nan) for r in history]

    for key in ("reconstruction", "loss_g_adv", "loss_d"):
        axes[0].plot(epochs, series(key), marker="o", label=key)
    axes[0].set_title("pre-training and adversarial losses")
    for key in ("bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics", "restraint"):
        vals = np.abs(np.asarray(series(f"{key}_kcal_mol"), dtype=float))
        if np.isfinite(vals).any():
            axes[1].semilogy(epochs, vals, marker=".", label=key)
    axes[1].set_title("|energy| of generated frames by term (kcal/mol)")
    for key in ("val_total_kcal_mol", "val_restraint_kcal_mol"):
        axes[2].plot(epochs, series(key), marker="o", label=key)
    axes[2].set_title("validation")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7, frameon=False)
    save_figure(fig, path)


def plot_ensemble(
    t: np.ndarray,
    candidates: np.ndarray,
    heldout: Any,
    system: Any,
    ensemble: dict[str, Any],
    path: str | os.PathLike,
) -> None:
    """The candidates against the held-out pulls: the pulled coordinate along t of every candidate and
    replica, the spread per bin of t, and the OpenMM energy per bin (median and interquartile range).

    The coordinate is the held-out pulls' own (their ``smd.json``; the end-to-end CA distance
    without one), torsions unwrapped onto the pull's centre line.
    """
    from .restraint import coordinate_values, reference_pull

    pull = reference_pull(heldout) or PullProtocol()
    coordinate = pull.resolve_coordinate(system)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    for k, c in enumerate(candidates):
        axes[0].plot(
            t,
            coordinate_values(pull, system, c, t),
            color="C0",
            lw=0.7,
            alpha=0.5,
            label="candidates" if k == 0 else None,
        )
    for k in range(heldout.n_trajectories):
        labels = heldout.labels(k)
        axes[0].plot(
            labels,
            coordinate_values(pull, system, heldout.frames[k], labels),
            color="k",
            lw=0.8,
            ls="--",
            alpha=0.7,
            label="held-out pulls" if k == 0 else None,
        )
    axes[0].set_xlabel("t")
    axes[0].set_ylabel(f"{coordinate.label} ({coordinate.unit})")
    bins = ensemble["generated"]["per_bin"]
    centres = [(b["bin"] + 0.5) / len(bins) for b in bins]
    for key, label, style in (
        ("spread_generated_angstrom", "generated", "o-"),
        ("spread_reference_angstrom", "held-out pulls", "s--"),
    ):
        axes[1].plot(centres, [b.get(key, np.nan) for b in bins], style, label=label)
    axes[1].set_xlabel("t (bin centre)")
    axes[1].set_ylabel("spread: median RMSD between paths at the same t (A)")
    energy = ensemble["generated"]["energy_by_bin"]
    for prefix, label, colour in (("generated", "generated", "C0"), ("reference", "held-out pulls", "k")):
        med = np.array([e[f"{prefix}_median_kcal_mol"] for e in energy])
        iqr = np.array([e[f"{prefix}_iqr_kcal_mol"] for e in energy])
        axes[2].errorbar(centres, med, yerr=iqr / 2, color=colour, marker="o", capsize=3, label=label)
    axes[2].set_xlabel("t (bin centre)")
    axes[2].set_ylabel("OpenMM energy (kcal/mol), median +- IQR/2")
    for ax in axes:
        ax.legend(frameon=False, fontsize=8)
    save_figure(fig, path)
