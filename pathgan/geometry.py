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
    """Angles i-j-k of triplets ``idx`` (n_angles, 3), shape (batch, n_angles), radians."""
    u = pos[:, idx[:, 0]] - pos[:, idx[:, 1]]
    v = pos[:, idx[:, 2]] - pos[:, idx[:, 1]]
    return angle_between(u, v, dim=-1)


def _dot(u: torch.Tensor, v: torch.Tensor, dim: int) -> torch.Tensor:
    # Written out by component: a reduction over a middle axis of length 3 is slow on CPU.
    return (
        u.select(dim, 0) * v.select(dim, 0)
        + u.select(dim, 1) * v.select(dim, 1)
        + u.select(dim, 2) * v.select(dim, 2)
    )


def _cross(u: torch.Tensor, v: torch.Tensor, dim: int) -> torch.Tensor:
    u0, u1, u2 = (u.select(dim, k) for k in range(3))
    v0, v1, v2 = (v.select(dim, k) for k in range(3))
    return torch.stack((u1 * v2 - u2 * v1, u2 * v0 - u0 * v2, u0 * v1 - u1 * v0), dim=dim)


def norm(v: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Euclidean norm of vectors whose 3 components lie along ``dim``."""
    return torch.sqrt(_dot(v, v, dim))


def angle_between(u: torch.Tensor, v: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Angle between vectors whose components lie along ``dim``, radians in [0, pi].

    Computed with atan2(|u x v|, u.v), whose gradient stays finite at 0 and pi
    (acos's does not).
    """
    return torch.atan2(norm(_cross(u, v, dim), dim), _dot(u, v, dim))


def dihedrals(pos: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Dihedral angles i-j-k-l of quadruples ``idx`` (n, 4), shape (batch, n), radians in (-pi, pi].

    IUPAC sign convention (the same as OpenMM and mdtraj): looking along j->k,
    positive when l is rotated clockwise from i.
    """
    b1 = pos[:, idx[:, 1]] - pos[:, idx[:, 0]]
    b2 = pos[:, idx[:, 2]] - pos[:, idx[:, 1]]
    b3 = pos[:, idx[:, 3]] - pos[:, idx[:, 2]]
    return dihedral_from_bonds(b1, b2, b3, dim=-1)


def dihedral_from_bonds(b1: torch.Tensor, b2: torch.Tensor, b3: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """IUPAC dihedral from the three bond vectors j-i, k-j, l-k (components along ``dim``), radians."""
    n1 = _cross(b1, b2, dim)
    n2 = _cross(b2, b3, dim)
    # atan2(|b2| b1.n2, n1.n2): the standard form, with m1 = n1 x b2/|b2| folded in.
    return torch.atan2(norm(b2, dim) * _dot(b1, n2, dim), _dot(n1, n2, dim))
