"""A path into OpenMM: positions with units, energies by force, restrained relaxation."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.export import energies_by_force, openmm_positions, relax_on_path
from openmm_bridge.trajio import mdtraj_topology
from pathgan.paths import path_frames


def test_positions_energies_and_relaxation(deca, small_pull):
    frames = path_frames(small_pull / "replica_000" / "trajectory.dcd", deca)[::50]
    positions = openmm_positions(frames)
    assert len(positions) == len(frames) and positions[0].unit == u.nanometer
    np.testing.assert_allclose(positions[1].value_in_unit(u.angstrom), frames[1])
    e = energies_by_force(deca, frames)
    assert set(e) >= {"HarmonicBondForce", "NonbondedForce", "total"} and e["total"].shape == (len(frames),)
    relaxed = relax_on_path(deca, frames)
    e_relaxed = energies_by_force(deca, relaxed)
    assert np.all(e_relaxed["total"] < e["total"])
    i, j = deca.end_to_end_atoms()
    d = np.linalg.norm(frames[:, i] - frames[:, j], axis=1)
    d_relaxed = np.linalg.norm(relaxed[:, i] - relaxed[:, j], axis=1)
    np.testing.assert_allclose(d_relaxed, d, atol=0.3)  # each frame keeps its place on the path


def test_bad_paths(deca, tmp_path):
    x = deca.positions_angstrom()
    with pytest.raises(PathganInputError, match=r"NaN or infinite coordinates \(frame 1, atom 3\)"):
        bad = np.stack([x, x])
        bad[1, 3, 0] = np.inf
        openmm_positions(bad)
    with pytest.raises(PathganInputError, match="shape"):
        openmm_positions(x)
    one = tmp_path / "one.pdb"
    md.Trajectory(x[None] / 10, mdtraj_topology(deca)).save_pdb(str(one))
    with pytest.raises(PathganInputError, match="at least 2 frames"):
        path_frames(one, deca)
