"""AMBER prmtop/inpcrd and PDB files of small peptides, with and without a box or water, written by the tests.

The prmtops are written by parmed from OpenMM's ``amber14-all.xml`` (ff14SB), the solvated
systems with OpenMM's ``Modeller.addSolvent`` and ``amber14/tip3p.xml``; nothing is downloaded.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import openmm.app as app
import openmm.unit as u
import parmed

from openmm_bridge.builder import build_peptide
from openmm_bridge.forcefield_types import structure_from_forcefield

_FF = ("amber14-all.xml",)
_WATER_FF = ("amber14-all.xml", "amber14/tip3p.xml")


def write_prmtop(
    struct: parmed.Structure,
    prmtop: Path,
    inpcrd: Path,
    box: list[float] | None = None,
    radii: str | None = None,
) -> None:
    """Write a copy of ``struct`` as a prmtop and an rst7 (its coordinates), types shortened to prmtop's 4 characters.

    ``radii``: a GB radius set to write (``"mbondi2"``, ``"mbondi3"``, parmed's ``changeRadii``); None: zeros.
    """
    struct = struct.copy(parmed.Structure)
    for atype in {id(a.atom_type): a.atom_type for a in struct.atoms}.values():
        atype.name = atype.name.split("-")[-1]  # ff14SB's protein-CT: 4 characters at most in a prmtop
    for atom in struct.atoms:
        atom.type = atom.atom_type.name
    struct.box = box
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parm = parmed.amber.AmberParm.from_structure(struct)
        if radii is not None:
            from parmed.tools import changeRadii

            changeRadii(parm, radii).execute()
        parm.write_parm(str(prmtop))
        struct.save(str(inpcrd), format="rst7", overwrite=True)


def write_amber_peptide(
    folder: Path,
    sequence: str = "AAA",
    box_angstrom: float | None = None,
    stem: str = "peptide",
    radii: str | None = None,
) -> tuple[Path, Path]:
    """``<stem>.prmtop`` and ``<stem>.inpcrd`` of a capped peptide (ff14SB), in a cubic box if asked,
    with a GB radius set if asked (see :func:`write_prmtop`)."""
    folder.mkdir(parents=True, exist_ok=True)
    ff = app.ForceField(*_FF)
    topology, positions = build_peptide(sequence, ff, caps=True)
    system = ff.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None)
    struct = structure_from_forcefield(ff, topology, system, positions)
    box = None if box_angstrom is None else [box_angstrom] * 3 + [90.0] * 3
    prmtop, inpcrd = folder / f"{stem}.prmtop", folder / f"{stem}.inpcrd"
    write_prmtop(struct, prmtop, inpcrd, box, radii)
    return prmtop, inpcrd


def _solvated(sequence: str) -> tuple[app.Topology, list, app.ForceField]:
    ff = app.ForceField(*_WATER_FF)
    topology, positions = build_peptide(sequence, ff, caps=True)
    modeller = app.Modeller(topology, positions)
    modeller.addSolvent(ff, padding=0.3 * u.nanometer)
    return modeller.topology, modeller.positions, ff


def write_solvated_pdb(folder: Path, sequence: str = "AAA") -> Path:
    """``solvated.pdb``: a capped peptide in a small box of TIP3P water (OpenMM's Modeller)."""
    folder.mkdir(parents=True, exist_ok=True)
    topology, positions, _ = _solvated(sequence)
    pdb = folder / "solvated.pdb"
    with open(pdb, "w") as fh:
        app.PDBFile.writeFile(topology, positions, fh)
    return pdb


def write_solvated_prmtop(folder: Path, sequence: str = "AAA") -> tuple[Path, Path]:
    """``solvated.prmtop`` and ``solvated.inpcrd``: the solvated peptide with ``WAT`` residues, as tleap names them."""
    folder.mkdir(parents=True, exist_ok=True)
    topology, positions, ff = _solvated(sequence)
    system = ff.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None, rigidWater=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        struct = parmed.openmm.load_topology(topology, system, xyz=positions)
    for residue in struct.residues:
        residue.name = "WAT" if residue.name == "HOH" else residue.name
    box = [float(x) for x in struct.box] if struct.box is not None else None
    prmtop, inpcrd = folder / "solvated.prmtop", folder / "solvated.inpcrd"
    write_prmtop(struct, prmtop, inpcrd, box)
    return prmtop, inpcrd
