"""The moving restraint of a pull along any :class:`~openmm_bridge.pull_coordinates.PullCoordinate`, in torch.

    U(x, t) = 1/2 k (cv(x) - c(t))^2,    c(t) = c0 + t (c1 - c0),    t in [0, 1]

the torch twin of ``PullCoordinate.force`` (OpenMM), batched over frames and differentiable:

- ``distance``: between the geometric centres of two atom groups, Angstrom;
- ``torsion``: IUPAC dihedral, degrees at the interface; ``cv - c`` is wrapped into (-pi, pi]
  and the energy computed in radians (k in kcal/mol/rad^2), so centres may lie anywhere, a
  pull from 150 to 210 degrees crossing 180;
- ``rmsd``: RMSD of the coordinate's atoms to its target after optimal superposition, Angstrom.

The RMSD's superposition is the quaternion method (Coutsos, Seok and Dill 2004; Theobald 2005):
the optimal rotation is the largest eigenvector of a 4x4 key matrix (``torch.linalg.eigh``),
always proper. The rotation is found without gradient and the RMSD then summed over the rotated
atoms: the RMSD is a minimum over rotations, so its gradient is the partial derivative at the
optimal rotation (the rotation's own derivative contributes nothing), exact and finite even
where the eigenvalues are degenerate. Second derivatives leave the rotation's change out.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from openmm_bridge.distances import centroid_distance
from openmm_bridge.errors import PathganInputError
from openmm_bridge.pull_coordinates import PullCoordinate

from .geometry import dihedrals
from .tables import interpolate


def _rotation_from_quaternion(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrices (..., 3, 3) of unit quaternions (..., 4) = (w, x, y, z)."""
    w, x, y, z = q.unbind(-1)
    rows = (
        (w * w + x * x - y * y - z * z, 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), w * w - x * x + y * y - z * z, 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), w * w - x * x - y * y + z * z),
    )
    return torch.stack([torch.stack(r, -1) for r in rows], -2)


def optimal_rotation(mobile: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Proper rotations R (batch, 3, 3) minimising ``|mobile @ R^T - target|`` of centred structures.

    Parameters
    ----------
    mobile
        Centred positions (batch, n, 3).
    target
        Centred positions (n, 3).

    Returns
    -------
    torch.Tensor
        (batch, 3, 3), float64, ``mobile[b, i] @ R[b].T`` closest to ``target[b, i]``; no gradient.
    """
    with torch.no_grad():
        m = torch.einsum("bni,nj->bij", mobile.double(), target.double())  # sum_n mobile_i target_j
        sxx, sxy, sxz = m[:, 0, 0], m[:, 0, 1], m[:, 0, 2]
        syx, syy, syz = m[:, 1, 0], m[:, 1, 1], m[:, 1, 2]
        szx, szy, szz = m[:, 2, 0], m[:, 2, 1], m[:, 2, 2]
        key = torch.stack(
            [
                torch.stack([sxx + syy + szz, syz - szy, szx - sxz, sxy - syx], -1),
                torch.stack([syz - szy, sxx - syy - szz, sxy + syx, szx + sxz], -1),
                torch.stack([szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy], -1),
                torch.stack([sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz], -1),
            ],
            -2,
        )
        _, vectors = torch.linalg.eigh(key)  # ascending eigenvalues: the last vector is the best rotation
        return _rotation_from_quaternion(vectors[..., -1])


def kabsch_rmsd(pos: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """RMSD of frames (batch, n, 3) to ``target`` (n, 3) after optimal superposition, (batch,), same unit.

    Both are centred on their geometric centres (as OpenMM's ``RMSDForce``); differentiable in ``pos``.
    """
    x = pos - pos.mean(dim=1, keepdim=True)
    y = (target - target.mean(dim=0)).to(pos.dtype)
    rotation = optimal_rotation(x, y).to(pos.dtype)
    msd = ((x @ rotation.transpose(1, 2) - y) ** 2).sum(dim=(1, 2)) / x.shape[1]
    # sqrt's gradient is infinite at 0: a structure exactly on the target gets a zero gradient instead
    tiny = torch.finfo(pos.dtype).tiny
    return torch.sqrt(torch.where(msd > tiny, msd, torch.full_like(msd, tiny)))


def wrap_radians(d: torch.Tensor) -> torch.Tensor:
    """Angles wrapped into (-pi, pi], as the OpenMM force's ``dt + 2 pi floor((pi - dt) / 2 pi)``."""
    return d + 2 * math.pi * torch.floor((math.pi - d) / (2 * math.pi))


class CoordinateRestraint(nn.Module):
    """Harmonic restraint on a pull coordinate whose centre moves linearly with t.

    Parameters
    ----------
    coordinate
        The pulled coordinate (``openmm_bridge.pull_coordinates.resolve_coordinate``).
    k
        Force constant: kcal/mol/A^2 (distance, RMSD) or kcal/mol/rad^2 (torsion).
    c0, c1
        Centre at t = 0 and t = 1: Angstrom, or degrees for a torsion (any real value; the
        difference to the torsion is wrapped).
    centre_table
        Optional centres at evenly spaced t in [0, 1] (at least 2, the coordinate's unit): the
        centre is then their piecewise-linear interpolation (as ``EndToEndRestraint``'s table).
    """

    def __init__(
        self,
        coordinate: PullCoordinate,
        k: float,
        c0: float,
        c1: float,
        centre_table: list[float] | None = None,
    ) -> None:
        super().__init__()
        if k < 0:
            raise PathganInputError(f"{coordinate.label}: negative force constant {k}")
        self.coordinate, self.kind = coordinate, coordinate.kind
        self.k, self.c0, self.c1 = float(k), float(c0), float(c1)
        for i, group in enumerate(coordinate.atoms):
            self.register_buffer(f"atoms_{i}", torch.tensor(group, dtype=torch.long))
        target = torch.empty(0, 3, dtype=torch.float64)
        if coordinate.kind == "rmsd":
            target = torch.as_tensor(
                coordinate.reference_angstrom[list(coordinate.atoms[0])], dtype=torch.float64
            )
        self.register_buffer("target", target)
        table = torch.empty(0, dtype=torch.float64)
        if centre_table is not None:
            table = torch.as_tensor(list(centre_table), dtype=torch.float64)
            if table.numel() < 2 or not bool(torch.isfinite(table).all()):
                raise PathganInputError(
                    f"{coordinate.label}: the centre table needs at least 2 finite values"
                )
            self.c0, self.c1 = float(table[0]), float(table[-1])
        self.register_buffer("centre_table", table)

    def centre(self, t: torch.Tensor) -> torch.Tensor:
        """Centre c(t) in the coordinate's unit (Angstrom or degrees), same shape as ``t``."""
        if self.centre_table.numel() == 0:
            return self.c0 + t * (self.c1 - self.c0)
        return interpolate(self.centre_table.to(dtype=t.dtype), t)

    def values(self, pos: torch.Tensor) -> torch.Tensor:
        """The coordinate of (batch, n_atoms, 3) positions in Angstrom.

        Returns (batch,): Angstrom (distance, RMSD) or degrees in (-180, 180] (torsion).
        """
        if self.kind == "distance":
            return centroid_distance(pos, self.atoms_0, self.atoms_1)
        if self.kind == "torsion":
            deg = torch.rad2deg(dihedrals(pos, self.atoms_0[None])[:, 0])
            return torch.where(deg <= -180.0, deg + 360.0, deg)  # atan2 may give -pi itself
        return kabsch_rmsd(pos[:, self.atoms_0], self.target)

    def forward(self, pos: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """Restraint energy, (batch,), kcal/mol, of (batch, n_atoms, 3) positions in Angstrom.

        ``t`` is a scalar or has shape (batch,).
        """
        t = torch.as_tensor(t, dtype=pos.dtype, device=pos.device).expand(pos.shape[0])
        if self.kind == "torsion":
            theta = dihedrals(pos, self.atoms_0[None])[:, 0]  # radians: no round trip through degrees
            d = wrap_radians(theta - torch.deg2rad(self.centre(t)))
        else:
            d = self.values(pos) - self.centre(t)
        return 0.5 * self.k * d**2

    def extra_repr(self) -> str:
        unit = "rad^2" if self.kind == "torsion" else "A^2"
        return (
            f"{self.coordinate.label}: k={self.k} kcal/mol/{unit}, centre {self.c0} -> {self.c1} "
            f"{self.coordinate.unit}"
        )
