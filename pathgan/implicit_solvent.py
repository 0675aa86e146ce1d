r"""Generalized-Born implicit solvent (OBC2, GBn2) for a batch of conformations, in torch.

Computes exactly what OpenMM 8.6 computes for the forces
:func:`openmm_bridge.implicit_solvent_forces.describe_gb_force` recognises: the ``CustomGBForce``
of ``implicit/obc2.xml`` and ``implicit/gbn2.xml`` (``openmm/app/internal/customgbforces.py``,
classes ``GBSAOBC2Force`` and ``GBSAGBn2Force``, evaluated as
``platforms/reference/src/SimTKReference/ReferenceCustomGBIxn.cpp`` does) and the native
``GBSAOBCForce`` (``platforms/reference/src/SimTKReference/ReferenceObc.cpp``).  Energies are
differentiable (autograd), batched over conformations and vectorised over all atom pairs.

Equations (lengths in nm, charges in e, energies in kJ/mol; converted at the boundary: positions
in Angstrom in, energies in kcal/mol out).  Atom i has intrinsic radius :math:`\rho_i`, offset
radius :math:`o_i = \rho_i - \delta` (dielectric offset :math:`\delta` = 0.009 nm for OBC2,
0.0195141 nm for GBn2) and scaled radius :math:`s_i = S_i o_i` (screening factor :math:`S_i`).

*Descreening integral* (Hawkins, Cramer, Truhlar 1996; summed over all j != i, no exclusions,
each ordered pair once, as ``ParticlePairNoExclusions`` values are)::

    I_i = sum_{j != i} [r_ij + s_j >= o_i] * 1/2 (1/L - 1/U + (r - s_j^2/r)(1/U^2 - 1/L^2)/4 + ln(L/U)/(2r))
    U = r + s_j,   L = max(o_i, |r - s_j|)

The native kernel tests ``o_i < r + s_j`` and, when atom i lies inside the scaled sphere of j
(``o_i < s_j - r``), adds ``1/o_i - 1/L`` (Tinker's correction); customgbforces does neither.
GBn2 adds the neck integral (Mongan, Simmerling, McCammon, Case, Onufriev 2007)::

    I_i += neck_scale * sum_{j != i} [rho_i + rho_j + 0.68 - r >= 0] m0_ij / (1 + 100 (r - d0_ij)^2 + 3e5 (r - d0_ij)^6)

with ``d0``, ``m0`` OpenMM's tables interpolated at the unique radii (``getd0(radindex_i,
radindex_j)``) and neck_scale = 0.826836.

*Born radii* (Onufriev, Bashford, Case 2004, Proteins 55, 383, eqs. 6-8; per-atom coefficients
for GBn2, Nguyen, Roe, Simmerling 2013, J. Chem. Theory Comput. 9, 2020)::

    psi_i = I_i o_i,     B_i = 1 / (1/o_i - tanh(alpha_i psi_i - beta_i psi_i^2 + gamma_i psi_i^3) / rho_i)

with (alpha, beta, gamma) = (1, 0.8, 4.85) for OBC2.

*Polar energy* (Still et al. 1990), every pair once plus the self terms (i = j gives f = B_i)::

    E_pol = -1/2 k_e (1/eps_solute - 1/eps_solvent) sum_{i,j} q_i q_j / f_ij
    f_ij = sqrt(r_ij^2 + B_i B_j exp(-r_ij^2 / (4 B_i B_j)))

with k_e = 138.935485 kJ mol^-1 nm e^-2 in customgbforces' expressions and ``ONE_4PI_EPS0``
(138.9354576...) in the native kernel.

*Surface term* (ACE, Schaefer, Bartels, Karplus 1998, with Ponder's sixth power), if present::

    E_SA = 4 pi gamma_SA sum_i (rho_i + 0.14)^2 (rho_i / B_i)^6

(4 pi gamma_SA = 28.3919551 kJ/mol/nm^2 in the expressions, ``4 pi getSurfaceAreaEnergy()``
natively, where only atoms with B_i > 0 contribute).  Salt screening (kappa > 0), cutoffs and
periodic boundaries are not computed: such forces are refused.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import torch
from torch import nn

from openmm_bridge.implicit_solvent_forces import (
    GBModel,
    GBParticles,
    describe_gb_force,
    gb_particle_parameters,
)
from openmm_bridge.units import ANGSTROM_PER_NM, KJ_PER_KCAL

__all__ = ["GeneralizedBorn"]


class GeneralizedBorn(nn.Module):
    """GB (+ ACE surface) energy of positions (batch, n_atoms, 3) Angstrom, in kcal/mol.

    Parameters
    ----------
    model
        The GB model (from :func:`~openmm_bridge.implicit_solvent_forces.describe_gb_force`).
    particles
        Its per-atom parameters, OpenMM units (from
        :func:`~openmm_bridge.implicit_solvent_forces.gb_particle_parameters`).
    dtype
        Floating-point type of the parameters and of the computation.

    Notes
    -----
    All atom pairs are computed at once: a forward and backward pass hold a few tens of
    (batch, n_atoms, n_atoms) tensors (about 2 GB in float64 for 64 frames of 350 atoms);
    split larger batches.
    """

    def __init__(self, model: GBModel, particles: GBParticles, dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        if model.kappa_per_nm != 0.0:
            raise ValueError("salt screening (kappa != 0) is not computed")
        self.model = model
        n = len(particles.charge)
        self.n_atoms = n
        #: Frames evaluated at once (see :meth:`forward`).
        self.chunk = 32

        def buf(name: str, value: np.ndarray) -> None:
            self.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float64), dtype=dtype))

        buf("charge", particles.charge)
        buf("offset_radius", particles.offset_radius)
        buf("scaled_radius", particles.scaled_radius)
        buf("radius", particles.radius)
        buf("alpha", particles.alpha)
        buf("beta", particles.beta)
        buf("gamma", particles.gamma)
        self.register_buffer("off_diagonal", ~torch.eye(n, dtype=torch.bool), persistent=False)
        self.neck = model.neck_scale != 0.0
        if self.neck:
            idx = np.asarray(particles.radius_index, dtype=np.int64)
            buf("d0", particles.d0_table[idx[:, None], idx[None, :]])  # getd0(radindex1, radindex2)
            buf("m0", particles.m0_table[idx[:, None], idx[None, :]])
            # step(radius1+radius2+neckCut-r): the reach, evaluated in the expression's order
            reach = particles.radius[:, None] + particles.radius[None, :] + model.neck_cut_nm
            buf("neck_reach", reach)
        # E_pol = pol_factor * sum_ij q_i q_j / f_ij; ReferenceObc's preFactor is 0 if a dielectric is 0
        # (a CustomGBForce with a zero dielectric, infinite energies, is not recognised)
        if model.solute_dielectric == 0 or model.solvent_dielectric == 0:
            self.pol_factor = 0.0
        else:
            inverse = 1.0 / model.solute_dielectric - 1.0 / model.solvent_dielectric
            self.pol_factor = -0.5 * model.coulomb_constant * inverse
        buf("qq", particles.charge[:, None] * particles.charge[None, :])
        buf("sa_weight", model.surface_factor * (particles.radius + model.probe_radius_nm) ** 2)

    @classmethod
    def from_force(cls, force: mm.Force, dtype: torch.dtype = torch.float64) -> GeneralizedBorn:
        """The module computing ``force`` (a GB force :func:`describe_gb_force` recognises).

        Raises
        ------
        ValueError
            If the force is not an OBC2/GBn2 force OpenMM writes (or has kappa != 0, a cutoff, ...).
        """
        model = describe_gb_force(force)
        if model is None:
            raise ValueError(
                f"{type(force).__name__} '{force.getName()}' is not a generalized-Born force computed exactly "
                "(OBC2 or GBn2 as OpenMM writes them, kappa 0, no cutoff)"
            )
        return cls(model, gb_particle_parameters(force, model), dtype)

    def _check(self, pos: torch.Tensor) -> None:
        if pos.dim() != 3 or pos.shape[1] != self.n_atoms or pos.shape[2] != 3:
            raise ValueError(f"positions must have shape (batch, {self.n_atoms}, 3), got {tuple(pos.shape)}")

    def _born_radii(self, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(Born radii (batch, n) nm, squared distances (batch, n, n) nm^2) of positions in Angstrom."""
        x = pos.to(self.charge.dtype) / ANGSTROM_PER_NM
        d = x[:, :, None, :] - x[:, None, :, :]
        r2 = (d * d).sum(-1)
        off = self.off_diagonal
        r = torch.sqrt(torch.where(off, r2, torch.ones_like(r2)))  # r = 1 on the diagonal: masked below
        o1 = self.offset_radius[:, None]  # atom i ("or1")
        s2 = self.scaled_radius[None, :]  # atom j ("sr2")
        upper = r + s2
        lower = torch.maximum(o1.expand_as(r), torch.abs(r - s2))
        inv_l, inv_u = 1.0 / lower, 1.0 / upper
        term = 0.5 * (
            inv_l
            - inv_u
            + 0.25 * (r - s2 * s2 / r) * (inv_u * inv_u - inv_l * inv_l)
            + 0.5 * torch.log(lower / upper) / r
        )
        if self.model.inside_correction:
            # ReferenceObc: atom i inside the scaled sphere of j: term += 2 (1/or_i - l_ij), halved here
            term = torch.where(o1 < s2 - r, term + (1.0 / o1 - inv_l), term)
            active = o1 < upper
        else:
            active = (r + s2 - o1) >= 0  # select(step(r+sr2-or1), ..., 0)
        integral = torch.where(active & off, term, torch.zeros_like(term)).sum(-1)
        if self.neck:
            dr = r - self.d0
            dr2 = dr * dr
            neck = self.m0 / (1 + 100 * dr2 + 0.3 * 1000000 * (dr2 * dr2 * dr2))
            within = (self.neck_reach - r >= 0) & off
            integral = integral + self.model.neck_scale * torch.where(
                within, neck, torch.zeros_like(neck)
            ).sum(-1)
        psi = integral * self.offset_radius
        tanh = torch.tanh(self.alpha * psi - self.beta * psi * psi + self.gamma * psi * psi * psi)
        born = 1.0 / (1.0 / self.offset_radius - tanh / self.radius)
        return born, r2

    def born_radii(self, pos: torch.Tensor) -> torch.Tensor:
        """Born radii B_i (batch, n_atoms), Angstrom, of positions (batch, n_atoms, 3) Angstrom."""
        self._check(pos)
        return self._born_radii(pos)[0] * ANGSTROM_PER_NM

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """GB (+ surface) energy (batch,) kcal/mol of positions (batch, n_atoms, 3) Angstrom.

        Frames go through in chunks of :attr:`chunk` (all-pairs tensors of a large batch leave the
        cache: 3x slower per frame at 512 frames of deca-alanine than at 32).
        """
        self._check(pos)
        if len(pos) > self.chunk:
            return torch.cat([self._energy(part) for part in torch.split(pos, self.chunk)])
        return self._energy(pos)

    def _energy(self, pos: torch.Tensor) -> torch.Tensor:
        born, r2 = self._born_radii(pos)
        bb = born[:, :, None] * born[:, None, :]
        f = torch.sqrt(r2 + bb * torch.exp(-r2 / (4 * bb)))  # the diagonal (r2 = 0) gives f = B_i
        energy = self.pol_factor * (self.qq / f).sum((-1, -2))
        if self.model.surface_area:
            ratio = self.radius / born
            ratio3 = ratio * ratio * ratio
            sa = self.sa_weight * ratio3 * ratio3
            if self.model.implementation == "GBSAOBCForce":
                sa = torch.where(born > 0, sa, torch.zeros_like(sa))
            energy = energy + sa.sum(-1)
        return energy / KJ_PER_KCAL
