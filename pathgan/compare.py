"""Judging a path against reference trajectories (the paper's Figure 2, and physical checks).

For every generated frame: heavy-atom RMSD (after optimal superposition) to every reference
frame; the best-matching reference frame and the Spearman correlation of its t with the
generated t; the RMSD to the reference frames at the same t; DSSP helix fraction,
end-to-end distance, the pulled coordinate (the reference pulls' protocol: a distance, a
torsion or an RMSD; the progress measure of the plots), bond-length RMS deviation from the force field's equilibrium lengths,
the closest non-bonded contact (atoms more than two bonds apart) and OpenMM's energy by
force, each beside the reference's mean at the same t; and the stereocentres each frame
inverts relative to the system's structure (no force-field term forbids an inversion, so a
low energy does not rule one out).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import mdtraj as md
import numpy as np
import openmm as mm
from scipy.stats import spearmanr

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.fileio import atomic_file
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.stereochemistry import chirality_changes
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology
from openmm_bridge.units import angstrom_to_nm, nm_to_angstrom

from .data import ReferenceSet
from .ensemble_metrics import rmsd_matrix
from .metrics import end_to_end_distance_angstrom, helix_fraction
from .restraint import coordinate_values, reference_pull


def _traj(xyz_angstrom: np.ndarray, top: md.Topology) -> md.Trajectory:
    return md.Trajectory(angstrom_to_nm(np.asarray(xyz_angstrom)).astype(np.float32), top)


def heavy_atoms(top: md.Topology) -> np.ndarray:
    """Indices of the non-hydrogen atoms."""
    return np.array([a.index for a in top.atoms if a.element.symbol != "H"])


def bond_rms_deviation(xyz_angstrom: np.ndarray, system: mm.System) -> np.ndarray:
    """RMS deviation (A) of bond lengths from the first HarmonicBondForce's r0, per frame."""
    force = next(f for f in system.getForces() if isinstance(f, mm.HarmonicBondForce))
    pairs, r0 = [], []
    for k in range(force.getNumBonds()):
        i, j, length, _ = force.getBondParameters(k)
        pairs.append((i, j))
        r0.append(nm_to_angstrom(length._value if hasattr(length, "_value") else length))
    p = np.asarray(pairs)
    r = np.linalg.norm(xyz_angstrom[:, p[:, 0]] - xyz_angstrom[:, p[:, 1]], axis=-1)
    return np.sqrt(((r - np.asarray(r0)) ** 2).mean(axis=1))


def nonbonded_pairs(top: md.Topology) -> np.ndarray:
    """Atom pairs more than two bonds apart (not 1-2, not 1-3), (n_pairs, 2)."""
    n = top.n_atoms
    adj = [set() for _ in range(n)]
    for b in top.bonds:
        adj[b.atom1.index].add(b.atom2.index)
        adj[b.atom2.index].add(b.atom1.index)
    close = [set(a) | {k for j in a for k in adj[j]} for a in adj]
    return np.array([(i, j) for i in range(n) for j in range(i + 1, n) if j not in close[i]])


def closest_contact(xyz_angstrom: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Shortest distance (A) over ``pairs`` in each frame."""
    return np.linalg.norm(xyz_angstrom[:, pairs[:, 0]] - xyz_angstrom[:, pairs[:, 1]], axis=-1).min(axis=1)


def _same_t_index(ref_t: np.ndarray, t: float) -> int:
    return int(np.argmin(np.abs(ref_t - t)))


def compare_path(
    t: np.ndarray,
    xyz_angstrom: np.ndarray,
    reference: ReferenceSet,
    system: MolecularSystem,
    platform: str = "Reference",
    reference_energies: dict[str, np.ndarray] | None = None,
    pull: PullProtocol | None = None,
) -> dict[str, Any]:
    """All metrics of a path (t (n,), frames (n, n_atoms, 3) A) against ``reference``.

    ``reference_energies``: OpenMM's energies by force of the reference frames (as
    ``OpenMMEvaluator.energies`` gives them), to reuse when several paths are compared with
    the same reference; computed here when not given. ``pull``: the protocol whose coordinate
    is the progress measure (default: the reference pulls' own, from their ``smd.json``, or
    the CA(1)-CA(N) distance).

    Returns a dict: ``summary`` (scalars, units in the key names), ``per_frame`` (lists),
    ``coordinate`` (label and unit of the progress measure) and ``arrays`` (the RMSD matrix
    and friends, for plots; not JSON).
    """
    top = mdtraj_topology(system)
    heavy = heavy_atoms(top)
    gen = _traj(xyz_angstrom, top)
    ref_xyz, ref_t, ref_which = reference.arrays()
    ref = _traj(ref_xyz, top)
    rmsd = rmsd_matrix(np.asarray(xyz_angstrom)[:, heavy], ref_xyz[:, heavy])  # (n_gen, n_ref)

    # best match over all reference frames, and its progress
    best = rmsd.argmin(axis=1)
    best_t = ref_t[best]
    # undefined (NaN) when every frame matches the same reference t (a collapsed generator)
    rho = float(spearmanr(t, best_t).statistic) if len(t) > 2 and np.ptp(best_t) > 0 else float("nan")
    # RMSD to the reference frames at the same t (one per replica)
    same_t_rmsd, same_t_idx = [], []
    for i, ti in enumerate(t):
        idx = [
            np.flatnonzero(ref_which == r)[_same_t_index(reference.labels(r), ti)]
            for r in range(reference.n_trajectories)
        ]
        same_t_idx.append(idx)
        same_t_rmsd.append(rmsd[i, idx])
    same_t_rmsd = np.asarray(same_t_rmsd)  # (n_gen, n_replicas)

    # structure and energy, generated and reference at the same t
    helix = helix_fraction(gen)
    ref_helix = helix_fraction(ref)
    ca = top.select("name CA")
    pair = (int(ca[0]), int(ca[-1]))
    e2e = end_to_end_distance_angstrom(gen, pair)
    ref_e2e = end_to_end_distance_angstrom(ref, pair)
    bonds = bond_rms_deviation(xyz_angstrom, system.system)
    contacts = closest_contact(xyz_angstrom, nonbonded_pairs(top))
    evaluator = OpenMMEvaluator(system.system, platform)
    e_gen = evaluator.energies(xyz_angstrom)
    e_ref = reference_energies if reference_energies is not None else evaluator.energies(ref_xyz)

    def at_same_t(values: np.ndarray) -> np.ndarray:
        return np.array([values[idx].mean() for idx in same_t_idx])

    ref_energy_same_t = at_same_t(e_ref["total"])
    excess = e_gen["total"] - ref_energy_same_t
    e2e_ref_same_t = at_same_t(ref_e2e)
    # the pulled coordinate (torsions unwrapped onto the protocol's centre line)
    pull = pull or reference_pull(reference) or PullProtocol()
    coordinate = pull.resolve_coordinate(system)
    cv = coordinate_values(pull, system, xyz_angstrom, t)
    cv_ref_same_t = at_same_t(coordinate_values(pull, system, ref_xyz, ref_t))
    # stereocentres whose configuration differs from the system's own structure
    centre_labels, inverted = chirality_changes(system.topology, xyz_angstrom, system.positions_angstrom())
    _, ref_inverted = chirality_changes(system.topology, ref_xyz, system.positions_angstrom())
    start = np.flatnonzero(ref_t == 0.0)
    rmsd_start = float(rmsd[0, start].mean()) if start.size else float("nan")
    summary = {
        "n_frames": int(len(t)),
        "n_reference_frames": int(len(ref_t)),
        "n_reference_trajectories": int(reference.n_trajectories),
        "t0_helix_fraction": float(helix[0]),
        "t0_rmsd_to_reference_start_angstrom": rmsd_start,
        "helix_fraction_mean": float(helix.mean()),
        "median_rmsd_same_t_angstrom": float(np.median(same_t_rmsd.min(axis=1))),
        "median_rmsd_same_t_mean_angstrom": float(np.median(same_t_rmsd.mean(axis=1))),
        "max_rmsd_same_t_angstrom": float(same_t_rmsd.min(axis=1).max()),
        "median_rmsd_nearest_any_angstrom": float(np.median(rmsd.min(axis=1))),
        "spearman_best_match_vs_t": rho,
        "max_end_to_end_deviation_angstrom": float(np.abs(e2e - e2e_ref_same_t).max()),
        f"max_coordinate_deviation_{'deg' if coordinate.unit == 'deg' else 'angstrom'}": float(
            np.abs(cv - cv_ref_same_t).max()
        ),
        "max_bond_rms_deviation_angstrom": float(bonds.max()),
        "min_nonbonded_distance_angstrom": float(contacts.min()),
        "median_energy_excess_kcal_mol": float(np.median(excess)),
        "max_energy_excess_kcal_mol": float(excess.max()),
        "frames_with_inverted_centres": int(inverted.any(axis=1).sum()),
        "reference_frames_with_inverted_centres": int(ref_inverted.any(axis=1).sum()),
        "reference_bond_rms_deviation_angstrom": float(
            bond_rms_deviation(ref_xyz[:: max(len(ref_xyz) // 200, 1)], system.system).mean()
        ),
    }
    per_frame = {
        "t": [float(v) for v in t],
        "best_match_t": best_t.tolist(),
        "rmsd_same_t_min_angstrom": same_t_rmsd.min(axis=1).tolist(),
        "rmsd_same_t_mean_angstrom": same_t_rmsd.mean(axis=1).tolist(),
        "rmsd_nearest_any_angstrom": rmsd.min(axis=1).tolist(),
        "helix_fraction": helix.tolist(),
        "reference_helix_fraction_same_t": at_same_t(ref_helix).tolist(),
        "end_to_end_angstrom": e2e.tolist(),
        "reference_end_to_end_same_t_angstrom": e2e_ref_same_t.tolist(),
        "coordinate": cv.tolist(),
        "reference_coordinate_same_t": cv_ref_same_t.tolist(),
        "bond_rms_deviation_angstrom": bonds.tolist(),
        "closest_nonbonded_angstrom": contacts.tolist(),
        "openmm_energy_kcal_mol": {k: v.tolist() for k, v in e_gen.items()},
        "reference_openmm_energy_same_t_kcal_mol": {k: at_same_t(v).tolist() for k, v in e_ref.items()},
        "energy_excess_kcal_mol": excess.tolist(),
        "inverted_centres": [[centre_labels[c] for c in np.flatnonzero(row)] for row in inverted],
    }
    arrays = {"rmsd": rmsd, "ref_t": ref_t, "ref_which": ref_which}
    about = {"label": coordinate.label, "unit": coordinate.unit, "kind": coordinate.kind}
    return {"summary": summary, "per_frame": per_frame, "coordinate": about, "arrays": arrays}


def write_comparison(result: dict[str, Any], out: str | os.PathLike, provenance: dict) -> Path:
    """``metrics.json`` (summary + per frame + provenance) and the plots, in ``out``."""
    from .figures import plot_profiles, plot_rmsd

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "metrics.json") as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "summary": result["summary"],
                    "per_frame": result["per_frame"],
                    "coordinate": result.get("coordinate"),
                    "provenance": provenance,
                },
                indent=2,
            )
            + "\n"
        )
    plot_rmsd(result, out)
    plot_profiles(result, out)
    return out / "metrics.json"
