"""The chunked pair kernel against plain autograd."""

from __future__ import annotations

import pytest
import torch

from pathgan import pair_kernel


def test_energies_and_gradient_match_autograd(monkeypatch):
    monkeypatch.setattr(pair_kernel, "_CHUNK_ELEMENTS", 60)  # force several chunks
    g = torch.Generator().manual_seed(0)
    pos = torch.rand(5, 9, 3, generator=g, dtype=torch.float64) * 6
    i, j = torch.triu_indices(9, 9, 1)
    a, b, qq = (torch.rand(len(i), generator=g, dtype=torch.float64) for _ in range(3))
    xt = pos.permute(1, 2, 0).contiguous().requires_grad_(True)
    e_lj, e_el = pair_kernel.pair_energies(xt, i, j, a, b, qq)
    (g1,) = torch.autograd.grad((2 * e_lj + 3 * e_el).sum(), xt)
    p = pos.clone().requires_grad_(True)
    r = (p[:, j] - p[:, i]).norm(dim=-1)
    ref_lj = (a / r**12 - b / r**6).sum(-1)
    ref_el = (qq / r).sum(-1)
    (g2,) = torch.autograd.grad((2 * ref_lj + 3 * ref_el).sum(), p)
    torch.testing.assert_close(e_lj, ref_lj.detach())
    torch.testing.assert_close(e_el, ref_el.detach())
    torch.testing.assert_close(g1.permute(2, 0, 1), g2)


def test_no_double_backward():
    xt = torch.rand(3, 3, 2, dtype=torch.float64).requires_grad_(True)
    i, j = torch.tensor([0, 1]), torch.tensor([1, 2])
    one = torch.ones(2, dtype=torch.float64)
    e, _ = pair_kernel.pair_energies(xt, i, j, one, one, one)
    (g,) = torch.autograd.grad(e.sum(), xt, create_graph=True)
    with pytest.raises(RuntimeError):
        torch.autograd.grad(g.sum(), xt)
