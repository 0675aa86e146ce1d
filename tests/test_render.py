"""Pictures of structures."""

from __future__ import annotations

import mdtraj as md

from openmm_bridge.trajio import mdtraj_topology
from pathgan.render import render_strip


def test_render_strip(deca, tmp_path):
    traj = md.Trajectory(deca.positions_angstrom()[None].repeat(3, axis=0) / 10, mdtraj_topology(deca))
    render_strip([("helix", traj), ("again", traj)], [0.0, 0.5, 1.0], tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 20_000


def test_draw_structure_draws_every_bond_and_atom_and_the_helix_in_red(deca):
    from openmm_bridge.plots import plt
    from pathgan.render import draw_structure

    traj = md.Trajectory(deca.positions_angstrom()[None] / 10, mdtraj_topology(deca))
    fig, ax = plt.subplots()
    draw_structure(ax, traj, "helix")
    bonds, backbone, atoms = ax.collections
    assert len(bonds.get_segments()) == traj.topology.n_bonds
    assert len(atoms.get_offsets()) == traj.n_atoms
    colours = {tuple(c) for c in backbone.get_colors().round(3)}
    assert (0.839, 0.153, 0.157, 1.0) in colours  # the built helix: red segments
    assert int(ax.get_title().rsplit("helix ", 1)[1].rstrip("%")) >= 50  # DSSP reads most of it as helix
    plt.close(fig)
