"""What the ensemble benchmarks share: the metric columns of ``ensemble.json`` and the mean (min-max) cell."""

from __future__ import annotations

import numpy as np

#: (key in ensemble.json's blocks, label, format)
ENSEMBLE_COLUMNS = [
    ("spread_ratio_median", "spread ratio", "{:.2f}"),
    ("precision", "precision", "{:.2f}"),
    ("coverage", "coverage", "{:.2f}"),
    ("jsd_phi_psi_bits", "phi/psi JSD (bits)", "{:.3f}"),
    ("median_rmsd_same_t_mean_angstrom", "RMSD same t (A)", "{:.2f}"),
    ("t0_helix_fraction", "t=0 helix", "{:.2f}"),
    ("max_bond_rms_deviation_angstrom", "bond RMS dev (A)", "{:.3f}"),
    ("median_energy_excess_kcal_mol", "median excess (kcal/mol)", "{:.1f}"),
    ("max_energy_excess_kcal_mol", "max excess (kcal/mol)", "{:.0f}"),
    ("frames_with_inverted_centres", "inverted frames", "{:.0f}"),
]


def columns(*keys: str) -> list[tuple[str, str, str]]:
    """The :data:`ENSEMBLE_COLUMNS` of these keys, in that order."""
    by_key = {c[0]: c for c in ENSEMBLE_COLUMNS}
    return [by_key[k] for k in keys]


def mean_range(values: list[float | None], fmt: str) -> str:
    """``mean (min-max)`` of the finite values (just the value when there is one; ``-`` when none)."""
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    if not np.isfinite(v).any():
        return "-"
    mean = fmt.format(np.nanmean(v))
    return mean if len(v) == 1 else f"{mean} ({fmt.format(np.nanmin(v))} to {fmt.format(np.nanmax(v))})"
