"""The peptide builder: internal coordinates, sequences, and the helix it makes."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import openmm.app as app
import openmm.unit as u
import pytest
import torch

from openmm_bridge.builder import backbone_coordinates, build_peptide, parse_sequence, place_atom
from pathgan.geometry import dihedrals
from pathgan.metrics import helix_residue_count


def test_place_atom_reproduces_internal_coordinates():
    a, b, c = np.array([0.0, 1.0, 0.0]), np.zeros(3), np.array([1.5, 0.0, 0.0])
    d = place_atom(a, b, c, 1.33, 116.0, -60.0)
    assert np.linalg.norm(d - c) == pytest.approx(1.33)
    cb, cd = b - c, d - c
    assert np.degrees(np.arccos(cb @ cd / np.linalg.norm(cb) / np.linalg.norm(cd))) == pytest.approx(116.0)
    quad = torch.tensor(np.array([a, b, c, d])[None])
    assert np.degrees(float(dihedrals(quad, torch.tensor([[0, 1, 2, 3]]))[0, 0])) == pytest.approx(-60.0)


def test_parse_sequence_names_bad_letters():
    assert parse_sequence("ak") == ["ALA", "LYS"]
    with pytest.raises(ValueError, match=r"non-standard residue letters \['B', 'X'\]"):
        parse_sequence("AXB")
    with pytest.raises(ValueError, match="empty sequence"):
        parse_sequence("  ")


def test_backbone_has_requested_phi_psi():
    xyz = backbone_coordinates(6, -57.0, -47.0)
    top = md.Topology()
    chain = top.add_chain()
    for _ in range(6):
        res = top.add_residue("ALA", chain)
        atoms = [top.add_atom(n, md.element.get_by_symbol(n[0]), res) for n in ("N", "CA", "C", "O")]
        top.add_bond(atoms[0], atoms[1])
    traj = md.Trajectory(xyz.reshape(1, -1, 3) / 10, top)
    phi = np.degrees(md.compute_phi(traj)[1][0])
    psi = np.degrees(md.compute_psi(traj)[1][0])
    np.testing.assert_allclose(phi, -57.0, atol=0.1)
    np.testing.assert_allclose(psi, -47.0, atol=0.1)


def test_built_deca_alanine_is_a_helix(deca):
    names = [r.name for r in deca.topology.residues()]
    assert names == ["ACE"] + ["ALA"] * 10 + ["NME"]
    traj = md.Trajectory(deca.positions_angstrom()[None] / 10, md.Topology.from_openmm(deca.topology))
    assert helix_residue_count(traj)[0] >= 8
    assert 13.0 < deca.end_to_end_distance_angstrom() < 16.0


def test_other_sequences_and_free_termini_build():
    ff = app.ForceField("amber14-all.xml")
    top, pos = build_peptide("GAVLKE", ff, caps=False)
    names = [r.name for r in top.residues()]
    assert names == ["GLY", "ALA", "VAL", "LEU", "LYS", "GLU"]
    assert {"OXT", "H2", "H3"} <= {a.name for a in top.atoms()}  # charged termini
    ff.createSystem(top)  # every atom matched a template
    assert np.isfinite(np.asarray(pos.value_in_unit(u.angstrom))).all()


def test_build_is_reproducible():
    ff = app.ForceField("amber14-all.xml")
    _, p1 = build_peptide("AAAA", ff)
    _, p2 = build_peptide("AAAA", ff)
    np.testing.assert_array_equal(
        np.asarray(p1.value_in_unit(u.nanometer)), np.asarray(p2.value_in_unit(u.nanometer))
    )
