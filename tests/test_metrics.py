"""Structural metrics."""

from __future__ import annotations

import mdtraj as md
import numpy as np

from openmm_bridge.trajio import mdtraj_topology
from pathgan.metrics import end_to_end_distance_angstrom, helix_fraction, helix_residue_count


def test_helix_and_end_to_end(deca):
    traj = md.Trajectory(deca.positions_angstrom()[None] / 10, mdtraj_topology(deca))
    assert helix_residue_count(traj)[0] >= 8
    assert 0.8 <= helix_fraction(traj)[0] <= 1.0
    np.testing.assert_allclose(
        end_to_end_distance_angstrom(traj)[0], deca.end_to_end_distance_angstrom(), rtol=1e-5
    )
