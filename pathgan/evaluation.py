"""An ensemble of generated paths judged on held-out pulls, beside the baselines a sceptic tries first.

Everything here is scored against **held-out** reference replicas (the validation replicas of
training, never the training ones), with the same code for the generated ensemble and for
every baseline:

- ``generated``: the ensemble of candidate paths (S samples x F frames);
- ``template``: the model's own template at the path's t, network and noise removed (S copies);
- ``medoid_path``: the medoid training frame of each of the path's t-bins, no interpolation;
- ``linear_interpolation``: straight lines (after superposition) between the template's end states;
- ``heldout_replica``: one held-out replica at the path's t, scored against the other held-out
  replicas (what an independent pull scores: the yardstick);
- ``heldout_half``: for the distribution metrics, half of the held-out replicas (by replica)
  against the other half: the floor that finite data allow (the JSD floor).

Deterministic baselines are ensembles of S identical paths, so their spread is 0 and their
coverage is what a single path can cover. Distribution metrics: :mod:`.ensemble_metrics`; path
metrics (same-t RMSD, helicity, bonds, energies): :func:`pathgan.compare.compare_path`, the
median over the S paths.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.errors import PathganInputError
from openmm_bridge.superpose import align_chain, superpose
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology

from .compare import compare_path, heavy_atoms
from .data import ReferenceSet
from .ensemble_metrics import (
    N_T_BINS,
    ensemble_scores,
    jensen_shannon,
    phi_psi_histogram,
    t_bins,
)
from .model import template_frames
from .torsions import TorsionSet

if TYPE_CHECKING:
    from .gan import GAN

#: The headline ensemble metrics (the short tables of ``pathgan compare`` and the benchmarks).
HEADLINE_KEYS = (
    "spread_ratio_median",
    "precision",
    "coverage",
    "jsd_phi_psi_bits",
    "median_rmsd_same_t_mean_angstrom",
    "median_energy_excess_kcal_mol",
)

#: Path metrics reported as the median over an ensemble's paths.
PATH_KEYS = (
    "t0_helix_fraction",
    "t0_rmsd_to_reference_start_angstrom",
    "median_rmsd_same_t_angstrom",
    "median_rmsd_same_t_mean_angstrom",
    "spearman_best_match_vs_t",
    "max_end_to_end_deviation_angstrom",
    "max_bond_rms_deviation_angstrom",
    "min_nonbonded_distance_angstrom",
    "median_energy_excess_kcal_mol",
    "max_energy_excess_kcal_mol",
)


def phi_psi_pairs(xyz_angstrom: np.ndarray, system: MolecularSystem) -> np.ndarray:
    """(phi, psi) of every residue that has both, every frame: (n_frames, n_residues, 2) radians."""
    ts = TorsionSet.from_topology(mdtraj_topology(system), ("phi", "psi"))
    angles = ts.angles(torch.as_tensor(np.asarray(xyz_angstrom, dtype=np.float64))).numpy()
    column = {name: k for k, name in enumerate(ts.names)}
    residues = [
        n.split(":", 1)[1] for n in ts.names if n.startswith("phi:") and f"psi:{n.split(':', 1)[1]}" in column
    ]
    return np.stack([angles[:, [column[f"phi:{r}"], column[f"psi:{r}"]]] for r in residues], axis=1)


def jsd_phi_psi(a_xyz: np.ndarray, b_xyz: np.ndarray, system: MolecularSystem) -> float:
    """Jensen-Shannon divergence (bits) of the backbone (phi, psi) histograms of two sets of frames."""
    return jensen_shannon(
        phi_psi_histogram(phi_psi_pairs(a_xyz, system)), phi_psi_histogram(phi_psi_pairs(b_xyz, system))
    )


def ensemble_metrics(
    t: np.ndarray,
    paths: np.ndarray,
    heldout: ReferenceSet,
    system: MolecularSystem,
    heldout_energies: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Distribution and path metrics of ``paths`` (S, F, n_atoms, 3) A at ``t`` (F,) against ``heldout``.

    ``heldout_energies``: OpenMM's energies by force of the held-out frames (``OpenMMEvaluator``),
    computed here when not given.
    """
    if heldout_energies is None:
        heldout_energies = OpenMMEvaluator(system.system).energies(heldout.arrays()[0])
    paths = np.asarray(paths, dtype=np.float64)
    s, f = paths.shape[:2]
    flat, tt, which = paths.reshape(s * f, *paths.shape[2:]), np.tile(t, s), np.repeat(np.arange(s), f)
    ref_xyz, ref_t, ref_which = heldout.arrays()
    heavy = heavy_atoms(mdtraj_topology(system))
    dist = ensemble_scores(flat, tt, which, ref_xyz, ref_t, ref_which, heavy)
    per_path = [compare_path(t, p, heldout, system, reference_energies=heldout_energies) for p in paths]
    summaries = [r["summary"] for r in per_path]
    energy = np.array([r["per_frame"]["openmm_energy_kcal_mol"]["total"] for r in per_path])  # (S, F)
    ref_energy = heldout_energies["total"]
    bins_gen, bins_ref = t_bins(tt), t_bins(ref_t)
    energy_by_bin = [
        {
            "bin": b,
            "generated_median_kcal_mol": _median(energy.reshape(-1)[bins_gen == b]),
            "generated_iqr_kcal_mol": _iqr(energy.reshape(-1)[bins_gen == b]),
            "reference_median_kcal_mol": _median(ref_energy[bins_ref == b]),
            "reference_iqr_kcal_mol": _iqr(ref_energy[bins_ref == b]),
        }
        for b in range(N_T_BINS)
    ]
    out: dict[str, Any] = {
        "n_paths": int(s),
        "spread_ratio_median": dist["spread_ratio_median"],
        "precision": dist["precision"],
        "coverage": dist["coverage"],
        "jsd_phi_psi_bits": jsd_phi_psi(flat, ref_xyz, system),
        "frames_with_inverted_centres": int(sum(r["frames_with_inverted_centres"] for r in summaries)),
    }
    for key in PATH_KEYS:
        out[key] = float(np.nanmedian([r[key] for r in summaries]))
    out["per_bin"] = dist["per_bin"]
    out["energy_by_bin"] = energy_by_bin
    return out


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if len(x) else float("nan")


def _iqr(x: np.ndarray) -> float:
    return float(np.subtract(*np.percentile(x, [75, 25]))) if len(x) else float("nan")


def baseline_paths(
    gan: GAN, train: ReferenceSet, heldout: ReferenceSet, t: np.ndarray
) -> dict[str, np.ndarray]:
    """The deterministic baselines' paths at ``t`` (F,): {name: (F, n_atoms, 3) A} (see the module docstring)."""
    out: dict[str, np.ndarray] = {}
    if gan.generator.template is not None:
        with torch.no_grad():
            tmpl = gan.generator.template(torch.as_tensor(t, dtype=gan.dtype)).double().cpu().numpy()
        out["template"] = align_chain(tmpl)
        start, end = tmpl[0], superpose(tmpl[-1], tmpl[0])
    else:
        xyz0, t0, _ = train.arrays()
        start, end = xyz0[np.argmin(t0)], superpose(xyz0[np.argmax(t0)], xyz0[np.argmin(t0)])
    xyz, tr, _ = train.arrays()
    out["medoid_path"] = template_frames(xyz, tr, len(t))
    out["linear_interpolation"] = np.stack([(1 - s) * start + s * end for s in t])
    return out


def heldout_replica_path(heldout: ReferenceSet, t: np.ndarray, index: int = 0) -> np.ndarray:
    """Replica ``index`` of the held-out set at ``t`` (the nearest frame to each t): (F, n_atoms, 3) A."""
    labels = heldout.labels(index)
    return np.stack([heldout.frames[index][int(np.argmin(np.abs(labels - v)))] for v in t])


def heldout_half_metrics(heldout: ReferenceSet, system: MolecularSystem) -> dict[str, float]:
    """Half of the held-out replicas against the other half: spread ratio, precision, coverage, JSD."""
    n = heldout.n_trajectories
    a, b = heldout.subset(range(n // 2)), heldout.subset(range(n // 2, n))
    ax, at, aw = a.arrays()
    bx, bt, bw = b.arrays()
    dist = ensemble_scores(ax, at, aw, bx, bt, bw, heavy_atoms(mdtraj_topology(system)))
    return {
        "n_replicas": [a.n_trajectories, b.n_trajectories],
        "spread_ratio_median": dist["spread_ratio_median"],
        "precision": dist["precision"],
        "coverage": dist["coverage"],
        "jsd_phi_psi_bits": jsd_phi_psi(ax, bx, system),
    }


def evaluate(
    gan: GAN,
    t: np.ndarray,
    paths: np.ndarray,
    train: ReferenceSet,
    heldout: ReferenceSet,
    system: MolecularSystem,
    heldout_energies: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """``generated`` and every baseline's metrics on the held-out replicas (see the module docstring).

    ``heldout_energies``: OpenMM's energies by force of the held-out frames (computed when not given).
    """
    s = len(paths)
    if heldout_energies is None:
        heldout_energies = OpenMMEvaluator(system.system).energies(heldout.arrays()[0])
    result: dict[str, Any] = {
        "heldout_replicas": list(heldout.sources),
        "training_replicas": list(train.sources),
        "generated": ensemble_metrics(t, paths, heldout, system, heldout_energies),
    }
    baselines: dict[str, Any] = {}
    for name, path in baseline_paths(gan, train, heldout, t).items():
        baselines[name] = ensemble_metrics(
            t, np.repeat(path[None], s, axis=0), heldout, system, heldout_energies
        )
    if heldout.n_trajectories >= 2:
        others = heldout.subset(range(1, heldout.n_trajectories))
        single = heldout_replica_path(heldout, t, 0)
        baselines["heldout_replica"] = ensemble_metrics(t, single[None], others, system)
        baselines["heldout_half"] = heldout_half_metrics(heldout, system)
    result["baselines"] = baselines
    return result


def training_split(
    train_dir: str | os.PathLike, system: MolecularSystem, stride: int = 1
) -> tuple[ReferenceSet, ReferenceSet]:
    """The training and held-out replicas a model was trained with (its ``config.json``), every ``stride``-th frame."""
    path = Path(train_dir) / "config.json"
    if not path.exists():
        raise PathganInputError(f"{train_dir}: no config.json naming the training and validation replicas")
    meta = json.loads(path.read_text())
    if not meta.get("validation"):
        raise PathganInputError(
            f"{path}: the model held out no replicas (validation_fraction 0, or a single trajectory); "
            "there is nothing to judge it on"
        )
    return (
        ReferenceSet.from_files(meta["train"], system, stride),
        ReferenceSet.from_files(meta["validation"], system, stride),
    )
