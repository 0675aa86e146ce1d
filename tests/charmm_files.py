"""CHARMM psf/prm/pdb files of a small peptide, written from OpenMM's ``charmm36.xml``, and files made from them.

No CHARMM toppar files ship with the packages pathgan installs, so the CHARMM tests
write their own: the peptide is parametrised by OpenMM's CHARMM36 force field (the
same numbers as the CHARMM toppar files it was converted from), turned into a parmed
Structure, and written as a psf and a parameter file that ``MolecularSystem.from_charmm``
then reads like any user's files. Two things parmed's OpenMM reader cannot recover
are restored here by hand:

- charmm36.xml puts the Urey-Bradley 1-3 terms in the same HarmonicBondForce as the
  bonds; pairs that are not chemical bonds are moved to ``urey_bradleys``, and the
  parameter file's ANGLES lines get their ``Kub S0`` columns back (parmed's writer
  omits them);
- Lennard-Jones lives in a ``LennardJonesForce`` block (a CustomNonbondedForce in the
  System), so each atom type's epsilon, Rmin/2 and 1-4 values are read from the XML.

From those files: an rtf/prm/str set as NAMD users have it (:func:`write_namd_style_set`) and
CHARMM-in-AMBER "chamber" prmtops with and without a (zero) box (:func:`write_chamber`).
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import openmm.app as app
import parmed

from openmm_bridge.builder import build_peptide
from openmm_bridge.forcefield_types import atom_types, split_urey_bradley
from openmm_bridge.units import ANGSTROM_PER_NM, KJ_PER_KCAL

_RMIN_HALF_PER_SIGMA = 2 ** (1 / 6) / 2


def _charmm36_lennard_jones() -> dict[str, dict[str, str]]:
    path = Path(app.__file__).parent / "data" / "charmm36.xml"
    block = ET.parse(path).getroot().find("LennardJonesForce")
    return {el.get("type"): el.attrib for el in block if el.tag == "Atom" and el.get("type")}


def _set_lennard_jones(struct: parmed.Structure) -> None:
    lj = _charmm36_lennard_jones()
    for atype in {id(a.atom_type): a.atom_type for a in struct.atoms}.values():
        p = lj[atype.name]
        eps = float(p["epsilon"]) / KJ_PER_KCAL
        rmin = float(p["sigma"]) * ANGSTROM_PER_NM * _RMIN_HALF_PER_SIGMA
        eps14 = float(p.get("epsilon14", p["epsilon"])) / KJ_PER_KCAL
        rmin14 = float(p.get("sigma14", p["sigma"])) * ANGSTROM_PER_NM * _RMIN_HALF_PER_SIGMA
        atype.set_lj_params(eps, rmin, eps14, rmin14)


def _add_urey_bradley_columns(struct: parmed.Structure, prm: Path) -> None:
    ub = {}
    for u in struct.urey_bradleys:
        for ang in struct.angles:
            if {ang.atom1, ang.atom3} == {u.atom1, u.atom2}:
                key = (ang.atom1.type, ang.atom2.type, ang.atom3.type)
                ub[key] = ub[key[::-1]] = u.type
    lines, section = [], ""
    for line in prm.read_text().splitlines():
        words = line.split()
        if words and words[0].isupper() and len(words) == 1:
            section = words[0]
        elif section == "ANGLES" and len(words) == 5 and tuple(words[:3]) in ub:
            t = ub[tuple(words[:3])]
            line = f"{line} {t.k:10.2f} {t.req:10.4f}"
        lines.append(line)
    prm.write_text("\n".join(lines) + "\n")


def write_charmm_peptide(folder: Path, sequence: str = "AAAAA") -> tuple[Path, Path, Path]:
    """Write ``peptide.psf``, ``peptide.prm`` and ``peptide.pdb`` (CHARMM36, free termini).

    Returns the three paths.
    """
    folder.mkdir(parents=True, exist_ok=True)
    charmm = app.ForceField("charmm36.xml")
    # CHARMM36 caps are patches, not residues; hydrogens come from the AMBER templates.
    topology, positions = build_peptide(sequence, app.ForceField("amber14-all.xml"), caps=False)
    system = charmm.createSystem(topology, nonbondedMethod=app.NoCutoff, constraints=None)
    for atom, atype in zip(topology.atoms(), atom_types(charmm, topology), strict=True):
        atom.id = atype
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the LJ forces parmed cannot read are restored below
        struct = parmed.openmm.load_topology(topology, system, xyz=positions)
    split_urey_bradley(struct, topology)
    _set_lennard_jones(struct)
    psf, prm, pdb = folder / "peptide.psf", folder / "peptide.prm", folder / "peptide.pdb"
    parmed.charmm.CharmmPsfFile.from_structure(struct).write_psf(str(psf))
    parmed.charmm.CharmmParameterSet.from_structure(struct).write(par=str(prm))
    _add_urey_bradley_columns(struct, prm)
    struct.write_pdb(str(pdb))
    return psf, prm, pdb


def write_namd_style_set(prm: Path) -> list[Path]:
    """The kind of parameter set NAMD users have, made from ``prm`` (of :func:`write_charmm_peptide`).

    Like ``top_all22_prot.rtf`` + ``par_all27_prot_lipid_cmap.prm``: the atom types are defined by
    ``MASS`` lines of the rtf only, and the prm gives Lennard-Jones parameters to a type ``CM`` that
    nothing defines (placed first, so parmed's reader skips every type after it). A stream file
    adds a ligand type with its own rtf and parameter sections, as CHARMM36 ``.str`` files do.
    Returns the [rtf, prm, str] files, written beside ``prm``.
    """
    folder = prm.parent
    lines = prm.read_text().splitlines()
    masses = [line for line in lines if line.startswith("MASS")]
    rtf = folder / "top_peptide.rtf"
    rtf.write_text("* atom types of the peptide\n*\n22 1\n\n" + "\n".join(masses) + "\n\nEND\n")
    params = []
    for line in lines:
        if line.strip() == "ATOMS" or line.startswith("MASS"):
            continue
        params.append(line)
        if line.startswith("cutnb"):
            params.append("CM     0.000000  -0.110000     2.100000 ! a type no MASS line defines")
    par = folder / "par_peptide_cmap.prm"
    par.write_text("\n".join(params) + "\n")
    stream = folder / "toppar_ligand.str"
    stream.write_text(_LIGAND_STREAM)
    return [rtf, par, stream]


_LIGAND_STREAM = """* a ligand's topology and parameters
*
read rtf card append
* ligand types
*
36 1
MASS   900 XL1   12.01100 C

END

read para card flex append
* ligand parameters
*
ATOMS
MASS   900 XL1   12.01100

BONDS
XL1  CT1   300.0  1.5

NONBONDED nbxmod  5 atom cdiel fshift vatom vdistance vfswitch -
cutnb 14.0 ctofnb 12.0 ctonnb 10.0 eps 1.0 e14fac 1.0 wmin 1.5
XL1    0.0  -0.0500  2.000

END
RETURN
"""


def write_chamber(psf: Path, prm: Path, pdb: Path, zero_box: bool = False) -> tuple[Path, Path]:
    """A CHARMM-in-AMBER ("chamber") prmtop and rst7 of a CHARMM peptide (:func:`write_charmm_peptide`), by parmed.

    ``zero_box``: the prmtop declares a periodic box of size zero (as chamber files converted
    without a box do); the coordinates then have no box.
    """
    folder = psf.parent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        struct = parmed.load_file(str(psf))
        struct.load_parameters(parmed.charmm.CharmmParameterSet(str(prm)))
        struct.coordinates = parmed.load_file(str(pdb)).coordinates
        stem = "chamber_zero_box" if zero_box else "chamber"
        prmtop, rst7 = folder / f"{stem}.prmtop", folder / f"{stem}.rst7"
        struct.save(str(rst7), format="rst7", overwrite=True)
        if zero_box:
            struct.box = [0.0, 0.0, 0.0, 90.0, 90.0, 90.0]
        parmed.amber.ChamberParm.from_structure(struct).write_parm(str(prmtop))
    return prmtop, rst7
