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
    assert float(e.detach()) == pytest.approx(0.0)
    e = r(pos, 0.0)  # d = 15, c = 10: 1/2 * 2 * 25
    assert float(e.detach()) == pytest.approx(25.0)
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


def test_pull_restraint_follows_the_protocols_coordinate(deca):
    """The cGAN's restraint: the end-to-end one by default, the coordinate's twin otherwise."""
    import math

    import numpy as np

    from openmm_bridge.protocol import PullProtocol
    from pathgan.coordinate_restraint import CoordinateRestraint
    from pathgan.restraint import coordinate_values, pull_restraint

    default = pull_restraint(PullProtocol(), deca, [12.0, 20.0, 34.0])
    assert isinstance(default, EndToEndRestraint) and default.c1 == 34.0
    proto = PullProtocol(
        c0_angstrom=-60.0,
        c1_angstrom=-200.0,
        k_kcal_mol_a2=100.0,
        coordinate={"kind": "torsion", "torsion": "phi:ALA2"},
    )
    r = pull_restraint(proto, deca, [-60.0, -100.0, -200.0])
    assert isinstance(r, CoordinateRestraint) and r.coordinate.unit == "deg"
    assert float(r.centre(torch.tensor(0.75))) == pytest.approx(-150.0)
    xyz = np.asarray(deca.positions_angstrom())[None]
    phi = float(r.values(torch.as_tensor(xyz))[0])
    # at t = 1 the centre is -200 = 160 deg: the wrapped difference, in radians
    d = math.radians((phi - 160.0 + 180.0) % 360.0 - 180.0)
    assert float(r(torch.as_tensor(xyz), 1.0)[0]) == pytest.approx(0.5 * 100.0 * d**2, rel=1e-9)
    # unwrapped onto the centre line: near -200 at t = 1 when the torsion is near +160
    v = coordinate_values(proto, deca, np.repeat(xyz, 2, axis=0), np.array([0.0, 1.0]))
    assert v[0] == pytest.approx(phi) and abs(v[1] - (-200.0)) <= 180.0


def test_gan_restrains_a_torsion_pull_with_its_reference_table(deca, reference):
    """GAN.for_reference with a torsion protocol: a CoordinateRestraint on the reference's mean torsion."""
    from conftest import tiny

    from openmm_bridge.protocol import PullProtocol
    from pathgan.coordinate_restraint import CoordinateRestraint
    from pathgan.gan import GAN

    proto = PullProtocol(
        c0_angstrom=-60.0,
        c1_angstrom=-120.0,
        k_kcal_mol_a2=50.0,
        coordinate={"kind": "torsion", "torsion": "psi:ALA2"},
    )
    gan = GAN.for_reference(deca, tiny(restraint_target="reference"), proto, reference)
    assert isinstance(gan.restraint, CoordinateRestraint)
    assert gan.restraint.centre_table.numel() == 51 and gan.pull.coordinate == proto.coordinate
    x = gan.generate(torch.linspace(0, 1, 4))
    energy = gan.potential(x, torch.linspace(0, 1, 4))["restraint"]
    assert energy.shape == (4,) and bool(torch.isfinite(energy).all())
