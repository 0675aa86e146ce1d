"""CHARMM psf/prm/pdb files of a small peptide, written from OpenMM's ``charmm36.xml``.

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
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from pathlib import Path

import openmm.app as app
import parmed
from parmed.topologyobjects import BondType, UreyBradley

from openmm_bridge.builder import build_peptide
from openmm_bridge.forcefield_types import atom_types
from openmm_bridge.units import ANGSTROM_PER_NM, KJ_PER_KCAL

_RMIN_HALF_PER_SIGMA = 2 ** (1 / 6) / 2


def _charmm36_lennard_jones() -> dict[str, dict[str, str]]:
    path = Path(app.__file__).parent / "data" / "charmm36.xml"
    block = ET.parse(path).getroot().find("LennardJonesForce")
    return {el.get("type"): el.attrib for el in block if el.tag == "Atom" and el.get("type")}


def _split_urey_bradley(struct: parmed.Structure, topology: app.Topology) -> None:
    chemical = {frozenset((a.index, b.index)) for a, b in topology.bonds()}
    for bond in [b for b in struct.bonds if frozenset((b.atom1.idx, b.atom2.idx)) not in chemical]:
        btype, a1, a2 = bond.type, bond.atom1, bond.atom2
        struct.bonds.remove(bond)
        bond.delete()
        ub_type = BondType(btype.k, btype.req, list=struct.urey_bradley_types)
        struct.urey_bradley_types.append(ub_type)
        struct.urey_bradleys.append(UreyBradley(a1, a2, type=ub_type))
    # parmed flagged impropers while the 1-3 pairs still looked like bonds: redo it.
    for d in struct.dihedrals:
        d.improper = all(a in d.atom3.bond_partners for a in (d.atom1, d.atom2, d.atom4))


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
    _split_urey_bradley(struct, topology)
    _set_lennard_jones(struct)
    psf, prm, pdb = folder / "peptide.psf", folder / "peptide.prm", folder / "peptide.pdb"
    parmed.charmm.CharmmPsfFile.from_structure(struct).write_psf(str(psf))
    parmed.charmm.CharmmParameterSet.from_structure(struct).write(par=str(prm))
    _add_urey_bradley_columns(struct, prm)
    struct.write_pdb(str(pdb))
    return psf, prm, pdb
