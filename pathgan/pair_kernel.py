"""Lennard-Jones + Coulomb energies of atom pairs for a batch, with analytic gradients.

The pair terms dominate the cost of the potential (about 5,600 pairs for
deca-alanine against a few hundred bonded terms).  Autograd through gathers
of (batch, n_pairs, 3) tensors spends its time allocating and scattering; here
the pairs are walked in cache-sized chunks over an atom-major layout
(n_atoms, 3, batch), energies in the forward pass and the gradient, recomputed
chunk by chunk, in the backward pass.  First derivatives only.

Energy of a pair at distance r (Angstrom): ``a / r^12 - b / r^6`` (LJ) and
``qq / r`` (Coulomb, qq already holding the Coulomb constant and any scaling).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

#: Target number of float elements of one chunk's (pairs, 3, batch) block (~3 MB in float64).
_CHUNK_ELEMENTS = 400_000


def _chunk_size(batch: int) -> int:
    return max(16, _CHUNK_ELEMENTS // (3 * max(batch, 1)))


def _pass(
    xt: torch.Tensor,
    i: torch.Tensor,
    j: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    qq: torch.Tensor,
    weights: tuple[torch.Tensor, torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
    """Energies (weights None) or the weighted gradient d(w_lj E_lj + w_el E_el)/dxt."""
    n_batch = xt.shape[2]
    chunk = _chunk_size(n_batch)
    if weights is None:
        e_lj = xt.new_zeros(n_batch)
        e_el = xt.new_zeros(n_batch)
    else:
        w_lj, w_el = weights
        grad = torch.zeros_like(xt)
    for s in range(0, len(i), chunk):
        ii, jj = i[s : s + chunk], j[s : s + chunk]
        d = xt.index_select(0, jj)
        d.sub_(xt.index_select(0, ii))  # (pairs, 3, batch), x_j - x_i
        inv2 = d[:, 0] * d[:, 0]
        inv2.addcmul_(d[:, 1], d[:, 1]).addcmul_(d[:, 2], d[:, 2]).reciprocal_()
        inv6 = inv2 * inv2
        inv6.mul_(inv2)
        lj12 = (inv6 * inv6).mul_(a[s : s + chunk, None])
        lj6 = inv6.mul_(b[s : s + chunk, None])
        el = inv2.sqrt().mul_(qq[s : s + chunk, None])
        if weights is None:
            e_lj += lj12.sum(0) - lj6.sum(0)
            e_el += el.sum(0)
            continue
        # (dE/dr) / r for each pair: LJ (-12 lj12 + 6 lj6) / r^2, Coulomb -el / r^2.
        coef = lj12.mul_(-12.0).add_(lj6, alpha=6.0).mul_(w_lj)
        coef.sub_(el.mul_(w_el)).mul_(inv2)
        d.mul_(coef[:, None, :])
        grad.index_add_(0, jj, d)
        grad.index_add_(0, ii, d, alpha=-1.0)
    if weights is None:
        return e_lj, e_el
    return grad


class PairEnergy(torch.autograd.Function):
    """(E_lj, E_coulomb), each of shape (batch,), of pairs ``i``-``j`` of atom-major positions xt (n_atoms, 3, batch)."""

    @staticmethod
    def forward(ctx, xt, i, j, a, b, qq):  # noqa: D102 - torch.autograd.Function API
        with torch.no_grad():
            e_lj, e_el = _pass(xt, i, j, a, b, qq, None)
        ctx.save_for_backward(xt, i, j, a, b, qq)
        return e_lj, e_el

    @staticmethod
    @once_differentiable
    def backward(ctx, g_lj, g_el):  # noqa: D102
        xt, i, j, a, b, qq = ctx.saved_tensors
        zeros = xt.new_zeros(xt.shape[2])
        weights = (zeros if g_lj is None else g_lj, zeros if g_el is None else g_el)
        with torch.no_grad():
            grad = _pass(xt, i, j, a, b, qq, weights)
        return grad, None, None, None, None, None


def pair_energies(
    xt: torch.Tensor, i: torch.Tensor, j: torch.Tensor, a: torch.Tensor, b: torch.Tensor, qq: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable (E_lj, E_coulomb) in kcal/mol, shape (batch,) each.

    Parameters
    ----------
    xt
        Positions in atom-major layout, shape (n_atoms, 3, batch), Angstrom.
    i, j
        Pair atom indices, shape (n_pairs,).
    a, b
        LJ coefficients, shape (n_pairs,): kcal/mol A^12 and kcal/mol A^6.
    qq
        Coulomb constant times the charge product (and scaling), shape (n_pairs,), kcal/mol A.
    """
    if len(i) == 0:
        zero = xt.new_zeros(xt.shape[2])
        return zero + 0.0 * xt.sum(), zero + 0.0 * xt.sum()
    return PairEnergy.apply(xt, i, j, a, b, qq)
