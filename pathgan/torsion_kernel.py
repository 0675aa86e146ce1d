"""Torsion energies for a batch with analytic gradients (proper and improper torsions).

After the pairs, the torsions are the potential's largest cost: about 700 Fourier terms on
about 300 torsions for deca-alanine, and autograd through atan2, cross products and gathers of
(torsions, 3, batch) tensors spends its time on allocation. Here the forward pass computes the
energies, and the backward pass the gradient from the textbook derivatives of the dihedral
angle (Blondel and Karplus, J. Comput. Chem. 17, 1132 (1996)), summed into the atoms with one
``index_add`` per torsion atom. First derivatives only.

Energy of a torsion term of angle phi (IUPAC sign, as OpenMM and torchmd):
``k (1 + cos(n phi - phase))`` for periodicity n > 0, and the harmonic CHARMM improper
``k (phi - phase)^2`` (difference wrapped to (-pi, pi]) for n = 0.
"""

from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cross products of (n, 3, batch) vectors along dim 1."""
    return torch.linalg.cross(a, b, dim=1)


def _geometry(xt: torch.Tensor, idx: torch.Tensor):
    """F = x0 - x1, G = x1 - x2, H = x3 - x2, A = F x G, B = H x G, the angle phi (n, batch)."""
    x0, x1, x2, x3 = (xt.index_select(0, idx[:, a]) for a in range(4))
    f, g, h = x0 - x1, x1 - x2, x3 - x2
    a, b = _cross(f, g), _cross(h, g)
    g_norm = torch.sqrt((g * g).sum(1))
    # IUPAC: atan2(|b2| b1.(b2 x b3), (b1 x b2).(b2 x b3)) with bonds b1 = -F, b2 = -G, b3 = H,
    # where b1 x b2 = A and b2 x b3 = B
    phi = torch.atan2(-g_norm * (f * b).sum(1), (a * b).sum(1))
    return f, g, h, a, b, g_norm, phi


def _energy_and_slope(phi_terms: torch.Tensor, k, phase, per):
    """Energy of each term and its derivative by phi, both (terms, batch)."""
    periodic = per > 0
    arg = per * phi_terms - phase
    energy = k * (1.0 + torch.cos(arg))
    slope = -k * per * torch.sin(arg)
    if bool(periodic.all()):
        return energy, slope
    delta = torch.remainder(phi_terms - phase + math.pi, 2 * math.pi) - math.pi
    return torch.where(periodic, energy, k * delta**2), torch.where(periodic, slope, 2.0 * k * delta)


class TorsionEnergy(torch.autograd.Function):
    """Energy (batch,) of torsion terms of atom-major positions xt (n_atoms, 3, batch)."""

    @staticmethod
    def forward(ctx, xt, idx, term_of, k, phase, per):  # noqa: D102 - torch.autograd.Function API
        with torch.no_grad():
            phi = _geometry(xt, idx)[-1]
            energy, _ = _energy_and_slope(phi[term_of], k[:, None], phase[:, None], per[:, None])
        ctx.save_for_backward(xt, idx, term_of, k, phase, per)
        return energy.sum(0)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):  # noqa: D102
        xt, idx, term_of, k, phase, per = ctx.saved_tensors
        with torch.no_grad():
            f, g, h, a, b, g_norm, phi = _geometry(xt, idx)
            _, slope = _energy_and_slope(phi[term_of], k[:, None], phase[:, None], per[:, None])
            de_dphi = torch.zeros_like(phi).index_add_(0, term_of, slope) * grad_out[None, :]
            a2, b2 = (a * a).sum(1), (b * b).sum(1)
            # dphi/dx of Blondel & Karplus: x0 -|G|/A^2 A, x3 |G|/B^2 B, the middle atoms by projection
            ga = (de_dphi * g_norm / a2)[:, None, :] * a
            gb = (de_dphi * g_norm / b2)[:, None, :] * b
            fg = ((f * g).sum(1) / g_norm**2)[:, None, :]
            hg = ((h * g).sum(1) / g_norm**2)[:, None, :]
            grad = torch.zeros_like(xt)
            grad.index_add_(0, idx[:, 0], -ga)
            grad.index_add_(0, idx[:, 1], ga + fg * ga - hg * gb)
            grad.index_add_(0, idx[:, 2], hg * gb - fg * ga - gb)
            grad.index_add_(0, idx[:, 3], gb)
        return grad, None, None, None, None, None


def torsion_energy(
    xt: torch.Tensor,
    idx: torch.Tensor,
    term_of: torch.Tensor,
    k: torch.Tensor,
    phase: torch.Tensor,
    per: torch.Tensor,
) -> torch.Tensor:
    """Differentiable energy (batch,) in kcal/mol of torsion terms.

    Parameters
    ----------
    xt
        Positions in atom-major layout, shape (n_atoms, 3, batch), Angstrom.
    idx
        Atoms of each torsion, shape (n_torsions, 4).
    term_of
        The torsion of each term, shape (n_terms,).
    k, phase, per
        Amplitude (kcal/mol, or kcal/mol/rad^2 for n = 0), phase (rad) and periodicity of each
        term, shape (n_terms,).
    """
    if len(idx) == 0:
        return xt.new_zeros(xt.shape[2]) + 0.0 * xt.sum()
    return TorsionEnergy.apply(xt, idx, term_of, k, phase, per)
