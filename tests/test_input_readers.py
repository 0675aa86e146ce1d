"""A practitioner's own CHARMM and AMBER files: they load, or fail naming the file and the problem.

Every file is written by the tests (charmm_files, amber_files). Each loadable kind is saved and
read back: the folder holds the inputs byte for byte (with their sha256), and the parmed
Structure rebuilt from them has the same terms and energy as the one built from the originals.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import parmed
import pytest

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.system import MolecularSystem

pytestmark = pytest.mark.filterwarnings("ignore:.*torchmd cannot represent these terms")

TERMS = ("bonds", "angles", "dihedrals", "impropers", "urey_bradleys", "cmaps")
CHARMM = {"allow_unrepresented_forces": True}  # CMAP, Urey-Bradley: until the potential computes them


@pytest.fixture(scope="module")
def peptide(tmp_path_factory) -> tuple[Path, Path, Path]:
    """psf, prm and pdb of a CHARMM36 tri-alanine (free termini)."""
    from charmm_files import write_charmm_peptide

    return write_charmm_peptide(tmp_path_factory.mktemp("charmm"), "AAA")


def _counts(struct: parmed.Structure) -> dict[str, int]:
    return {term: len(getattr(struct, term)) for term in TERMS}


def _parameters(struct: parmed.Structure) -> list:
    """Every atom's charge, mass and Lennard-Jones; every term's atoms and parameters (in any order).

    A topology read from structure.pdb lists its bonds in another order than the builder's,
    and some of them the other way round.
    """
    atoms = [(a.type, a.charge, a.mass, a.epsilon, a.rmin, a.epsilon_14, a.rmin_14) for a in struct.atoms]
    terms = []
    for term in TERMS:
        for item in getattr(struct, term):
            idx = [getattr(item, f"atom{k}").idx for k in range(1, 6) if hasattr(item, f"atom{k}")]
            if term != "impropers":  # the others read the same both ways
                idx = min(idx, idx[::-1])
            terms.append((term, idx, repr(item.type)))
    return atoms + sorted(terms)


def _parmed_energy(struct: parmed.Structure, xyz: np.ndarray) -> float | None:
    """Energy (kJ/mol) of the System parmed makes from the Structure's own parameters (None if it cannot)."""
    if struct.unknown_functional:  # charmm36.xml's Lennard-Jones table: parmed has no functional form
        return None
    system = struct.createSystem(nonbondedMethod=app.NoCutoff)
    context = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    context.setPositions(xyz * u.angstrom)
    return context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)


def round_trip(system: MolecularSystem, folder: Path) -> tuple[MolecularSystem, dict]:
    """Save and load ``system``; check the kept inputs, the energy and the rebuilt parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = system.save(folder)
        loaded = MolecularSystem.load(out)
    meta = json.loads((out / "metadata.json").read_text())
    for record in meta["inputs"]:
        data = (out / "inputs" / record["name"]).read_bytes()
        assert data == Path(record["original"]).read_bytes()  # verbatim
        assert hashlib.sha256(data).hexdigest() == record["sha256"]
    assert sorted(meta["files"]) == sorted(
        p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
    )
    xyz = system.positions_angstrom()
    e0, e1 = (OpenMMEvaluator(s.system).energies(xyz)["total"] for s in (system, loaded))
    np.testing.assert_allclose(e1, e0, rtol=1e-12)
    assert _counts(loaded.structure) == _counts(system.structure)
    assert [a.type for a in loaded.structure.atoms] == [a.type for a in system.structure.atoms]
    assert _parameters(loaded.structure) == _parameters(system.structure)
    e0, e1 = (_parmed_energy(s.structure, xyz) for s in (system, loaded))
    assert e1 == (None if e0 is None else pytest.approx(e0, rel=1e-10))
    again = loaded.save(folder.with_name(f"{folder.name}-again"))  # a loaded system keeps its inputs
    assert json.loads((again / "metadata.json").read_text())["inputs"] == meta["inputs"]
    for record in meta["inputs"]:
        assert (again / "inputs" / record["name"]).read_bytes() == (
            out / "inputs" / record["name"]
        ).read_bytes()
    return loaded, meta


# ---------------------------------------------------------------------- CHARMM files as NAMD users have them
def test_namd_style_rtf_prm_str_load_permissively(peptide, tmp_path):
    from charmm_files import write_namd_style_set

    psf, _, pdb = peptide
    files = write_namd_style_set(peptide[1])
    with pytest.raises(RuntimeError, match="Atom type CM not present"):  # what OpenMM says by default
        app.CharmmParameterSet(*map(str, files))
    system = MolecularSystem.from_charmm(psf, files, pdb, **CHARMM)
    assert system.metadata["charmm_parameters"]["types_defined_nowhere"] == ["CM"]
    # parmed stops assigning Lennard-Jones parameters at CM; they come from OpenMM's reading instead
    nb = next(f for f in system.system.getForces() if isinstance(f, mm.NonbondedForce))
    for atom in system.structure.atoms:
        _, sigma, eps = nb.getParticleParameters(atom.idx)
        assert abs(atom.epsilon) * 4.184 == pytest.approx(eps.value_in_unit(u.kilojoule_per_mole), rel=1e-9)
        assert atom.rmin * 2 / 2 ** (1 / 6) / 10 == pytest.approx(sigma.value_in_unit(u.nanometer), rel=1e-9)
    loaded, meta = round_trip(system, tmp_path / "namd")  # saving crashed in parmed's prm writer
    assert {r["name"] for r in meta["inputs"]} == {psf.name, pdb.name} | {f.name for f in files}
    assert meta["structure_from"]["parameters"] == [f.name for f in files]
    assert _counts(loaded.structure)["urey_bradleys"] > 0 and _counts(loaded.structure)["cmaps"] == 1


def test_charmm_file_kinds_are_told_by_name(peptide, tmp_path):
    psf, prm, pdb = peptide
    upper = tmp_path / "PAR_PEPTIDE.PRM"
    shutil.copy(prm, upper)
    assert MolecularSystem.from_charmm(psf, [upper], pdb, **CHARMM).n_atoms == 33
    odd = tmp_path / "params.txt"
    shutil.copy(prm, odd)
    with pytest.raises(
        PathganInputError, match=r"params.txt: not a CHARMM topology, parameter or stream file"
    ):
        MolecularSystem.from_charmm(psf, [odd], pdb)


# ---------------------------------------------------------------------- chamber prmtops
def test_chamber_prmtop_loads_and_round_trips(peptide, tmp_path):
    from charmm_files import write_chamber

    prmtop, rst7 = write_chamber(*peptide)
    system = MolecularSystem.from_amber(prmtop, rst7, **CHARMM)  # crashed: "Try ChamberParm"
    assert system.kind == "charmm" and system.metadata["prmtop_format"].startswith("chamber")
    assert isinstance(system.structure, parmed.amber.ChamberParm)
    psf_system = MolecularSystem.from_charmm(peptide[0], [peptide[1]], peptide[2], **CHARMM)
    xyz = system.positions_angstrom()
    e_chamber, e_psf = (OpenMMEvaluator(s.system).energies(xyz)["total"][0] for s in (system, psf_system))
    assert e_chamber == pytest.approx(e_psf, rel=1e-3)  # the same force field, in another file format
    round_trip(system, tmp_path / "chamber")


def test_chamber_prmtop_with_a_zero_box_loads_without_one(peptide, tmp_path):
    from charmm_files import write_chamber

    prmtop, rst7 = write_chamber(*peptide, zero_box=True)
    system = MolecularSystem.from_amber(prmtop, rst7, **CHARMM)  # crashed: ZeroDivisionError in OpenMM
    (box,) = system.metadata["periodic_box"]
    assert box["box_lengths_nm"] == [0.0, 0.0, 0.0] and "non-periodic" in box["ignored"]
    assert system.topology.getPeriodicBoxVectors() is None
    assert not system.system.usesPeriodicBoundaryConditions()
    _, meta = round_trip(system, tmp_path / "zero")
    assert meta["periodic_box"] == [box]


# ---------------------------------------------------------------------- boxes and solvent
def test_prmtop_and_inpcrd_with_a_box_load_as_vacuum(tmp_path):
    from amber_files import write_amber_peptide

    prmtop, inpcrd = write_amber_peptide(tmp_path, box_angstrom=30.0)
    system = MolecularSystem.from_amber(prmtop, inpcrd)
    boxes = system.metadata["periodic_box"]
    assert [b["file"] for b in boxes] == [str(prmtop), str(inpcrd)]
    assert all(b["box_lengths_nm"] == [3.0, 3.0, 3.0] and "vacuum" in b["ignored"] for b in boxes)
    assert not system.system.usesPeriodicBoundaryConditions()
    nb = next(f for f in system.system.getForces() if isinstance(f, mm.NonbondedForce))
    assert nb.getNonbondedMethod() == mm.NonbondedForce.NoCutoff
    loaded, _ = round_trip(system, tmp_path / "boxed")
    assert "CRYST1" not in (tmp_path / "boxed" / "structure.pdb").read_text()
    assert loaded.structure.box is None and loaded.kind == "amber"


def test_solvated_pdb_is_refused_with_advice(tmp_path):
    from amber_files import write_solvated_pdb

    pdb = write_solvated_pdb(tmp_path)
    with pytest.raises(PathganInputError) as err:  # crashed: AttributeError inside parmed
        MolecularSystem.from_pdb(pdb, ("amber14-all.xml", "amber14/tip3p.xml"))
    message = str(err.value)
    assert message.startswith(f"{pdb}: a solvated system (") and "water molecules" in message
    assert "explicit solvent is not supported" in message and "implicit/obc2.xml" in message


def test_solvated_prmtop_is_refused(tmp_path):
    from amber_files import write_solvated_prmtop

    prmtop, inpcrd = write_solvated_prmtop(tmp_path)
    assert " WAT " in prmtop.read_text()
    with pytest.raises(PathganInputError, match=r"solvated.prmtop: a solvated system \(\d+ water molecules"):
        MolecularSystem.from_amber(prmtop, inpcrd)


# ---------------------------------------------------------------------- OpenMM force-field XML
def test_free_termini_peptide_with_charmm36_xml_builds_and_round_trips(tmp_path):
    from openmm_bridge.builder import build_peptide

    topology, positions = build_peptide("AAA", app.ForceField("charmm36.xml"), caps=False)
    pdb = tmp_path / "ala3.pdb"
    with open(pdb, "w") as fh:
        app.PDBFile.writeFile(topology, positions, fh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_pdb(pdb, ("charmm36.xml",), **CHARMM)
    _, meta = round_trip(system, tmp_path / "c36")  # crashed: parmed's TypeError writing a prmtop
    assert meta["structure_from"]["forcefield"] == [{"bundled": "charmm36.xml"}]
    assert [r["name"] for r in meta["inputs"]] == ["ala3.pdb"]
    assert _counts(system.structure)["urey_bradleys"] > 0 and _counts(system.structure)["cmaps"] == 1


def test_a_users_own_forcefield_xml_is_kept_and_checked(tmp_path):
    own = tmp_path / "my_ff.xml"  # any XML on disk is the user's: ff14SB's protein file, copied
    shutil.copy(Path(app.__file__).parent / "data" / "amber14" / "protein.ff14SB.xml", own)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence("AA", (str(own),), minimize=False)
    folder = tmp_path / "own"
    _, meta = round_trip(system, folder)
    assert meta["structure_from"]["forcefield"] == [{"input": "my_ff.xml"}]
    own.write_text("<ForceField/>\n")  # the original may change or go: the folder has its copy
    assert MolecularSystem.load(folder).n_atoms == system.n_atoms
    with open(folder / "inputs" / "my_ff.xml", "a") as fh:
        fh.write("<!-- edited -->\n")
    with pytest.raises(PathganDataError, match=r"inputs/my_ff.xml: changed since the system was built"):
        MolecularSystem.load(folder)
    (folder / "inputs" / "my_ff.xml").unlink()
    with pytest.raises(
        PathganInputError, match=r"inputs/my_ff.xml: input file \(a copy of .*my_ff.xml\) not found"
    ):
        MolecularSystem.load(folder)


# ---------------------------------------------------------------------- unreadable files
def test_unreadable_files_are_named(peptide, tmp_path):
    psf, prm, pdb = peptide
    bad = {name: tmp_path / name for name in ("bad.prmtop", "bad.inpcrd", "bad.psf", "bad.prm")}
    for path in bad.values():
        path.write_text("garbage\n")
    bad["bad.prm"].write_text("BONDS\nCT1 CT2 abc 1.5\n")
    with pytest.raises(PathganInputError, match=r"bad.prmtop: cannot be read as an AMBER prmtop"):
        MolecularSystem.from_amber(bad["bad.prmtop"], bad["bad.inpcrd"])
    with pytest.raises(PathganInputError, match=r"peptide.pdb: not an AMBER prmtop"):
        MolecularSystem.from_amber(pdb, bad["bad.inpcrd"])
    with pytest.raises(PathganInputError, match=r"bad.psf: cannot be read as a CHARMM psf"):
        MolecularSystem.from_charmm(bad["bad.psf"], [prm], pdb)
    with pytest.raises(PathganInputError, match=r"bad.prm: cannot be read as a CHARMM parameter file"):
        MolecularSystem.from_charmm(psf, [bad["bad.prm"]], pdb)
    with pytest.raises(PathganInputError, match=r"bad.psf: cannot be read as a PDB file"):
        MolecularSystem.from_pdb(bad["bad.psf"], ("amber14-all.xml",))
    with pytest.raises(PathganInputError, match=r'force field nope.xml: Could not locate file "nope.xml"'):
        MolecularSystem.from_sequence("AA", ("nope.xml",))


def test_bad_coordinates_are_named(tmp_path):
    from amber_files import write_amber_peptide

    prmtop, _ = write_amber_peptide(tmp_path)
    (tmp_path / "bad.inpcrd").write_text("garbage\n")
    with pytest.raises(PathganInputError, match=r"bad.inpcrd: cannot be read as AMBER coordinates"):
        MolecularSystem.from_amber(prmtop, tmp_path / "bad.inpcrd")


def test_a_system_without_input_files_is_not_saved(deca, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bare = MolecularSystem(deca.topology, deca.system, deca.positions, deca.structure, "amber", {})
    with pytest.raises(PathganInputError, match="no record of the files its parameters come from"):
        bare.save(tmp_path / "bare")
    assert not (tmp_path / "bare").exists()


def test_prmtop_implicit_solvent_needs_radii_and_a_known_model(tmp_path):
    from amber_files import write_amber_peptide

    from openmm_bridge.errors import PathganInputError

    prmtop, inpcrd = write_amber_peptide(tmp_path, "AA")  # parmed writes zero GB radii
    with pytest.raises(PathganInputError, match=r"peptide.prmtop: its GB radii \(RADII\) are all zero"):
        MolecularSystem.from_amber(prmtop, inpcrd, implicit_solvent="OBC2")
    with pytest.raises(PathganInputError, match="implicit solvent 'HCT': pathgan computes"):
        MolecularSystem.from_amber(prmtop, inpcrd, implicit_solvent="HCT")
