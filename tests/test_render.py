"""Pictures of structures."""

from __future__ import annotations

import mdtraj as md

from openmm_bridge.trajio import mdtraj_topology
from pathgan.render import render_strip


def test_render_strip(deca, tmp_path):
    traj = md.Trajectory(deca.positions_angstrom()[None].repeat(3, axis=0) / 10, mdtraj_topology(deca))
    render_strip([("helix", traj), ("again", traj)], [0.0, 0.5, 1.0], tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 20_000
