"""Named torsions: the atoms mdtraj's compute_phi/psi/omega/chi1 give, named after their residue."""

from __future__ import annotations

import warnings

import mdtraj as md
import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.system import MolecularSystem
from openmm_bridge.torsion_index import BACKBONE, SIDE_CHAIN, named_torsions
from openmm_bridge.trajio import mdtraj_topology

MDTRAJ = {"phi": md.compute_phi, "psi": md.compute_psi, "omega": md.compute_omega, "chi1": md.compute_chi1}


def _expected(top: md.Topology, kind: str) -> tuple[np.ndarray, list[str]]:
    """mdtraj's quadruples of ``kind``, each named after the residue of its CA atom (omega: the first CA)."""
    traj = md.Trajectory(np.zeros((1, top.n_atoms, 3)), top)
    quads, _ = MDTRAJ[kind](traj)
    names = []
    for q in quads:
        residue = next(top.atom(int(i)).residue for i in q if top.atom(int(i)).name == "CA")
        names.append(f"{kind}:{residue.name}{residue.resSeq}")
    return quads, names


def test_backbone_torsions_of_deca_alanine_match_mdtraj(deca):
    top = mdtraj_topology(deca)
    quads, names = named_torsions(top, BACKBONE)
    assert quads.shape == (len(names), 4) and quads.dtype == np.int64
    start = 0
    for kind in BACKBONE:
        expected_quads, expected_names = _expected(top, kind)
        n = len(expected_names)
        assert n > 0
        np.testing.assert_array_equal(quads[start : start + n], expected_quads)
        assert list(names[start : start + n]) == expected_names
        start += n
    assert start == len(names)
    # ACE is residue 1: the first phi and psi are those of the first alanine, the last of the eleventh
    assert names[0] == "phi:ALA2" and "psi:ALA11" in names and "phi:ACE1" not in names
    assert len(set(names)) == len(names)


def test_alanine_has_no_chi1_and_other_residues_do(deca):
    quads, names = named_torsions(mdtraj_topology(deca), ("chi1",))
    assert quads.shape == (0, 4) and names == ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vlk = MolecularSystem.from_sequence("VLK", minimize=False)
    top = mdtraj_topology(vlk)
    quads, names = named_torsions(top, ("chi1",))
    expected_quads, expected_names = _expected(top, "chi1")
    np.testing.assert_array_equal(quads, expected_quads)
    assert list(names) == expected_names == ["chi1:VAL2", "chi1:LEU3", "chi1:LYS4"]
    # all kinds by default: the side chains' deeper torsions come after the backbone
    _, every = named_torsions(top)
    assert every[: len(named_torsions(top, BACKBONE)[1])] == named_torsions(top, BACKBONE)[1]
    assert {"chi2:LEU3", "chi4:LYS4"} <= set(every)


def test_kinds_are_taken_in_the_order_given(deca):
    top = mdtraj_topology(deca)
    _, names = named_torsions(top, ("psi", "phi"))
    assert names[0].startswith("psi:") and names[-1].startswith("phi:")


def test_unknown_kinds_are_an_error_naming_the_known_ones(deca):
    with pytest.raises(PathganInputError, match=r"unknown torsion kinds \['theta'\]") as err:
        named_torsions(mdtraj_topology(deca), ("phi", "theta"))
    for kind in BACKBONE + SIDE_CHAIN:
        assert f"'{kind}'" in str(err.value)
