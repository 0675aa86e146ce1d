"""Training data from reference trajectories: frames with a progress label t, split by replica.

A reference set is a list of trajectories (one per steered-MD replica, or any files
mdtraj reads with the system's topology). Each is downsampled by ``stride``, centred
on its centre of mass frame by frame, and labelled with progress
``t = frame index / (frames - 1)`` along its own trajectory. Validation replicas are
held out whole (never single frames of a replica used for training), so the
validation score measures generalisation to unseen pulls. Random rotations are
drawn per sample, on the fly, as augmentation.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from openmm_bridge.errors import PathganInputError
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import frames_angstrom, load_frames


def centre_on_mass(xyz_angstrom: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Frames (n_frames, n_atoms, 3) moved so that each one's centre of mass is at the origin."""
    m = np.asarray(masses, dtype=np.float64)[None, :, None]
    com = (xyz_angstrom * m).sum(axis=1, keepdims=True) / m.sum()
    return xyz_angstrom - com


def random_rotations(
    n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """``n`` rotation matrices (n, 3, 3), uniform over SO(3) (unit quaternions from a 4D normal)."""
    q = torch.randn(n, 4, generator=generator, dtype=dtype)
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(dim=1)
    return torch.stack(
        [
            torch.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], dim=1),
            torch.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], dim=1),
            torch.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], dim=1),
        ],
        dim=1,
    )


@dataclass
class ReferenceSet:
    """Reference trajectories of one system, centred, with progress labels.

    Attributes
    ----------
    frames
        One array per trajectory, (n_frames_r, n_atoms, 3), Angstrom, centre of mass at 0.
    sources
        Where each trajectory came from.
    masses
        (n_atoms,) atomic masses, Dalton.
    """

    frames: list[np.ndarray]
    sources: list[str]
    masses: np.ndarray

    @classmethod
    def from_files(
        cls, paths: Sequence[str | os.PathLike], system: MolecularSystem, stride: int = 1
    ) -> ReferenceSet:
        """Trajectories from files (any format mdtraj reads), atoms checked against ``system``."""
        if stride <= 0:
            raise PathganInputError(f"stride must be positive, got {stride}")
        if not paths:
            raise PathganInputError("no reference trajectories given")
        masses = np.array([a.element.mass._value for a in system.topology.atoms()])
        frames, sources = [], []
        for p in paths:
            traj = load_frames(p, system)[::stride]
            if traj.n_frames < 2:
                raise PathganInputError(
                    f"{p}: {traj.n_frames} frame(s) after stride {stride}; need at least 2"
                )
            frames.append(centre_on_mass(frames_angstrom(traj), masses))
            sources.append(str(p))
        return cls(frames, sources, masses)

    @classmethod
    def from_smd(
        cls, smd_dir: str | os.PathLike, system: MolecularSystem | None = None, stride: int = 1
    ) -> ReferenceSet:
        """The finished replicas of a ``pathgan smd`` folder (system: the one the pull used)."""
        from openmm_bridge.pull_folder import TRAJECTORY, finished_replicas, read_manifest

        smd_dir = Path(smd_dir)
        if system is None:
            system = MolecularSystem.load(read_manifest(smd_dir)["system"])
        reps = finished_replicas(smd_dir)
        if not reps:
            raise PathganInputError(f"{smd_dir}: no finished replicas")
        return cls.from_files([r / TRAJECTORY for r in reps], system, stride)

    @property
    def n_trajectories(self) -> int:
        """Number of trajectories (replicas)."""
        return len(self.frames)

    def labels(self, index: int) -> np.ndarray:
        """Progress t of each frame of trajectory ``index``: frame / (frames - 1), in [0, 1]."""
        n = len(self.frames[index])
        return np.arange(n, dtype=np.float64) / (n - 1)

    def split(self, validation_fraction: float = 0.2, seed: int = 0) -> tuple[ReferenceSet, ReferenceSet]:
        """Training and validation sets, split by whole trajectories (at least one in each).

        With a single trajectory there is nothing to hold out: an error says so.
        """
        if not 0.0 < validation_fraction < 1.0:
            raise PathganInputError(f"validation fraction must be in (0, 1), got {validation_fraction}")
        n = self.n_trajectories
        if n < 2:
            raise PathganInputError(
                "a train/validation split needs at least 2 trajectories (split by replica)"
            )
        n_val = min(max(int(round(validation_fraction * n)), 1), n - 1)
        order = np.random.default_rng(seed).permutation(n)
        val, train = sorted(order[:n_val]), sorted(order[n_val:])
        return self.subset(train), self.subset(val)

    def subset(self, indices: Sequence[int]) -> ReferenceSet:
        """The trajectories ``indices``."""
        return ReferenceSet(
            [self.frames[i] for i in indices], [self.sources[i] for i in indices], self.masses
        )

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All frames (n, n_atoms, 3) Angstrom, their t (n,), and their trajectory index (n,)."""
        xyz = np.concatenate(self.frames)
        t = np.concatenate([self.labels(i) for i in range(self.n_trajectories)])
        which = np.concatenate([np.full(len(f), i) for i, f in enumerate(self.frames)])
        return xyz, t, which


class FrameDataset(torch.utils.data.Dataset):
    """(t, coordinates) pairs of a :class:`ReferenceSet`, randomly rotated if ``augment``.

    Items: ``t`` as a 0-d tensor and coordinates (n_atoms, 3) in Angstrom, centred.
    With ``augment``, each access draws a fresh uniform rotation from ``seed``'s stream.
    """

    def __init__(
        self, reference: ReferenceSet, augment: bool = True, seed: int = 0, dtype: torch.dtype = torch.float32
    ) -> None:
        xyz, t, which = reference.arrays()
        self.xyz = torch.as_tensor(xyz, dtype=dtype)
        self.t = torch.as_tensor(t, dtype=dtype)
        self.trajectory = torch.as_tensor(which)
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.xyz.shape[0]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.xyz[index]
        if self.augment:
            rot = random_rotations(1, self.generator, dtype=x.dtype)[0]
            x = x @ rot.T
        return self.t[index], x
