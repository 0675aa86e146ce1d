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

from .geometry import dihedrals

#: mdtraj functions giving the atom quadruples of each kind of torsion.
_KINDS = {
    "phi": md.compute_phi,
    "psi": md.compute_psi,
    "omega": md.compute_omega,
    "chi1": md.compute_chi1,
    "chi2": md.compute_chi2,
    "chi3": md.compute_chi3,
    "chi4": md.compute_chi4,
}
BACKBONE = ("phi", "psi", "omega")
SIDE_CHAIN = ("chi1", "chi2", "chi3", "chi4")


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
        unknown = [k for k in kinds if k not in _KINDS]
        if unknown:
            raise ValueError(f"unknown torsion kinds {unknown}; known: {list(_KINDS)}")
        probe = md.Trajectory(np.zeros((1, topology.n_atoms, 3), dtype=np.float32), topology)
        rows, names = [], []
        for kind in kinds:
            quads, _ = _KINDS[kind](probe)
            for q in quads:
                # name a torsion after the residue of its second atom (phi_i: C(i-1)-N(i)-CA(i)-C(i))
                res = topology.atom(int(q[2] if kind == "phi" else q[1])).residue
                rows.append(q)
                names.append(f"{kind}:{res.name}{res.resSeq}")
        indices = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        return cls(indices, tuple(names))

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
