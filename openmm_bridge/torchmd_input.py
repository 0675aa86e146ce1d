"""What torchmd needs from a system: a molecule-like object and a parmed ParameterSet.

torchmd's ``Parameters`` reads atom types, charges, masses and the lists of bonds,
angles, proper and improper torsions from a molecule object, and looks parameters
up by atom type in a parmed ``ParameterSet``.  This module derives both from a
parametrised parmed ``Structure``, whatever file format the structure came from,
so that the OpenMM System and the torchmd potential describe the same physics.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import openmm as mm
import parmed

from .errors import MissingParameterError


@dataclass
class TorchmdMolecule:
    """The attributes of a moleculekit ``Molecule`` that torchmd's ``Parameters`` reads.

    Index arrays are 0-based atom indices; charges in elementary charges, masses
    in Dalton.
    """

    atomtype: np.ndarray  # (n_atoms,) str
    element: np.ndarray  # (n_atoms,) str
    charge: np.ndarray  # (n_atoms,) float
    masses: np.ndarray  # (n_atoms,) float
    bonds: np.ndarray  # (n_bonds, 2) int
    angles: np.ndarray  # (n_angles, 3) int
    dihedrals: np.ndarray  # (n_dihedrals, 4) int, proper torsions
    impropers: np.ndarray  # (n_impropers, 4) int, central atom third

    @property
    def numAtoms(self) -> int:  # noqa: N802 - torchmd's spelling
        return len(self.atomtype)


#: Terms of a parmed Structure that torchmd has no functional form for, and that the potential does
#: not compute from the OpenMM forces either (it does Urey-Bradley and CMAP: see
#: :mod:`openmm_bridge.force_table`).
UNSUPPORTED_TERMS: dict[str, str] = {
    "rb_torsions": "Ryckaert-Bellemans torsions",
    "trigonal_angles": "AMOEBA trigonal angles",
    "out_of_plane_bends": "AMOEBA out-of-plane bends",
    "pi_torsions": "AMOEBA pi torsions",
    "stretch_bends": "AMOEBA stretch-bends",
    "torsion_torsions": "AMOEBA torsion-torsions",
}


def unsupported_terms(struct: parmed.Structure) -> list[str]:
    """Names of the energy terms present in ``struct`` that the potential cannot compute."""
    return [name for attr, name in UNSUPPORTED_TERMS.items() if len(getattr(struct, attr, ()))]


def molecule_from_structure(struct: parmed.Structure) -> TorchmdMolecule:
    """The torchmd molecule of a parametrised structure.

    AMBER-style impropers (periodic, flagged ``improper`` among the dihedrals) and
    CHARMM-style harmonic impropers both go to ``impropers``, in the atom order
    the force field gave them, since the improper angle depends on it.
    """

    def idx(items, attrs) -> np.ndarray:
        rows = [[getattr(it, a).idx for a in attrs] for it in items]
        return np.array(rows, dtype=np.int64).reshape(-1, len(attrs))

    a4 = ("atom1", "atom2", "atom3", "atom4")
    propers = [d for d in struct.dihedrals if not d.improper]
    impropers = [d for d in struct.dihedrals if d.improper] + list(struct.impropers)
    return TorchmdMolecule(
        atomtype=np.array([a.type for a in struct.atoms], dtype=object).astype(str),
        element=np.array([a.element_name for a in struct.atoms]).astype(str),
        charge=np.array([a.charge for a in struct.atoms], dtype=np.float64),
        masses=np.array([a.mass for a in struct.atoms], dtype=np.float64),
        bonds=idx(struct.bonds, ("atom1", "atom2")),
        angles=idx(struct.angles, ("atom1", "atom2", "atom3")),
        dihedrals=idx(propers, a4),
        impropers=idx(impropers, a4),
    )


def system_charges(system: mm.System, structure_charges: np.ndarray, source: str) -> np.ndarray:
    """The particle charges (e) of the System's NonbondedForce, checked against the structure's.

    They may differ by rounding and Coulomb-constant conventions (a chamber prmtop: 3e-5
    relative); a larger difference means the two describe different molecules.
    """
    nb = [f for f in system.getForces() if isinstance(f, mm.NonbondedForce)]
    if not nb:
        return structure_charges
    q = np.array([nb[0].getParticleParameters(i)[0]._value for i in range(nb[0].getNumParticles())])
    worst = float(np.max(np.abs(q - structure_charges), initial=0.0))
    if len(q) != len(structure_charges) or worst > 1e-3:
        raise MissingParameterError(
            f"{source}: the System's charges differ from the parameter file's by up to {worst:.3g} e"
        )
    return q


def parameter_set_from_structure(struct: parmed.Structure, source: str) -> parmed.ParameterSet:
    """Type-keyed parameters of ``struct``, checked to be unambiguous.

    A type-keyed set is only faithful if every bond, angle and torsion between
    the same atom types has the same parameters; otherwise the error names the
    types and ``source`` (the file or force field the structure came from).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return parmed.ParameterSet.from_structure(struct, allow_unequal_duplicates=False)
    except parmed.exceptions.ParameterError as err:
        raise MissingParameterError(
            f"{source}: parameters are not a function of atom types alone ({err}); "
            "torchmd looks parameters up by type"
        ) from err


def set_14_scaling(struct: parmed.Structure, scee: float, scnb: float) -> None:
    """Give every proper torsion type the 1-4 scaling factors torchmd reads from it."""
    for dtype in struct.dihedral_types:
        dtype.scee = scee
        dtype.scnb = scnb


def check_parameters_complete(mol: TorchmdMolecule, prm: parmed.ParameterSet, source: str) -> None:
    """Raise ``MissingParameterError`` naming the first term with no parameters.

    torchmd itself fails on a missing key with a bare ``KeyError``; this names
    the atom types, the atoms and the file.
    """
    t = mol.atomtype
    for at in np.unique(t):
        if at not in prm.atom_types:
            raise MissingParameterError(f"{source}: no Lennard-Jones parameters for atom type {at!r}")
    for i, j in mol.bonds:
        if (t[i], t[j]) not in prm.bond_types:
            raise MissingParameterError(
                f"{source}: no bond parameters for atom types ({t[i]}, {t[j]}) (atoms {i}, {j})"
            )
    for i, j, k in mol.angles:
        if (t[i], t[j], t[k]) not in prm.angle_types:
            raise MissingParameterError(
                f"{source}: no angle parameters for atom types ({t[i]}, {t[j]}, {t[k]}) (atoms {i}, {j}, {k})"
            )
    for q in mol.dihedrals:
        key = tuple(t[q])
        if key not in prm.dihedral_types and key[::-1] not in prm.dihedral_types:
            raise MissingParameterError(
                f"{source}: no torsion parameters for atom types {key} (atoms {tuple(q)})"
            )


def complete_14_torsions(struct: parmed.Structure) -> int:
    """Add a zero-amplitude torsion for every 1-4 pair that has none; return how many.

    torchmd finds 1-4 pairs (scaled Lennard-Jones and electrostatics) only through
    the proper torsions of the molecule, while OpenMM and AMBER take them from the
    bond graph.  Force fields leave out torsions whose amplitude is zero (ff14SB's
    H-C-C-H, for instance), so without this those 1-4 pairs would be missing.
    The added terms carry the structure's own 1-4 scaling and change no energy.
    """
    have = {frozenset((d.atom1.idx, d.atom4.idx)) for d in struct.dihedrals if not d.improper}
    # CHARMM structures hold multi-term DihedralTypeLists, AMBER ones single DihedralTypes.
    first = struct.dihedral_types[0] if struct.dihedral_types else None
    is_list = isinstance(first, parmed.DihedralTypeList)
    term = first[0] if is_list and len(first) else first
    scee, scnb = (term.scee, term.scnb) if term is not None else (1.0, 1.0)
    zero_term = parmed.DihedralType(0.0, 1, 0.0, scee=scee, scnb=scnb)
    zero_type = parmed.DihedralTypeList([zero_term]) if is_list else zero_term
    added = 0
    for b in struct.bonds:
        for a2, a3 in ((b.atom1, b.atom2), (b.atom2, b.atom1)):
            for a1 in a2.bond_partners:
                if a1 is a3:
                    continue
                for a4 in a3.bond_partners:
                    if a4 is a2 or a4 is a1 or a1.idx > a4.idx:
                        continue
                    if a4 in a1.bond_partners or a4 in a1.angle_partners:
                        continue  # a ring closes: 1-2 or 1-3, excluded, not 1-4
                    key = frozenset((a1.idx, a4.idx))
                    if key in have:
                        continue
                    have.add(key)
                    struct.dihedrals.append(parmed.Dihedral(a1, a2, a3, a4, type=zero_type))
                    added += 1
    if added:
        struct.dihedral_types.append(zero_type)
        struct.dihedral_types.claim()
    return added
