"""Stereochemistry: every built residue is L, and the checks find D-residues, cis bonds and inversions.

The L/D test below computes the signed volumes itself from PDBFixer's template files, independently
of :mod:`openmm_bridge.stereochemistry`, and is shown to fail on a mirrored structure.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import openmm.app as app
import openmm.unit as u
import pdbfixer
import pytest

from openmm_bridge import builder
from openmm_bridge.builder import build_peptide
from openmm_bridge.errors import PathganInputError
from openmm_bridge.stereochemistry import (
    check_structure,
    chirality_changes,
    peptide_bonds,
    stereocentres,
    template_sign,
)
from openmm_bridge.system import MolecularSystem, StereochemistryWarning
from pathgan.cli import main

TEMPLATES = os.path.join(os.path.dirname(pdbfixer.__file__), "templates")
CENTRES = {"CA": ("CA", "N", "C", "CB")}
CB_CENTRES = {"THR": ("CB", "CA", "OG1", "CG2"), "ILE": ("CB", "CA", "CG1", "CG2")}


def _volume(pos: dict[str, np.ndarray], c: str, a: str, b: str, d: str) -> float:
    return float(np.dot(pos[a] - pos[c], np.cross(pos[b] - pos[c], pos[d] - pos[c])))


def _template(resname: str) -> dict[str, np.ndarray]:
    out = {}
    for line in open(os.path.join(TEMPLATES, f"{resname}.pdb")):
        if line.startswith("ATOM"):
            out[line[12:16].strip()] = np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])])
    return out


def assert_all_l(topology: app.Topology, xyz_angstrom: np.ndarray) -> int:
    """Assert every CA (and Thr/Ile CB) has its template's configuration; return how many were checked."""
    checked, wrong = 0, []
    for res in topology.residues():
        if not os.path.exists(os.path.join(TEMPLATES, f"{res.name}.pdb")) or res.name in ("ACE", "NME"):
            continue
        pos = {a.name: xyz_angstrom[a.index] for a in res.atoms()}
        tmpl = _template(res.name)
        specs = ([CENTRES["CA"]] if "CB" in pos else []) + (
            [CB_CENTRES[res.name]] if res.name in CB_CENTRES else []
        )
        for spec in specs:
            checked += 1
            if np.sign(_volume(pos, *spec)) != np.sign(_volume(tmpl, *spec)):
                wrong.append(f"{res.name}{res.id}:{spec[0]}")
        if res.name == "GLY":
            assert "CB" not in pos
    assert not wrong, f"inverted against the L templates: {wrong}"
    return checked


def _built(sequence: str, caps: bool = True) -> tuple[app.Topology, np.ndarray]:
    top, pos = build_peptide(sequence, app.ForceField("amber14-all.xml"), caps=caps)
    return top, np.asarray(pos.value_in_unit(u.angstrom))


@pytest.mark.parametrize(
    "sequence,caps",
    [
        ("ACDEFGHIKLMNPQRSTVWY", True),
        ("ACDEFGHIKLMNPQRSTVWY", False),
        ("AAAAAAAAAA", True),
        ("GPTIG", True),
        ("TIPTIP", False),
        ("GGPGG", False),
    ],
)
def test_builder_makes_l_residues(sequence, caps):
    top, xyz = _built(sequence, caps)
    n_chiral = sum(1 for ch in sequence if ch != "G") + sum(1 for ch in sequence if ch in "TI")
    assert assert_all_l(top, xyz) == n_chiral
    # proline's ring is closed on its own N
    for res in top.residues():
        if res.name == "PRO":
            a = {x.name: x.index for x in res.atoms()}
            assert np.linalg.norm(xyz[a["CD"]] - xyz[a["N"]]) == pytest.approx(1.47, abs=0.05)


def test_minimised_system_stays_l(deca):
    assert assert_all_l(deca.topology, deca.positions_angstrom()) == 10
    # L-alanine: N-C-CA-CB about +122 degrees (-126 was the D-alanine of builder version 1)
    res = list(deca.topology.residues())[3]
    a = {x.name: x.index for x in res.atoms()}
    from openmm_bridge.stereochemistry import dihedral_deg

    assert dihedral_deg(deca.positions_angstrom(), a["N"], a["C"], a["CA"], a["CB"]) == pytest.approx(
        122, abs=6
    )


def test_the_l_test_fails_on_a_mirrored_structure():
    top, xyz = _built("ACDEFGHIKLMNPQRSTVWY")
    mirrored = xyz * np.array([-1.0, 1.0, 1.0])
    with pytest.raises(AssertionError, match="ALA2:CA.*THR18:CB"):
        assert_all_l(top, mirrored)
    report = check_structure(top, mirrored)
    assert len(report.inverted) == report.n_centres == 21 and not report.passed


def test_template_signs_are_those_of_l_amino_acids():
    assert template_sign("ALA", "CA") == 1  # +2.5 A^3 in PDBFixer's ALA.pdb
    assert {template_sign(r, "CA") for r in ("SER", "TRP", "PRO", "LYS")} == {1}
    # THR is (2S,3R) and ILE (2S,3S); with the atoms in this order both volumes are positive
    assert template_sign("THR", "CB") == 1 and template_sign("ILE", "CB") == 1


def test_allo_threonine_is_found_at_cb():
    top, xyz = _built("ATA")
    thr = next(r for r in top.residues() if r.name == "THR")
    a = {x.name: x.index for x in thr.atoms()}
    allo = xyz.copy()
    allo[[a["OG1"], a["CG2"]]] = xyz[[a["CG2"], a["OG1"]]]  # allo-threonine: (2S,3S)
    assert check_structure(top, allo).inverted == ["THR3:CB"]


def test_builder_refuses_a_structure_it_got_wrong(monkeypatch):
    def mirrored(mobile, target):  # what builder version 1 did by chance: a reflection
        mc, tc = mobile.mean(axis=0), target.mean(axis=0)
        uu, _, vt = np.linalg.svd((mobile - mc).T @ (target - tc))
        rot = uu @ vt
        if np.linalg.det(rot) > 0:
            rot = uu @ np.diag([1.0, 1.0, -1.0]) @ vt
        return rot, tc - mc @ rot

    monkeypatch.setattr(builder, "kabsch_transform", mirrored)
    with pytest.raises(PathganInputError, match=r"inverted.*ALA1:CA"):
        build_peptide("AG", app.ForceField("amber14-all.xml"), caps=False)


def _rotate_after_bond(top: app.Topology, xyz: np.ndarray, after_residue: int) -> np.ndarray:
    """Rotate every atom from residue ``after_residue`` on by 180 degrees about its N-C(prev) bond: cis."""
    residues = list(top.residues())
    n = next(a.index for a in residues[after_residue].atoms() if a.name == "N")
    c = next(a.index for a in residues[after_residue - 1].atoms() if a.name == "C")
    axis = (xyz[n] - xyz[c]) / np.linalg.norm(xyz[n] - xyz[c])
    moving = [a.index for r in residues[after_residue:] for a in r.atoms()]
    v = xyz[moving] - xyz[n]
    out = xyz.copy()
    out[moving] = xyz[n] + 2 * np.outer(v @ axis, axis) - v  # 180 degrees: v -> 2 (v.a) a - v
    return out


def test_cis_peptide_bonds_are_found():
    top, xyz = _built("AAPA", caps=False)
    report = check_structure(top, xyz)
    assert report.passed and report.n_peptide_bonds == 3 and not report.cis
    cis = check_structure(top, _rotate_after_bond(top, xyz, 1))  # ALA1-ALA2 made cis
    assert cis.cis == ["ALA1-ALA2"] and not cis.passed
    assert check_structure(top, _rotate_after_bond(top, xyz, 1), allow_cis_peptides=True).passed
    before_pro = check_structure(top, _rotate_after_bond(top, xyz, 2))  # ALA2-PRO3: a note only
    assert before_pro.cis_proline == ["ALA2-PRO3"] and before_pro.passed
    assert [b.label for b in peptide_bonds(top)] == ["ALA1-ALA2", "ALA2-PRO3", "PRO3-ALA4"]


def test_inverted_centre_in_a_trajectory_is_flagged(deca):
    xyz = np.repeat(deca.positions_angstrom()[None], 4, axis=0)
    res = list(deca.topology.residues())[3]
    a = {x.name: x.index for x in res.atoms()}
    xyz[2, [a["CB"], a["HA"]]] = xyz[2, [a["HA"], a["CB"]]]  # swap CB and HA: D at ALA4's CA
    labels, changed = chirality_changes(deca.topology, xyz, deca.positions_angstrom())
    assert changed.shape == (4, 10)
    assert np.flatnonzero(changed.any(axis=1)).tolist() == [2]
    assert [labels[c] for c in np.flatnonzero(changed[2])] == ["ALA4:CA"]


def test_d_residues_are_named_in_a_warning_and_can_be_accepted(deca, tmp_path):
    pdb = tmp_path / "mirror.pdb"
    with open(pdb, "w") as fh:
        app.PDBFile.writeFile(
            deca.topology, deca.positions_angstrom() * np.array([-1, 1, 1]) * u.angstrom, fh
        )
    with pytest.warns(StereochemistryWarning, match=r"10 of 10 stereocentres inverted.*ALA2:CA, ALA3:CA"):
        system = MolecularSystem.from_pdb(pdb, ("amber14-all.xml",))
    assert not system.stereochemistry.passed
    with warnings.catch_warnings():
        warnings.simplefilter("error", StereochemistryWarning)
        accepted = MolecularSystem.from_pdb(pdb, ("amber14-all.xml",), allow_d_residues=True)
    folder = accepted.save(tmp_path / "d")
    record = json.loads((folder / "metadata.json").read_text())["stereochemistry"]
    assert record["passed"] and record["accepted"]["d_residues"] and len(record["inverted"]) == 10
    assert MolecularSystem.load(folder).stereochemistry.passed
    # the command line refuses it without the option, and writes nothing
    assert main(["build", "--pdb", str(pdb), "--out", str(tmp_path / "cli")]) == 2
    assert not (tmp_path / "cli").exists()
    assert main(["build", "--pdb", str(pdb), "--out", str(tmp_path / "cli"), "--allow-d-residues"]) == 0


def test_system_folders_without_a_passed_record_are_refused(deca_dir, tmp_path):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(deca_dir, old)
    meta = json.loads((old / "metadata.json").read_text())
    del meta["stereochemistry"]
    (old / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(
        PathganInputError, match=r"no stereochemistry record.*pathgan build --sequence AAAAAAAAAA"
    ):
        MolecularSystem.load(old)
    meta["stereochemistry"] = {**json.loads((deca_dir / "metadata.json").read_text())["stereochemistry"]}
    meta["stereochemistry"]["passed"] = False
    meta["stereochemistry"]["inverted"] = ["ALA2:CA"]
    (old / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(PathganInputError, match="failed the stereochemistry check.*ALA2:CA"):
        MolecularSystem.load(old)


def test_stereocentres_of_a_peptide(deca):
    centres = stereocentres(deca.topology)
    assert [c.label for c in centres][:2] == ["ALA2:CA", "ALA3:CA"] and len(centres) == 10
    assert all(c.expected_sign == 1 for c in centres)


def test_the_openmm_chirality_guard_matches_the_signed_volumes(deca):
    import openmm as mm
    import openmm.unit as u

    from openmm_bridge.context import make_context
    from openmm_bridge.stereochemistry import chirality_guard_force, signed_volume

    force = chirality_guard_force(deca.topology, deca.positions_angstrom(), k_kcal_mol_a6=2.0, margin_a3=1.5)
    assert force.getNumBonds() == 10
    system = mm.System()
    for _ in range(deca.n_atoms):
        system.addParticle(1.0)
    system.addForce(force)
    ctx = make_context(system)
    x = deca.positions_angstrom()
    ctx.setPositions(x * u.angstrom)
    assert ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(
        u.kilocalorie_per_mole
    ) == pytest.approx(0.0)
    mirrored = x * np.array([-1.0, 1.0, 1.0])
    ctx.setPositions(mirrored * u.angstrom)
    centres = stereocentres(deca.topology)
    volumes = np.array([signed_volume(mirrored, *c.atoms) for c in centres])
    assert (volumes < -1.5).all()  # every centre inverted, beyond the margin
    expected = float(np.sum(2.0 * (1.5 - volumes) ** 2))  # k (m - s V)^2 with s = +1 for L
    energy = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
    assert energy == pytest.approx(expected, rel=1e-5)
