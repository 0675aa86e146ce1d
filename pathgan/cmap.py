"""CHARMM's CMAP correction in torch: batched, differentiable, what OpenMM's ``CMAPTorsionForce`` computes.

A CMAP term couples two torsion angles (in CHARMM, a residue's phi and psi) through an energy
tabulated on a periodic ``size x size`` grid (``size`` = 24 in CHARMM36, 15 degree spacing)
and interpolated by bicubic patches.  Everything follows OpenMM's Reference platform:

* ``openmmapi/src/CMAPTorsionForceImpl.cpp`` (``calcMapDerivatives``): the grid derivatives
  dE/dA, dE/dB and d2E/dAdB at every grid point come from periodic cubic splines
  (``SplineFitter::createPeriodicSpline``) through each row, each column, and each row of
  dE/dB; with them, the 16 coefficients of the bicubic patch of each cell are the standard
  bicubic-interpolation weights (``wt``) applied to the values and derivatives (scaled by the
  grid spacing ``delta = 2 pi / size``) at its four corners.
* ``platforms/reference/src/SimTKReference/ReferenceCMAPTorsionIxn.cpp``: each torsion angle
  is the IUPAC dihedral in (-pi, pi] (the sign convention of OpenMM's periodic torsions),
  shifted by ``fmod(angle + 2 pi, 2 pi)`` into [0, 2 pi), so grid point ``i`` lies at angle
  ``i delta`` (the origin is 0, not -pi: OpenMM's ``energy[i + size j]`` is the energy at
  A = i delta, B = j delta).  The cell is ``s = min(floor(A / delta), size - 1)``,
  ``t = min(floor(B / delta), size - 1)``, its coefficients ``c[s + size t]``, and with
  ``u = A / delta - s``, ``v = B / delta - t``::

      E = sum_{i, j = 0..3} c[4 i + j] u^i v^j

Shapes and units: positions (batch, n_atoms, 3) in Angstrom, energy (batch,) in kcal/mol
(OpenMM's maps are in kJ/mol; torsion energies do not depend on the unit of length).
Forces come from autograd.
"""

from __future__ import annotations

import math

import numpy as np
import openmm as mm
import torch
from torch import nn

from openmm_bridge.units import KJ_PER_KCAL

from .geometry import dihedrals

__all__ = ["CMAPTerm", "bicubic_coefficients", "periodic_spline_derivative_matrix"]

#: OpenMM's bicubic weights (``CMAPTorsionForceImpl::calcMapDerivatives``): coefficient k of a
#: patch is ``sum_m _WT[m, k] rhs[m]``, where rhs holds the corner values, dE/dA * delta,
#: dE/dB * delta and d2E/dAdB * delta^2, each at the corners (s, t), (s+1, t), (s+1, t+1), (s, t+1).
_WT = np.array(
    [
        [1, 0, -3, 2, 0, 0, 0, 0, -3, 0, 9, -6, 2, 0, -6, 4],
        [0, 0, 0, 0, 0, 0, 0, 0, 3, 0, -9, 6, -2, 0, 6, -4],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, -6, 0, 0, -6, 4],
        [0, 0, 3, -2, 0, 0, 0, 0, 0, 0, -9, 6, 0, 0, 6, -4],
        [0, 0, 0, 0, 1, 0, -3, 2, -2, 0, 6, -4, 1, 0, -3, 2],
        [0, 0, 0, 0, 0, 0, 0, 0, -1, 0, 3, -2, 1, 0, -3, 2],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3, 2, 0, 0, 3, -2],
        [0, 0, 0, 0, 0, 0, 3, -2, 0, 0, -6, 4, 0, 0, 3, -2],
        [0, 1, -2, 1, 0, 0, 0, 0, 0, -3, 6, -3, 0, 2, -4, 2],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 3, -6, 3, 0, -2, 4, -2],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -3, 3, 0, 0, 2, -2],
        [0, 0, -1, 1, 0, 0, 0, 0, 0, 0, 3, -3, 0, 0, -2, 2],
        [0, 0, 0, 0, 0, 1, -2, 1, 0, -2, 4, -2, 0, 1, -2, 1],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 2, -1, 0, 1, -2, 1],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, -1, 0, 0, -1, 1],
        [0, 0, 0, 0, 0, 0, -1, 1, 0, 0, 2, -2, 0, 0, -1, 1],
    ],
    dtype=np.float64,
)


def periodic_spline_derivative_matrix(size: int) -> np.ndarray:
    """Matrix D (size, size): first derivatives at the knots of the periodic cubic spline through y.

    The knots are ``x_i = i h``, ``h = 2 pi / size``, and ``(D @ y)[i]`` is the slope at
    ``x_i`` of the periodic spline through ``y`` (period ``2 pi``), as OpenMM's
    ``SplineFitter::createPeriodicSpline`` and ``evaluateSplineDerivative`` give it: the second
    derivatives M solve the cyclic system ``h M[i-1] + 4 h M[i] + h M[i+1] = 6 (y[i+1] - 2 y[i] +
    y[i-1]) / h`` (OpenMM solves it by Sherman-Morrison, here a dense solve) and the slope at
    ``x_i`` is ``(y[i+1] - y[i]) / h - h (2 M[i] + M[i+1]) / 6``.
    """
    h = 2 * math.pi / size
    eye = np.eye(size)
    shift = np.roll(eye, 1, axis=1)  # (shift @ y)[i] = y[i+1]
    lhs = h * (4 * eye + shift + shift.T)
    second = np.linalg.solve(lhs, 6.0 / h * (shift - 2 * eye + shift.T))  # M = second @ y
    return (shift - eye) / h - h / 6.0 * (2 * eye + shift) @ second


def bicubic_coefficients(size: int, energy: np.ndarray) -> np.ndarray:
    """OpenMM's bicubic patch coefficients of one map, shape (size * size, 16), row ``s + size t``.

    Parameters
    ----------
    size
        Grid points per angle.
    energy
        (size * size,) energies as OpenMM stores them: ``energy[i + size j]`` at A = i delta,
        B = j delta (``delta = 2 pi / size``), any unit (the coefficients are in the same).
    """
    grid = np.asarray(energy, dtype=np.float64).reshape(size, size).T  # grid[i, j] = energy[i + size j]
    d = periodic_spline_derivative_matrix(size)
    d1 = d @ grid  # dE/dA
    d2 = grid @ d.T  # dE/dB
    d12 = d @ d2  # d2E/dAdB, OpenMM's order: the A-spline of dE/dB
    delta = 2 * math.pi / size
    nxt = (np.arange(size) + 1) % size

    def corners(a: np.ndarray) -> np.ndarray:
        """(s, t, 4): a at the corners (s, t), (s+1, t), (s+1, t+1), (s, t+1) of every cell."""
        return np.stack([a, a[nxt, :], a[nxt][:, nxt], a[:, nxt]], axis=-1)

    rhs = np.concatenate(
        [corners(grid), corners(d1) * delta, corners(d2) * delta, corners(d12) * delta**2], axis=-1
    )  # (s, t, 16)
    coeff = rhs @ _WT  # coeff[s, t, k] = sum_m rhs[s, t, m] wt[m, k]
    return coeff.transpose(1, 0, 2).reshape(size * size, 16)  # row s + size t


class CMAPTerm(nn.Module):
    """CMAP energy (batch,) kcal/mol of positions (batch, n_atoms, 3) Angstrom, as OpenMM computes it.

    Parameters
    ----------
    torsions
        (n_torsions, 8) atom indices: torsion A (4 atoms), then torsion B (4 atoms).
    maps
        (n_torsions,) map index of each torsion pair.
    sizes
        (n_maps,) grid points per angle of each map.
    coefficients
        (sum of size^2 over the maps, 16) bicubic coefficients in kcal/mol, the maps' tables
        concatenated in order (see :func:`bicubic_coefficients`).
    dtype
        Floating-point type of the coefficient buffer.

    Attributes
    ----------
    n_torsions
        Number of torsion pairs.
    """

    def __init__(
        self,
        torsions: np.ndarray,
        maps: np.ndarray,
        sizes: np.ndarray,
        coefficients: np.ndarray,
        dtype: torch.dtype = torch.float64,
    ) -> None:
        super().__init__()
        torsions = np.asarray(torsions, dtype=np.int64).reshape(-1, 8)
        maps = np.asarray(maps, dtype=np.int64).reshape(-1)
        sizes = np.asarray(sizes, dtype=np.int64).reshape(-1)
        coefficients = np.asarray(coefficients, dtype=np.float64).reshape(-1, 16)
        if len(maps) != len(torsions):
            raise ValueError(f"{len(torsions)} torsion pairs but {len(maps)} map indices")
        if len(maps) and (maps.min() < 0 or maps.max() >= len(sizes)):
            raise ValueError(f"map indices must lie in [0, {len(sizes)})")
        if len(coefficients) != int((sizes**2).sum()):
            raise ValueError(f"{len(coefficients)} coefficient rows, the maps need {int((sizes**2).sum())}")
        offsets = np.concatenate([[0], np.cumsum(sizes**2)[:-1]]).astype(np.int64)
        self.n_torsions = len(torsions)
        self.register_buffer("torsions", torch.as_tensor(torsions))
        self.register_buffer("map_index", torch.as_tensor(maps))
        # per torsion pair: grid size and the row of its map's first cell in the coefficient table
        self.register_buffer("grid_size", torch.as_tensor(sizes[maps]))
        self.register_buffer("cell_offset", torch.as_tensor(offsets[maps]))
        self.register_buffer("coefficients", torch.as_tensor(coefficients, dtype=dtype))

    @classmethod
    def from_force(cls, force: mm.CMAPTorsionForce, dtype: torch.dtype = torch.float64) -> CMAPTerm:
        """The term of an OpenMM ``CMAPTorsionForce`` (maps in kJ/mol, converted to kcal/mol).

        Parameters
        ----------
        force
            The force; its torsion pairs and maps are read, periodic boundaries are not
            supported (CMAP in vacuum or implicit solvent).
        dtype
            Floating-point type of the coefficient buffer.
        """
        if force.usesPeriodicBoundaryConditions():
            raise ValueError("CMAPTerm does not support periodic boundary conditions")
        sizes, tables = [], []
        for k in range(force.getNumMaps()):
            size, energy = force.getMapParameters(k)
            energy = (
                energy.value_in_unit(mm.unit.kilojoule_per_mole) if mm.unit.is_quantity(energy) else energy
            )
            sizes.append(size)
            tables.append(bicubic_coefficients(size, np.asarray(energy, dtype=np.float64)) / KJ_PER_KCAL)
        rows = [force.getTorsionParameters(k) for k in range(force.getNumTorsions())]
        arr = np.array(rows, dtype=np.int64).reshape(-1, 9)
        coefficients = np.concatenate(tables) if tables else np.zeros((0, 16))
        return cls(arr[:, 1:], arr[:, 0], np.array(sizes, dtype=np.int64), coefficients, dtype)

    def angles(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Torsion angles A and B of every pair, each (batch, n_torsions), radians in [0, 2 pi).

        OpenMM's convention: the IUPAC dihedral in (-pi, pi], then ``fmod(angle + 2 pi, 2 pi)``.
        """
        a = dihedrals(pos, self.torsions[:, :4])
        b = dihedrals(pos, self.torsions[:, 4:])
        two_pi = 2 * math.pi
        return torch.fmod(a + two_pi, two_pi), torch.fmod(b + two_pi, two_pi)

    def cells(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Grid cells (s, t) of angles (a, b) in [0, 2 pi), each (batch, n_torsions) int64."""
        last = self.grid_size - 1
        scale = self.grid_size.to(a.dtype) / (2 * math.pi)  # 1 / delta
        s = torch.minimum(torch.floor(a.detach() * scale).long(), last)
        t = torch.minimum(torch.floor(b.detach() * scale).long(), last)
        return s, t

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """Energy of positions ``pos``.

        Parameters
        ----------
        pos
            (batch, n_atoms, 3) positions, Angstrom.

        Returns
        -------
        torch.Tensor
            (batch,) CMAP energy, kcal/mol.
        """
        if self.n_torsions == 0:
            return pos.new_zeros(pos.shape[0])
        a, b = self.angles(pos)
        s, t = self.cells(a, b)
        scale = self.grid_size.to(a.dtype) / (2 * math.pi)
        u = a * scale - s.to(a.dtype)  # position in the cell, [0, 1]
        v = b * scale - t.to(a.dtype)
        c = self.coefficients[self.cell_offset + s + self.grid_size * t].unflatten(
            -1, (4, 4)
        )  # (batch, n, 4, 4)
        ones = torch.ones_like(u)
        pu = torch.stack((ones, u, u * u, u * u * u), dim=-1)  # (batch, n, 4)
        pv = torch.stack((ones, v, v * v, v * v * v), dim=-1)
        energy = ((c * pv.unsqueeze(-2)).sum(-1) * pu).sum(-1)  # sum_ij c[4 i + j] u^i v^j
        return energy.sum(-1)
