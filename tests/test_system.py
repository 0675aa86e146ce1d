"""MolecularSystem: inputs of every kind, the system folder, and bad input."""

from __future__ import annotations

import json
import warnings

import numpy as np
import openmm.app as app
import parmed
import pytest
import torch

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.errors import MissingParameterError, PathganInputError, UnrepresentedForceError
from openmm_bridge.system import MolecularSystem
from pathgan.potential import TorchMDPotential


def _energy(system: MolecularSystem) -> float:
    pot = TorchMDPotential.from_system(system)
    return float(pot.energy(torch.tensor(system.positions_angstrom()[None]))[0])


def test_save_load_roundtrip(deca, tmp_path):
    out = deca.save(tmp_path / "deca")
    files = {p.name for p in out.iterdir()}
    assert files == {"structure.pdb", "system.xml", "system_hbonds.xml", "metadata.json"}  # ff14SB: bundled
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["n_atoms"] == 112 and meta["versions"]["openmm"].startswith("8.")
    assert meta["units"]["structure.pdb"] == "angstrom"
    assert meta["structure_from"] == {
        "reader": "forcefield_xml",
        "forcefield": [{"bundled": "amber14-all.xml"}],
    }
    assert meta["inputs"] == []
    loaded = MolecularSystem.load(out)
    assert loaded.n_atoms == deca.n_atoms
    assert [a.type for a in loaded.structure.atoms] == [a.type for a in deca.structure.atoms]
    np.testing.assert_allclose(loaded.positions_angstrom(), deca.positions_angstrom(), atol=1e-3)
    assert _energy(loaded) == pytest.approx(_energy(deca), abs=0.05)  # PDB keeps 3 decimals


def test_from_amber_and_from_pdb_agree(deca, tmp_path):
    from amber_files import write_prmtop

    out = deca.save(tmp_path / "deca")
    prmtop, crd = tmp_path / "deca.prmtop", tmp_path / "deca.inpcrd"
    write_prmtop(deca.structure, prmtop, crd)
    amber = MolecularSystem.from_amber(prmtop, crd)
    pdb = MolecularSystem.from_pdb(out / "structure.pdb", ("amber14-all.xml",))
    e_amber = OpenMMEvaluator(amber.system).energies(deca.positions_angstrom())["total"][0]
    e_ref = OpenMMEvaluator(deca.system).energies(deca.positions_angstrom())["total"][0]
    assert e_amber == pytest.approx(e_ref, abs=1e-3)
    assert _energy(amber) == pytest.approx(e_ref, abs=2e-3)
    assert _energy(pdb) == pytest.approx(_energy(MolecularSystem.load(out)), abs=1e-6)


def test_atom_count_mismatch_names_both_files(deca, charmm_peptide, tmp_path):
    from amber_files import write_prmtop

    prmtop, crd = tmp_path / "deca.prmtop", tmp_path / "short.inpcrd"
    write_prmtop(deca.structure, prmtop, tmp_path / "deca.inpcrd")
    rst = parmed.amber.Rst7(natom=100)
    rst.coordinates = deca.positions_angstrom()[:100]
    rst.write(str(crd))
    with pytest.raises(PathganInputError, match=r"short.inpcrd: 100 atoms, but .*deca.prmtop has 112"):
        MolecularSystem.from_amber(prmtop, crd)
    system, _ = charmm_peptide  # a psf with the coordinates of another molecule
    psf, params = system.metadata["source"], system.metadata["parameters"]
    with pytest.raises(
        PathganInputError, match=rf"structure.pdb: 112 atoms, but .*peptide.psf has {system.n_atoms}"
    ):
        MolecularSystem.from_charmm(psf, params, deca.save(tmp_path / "d") / "structure.pdb")


def test_missing_and_unreadable_inputs(tmp_path):
    with pytest.raises(PathganInputError, match="nope.prmtop: prmtop not found"):
        MolecularSystem.from_amber(tmp_path / "nope.prmtop", tmp_path / "x.inpcrd")
    with pytest.raises(PathganInputError, match="not a pathgan system folder"):
        MolecularSystem.load(tmp_path)
    (tmp_path / "metadata.json").write_text("{broken")
    with pytest.raises(PathganInputError, match="metadata.json: unreadable JSON"):
        MolecularSystem.load(tmp_path)


def test_nan_coordinates_rejected(deca):
    pos = deca.positions.__class__(np.array(deca.positions._value), deca.positions.unit)
    pos._value[3] = [np.nan, 0.0, 0.0]
    with pytest.raises(PathganInputError, match=r"NaN or infinite coordinates at atoms \[3\]"):
        MolecularSystem(deca.topology, deca.system, pos, deca.structure, "amber", {"source": "nan.pdb"})


def test_missing_parameter_named(deca):
    struct = deca.structure.copy(parmed.Structure)
    mol = deca.torchmd_molecule()
    prm = parmed.ParameterSet.from_structure(struct)
    key = tuple(mol.atomtype[mol.bonds[0]])
    del prm.bond_types[key], prm.bond_types[key[::-1]]
    from openmm_bridge.torchmd_input import check_parameters_complete

    with pytest.raises(MissingParameterError, match=r"ff.prm: no bond parameters for atom types \(protein-"):
        check_parameters_complete(mol, prm, "ff.prm")


def test_pdb_without_template_names_file(tmp_path):
    pdb = tmp_path / "lig.pdb"
    pdb.write_text("HETATM    1  C1  LIG A   1       0.000   0.000   0.000  1.00  0.00           C\nEND\n")
    with pytest.raises(PathganInputError, match="lig.pdb: No template found"):
        MolecularSystem.from_pdb(pdb, ("amber14-all.xml",))


def test_unsupported_terms_warned(deca):
    struct = deca.structure.copy(parmed.Structure)
    a = struct.atoms
    struct.rb_torsions.append(parmed.Dihedral(a[0], a[1], a[2], a[3]))
    with pytest.warns(UserWarning, match="torchmd cannot represent these terms.*Ryckaert-Bellemans"):
        MolecularSystem(deca.topology, deca.system, deca.positions, struct, "amber", {"source": "x"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MolecularSystem(deca.topology, deca.system, deca.positions, deca.structure, "amber", {})
    assert app.ForceField  # openmm imported and in use


def test_charmm_system_save_load_keeps_energies(charmm_peptide, tmp_path):
    system, _ = charmm_peptide
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system.save(tmp_path / "charmm")
        loaded = MolecularSystem.load(tmp_path / "charmm")
    assert loaded.kind == "charmm"
    # parmed's prm writer dropped Urey-Bradley terms; the folder keeps the user's prm instead
    assert len(loaded.structure.urey_bradleys) == len(system.structure.urey_bradleys) > 0
    xyz = system.positions_angstrom()[None]
    e0 = OpenMMEvaluator(system.system).energies(xyz)["total"]
    e1 = OpenMMEvaluator(loaded.system).energies(xyz)["total"]
    np.testing.assert_allclose(e1, e0, atol=1e-6)
    p0 = TorchMDPotential.from_system(system).energy(torch.tensor(xyz))
    p1 = TorchMDPotential.from_system(loaded).energy(torch.tensor(xyz))
    np.testing.assert_allclose(p1.numpy(), p0.numpy(), rtol=1e-9)


def test_forces_the_potential_cannot_compute_are_refused_unless_accepted(tmp_path):
    # HCT implicit solvent: a CustomGBForce the batched potential does not compute (it does OBC2, GBn2)
    ff = ("amber14-all.xml", "implicit/hct.xml")
    with pytest.raises(
        UnrepresentedForceError, match=r"sequence AA: .*CustomGBForce.*--allow-unrepresented-forces"
    ):
        MolecularSystem.from_sequence("AA", ff, minimize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence("AA", ff, minimize=False, allow_unrepresented_forces=True)
        system.save(tmp_path / "gb")
        loaded = MolecularSystem.load(tmp_path / "gb")  # the acceptance is kept with the folder
    recorded = json.loads((tmp_path / "gb" / "metadata.json").read_text())["potential"]
    assert recorded["accept_unrepresented_forces"] is True
    assert any(note.startswith("CustomGBForce") for note in recorded["unrepresented_forces"])
    assert loaded.metadata["potential"]["unrepresented_forces"] == recorded["unrepresented_forces"]


def test_charmm_cmap_and_urey_bradley_are_computed(charmm_peptide, tmp_path):
    from charmm_files import write_charmm_peptide

    system, _ = charmm_peptide
    assert system.metadata["potential"]["unrepresented_forces"] == []
    psf, prm, pdb = write_charmm_peptide(tmp_path, "AAA")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left out, so nothing to warn about
        loaded = MolecularSystem.from_charmm(psf, [prm], pdb)
    assert loaded.metadata["potential"]["unrepresented_forces"] == []
