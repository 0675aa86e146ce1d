"""The system folder on disk: writing, reading back, refusing old or damaged folders, rebuild hints."""

from __future__ import annotations

import copy
import json
import shlex
import shutil

import openmm.app as app
import parmed
import pytest

from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.system_folder import (
    FORMAT,
    read_system_folder,
    rebuild_hint,
    save_system,
    write_prmtop,
)
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
    # the prmtop's shortened types are renamed back to the force field's full names
    assert [a.type for a in parts["structure"].atoms] == [a.type for a in deca.structure.atoms]


def test_old_format_is_refused_with_a_rebuild_command(folder):
    _edit_metadata(folder, format="pathgan-system/1")
    with pytest.raises(PathganInputError, match="pathgan-system/1") as err:
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
        ("parameters.prmtop", "prmtop"),
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


def test_write_prmtop_keeps_the_full_type_names(deca, tmp_path):
    full = {a.type for a in deca.structure.atoms}
    assert any(len(t) > 4 for t in full)  # ff14SB's types (protein-CT ...) do not fit a prmtop
    names = write_prmtop(deca.structure, tmp_path / "p.prmtop")
    assert set(names.values()) == full
    assert all(len(short) <= 4 for short in names)
    assert {a.type for a in deca.structure.atoms} == full  # the structure itself is not renamed
    written = parmed.load_file(str(tmp_path / "p.prmtop"))
    assert [names[a.type] for a in written.atoms] == [a.type for a in deca.structure.atoms]


def test_write_prmtop_shortens_clashing_types_apart(deca, tmp_path):
    struct = deca.structure.copy(parmed.Structure)
    other = copy.copy(next(a.atom_type for a in struct.atoms if a.type == "protein-CT"))
    other.name = "other-CT"  # shortens to CT as well
    renamed = [a for a in struct.residues[2].atoms if a.type == "protein-CT"]
    for atom in renamed:
        atom.type, atom.atom_type = "other-CT", other
    names = write_prmtop(struct, tmp_path / "p.prmtop")
    assert (
        len(names) == len({a.type for a in struct.atoms}) == len({a.type for a in deca.structure.atoms}) + 1
    )
    written = parmed.load_file(str(tmp_path / "p.prmtop"))
    assert [names[a.type] for a in written.atoms] == [a.type for a in struct.atoms]


def test_short_type_names_never_collide(deca, tmp_path):
    from openmm_bridge.system_folder import write_prmtop

    struct = deca.structure.copy(type(deca.structure))
    for atom in struct.atoms:  # a full name that looks like a generated short one, and a long one
        atom.type = {"protein-C": "a-Y000", "protein-CT": "b-LONGNAME"}.get(atom.type, atom.type)
    names = write_prmtop(struct, tmp_path / "p.prmtop")
    assert sorted(names.values()) == sorted({a.type for a in struct.atoms})
