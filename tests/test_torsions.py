"""Torsion features: the same angles as mdtraj, batched and differentiable in torch."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import pytest
import torch

from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology
from pathgan.potential import TorchMDPotential
from pathgan.torsions import TorsionSet


def test_torsions_equal_mdtraj(deca, deca_frames):
    top = mdtraj_topology(deca)
    ts = TorsionSet.from_topology(top)
    traj = md.Trajectory(deca_frames / 10.0, top)
    _, phi = md.compute_phi(traj)
    _, psi = md.compute_psi(traj)
    ours = ts.angles(torch.tensor(deca_frames)).numpy()
    names = list(ts.names)
    # Capped deca-alanine: 10 phi, 10 psi, 11 omega (caps included), no chi for Ala.
    assert sum(n.startswith("phi:") for n in names) == 10
    assert sum(n.startswith("psi:") for n in names) == 10
    assert not any(n.startswith("chi") for n in names)
    np.testing.assert_allclose(ours[:, :10], phi, atol=1e-5)
    np.testing.assert_allclose(ours[:, 10:20], psi, atol=1e-5)
    # The built helix: phi near -57, psi near -47 in the middle residues.
    assert abs(np.degrees(ours[0, 4]) + 60) < 25 and abs(np.degrees(ours[0, 14]) + 45) < 25


def test_side_chain_torsions_found_for_other_residues():
    system = MolecularSystem.from_sequence("VLK", minimize=False)
    top = mdtraj_topology(system)
    names = TorsionSet.from_topology(top).names
    assert {"chi1:VAL2", "chi1:LEU3", "chi2:LEU3", "chi4:LYS4"} <= set(names)


def test_features_are_continuous_and_differentiable(deca, deca_frames):
    pot = TorchMDPotential.from_system(deca)
    pos = torch.tensor(deca_frames[:3], requires_grad=True)
    angles = pot.torsion_angles(pos)
    feats = pot.torsions.features(pos)
    assert feats.shape == (3, 2 * len(pot.torsions))
    np.testing.assert_allclose(feats[:, : angles.shape[1]].detach(), torch.cos(angles).detach())
    feats.sum().backward()
    assert torch.isfinite(pos.grad).all() and pos.grad.abs().sum() > 0


def test_unknown_kind_and_wrong_shape(deca):
    with pytest.raises(ValueError, match="unknown torsion kinds"):
        TorsionSet.from_topology(mdtraj_topology(deca), kinds=("phi", "theta"))
    pot = TorchMDPotential.from_system(deca)
    with pytest.raises(ValueError, match="atoms per frame"):
        pot.torsion_angles(torch.zeros(1, 5, 3, dtype=torch.float64))
