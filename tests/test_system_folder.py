"""The system folder on disk: writing, reading back, refusing old or damaged folders, rebuild hints."""

from __future__ import annotations

import json
import shlex
import shutil

import openmm.app as app
import pytest

from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.system_folder import FORMAT, read_system_folder, rebuild_hint, save_system
from pathgan.cli import build_parser


def _h_bonds(topology: app.Topology) -> set[frozenset[int]]:
    h = app.element.hydrogen
    return {frozenset((a.index, b.index)) for a, b in topology.bonds() if h in (a.element, b.element)}


@pytest.fixture
def folder(deca_dir, tmp_path):
    """A copy of the deca-alanine system folder that a test may damage."""
    return shutil.copytree(deca_dir, tmp_path / "deca")


def _edit_metadata(folder, **changes) -> dict:
    meta = json.loads((folder / "metadata.json").read_text())
    meta.update(changes)
    (folder / "metadata.json").write_text(json.dumps(meta))
    return meta


def test_save_and_read_back(deca, tmp_path):
    out = save_system(deca, tmp_path / "deca")
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["format"] == FORMAT and meta["n_atoms"] == deca.n_atoms
    assert sorted(p.name for p in out.iterdir()) == sorted(meta["files"])  # each listed file, no other
    assert meta["format"] == "pathgan-system/3" and "parameters.prmtop" not in meta["files"]
    assert not list(tmp_path.glob(".*"))  # no temporary folder left beside it
    parts = read_system_folder(out)
    assert parts["kind"] == "amber" and parts["metadata"]["loaded_from"] == str(out)
    assert "versions" not in parts["metadata"]
    assert parts["topology"].getNumAtoms() == parts["system"].getNumParticles() == deca.n_atoms
    # system.xml without constraints; system_hbonds.xml with every bond to hydrogen constrained
    assert parts["system"].getNumConstraints() == 0
    hbonds = parts["system_hbonds"]
    constrained = {
        frozenset(hbonds.getConstraintParameters(k)[:2]) for k in range(hbonds.getNumConstraints())
    }
    assert constrained == _h_bonds(deca.topology) and len(constrained) > 0
    # the structure is rebuilt from the force field (bundled: recorded by name), with its full type names
    assert [a.type for a in parts["structure"].atoms] == [a.type for a in deca.structure.atoms]
    assert parts["inputs"].records == [] and parts["metadata"]["forcefield"] == ["amber14-all.xml"]


@pytest.mark.parametrize("old", ["pathgan-system/1", "pathgan-system/2"])
def test_old_format_is_refused_with_a_rebuild_command(folder, old):
    _edit_metadata(folder, format=old)  # 2 wrote parameters back (parameters.prmtop/.psf/.prm)
    with pytest.raises(PathganInputError, match=old) as err:
        read_system_folder(folder)
    assert f"pathgan build --sequence AAAAAAAAAA --out {folder}" in str(err.value)


def test_damaged_metadata_is_a_data_error(folder):
    (folder / "metadata.json").write_text('{"format": "pathgan-sys')
    with pytest.raises(PathganDataError, match="metadata.json: unreadable JSON"):
        read_system_folder(folder)
    (folder / "metadata.json").unlink()
    with pytest.raises(PathganInputError, match="not a pathgan system folder"):
        read_system_folder(folder)


@pytest.mark.parametrize(
    "name, what",
    [
        ("structure.pdb", "structure"),
        ("system.xml", "System XML"),
        ("system_hbonds.xml", "constrained System XML"),
    ],
)
def test_missing_files_are_named(folder, name, what):
    (folder / name).unlink()
    with pytest.raises(PathganInputError) as err:
        read_system_folder(folder)
    assert f"{folder / name}: {what} not found" in str(err.value)


def _build_args(hint: str):
    """The ``pathgan build`` arguments a hint gives, parsed by pathgan's own parser."""
    command = hint.split("rebuild it: ", 1)[1].split(" (add ", 1)[0]
    words = shlex.split(command)
    assert words[:2] == ["pathgan", "build"]
    return build_parser().parse_args(words[1:])


def test_rebuild_hints(deca, tmp_path):
    out = tmp_path / "sys"
    args = _build_args(rebuild_hint(out, deca.metadata))  # a built system's own metadata
    assert (args.sequence, args.out, args.free_termini) == ("AAAAAAAAAA", str(out), False)
    free = {"builder": {**deca.metadata["builder"], "sequence": "AAAA", "caps": "free (charged) termini"}}
    args = _build_args(rebuild_hint(out, free))
    assert (args.sequence, args.free_termini) == ("AAAA", True)
    pdb = {"source": "in/x.pdb", "forcefield": ["amber14-all.xml", "amber14/tip3p.xml"]}
    hint = rebuild_hint(out, pdb)
    args = _build_args(hint)
    assert (args.pdb, args.forcefield, args.sequence) == ("in/x.pdb", pdb["forcefield"], None)
    assert "--allow-d-residues" in hint and "--allow-cis-peptides" in hint
    amber = {"source": "in/x.prmtop", "coordinates": "in/x.inpcrd"}
    args = _build_args(rebuild_hint(out, amber))
    assert (args.prmtop, args.inpcrd, args.pdb) == ("in/x.prmtop", "in/x.inpcrd", None)
    charmm = {
        "kind": "charmm",
        "source": "in/p.psf",
        "parameters": ["in/a.prm", "in/b.str"],
        "coordinates": "in/p.pdb",
    }
    args = _build_args(rebuild_hint(out, charmm))
    assert (args.psf, args.charmm_params, args.coordinates) == ("in/p.psf", charmm["parameters"], "in/p.pdb")
    assert args.out == str(out)


def test_rebuild_hint_of_a_chamber_prmtop_says_prmtop(tmp_path):
    chamber = {"kind": "charmm", "source": "in/x.prmtop", "coordinates": "in/x.rst7"}  # no CHARMM files
    args = _build_args(rebuild_hint(tmp_path / "sys", chamber))
    assert (args.prmtop, args.inpcrd, args.psf) == ("in/x.prmtop", "in/x.rst7", None)


def test_a_folder_without_its_input_copies_is_refused(deca, tmp_path):
    from amber_files import write_prmtop

    from openmm_bridge.system import MolecularSystem

    prmtop, crd = tmp_path / "p.prmtop", tmp_path / "p.inpcrd"
    write_prmtop(deca.structure, prmtop, crd)
    out = MolecularSystem.from_amber(prmtop, crd).save(tmp_path / "amber")
    assert sorted(p.name for p in (out / "inputs").iterdir()) == ["p.inpcrd", "p.prmtop"]
    (out / "inputs" / "p.prmtop").unlink()
    with pytest.raises(
        PathganInputError, match=r"inputs/p.prmtop: input file \(a copy of .*p.prmtop\) not found"
    ):
        read_system_folder(out)
