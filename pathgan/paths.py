"""Generated paths: frames at evenly spaced t from a trained generator, written as DCD + PDB + JSON/npz.

A path folder (``pathgan generate --out DIR``)::

    DIR/path.pdb       frame 0 (topology for the DCDs)
    DIR/path.dcd       the best candidate: n_frames frames at t = 0, 1/(n-1), ..., 1
    DIR/ensemble.dcd   with --samples S > 1: all S candidates, one after the other (sample-major)
    DIR/ranking.csv    rank, sample, score (the highest TorchMD energy along the path, kcal/mol)
    DIR/path.npz       t (n_frames,), xyz (S, n_frames, n_atoms, 3) Angstrom, energy_<term> (S, n_frames)
    DIR/path.json      t, energies by term (kcal/mol) of the best candidate, the ranking, provenance

Frames are superposed on their predecessor (rigid-body motion removed), which changes no
energy.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
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

from .relax import DEFAULT_RELAX, ChiralityGuard, RelaxSettings
from .relax import relax as relax_structures

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

    @property
    def scores(self) -> np.ndarray:
        """Each candidate's highest potential energy along t, restraint left out: (n_samples,) kcal/mol."""
        profile = self.energies["total"] - self.energies.get("restraint", 0.0)
        return profile.max(axis=1)

    @property
    def ranking(self) -> np.ndarray:
        """Candidate indices, lowest score first."""
        return np.argsort(self.scores, kind="stable")


@torch.no_grad()
def generate_path(
    gan: GAN,
    n_frames: int = 20,
    n_samples: int = 1,
    seed: int = 0,
    relax: RelaxSettings | None = DEFAULT_RELAX,
    truncation: float = 1.0,
) -> GeneratedPath:
    """``n_samples`` paths of ``n_frames`` frames at evenly spaced t in [0, 1], energies by term.

    Each path is one draw of the noise, the same at every t (a smooth path), relaxed in the
    TorchMD potential (:mod:`.relax`; ``relax=None``: the generator's raw output). One batched
    generator call, one batched relaxation and one batched potential call for all frames.
    Every candidate is scored by its highest potential energy along t (restraint left out):
    ``GeneratedPath.scores`` and ``ranking`` (best first). ``truncation`` < 1 draws the noise
    closer to its mean (:meth:`GAN.generate_paths`): higher precision, lower coverage and spread.
    """
    if n_frames < 2:
        raise PathganInputError(f"a path needs at least 2 frames, got {n_frames}")
    if n_samples < 1:
        raise PathganInputError(f"the number of samples must be positive, got {n_samples}")
    t = torch.linspace(0.0, 1.0, n_frames, dtype=torch.float64)
    tt = t.repeat(n_samples)
    rng = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        xyz = gan.generate_paths(t, n_samples, rng, truncation).reshape(n_samples * n_frames, -1, 3)
    t_dev = tt.to(xyz.dtype).to(xyz.device)
    if relax is not None:
        xyz = relax_structures(gan.potential, xyz, t_dev, relax, ChiralityGuard.of_system(gan.system, relax))
    with torch.no_grad():
        energies = gan.potential(xyz, t_dev)
    xyz_np = xyz.double().cpu().numpy().reshape(n_samples, n_frames, -1, 3)
    xyz_np = np.stack([align_chain(s - s[0].mean(axis=0)) for s in xyz_np])  # first frame centred
    e = {k: v.double().cpu().numpy().reshape(n_samples, n_frames) for k, v in energies.items()}
    meta = {
        "seed": seed,
        "n_samples": n_samples,
        "truncation": truncation,
        "relax": None if relax is None else asdict(relax),
    }
    return GeneratedPath(t.numpy(), xyz_np, e, meta)


def write_path(
    path: GeneratedPath, system: MolecularSystem, out: str | os.PathLike, provenance: dict
) -> Path:
    """Write a path folder (atomically); see the module docstring."""
    top = mdtraj_topology(system)
    out = Path(out)
    best = int(path.ranking[0])
    with atomic_directory(out) as tmp:
        write_trajectory(path.xyz[best, :1], top, tmp / "path.pdb")
        write_trajectory(path.xyz[best], top, tmp / "path.dcd")
        rows = ["rank,sample,score_kcal_mol"] + [
            f"{r + 1},{int(k)},{path.scores[k]:.4f}" for r, k in enumerate(path.ranking)
        ]
        (tmp / "ranking.csv").write_text("\n".join(rows) + "\n")
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
            "best_sample": best,
            "ranking": [int(k) for k in path.ranking],
            "scores_kcal_mol": [round(float(v), 4) for v in path.scores],
            "score": "highest TorchMD potential energy along the path, restraint left out",
            "energies_kcal_mol": {k: v[best].round(4).tolist() for k, v in path.energies.items()},
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
        t = np.asarray(meta["t"], dtype=np.float64)  # path.dcd: the best candidate
        if len(t) != traj.n_frames:
            raise PathganInputError(f"{p}: path.json has {len(t)} t values, path.dcd {traj.n_frames} frames")
    else:
        traj = load_frames(p, system)
        if traj.n_frames < 2:
            raise PathganInputError(f"{p}: a path needs at least 2 frames, got {traj.n_frames}")
        t = np.linspace(0.0, 1.0, traj.n_frames)
    return t, frames_angstrom(traj)


def load_candidates(
    folder: str | os.PathLike, system: MolecularSystem
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """t (F,), every candidate (S, F, n_atoms, 3) Angstrom and the ranking (best first) of a path folder."""
    p = Path(folder)
    if not (p / "path.json").exists():
        raise PathganInputError(f"{p}: not a path folder (no path.json)")
    meta = json.loads((p / "path.json").read_text())
    t = np.asarray(meta["t"], dtype=np.float64)
    source = p / ("ensemble.dcd" if meta["n_samples"] > 1 else "path.dcd")
    xyz = frames_angstrom(load_frames(source, system)).reshape(meta["n_samples"], len(t), -1, 3)
    return t, xyz, list(meta.get("ranking", range(meta["n_samples"])))
