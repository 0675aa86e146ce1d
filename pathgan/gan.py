"""The GAN of one system: generator, discriminator, torsions, potential and restraint, and its files.

A :class:`GAN` is built for a :class:`~openmm_bridge.system.MolecularSystem`, a
:class:`~pathgan.config.TrainingConfig` and the :class:`~openmm_bridge.protocol.PullProtocol`
of the reference pulls (whose moving restraint the energy loss applies). ``GAN.state()`` /
``GAN.from_state`` are its serialisation (``model.pt``, checkpoints), checked against the
system's atoms (:func:`system_fingerprint`) so that a model is never used on another molecule.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from openmm_bridge.distances import centroid_distance
from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.provenance import versions
from openmm_bridge.superpose import superpose
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology

from .config import TrainingConfig
from .data import ReferenceSet
from .model import Discriminator, Generator, noise_modes, template_frames
from .potential import TorchMDPotential
from .restraint import coordinate_values, pull_restraint
from .tables import bin_by_t
from .torsions import TorsionSet

#: Format of ``model.pt`` (2: the pull is a full PullProtocol; models of format 1 described D-peptides).
MODEL_FORMAT = "pathgan-model-2"
MODEL = "model.pt"

__all__ = ["GAN", "MODEL", "load_model", "system_fingerprint"]


def system_fingerprint(system: MolecularSystem) -> dict[str, Any]:
    """What a model must match: atom count, names, elements and residues."""
    atoms = list(system.topology.atoms())
    return {
        "n_atoms": len(atoms),
        "atoms": [f"{a.residue.name}{a.residue.index + 1}:{a.name}" for a in atoms],
        "source": system.source,
    }


def check_fingerprint(saved: dict[str, Any], system: MolecularSystem, where: str) -> None:
    """Raise :class:`PathganInputError` unless ``system`` is the one the model was trained on."""
    ours = system_fingerprint(system)
    if saved["n_atoms"] != ours["n_atoms"]:
        raise PathganInputError(
            f"{where}: the model is for a system of {saved['n_atoms']} atoms ({saved['source']}), "
            f"this system has {ours['n_atoms']} ({ours['source']})"
        )
    diff = [k for k, (a, b) in enumerate(zip(saved["atoms"], ours["atoms"], strict=True)) if a != b]
    if diff:
        k = diff[0]
        raise PathganInputError(
            f"{where}: atom {k} is {saved['atoms'][k]} in the model's system but {ours['atoms'][k]} here "
            f"({len(diff)} atoms differ)"
        )


def reference_distance_table(
    reference: ReferenceSet, group_a: list[int], group_b: list[int], n_points: int = 51
) -> np.ndarray:
    """Mean pulled distance (A) of the reference frames at ``n_points`` evenly spaced t."""
    xyz, t, _ = reference.arrays()
    d = centroid_distance(xyz, group_a, group_b)
    return np.array([d[idx].mean() for idx in bin_by_t(t, n_points)])


def reference_coordinate_table(
    reference: ReferenceSet, pull: PullProtocol, system: MolecularSystem, n_points: int = 51
) -> np.ndarray:
    """Mean pulled coordinate (A or deg, torsions unwrapped) of the reference frames at ``n_points`` t."""
    xyz, t, _ = reference.arrays()
    v = coordinate_values(pull, system, xyz, t)
    return np.array([v[idx].mean() for idx in bin_by_t(t, n_points)])


class GAN:
    """Generator, discriminator, torsions, potential and restraint of one system and configuration."""

    def __init__(
        self,
        system: MolecularSystem,
        config: TrainingConfig,
        pull: PullProtocol,
        template: np.ndarray | None = None,
        mean_structure: np.ndarray | None = None,
        centre_table: np.ndarray | None = None,
        modes: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.system, self.config = system, config
        self.pull = pull.with_groups(system)
        self.dtype = getattr(torch, config.dtype)
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise PathganInputError("device 'cuda' was asked for, but torch sees no CUDA device")
        m = config.model
        torch.manual_seed(config.seed)  # initial weights
        self.torsions = TorsionSet.from_topology(mdtraj_topology(system))
        self.generator = Generator(
            system.n_atoms,
            m.noise_dim,
            m.hidden,
            m.activation,
            m.t_frequencies,
            template=None if template is None else torch.as_tensor(template, dtype=self.dtype),
            mean_structure=None
            if mean_structure is None
            else torch.as_tensor(mean_structure, dtype=self.dtype),
            modes=None
            if modes is None
            else (*(torch.as_tensor(a, dtype=self.dtype) for a in modes), m.noise_scale),
        ).to(self.device, self.dtype)
        self.discriminator = Discriminator(
            len(self.torsions), m.disc_hidden, m.disc_activation, m.disc_t_frequencies, m.torsion_features
        ).to(self.device, self.dtype)
        self.centre_table = centre_table
        self.restraint = pull_restraint(
            self.pull, system, None if centre_table is None else list(centre_table)
        )
        self.potential = TorchMDPotential.from_system(
            system, restraint=self.restraint, dtype=self.dtype, device=self.device
        )

    @classmethod
    def for_reference(
        cls, system: MolecularSystem, config: TrainingConfig, pull: PullProtocol, train: ReferenceSet
    ) -> GAN:
        """Build the models of ``config`` with what they take from the training frames."""
        xyz, t, _ = train.arrays()
        template = mean = table = modes = None
        if config.model.template_bins:
            template = template_frames(xyz, t, config.model.template_bins, seed=config.seed)
            if config.model.noise_modes:
                modes = noise_modes(xyz, t, template, config.model.noise_modes, config.model.noise_bins)
        else:
            mean = _mean_structure(xyz)
        if config.restraint_target == "reference":
            pull = pull.with_groups(system)
            if pull.coordinate is None:
                table = reference_distance_table(train, pull.group_a, pull.group_b)
            else:
                table = reference_coordinate_table(train, pull, system)
        return cls(system, config, pull, template, mean, table, modes)

    def angles(self, pos: torch.Tensor) -> torch.Tensor:
        """Torsions (batch, n_torsions), radians."""
        return self.torsions.angles(pos)

    def generate(self, t: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Structures at ``t`` (batch,): (batch, n_atoms, 3) Angstrom, with fresh noise for each."""
        z = self.generator.sample_noise(t.shape[0], generator).to(self.device, self.dtype)
        return self.generator(t.to(self.device, self.dtype), z)

    def generate_paths(
        self,
        t: torch.Tensor,
        n_paths: int,
        generator: torch.Generator | None = None,
        truncation: float = 1.0,
    ) -> torch.Tensor:
        """``n_paths`` paths at ``t`` (n_t,), one noise vector each: (n_paths, n_t, n_atoms, 3) Angstrom.

        ``truncation`` scales the noise vectors (the truncation trick of Brock et al. 2019): below 1
        the paths gather towards the model's mean path (more typical, less diverse); 0 gives it alone.
        """
        if not (truncation >= 0.0 and np.isfinite(truncation)):
            raise PathganInputError(f"truncation must be a finite number >= 0, got {truncation}")
        z = truncation * self.generator.sample_noise(n_paths, generator).to(self.device, self.dtype)
        tt = t.to(self.device, self.dtype).repeat(n_paths)
        x = self.generator(tt, z.repeat_interleave(len(t), dim=0))
        return x.reshape(n_paths, len(t), *x.shape[1:])

    # ------------------------------------------------------------------ files
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the GAN (without optimisers)."""
        return {
            "format": MODEL_FORMAT,
            "config": self.config.to_dict(),
            "pull": self.pull.to_dict(),
            "system": system_fingerprint(self.system),
            "system_dir": _folder_of(self.system),
            "torsion_names": list(self.torsions.names),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "template": None if self.generator.template is None else self.generator.template.frames.cpu(),
            "centre_table": None if self.centre_table is None else list(map(float, self.centre_table)),
            "versions": versions(),
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], system: MolecularSystem, where: str, device: str | None = None
    ) -> GAN:
        """Rebuild from :meth:`state` for ``system`` (checked against the model's)."""
        if isinstance(state, dict) and state.get("format") == "pathgan-model-1":
            raise PathganInputError(
                f"{where}: a model of format 1, trained before pathgan built L-peptides (builder version 2); "
                "train it again on pulls of a rebuilt system"
            )
        if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
            raise PathganDataError(f"{where}: not a pathgan model (format {MODEL_FORMAT} expected)")
        check_fingerprint(state["system"], system, where)
        config = TrainingConfig.from_dict(state["config"], where=where)
        if device is not None:
            config.device = device
        gan = cls(
            system,
            config,
            PullProtocol.from_dict(state["pull"], f"{where}: pull"),
            template=None if state["template"] is None else state["template"].numpy(),
            mean_structure=None,
            centre_table=None if state["centre_table"] is None else np.asarray(state["centre_table"]),
            modes=tuple(state["generator"][f"modes.{k}"].numpy() for k in ("modes", "mean", "cov"))
            if "modes.modes" in state["generator"]
            else None,
        )
        gan.generator.load_state_dict(state["generator"])
        gan.discriminator.load_state_dict(state["discriminator"])
        return gan


def _folder_of(system: MolecularSystem) -> str | None:
    folder = system.metadata.get("loaded_from")
    return str(Path(folder).resolve()) if folder else None


def _mean_structure(xyz: np.ndarray) -> np.ndarray:

    ref = xyz[0] - xyz[0].mean(axis=0)
    return np.mean([superpose(x, ref) for x in xyz[:: max(len(xyz) // 200, 1)]], axis=0)


def read_state(path: str | os.PathLike) -> dict[str, Any]:
    """The dict saved in ``model.pt`` or a checkpoint; a clear error for a damaged file."""
    path = Path(path)
    if not path.exists():
        raise PathganInputError(f"{path}: no such model file")
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise PathganDataError(f"{path}: unreadable model/checkpoint ({type(err).__name__}: {err})") from err


def load_model(path: str | os.PathLike, system: MolecularSystem, device: str | None = None) -> GAN:
    """A trained GAN from ``model.pt`` (or a checkpoint, or their folder), for ``system`` (atoms checked)."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL
    state = read_state(path)
    if isinstance(state, dict) and "gan" in state:
        state = state["gan"]
    return GAN.from_state(state, system, str(path), device)
