"""Generated paths: frames at evenly spaced t from a trained generator, written as DCD + PDB + JSON/npz.

A path folder (``pathgan generate --out DIR``)::

    DIR/path.pdb       frame 0 (topology for the DCDs)
    DIR/path.dcd       the path: n_frames frames at t = 0, 1/(n-1), ..., 1 (sample 0)
    DIR/ensemble.dcd   with --samples S > 1: S paths, one after the other (sample-major)
    DIR/path.npz       t (n_frames,), xyz (S, n_frames, n_atoms, 3) Angstrom, energy_<term> (S, n_frames)
    DIR/path.json      t, energies by term (kcal/mol) of sample 0, the generator's provenance

Frames are superposed on their predecessor (rigid-body motion removed), which changes no
energy.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from openmm_bridge.errors import PathganInputError
from openmm_bridge.fileio import atomic_directory
from openmm_bridge.provenance import versions
from openmm_bridge.superpose import align_chain
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import frames_angstrom, load_frames, mdtraj_topology, write_trajectory

if TYPE_CHECKING:
    from .gan import GAN


@dataclass
class GeneratedPath:
    """Frames of one or more generated paths (Angstrom) with their TorchMD energies (kcal/mol)."""

    t: np.ndarray  # (n_frames,)
    xyz: np.ndarray  # (n_samples, n_frames, n_atoms, 3)
    energies: dict[str, np.ndarray]  # term -> (n_samples, n_frames)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        """Frames per path."""
        return len(self.t)


@torch.no_grad()
def generate_path(gan: GAN, n_frames: int = 20, n_samples: int = 1, seed: int = 0) -> GeneratedPath:
    """``n_samples`` paths of ``n_frames`` frames at evenly spaced t in [0, 1], energies by term.

    One batched generator call and one batched potential call for all frames.
    """
    if n_frames < 2:
        raise PathganInputError(f"a path needs at least 2 frames, got {n_frames}")
    if n_samples < 1:
        raise PathganInputError(f"the number of samples must be positive, got {n_samples}")
    t = torch.linspace(0.0, 1.0, n_frames, dtype=torch.float64)
    tt = t.repeat(n_samples)
    rng = torch.Generator().manual_seed(seed)
    xyz = gan.generate(tt, rng)
    energies = gan.potential(xyz, tt.to(xyz.dtype).to(xyz.device))
    xyz_np = xyz.double().cpu().numpy().reshape(n_samples, n_frames, -1, 3)
    xyz_np = np.stack([align_chain(s - s[0].mean(axis=0)) for s in xyz_np])  # first frame centred
    e = {k: v.double().cpu().numpy().reshape(n_samples, n_frames) for k, v in energies.items()}
    return GeneratedPath(t.numpy(), xyz_np, e, {"seed": seed, "n_samples": n_samples})


def write_path(
    path: GeneratedPath, system: MolecularSystem, out: str | os.PathLike, provenance: dict
) -> Path:
    """Write a path folder (atomically); see the module docstring."""
    top = mdtraj_topology(system)
    out = Path(out)
    with atomic_directory(out) as tmp:
        write_trajectory(path.xyz[0, :1], top, tmp / "path.pdb")
        write_trajectory(path.xyz[0], top, tmp / "path.dcd")
        if path.xyz.shape[0] > 1:
            write_trajectory(path.xyz.reshape(-1, *path.xyz.shape[2:]), top, tmp / "ensemble.dcd")
        np.savez_compressed(
            tmp / "path.npz", t=path.t, xyz=path.xyz, **{f"energy_{k}": v for k, v in path.energies.items()}
        )
        meta = {
            "format": "pathgan-path-1",
            "n_frames": path.n_frames,
            "n_samples": int(path.xyz.shape[0]),
            "t": path.t.tolist(),
            "energies_kcal_mol": {k: v[0].round(4).tolist() for k, v in path.energies.items()},
            "units": {"coordinates": "angstrom", "energy": "kcal/mol"},
            "system": system.source,
            **path.metadata,
            "provenance": provenance,
            "versions": versions(),
        }
        (tmp / "path.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def path_frames(path: str | os.PathLike, system: MolecularSystem) -> np.ndarray:
    """Frames (n_frames, n_atoms, 3) Angstrom of a path folder or any trajectory, atoms checked."""
    return load_path(path, system)[1]


def load_path(folder_or_file: str | os.PathLike, system: MolecularSystem) -> tuple[np.ndarray, np.ndarray]:
    """t (n_frames,) and frames (n_frames, n_atoms, 3) Angstrom of a path.

    A pathgan path folder gives its own t; any other trajectory mdtraj reads (atoms
    checked against ``system``) gets t evenly spaced over its frames.
    """
    p = Path(folder_or_file)
    if p.is_dir():
        if not (p / "path.json").exists():
            raise PathganInputError(f"{p}: not a path folder (no path.json)")
        meta = json.loads((p / "path.json").read_text())
        traj = load_frames(p / "path.dcd", system)
        t = np.asarray(meta["t"], dtype=np.float64)
        if len(t) != traj.n_frames:
            raise PathganInputError(f"{p}: path.json has {len(t)} t values, path.dcd {traj.n_frames} frames")
    else:
        traj = load_frames(p, system)
        if traj.n_frames < 2:
            raise PathganInputError(f"{p}: a path needs at least 2 frames, got {traj.n_frames}")
        t = np.linspace(0.0, 1.0, traj.n_frames)
    return t, frames_angstrom(traj)
