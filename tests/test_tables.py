"""Tables over t in [0, 1]: frames binned by t, values read back by piecewise-linear interpolation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openmm_bridge.errors import PathganInputError
from pathgan.tables import bin_by_t, interpolate


@pytest.mark.parametrize("n_bins", [2, 3, 5, 11])
def test_uniform_t_puts_every_frame_in_exactly_one_bin(n_bins):
    t = (np.arange(200) + 0.5) / 200  # uniform over [0, 1], no frame on a bin edge
    bins = bin_by_t(t, n_bins)
    assert len(bins) == n_bins
    counts = np.zeros(len(t), dtype=int)
    for idx in bins:
        counts[idx] += 1
    assert (counts == 1).all()
    # each frame in the bin whose centre k / (n_bins - 1) is nearest
    centres = np.linspace(0.0, 1.0, n_bins)
    for k, idx in enumerate(bins):
        assert idx.size > 0
        assert (np.abs(t[idx, None] - centres).argmin(axis=1) == k).all()


def test_an_empty_bin_gets_the_nearest_frame():
    t = np.array([0.0, 0.02, 0.9, 1.0])
    bins = bin_by_t(t, 5)  # centres 0, 0.25, 0.5, 0.75, 1; half width 0.125
    assert [b.tolist() for b in bins] == [
        [0, 1],
        [1],  # empty: 0.02 is nearest to 0.25
        [2],  # empty: 0.9 (0.40 away) is nearer to 0.5 than 0.02 (0.48 away)
        [2],  # empty (0.9 is 0.15 away): 0.9 is nearest to 0.75
        [2, 3],  # 0.9 is within 0.125 of 1
    ]


@pytest.mark.parametrize("n_bins", [1, 0, -3])
def test_fewer_than_two_bins_is_an_error(n_bins):
    with pytest.raises(PathganInputError, match=f"at least 2 bins, got {n_bins}"):
        bin_by_t(np.linspace(0, 1, 10), n_bins)


def _numpy_interp(table: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Reference: numpy's interp (which holds the end values outside [0, 1]) along the first axis."""
    grid = np.linspace(0.0, 1.0, len(table))
    flat = table.reshape(len(table), -1)
    out = np.stack([np.interp(t, grid, flat[:, c]) for c in range(flat.shape[1])], axis=1)
    return out.reshape(len(t), *table.shape[1:])


def test_exact_at_the_points_and_linear_between():
    table = torch.tensor([0.0, 2.0, 1.0, 5.0], dtype=torch.float64)  # at t = 0, 1/3, 2/3, 1
    at_points = interpolate(table, torch.linspace(0.0, 1.0, 4, dtype=torch.float64))
    torch.testing.assert_close(at_points, table)
    mid = interpolate(table, torch.tensor([1 / 6, 0.5, 5 / 6], dtype=torch.float64))
    torch.testing.assert_close(mid, torch.tensor([1.0, 1.5, 3.0], dtype=torch.float64))
    t = torch.rand(50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    np.testing.assert_allclose(
        interpolate(table, t).numpy(), _numpy_interp(table.numpy(), t.numpy()), rtol=1e-12
    )


def test_clamped_outside_zero_one():
    table = torch.tensor([3.0, -1.0, 4.0], dtype=torch.float64)
    out = interpolate(table, torch.tensor([-0.5, -1e-9, 1.0 + 1e-9, 7.0], dtype=torch.float64))
    torch.testing.assert_close(out, torch.tensor([3.0, 3.0, 4.0, 4.0], dtype=torch.float64))


def test_tables_of_coordinates():
    gen = torch.Generator().manual_seed(1)
    table = torch.randn(6, 7, 3, generator=gen, dtype=torch.float64)  # (K, n_atoms, 3)
    t = torch.cat([torch.rand(20, generator=gen, dtype=torch.float64), torch.tensor([0.0, 0.4, 1.0, 1.3])])
    out = interpolate(table, t)
    assert out.shape == (len(t), 7, 3)
    np.testing.assert_allclose(out.numpy(), _numpy_interp(table.numpy(), t.numpy()), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(out[-2], table[-1])
    torch.testing.assert_close(out[-4], table[0])


def test_differentiable_with_respect_to_the_table():
    table = torch.tensor([[0.0, 1.0], [2.0, -1.0], [5.0, 0.5]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([0.25, 0.8], dtype=torch.float64)  # x = 0.5 (bins 0, 1) and x = 1.6 (bins 1, 2)
    interpolate(table, t).sum().backward()
    # the gradient of a sum of interpolants is the sum of their hat-function weights
    expected = torch.tensor([[0.5, 0.5], [0.5 + 0.4, 0.5 + 0.4], [0.6, 0.6]], dtype=torch.float64)
    torch.testing.assert_close(table.grad, expected)
    assert torch.autograd.gradcheck(
        lambda tab: interpolate(tab, t), (table.detach().clone().requires_grad_(),)
    )
