"""Backbone and side-chain torsion angles as features (the discriminator's input).

The torsions are defined once from the topology, by mdtraj's own definitions
(phi, psi, omega, chi1-chi4), and then computed in torch on whole batches, so
they are differentiable and run on the same device as the generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import mdtraj as md
import numpy as np
import torch

from openmm_bridge.torsion_index import BACKBONE, SIDE_CHAIN, named_torsions

from .geometry import dihedrals


@dataclass(frozen=True)
class TorsionSet:
    """Atom quadruples of named torsions.

    Attributes
    ----------
    indices
        (n_torsions, 4) int64 atom indices.
    names
        ``"<kind>:<residue>"`` for each torsion, e.g. ``"phi:ALA2"``.
    """

    indices: np.ndarray
    names: tuple[str, ...]

    @classmethod
    def from_topology(
        cls, topology: md.Topology, kinds: tuple[str, ...] = BACKBONE + SIDE_CHAIN
    ) -> TorsionSet:
        """The torsions of ``kinds`` found in ``topology`` (mdtraj's definitions)."""
        return cls(*named_torsions(topology, kinds))

    def __len__(self) -> int:
        return len(self.names)

    def angles(self, pos: torch.Tensor) -> torch.Tensor:
        """Torsion angles of ``pos`` (batch, n_atoms, 3), shape (batch, n_torsions), radians."""
        idx = torch.as_tensor(self.indices, device=pos.device)
        return dihedrals(pos, idx)

    def features(self, pos: torch.Tensor) -> torch.Tensor:
        """(cos, sin) of every torsion, shape (batch, 2 n_torsions): continuous across +-pi."""
        a = self.angles(pos)
        return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)
