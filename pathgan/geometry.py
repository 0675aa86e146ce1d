"""Batched internal coordinates: distances, angles and dihedrals of (batch, n_atoms, 3) tensors.

All functions gather atoms by index tensors and work on every frame of the batch
at once; no Python loop over frames.  Lengths in the unit of the input
(Angstrom throughout pathgan), angles in radians.
"""

from __future__ import annotations

import torch


def pair_vectors(pos: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``pos[:, idx[:, 1]] - pos[:, idx[:, 0]]``, shape (batch, n_pairs, 3)."""
    return pos[:, idx[:, 1]] - pos[:, idx[:, 0]]


def distances(pos: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Distances of atom pairs ``idx`` (n_pairs, 2), shape (batch, n_pairs)."""
    return torch.linalg.vector_norm(pair_vectors(pos, idx), dim=-1)


def angles(pos: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Angles i-j-k of triplets ``idx`` (n_angles, 3), shape (batch, n_angles), radians.

    Computed with atan2(|u x v|, u.v), whose gradient stays finite at 0 and pi
    (acos's does not).
    """
    u = pos[:, idx[:, 0]] - pos[:, idx[:, 1]]
    v = pos[:, idx[:, 2]] - pos[:, idx[:, 1]]
    cross = torch.linalg.vector_norm(torch.cross(u, v, dim=-1), dim=-1)
    return torch.atan2(cross, (u * v).sum(-1))


def dihedrals(pos: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Dihedral angles i-j-k-l of quadruples ``idx`` (n, 4), shape (batch, n), radians in (-pi, pi].

    IUPAC sign convention (the same as OpenMM and mdtraj): looking along j->k,
    positive when l is rotated clockwise from i.
    """
    b1 = pos[:, idx[:, 1]] - pos[:, idx[:, 0]]
    b2 = pos[:, idx[:, 2]] - pos[:, idx[:, 1]]
    b3 = pos[:, idx[:, 3]] - pos[:, idx[:, 2]]
    n1 = torch.cross(b1, b2, dim=-1)
    n2 = torch.cross(b2, b3, dim=-1)
    b2_len = torch.linalg.vector_norm(b2, dim=-1, keepdim=True)
    m1 = torch.cross(n1, b2 / b2_len, dim=-1)
    return torch.atan2((m1 * n2).sum(-1), (n1 * n2).sum(-1))


def centroid(pos: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Geometric centre of atoms ``group`` (n_group,), shape (batch, 3)."""
    return pos[:, group].mean(dim=1)
