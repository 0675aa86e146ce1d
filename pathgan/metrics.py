"""Structural metrics of frames: secondary structure and end-to-end distance."""

from __future__ import annotations

import mdtraj as md
import numpy as np

from openmm_bridge.units import nm_to_angstrom


def dssp_codes(traj: md.Trajectory) -> np.ndarray:
    """Simplified DSSP code ('H', 'E', 'C', or 'NA' for non-protein residues), shape (n_frames, n_residues)."""
    return md.compute_dssp(traj, simplified=True)


def helix_residue_count(traj: md.Trajectory) -> np.ndarray:
    """Number of residues with DSSP helix ('H') in each frame, shape (n_frames,)."""
    return (dssp_codes(traj) == "H").sum(axis=1)


def helix_fraction(traj: md.Trajectory) -> np.ndarray:
    """Fraction of protein residues (caps excluded) with DSSP helix, shape (n_frames,)."""
    codes = dssp_codes(traj)
    protein = codes[0] != "NA"
    return (codes[:, protein] == "H").mean(axis=1)


def end_to_end_distance_angstrom(traj: md.Trajectory, atoms: tuple[int, int] | None = None) -> np.ndarray:
    """Distance between two atoms (default: first and last CA), shape (n_frames,), Angstrom."""
    if atoms is None:
        ca = traj.topology.select("name CA")
        atoms = (int(ca[0]), int(ca[-1]))
    return nm_to_angstrom(md.compute_distances(traj, [atoms])[:, 0])
