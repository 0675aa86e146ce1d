"""Terms of the potential computed from the OpenMM forces' own parameters, batched in torch.

torchmd has no functional form for CHARMM's Urey-Bradley and CMAP terms, charmm36.xml's
tabulated Lennard-Jones (with NBFIX pairs) and 1-4 Lennard-Jones bonds, or implicit solvent.
These terms read their parameters straight from the System's forces, which
:mod:`openmm_bridge.force_table` classifies, so they compute what OpenMM computes.

Every term is a module mapping positions (batch, n_atoms, 3) in Angstrom to an energy
(batch,) in kcal/mol.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import torch
from torch import nn

from openmm_bridge.force_table import (
    FORCE_TERMS,
    angle_end_pairs,
    classify_forces,
    energy_forces,
    is_lj_table,
    lj_14_scale,
    split_bond_force,
)
from openmm_bridge.units import ANGSTROM_PER_NM, KJ_PER_KCAL

from .pair_kernel import pair_energies

__all__ = ["FORCE_TERMS", "HarmonicPairs", "PairLennardJones", "force_terms"]


def _atom_major(pos: torch.Tensor) -> torch.Tensor:
    return pos.permute(1, 2, 0).contiguous()


class HarmonicPairs(nn.Module):
    """0.5 k (r - r0)^2 over atom pairs, as OpenMM's HarmonicBondForce (CHARMM Urey-Bradley terms).

    Parameters
    ----------
    pairs
        Atom indices, shape (n, 2).
    k
        Force constants, shape (n,), kcal/mol/A^2 (OpenMM's convention: E = k/2 (r - r0)^2).
    r0
        Equilibrium distances, shape (n,), Angstrom.
    """

    def __init__(self, pairs: np.ndarray, k: np.ndarray, r0: np.ndarray, dtype: torch.dtype) -> None:
        super().__init__()
        self.register_buffer("pairs", torch.as_tensor(np.asarray(pairs, dtype=np.int64).reshape(-1, 2)))
        self.register_buffer("k", torch.as_tensor(np.asarray(k, dtype=np.float64), dtype=dtype))
        self.register_buffer("r0", torch.as_tensor(np.asarray(r0, dtype=np.float64), dtype=dtype))

    @classmethod
    def urey_bradley(cls, system: mm.System, dtype: torch.dtype = torch.float64) -> HarmonicPairs:
        """The Urey-Bradley 1-3 terms of every HarmonicBondForce of ``system`` (pairs that close an angle)."""
        end_pairs = angle_end_pairs(system)
        rows = []
        for f in system.getForces():
            if isinstance(f, mm.HarmonicBondForce):
                for k in split_bond_force(f, end_pairs)[1]:
                    i, j, r0, kb = f.getBondParameters(k)
                    rows.append(
                        (i, j, kb._value / KJ_PER_KCAL / ANGSTROM_PER_NM**2, r0._value * ANGSTROM_PER_NM)
                    )
        arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
        return cls(arr[:, :2].astype(np.int64), arr[:, 2], arr[:, 3], dtype)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """Energy (batch,) kcal/mol of positions (batch, n_atoms, 3) Angstrom."""
        d = pos[:, self.pairs[:, 1]] - pos[:, self.pairs[:, 0]]
        r = torch.sqrt((d * d).sum(-1))
        return (0.5 * self.k * (r - self.r0) ** 2).sum(-1)


class PairLennardJones(nn.Module):
    """a / r^12 - b / r^6 over given atom pairs (charmm36.xml's tabulated LJ and its 1-4 bonds).

    Parameters
    ----------
    i, j
        Pair atom indices, shape (n,).
    a, b
        Coefficients, shape (n,): kcal/mol A^12 and kcal/mol A^6.
    """

    def __init__(
        self, i: np.ndarray, j: np.ndarray, a: np.ndarray, b: np.ndarray, dtype: torch.dtype
    ) -> None:
        super().__init__()
        self.register_buffer("i", torch.as_tensor(np.asarray(i, dtype=np.int64)))
        self.register_buffer("j", torch.as_tensor(np.asarray(j, dtype=np.int64)))
        self.register_buffer("a", torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=dtype))
        self.register_buffer("b", torch.as_tensor(np.asarray(b, dtype=np.float64), dtype=dtype))
        self.register_buffer("qq", torch.zeros(len(self.i), dtype=dtype))

    @classmethod
    def from_table(
        cls, force: mm.CustomNonbondedForce, dtype: torch.dtype = torch.float64
    ) -> PairLennardJones:
        """Every non-excluded pair of a tabulated-LJ CustomNonbondedForce (``acoef/r^12 - bcoef/r^6``)."""
        if not is_lj_table(force):
            raise ValueError(f"{force.getName()}: not charmm36.xml's tabulated Lennard-Jones")
        tables = {}
        for k in range(2):
            nx, ny, values = force.getTabulatedFunction(k).getFunctionParameters()
            tables[force.getTabulatedFunctionName(k)] = np.asarray(values, dtype=np.float64).reshape(ny, nx)
        n = force.getNumParticles()
        types = np.array([int(round(force.getParticleParameters(p)[0])) for p in range(n)])
        excluded = np.zeros((n, n), dtype=bool)
        for k in range(force.getNumExclusions()):
            p, q = force.getExclusionParticles(k)
            excluded[p, q] = excluded[q, p] = True
        i, j = np.triu_indices(n, 1)
        keep = ~excluded[i, j]
        i, j = i[keep], j[keep]
        # Discrete2DFunction values are indexed x + nx * y, with x = type1 and y = type2
        a = tables["acoef"][types[j], types[i]] * ANGSTROM_PER_NM**12 / KJ_PER_KCAL
        b = tables["bcoef"][types[j], types[i]] * ANGSTROM_PER_NM**6 / KJ_PER_KCAL
        return cls(i, j, a, b, dtype)

    @classmethod
    def from_14_bonds(cls, force: mm.CustomBondForce, dtype: torch.dtype = torch.float64) -> PairLennardJones:
        """The pairs of charmm36.xml's 1-4 LJ CustomBondForce (``c*epsilon*((sigma/r)^12-(sigma/r)^6)``)."""
        scale = lj_14_scale(force)
        if scale is None:
            raise ValueError(f"{force.getName()}: not charmm36.xml's 1-4 Lennard-Jones bonds")
        rows = []
        for k in range(force.getNumBonds()):
            p, q, (sigma, epsilon) = force.getBondParameters(k)
            rows.append((p, q, sigma * ANGSTROM_PER_NM, epsilon / KJ_PER_KCAL))
        arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
        sigma6 = arr[:, 2] ** 6
        return cls(arr[:, 0], arr[:, 1], scale * arr[:, 3] * sigma6**2, scale * arr[:, 3] * sigma6, dtype)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """Energy (batch,) kcal/mol of positions (batch, n_atoms, 3) Angstrom."""
        lj, _ = pair_energies(_atom_major(pos), self.i, self.j, self.a, self.b, self.qq)
        return lj


def force_terms(system: mm.System, dtype: torch.dtype = torch.float64) -> dict[str, nn.Module]:
    """The :data:`FORCE_TERMS` that ``system`` has, each as a module (see :mod:`openmm_bridge.force_table`)."""
    terms: dict[str, nn.Module] = {}
    for info, force in zip(classify_forces(system), energy_forces(system), strict=True):
        if "urey_bradley" in info.terms and "urey_bradley" not in terms:
            terms["urey_bradley"] = HarmonicPairs.urey_bradley(system, dtype)
        if "cmap" in info.terms:
            from .cmap import CMAPTerm

            terms["cmap"] = CMAPTerm.from_force(force, dtype)
        if "lj_table" in info.terms:
            terms["lj_table"] = PairLennardJones.from_table(force, dtype)
        if "lj_14" in info.terms:
            terms["lj_14"] = PairLennardJones.from_14_bonds(force, dtype)
        if "implicit_solvent" in info.terms:
            from .implicit_solvent import GeneralizedBorn

            terms["implicit_solvent"] = GeneralizedBorn.from_force(force, dtype)
    return {name: terms[name] for name in FORCE_TERMS if name in terms}
