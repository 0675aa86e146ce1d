"""The moving end-to-end restraint."""

from __future__ import annotations

import pytest
import torch

from openmm_bridge.errors import PathganInputError
from pathgan.restraint import EndToEndRestraint


def test_energy_centre_and_gradient():
    r = EndToEndRestraint([0, 1], [2], k_kcal_mol_a2=2.0, c0_angstrom=10.0, c1_angstrom=20.0)
    pos = torch.tensor([[[0.0, 0, 0], [2.0, 0, 0], [16.0, 0, 0]]], requires_grad=True)
    assert float(r.centre(torch.tensor(0.5))) == 15.0
    e = r(pos, torch.tensor([0.5]))  # centroid distance 15 -> zero energy
    assert float(e) == pytest.approx(0.0)
    e = r(pos, 0.0)  # d = 15, c = 10: 1/2 * 2 * 25
    assert float(e) == pytest.approx(25.0)
    (g,) = torch.autograd.grad(e.sum(), pos)
    assert float(g[0, 2, 0]) == pytest.approx(2.0 * 5.0)  # k (d - c) on the lone atom


def test_bad_groups():
    with pytest.raises(
        PathganInputError,
        match=r"atom indices \[12\] of the second group are out of range \(the system has 10 atoms\)",
    ):
        EndToEndRestraint([0], [12], n_atoms=10)
    with pytest.raises(PathganInputError, match="share atoms"):
        EndToEndRestraint([0, 1], [1])
    with pytest.raises(PathganInputError, match="the first atom group is empty"):
        EndToEndRestraint([], [1])


def test_centre_table_interpolates():
    r = EndToEndRestraint([0], [1], centre_table_angstrom=[12.0, 20.0, 24.0])
    t = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0, 1.5], dtype=torch.float64)
    torch.testing.assert_close(
        r.centre(t), torch.tensor([12.0, 16.0, 20.0, 22.0, 24.0, 24.0], dtype=torch.float64)
    )
    with pytest.raises(PathganInputError, match="at least 2"):
        EndToEndRestraint([0], [1], centre_table_angstrom=[12.0])
