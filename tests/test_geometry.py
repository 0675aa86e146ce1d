"""Batched internal coordinates against mdtraj."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import torch

from openmm_bridge.trajio import mdtraj_topology
from pathgan import geometry


def test_against_mdtraj(deca, deca_frames):
    traj = md.Trajectory(deca_frames / 10, mdtraj_topology(deca))
    x = torch.tensor(deca_frames)
    idx, phi = md.compute_phi(traj)
    np.testing.assert_allclose(geometry.dihedrals(x, torch.tensor(idx)).numpy(), phi, atol=1e-5)
    tri = np.array([[0, 1, 2], [8, 10, 14]])
    np.testing.assert_allclose(
        geometry.angles(x, torch.tensor(tri)).numpy(), md.compute_angles(traj, tri), atol=1e-5
    )
    pairs = np.array([[0, 5], [8, 98]])
    np.testing.assert_allclose(
        geometry.distances(x, torch.tensor(pairs)).numpy(), 10 * md.compute_distances(traj, pairs), atol=1e-4
    )
