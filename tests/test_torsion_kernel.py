"""The torsion kernel's analytic gradient against autograd of the textbook formula."""

from __future__ import annotations

import math

import torch

from pathgan import geometry
from pathgan.torsion_kernel import torsion_energy


def _reference(xt, idx, term_of, k, phase, per):
    b1, b2, b3 = (xt.index_select(0, idx[:, a + 1]) - xt.index_select(0, idx[:, a]) for a in range(3))
    phi = geometry.dihedral_from_bonds(b1, b2, b3, dim=1)[term_of]
    k, phase, per = k[:, None], phase[:, None], per[:, None]
    delta = torch.remainder(phi - phase + math.pi, 2 * math.pi) - math.pi
    return torch.where(per > 0, k * (1 + torch.cos(per * phi - phase)), k * delta**2).sum(0)


def test_energy_and_gradient_match_autograd():
    gen = torch.Generator().manual_seed(0)
    xt = torch.randn(12, 3, 5, dtype=torch.float64, generator=gen)
    idx = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [3, 2, 1, 0]])
    term_of = torch.tensor([0, 0, 1, 2, 3, 3])  # several terms on one torsion, as AMBER has
    k = torch.tensor([1.0, 0.5, 2.0, 1.5, 0.7, 3.0], dtype=torch.float64)
    phase = torch.tensor([0.0, math.pi, 0.3, -1.0, 0.0, 2.0], dtype=torch.float64)
    per = torch.tensor([1.0, 2.0, 3.0, 0.0, 2.0, 0.0], dtype=torch.float64)  # 0: harmonic improper
    weights = torch.arange(1.0, 6.0, dtype=torch.float64)  # a non-uniform upstream gradient
    grads = []
    for fn in (_reference, torsion_energy):
        x = xt.clone().requires_grad_(True)
        e = fn(x, idx, term_of, k, phase, per)
        grads.append((e.detach(), torch.autograd.grad((e * weights).sum(), x)[0]))
    torch.testing.assert_close(grads[1][0], grads[0][0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grads[1][1], grads[0][1], rtol=1e-10, atol=1e-10)
    assert grads[0][1].abs().max() > 1.0


def test_no_torsions_gives_zero_with_a_gradient():
    x = torch.randn(4, 3, 2, dtype=torch.float64, requires_grad=True)
    empty = torch.zeros((0, 4), dtype=torch.long)
    e = torsion_energy(
        x, empty, torch.zeros(0, dtype=torch.long), *(torch.zeros(0, dtype=torch.float64),) * 3
    )
    assert e.shape == (2,) and float(e.detach().abs().sum()) == 0.0
    (g,) = torch.autograd.grad(e.sum(), x)
    assert float(g.abs().sum()) == 0.0
