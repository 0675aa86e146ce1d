"""Stereochemistry of proteins: chirality at every stereocentre and cis/trans of every peptide bond.

Energy parity cannot tell an L-residue from its mirror image (AMBER and CHARMM have no
chirality term), so the structure itself is checked. A stereocentre's configuration is the
sign of the signed volume

    V = (a - c) . ((b - c) x (d - c))     (Angstrom^3)

over its centre ``c`` and three substituents, compared with the sign of the same volume in
PDBFixer's residue template of that residue (the L-amino acids of the PDB):

- every CA: (N, C, CB) from CA (about +2.5 A^3 for L-alanine); glycine has no CB and no centre;
- THR CB: (CA, OG1, CG2) from CB; ILE CB: (CA, CG1, CG2) from CB.

A peptide bond C(i)-N(i+1) is cis when its omega dihedral (CA or ACE's CH3, C, N, CA or
NME's C) lies within 90 degrees of zero. Cis bonds before a proline occur in native proteins
and are reported as a note, not a failure; any other cis bond, like an inverted centre, fails
the check unless the user accepts it.

Positions are Angstrom, shape (..., n_atoms, 3): one structure or a whole trajectory.
"""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app

#: Version of the checker, recorded with every result.
CHECKER = "pathgan-stereochemistry/1"

#: Stereocentres of the standard residues: (centre, a, b, d) atom names of the signed volume.
_CA_CENTRE = ("CA", "N", "C", "CB")
_CB_CENTRES = {"THR": ("CB", "CA", "OG1", "CG2"), "ILE": ("CB", "CA", "CG1", "CG2")}


def template_heavy_atoms(resname: str) -> dict[str, np.ndarray]:
    """Heavy-atom positions (Angstrom) of PDBFixer's template of residue ``resname``, by atom name.

    Raises ``KeyError`` for a residue PDBFixer has no template of.
    """
    return dict(_template(resname))


@functools.cache
def _template(resname: str) -> tuple[tuple[str, np.ndarray], ...]:
    import pdbfixer

    path = os.path.join(os.path.dirname(pdbfixer.__file__), "templates", f"{resname}.pdb")
    if not os.path.exists(path):
        raise KeyError(resname)
    atoms = []
    with open(path) as fh:
        for line in fh:
            if (
                line.startswith(("ATOM", "HETATM"))
                and line[76:78].strip() != "H"
                and line[12:16].strip()[0] != "H"
            ):
                xyz = np.array([float(line[30:38]), float(line[38:46]), float(line[46:54])])
                atoms.append((line[12:16].strip(), xyz))
    return tuple(atoms)


def signed_volume(xyz: np.ndarray, c: int, a: int, b: int, d: int) -> np.ndarray:
    """(x_a - x_c) . ((x_b - x_c) x (x_d - x_c)) of positions (..., n_atoms, 3), shape (...), A^3."""
    xyz = np.asarray(xyz, dtype=np.float64)
    ca, cb, cd = (xyz[..., k, :] - xyz[..., c, :] for k in (a, b, d))
    return np.einsum("...k,...k->...", ca, np.cross(cb, cd))


@functools.cache
def template_sign(resname: str, centre: str) -> int:
    """Sign (+1 or -1) of the signed volume at ``centre`` in PDBFixer's template of ``resname``."""
    names = _CA_CENTRE if centre == "CA" else _CB_CENTRES[resname]
    atoms = template_heavy_atoms(resname)
    pos = np.stack([atoms[n] for n in names])
    return int(np.sign(signed_volume(pos, 0, 1, 2, 3)))


@dataclass(frozen=True)
class Stereocentre:
    """One stereocentre: its residue (``"ALA3"``), centre atom name and the four atom indices (c, a, b, d)."""

    residue: str
    centre: str
    atoms: tuple[int, int, int, int]
    expected_sign: int

    @property
    def label(self) -> str:
        """``"ALA3:CA"``."""
        return f"{self.residue}:{self.centre}"


@dataclass(frozen=True)
class PeptideBond:
    """The omega dihedral of the bond between residue ``before`` and residue ``after``."""

    before: str
    after: str
    atoms: tuple[int, int, int, int]

    @property
    def label(self) -> str:
        """``"ALA3-PRO4"``."""
        return f"{self.before}-{self.after}"

    @property
    def before_proline(self) -> bool:
        """Whether the bond is X-Pro (cis occurs in native proteins)."""
        return self.after.startswith("PRO")


def _label(residue: app.topology.Residue) -> str:
    return f"{residue.name}{residue.id}"


def stereocentres(topology: app.Topology) -> list[Stereocentre]:
    """Every stereocentre of the standard residues of an OpenMM topology (see the module docstring).

    Residues without a PDBFixer template, or missing one of the four atoms, have none.
    """
    out = []
    for res in topology.residues():
        names = {a.name: a.index for a in res.atoms()}
        specs = [_CA_CENTRE] + ([_CB_CENTRES[res.name]] if res.name in _CB_CENTRES else [])
        for spec in specs:
            if not all(n in names for n in spec):
                continue
            try:
                sign = template_sign(res.name, spec[0])
            except KeyError:
                continue
            out.append(Stereocentre(_label(res), spec[0], tuple(names[n] for n in spec), sign))
    return out


def peptide_bonds(topology: app.Topology) -> list[PeptideBond]:
    """Every C(i)-N(i+1) bond between residues, with the atoms of its omega dihedral."""
    out = []
    for a1, a2 in topology.bonds():
        for c, n in ((a1, a2), (a2, a1)):
            if c.name != "C" or n.name != "N" or c.residue is n.residue:
                continue
            before = {a.name: a.index for a in c.residue.atoms()}
            after = {a.name: a.index for a in n.residue.atoms()}
            first = before.get("CA", before.get("CH3"))
            last = after.get("CA", after.get("C") if n.residue.name == "NME" else None)
            if first is None or last is None:
                continue
            out.append(PeptideBond(_label(c.residue), _label(n.residue), (first, c.index, n.index, last)))
    return out


def dihedral_deg(xyz: np.ndarray, i: int, j: int, k: int, m: int) -> np.ndarray:
    """IUPAC dihedral i-j-k-m of positions (..., n_atoms, 3), degrees in (-180, 180]."""
    xyz = np.asarray(xyz, dtype=np.float64)
    b1, b2, b3 = (xyz[..., q, :] - xyz[..., p, :] for p, q in ((i, j), (j, k), (k, m)))
    n1, n2 = np.cross(b1, b2), np.cross(b2, b3)
    y = np.linalg.norm(b2, axis=-1) * np.einsum("...k,...k->...", b1, n2)
    return np.degrees(np.arctan2(y, np.einsum("...k,...k->...", n1, n2)))


def centre_signs(xyz: np.ndarray, centres: list[Stereocentre]) -> np.ndarray:
    """Sign of the signed volume of every centre, shape (..., n_centres), int (+1, -1, 0 when flat)."""
    if not centres:
        return np.zeros(np.shape(xyz)[:-2] + (0,), dtype=int)
    return np.stack([np.sign(signed_volume(xyz, *c.atoms)).astype(int) for c in centres], axis=-1)


@dataclass
class StereoReport:
    """The stereochemistry of one structure.

    ``inverted``: centres whose configuration differs from the L template (D-residues, or
    the wrong configuration at Thr/Ile CB); ``cis``: cis peptide bonds other than X-Pro;
    ``cis_proline``: cis X-Pro bonds (a note). ``accepted``: what the user accepted.
    """

    n_centres: int
    n_peptide_bonds: int
    inverted: list[str] = field(default_factory=list)
    cis: list[str] = field(default_factory=list)
    cis_proline: list[str] = field(default_factory=list)
    accepted: dict[str, bool] = field(default_factory=lambda: {"d_residues": False, "cis_peptides": False})

    @property
    def passed(self) -> bool:
        """No inverted centre and no cis (non-proline) bond, unless accepted."""
        bad_centres = bool(self.inverted) and not self.accepted["d_residues"]
        bad_bonds = bool(self.cis) and not self.accepted["cis_peptides"]
        return not (bad_centres or bad_bonds)

    def problems(self) -> list[str]:
        """What fails the check, in words (empty when it passes)."""
        out = []
        if self.inverted and not self.accepted["d_residues"]:
            out.append(
                f"{len(self.inverted)} of {self.n_centres} stereocentres inverted against the L templates "
                f"(D-residues): {', '.join(self.inverted)}"
            )
        if self.cis and not self.accepted["cis_peptides"]:
            out.append(f"cis peptide bonds (not before a proline): {', '.join(self.cis)}")
        return out

    def summary(self) -> str:
        """One line: what was checked and what was found."""
        parts = [
            f"{self.n_centres - len(self.inverted)}/{self.n_centres} stereocentres L",
            f"{self.n_peptide_bonds - len(self.cis) - len(self.cis_proline)}/{self.n_peptide_bonds} peptide bonds trans",
        ]
        if self.cis_proline:
            parts.append(f"cis before proline: {', '.join(self.cis_proline)}")
        if self.inverted:
            parts.append(f"inverted: {', '.join(self.inverted)}")
        if self.cis:
            parts.append(f"cis: {', '.join(self.cis)}")
        accepted = [k.replace("_", " ") for k, v in self.accepted.items() if v]
        if accepted:
            parts.append(f"accepted by the user: {', '.join(accepted)}")
        return f"{'passed' if self.passed else 'FAILED'}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (the system folder's ``metadata.json['stereochemistry']``)."""
        return {"checker": CHECKER, "passed": self.passed, **asdict(self)}


def check_structure(
    topology: app.Topology,
    xyz_angstrom: np.ndarray,
    allow_d_residues: bool = False,
    allow_cis_peptides: bool = False,
) -> StereoReport:
    """Chirality of every stereocentre and cis/trans of every peptide bond of one structure (n_atoms, 3) A."""
    xyz = np.asarray(xyz_angstrom, dtype=np.float64)
    centres = stereocentres(topology)
    signs = centre_signs(xyz, centres)
    inverted = [c.label for c, s in zip(centres, signs, strict=True) if s != c.expected_sign]
    bonds = peptide_bonds(topology)
    cis, cis_pro = [], []
    for bond in bonds:
        if abs(float(dihedral_deg(xyz, *bond.atoms))) < 90.0:
            (cis_pro if bond.before_proline else cis).append(bond.label)
    return StereoReport(
        len(centres),
        len(bonds),
        inverted,
        cis,
        cis_pro,
        {"d_residues": bool(allow_d_residues), "cis_peptides": bool(allow_cis_peptides)},
    )


def inverted_centres(
    xyz_angstrom: np.ndarray, centres: list[Stereocentre], reference_signs: np.ndarray
) -> np.ndarray:
    """Which centres of each frame differ from ``reference_signs``: (n_frames, n_centres) bool.

    ``xyz_angstrom`` (n_frames, n_atoms, 3); ``reference_signs`` (n_centres,), e.g. the
    signs of the system's own structure, so a frame that inverts a centre is flagged
    whatever the system's configuration (D-residues the user accepted included).
    """
    signs = centre_signs(np.asarray(xyz_angstrom, dtype=np.float64), centres)
    return signs != np.asarray(reference_signs)[None, :]


def chirality_changes(
    topology: app.Topology, xyz_angstrom: np.ndarray, reference_angstrom: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """Centres of each frame whose configuration differs from the reference structure's.

    Returns the centre labels (n_centres,) and a (n_frames, n_centres) bool array. A frame
    that inverts a centre is unphysical however low its energy: no force field term
    forbids it, so only this check sees it.
    """
    centres = stereocentres(topology)
    reference = centre_signs(np.asarray(reference_angstrom, dtype=np.float64), centres)
    return [c.label for c in centres], inverted_centres(xyz_angstrom, centres, reference)


#: Name of the chirality guard force (a bias: forces count, energies are reported without it).
GUARD_NAME = "chirality guard"


def chirality_guard_force(
    topology: app.Topology,
    positions_angstrom: np.ndarray,
    k_kcal_mol_a6: float = 50.0,
    margin_a3: float = 1.5,
) -> mm.CustomCompoundBondForce:
    """An OpenMM force that keeps every stereocentre on the side of ``positions_angstrom``'s configuration.

    ``k (m - s V)^2`` where the signed volume V (A^3) of a centre is less than the margin m on its
    side s, zero otherwise. No force field term forbids an inversion, and methods that move
    structures far from equilibrium (a string's reparametrisation, big steps) can push a
    hydrogen through its carbon; this is a guard for such methods, named :data:`GUARD_NAME`,
    not part of the physics: report energies without it.
    """
    from .units import ANGSTROM_PER_NM, kcal_to_kj

    centres = stereocentres(topology)
    signs = centre_signs(np.asarray(positions_angstrom, dtype=np.float64), centres)
    volume = (
        "((x2-x1)*((y3-y1)*(z4-z1)-(z3-z1)*(y4-y1))"
        " + (y2-y1)*((z3-z1)*(x4-x1)-(x3-x1)*(z4-z1))"
        " + (z2-z1)*((x3-x1)*(y4-y1)-(y3-y1)*(x4-x1)))"
    )
    force = mm.CustomCompoundBondForce(4, f"k_guard*step(short)*short^2; short = margin_guard - s*{volume}")
    force.addGlobalParameter("k_guard", kcal_to_kj(k_kcal_mol_a6) * ANGSTROM_PER_NM**6)  # kJ/mol/nm^6
    force.addGlobalParameter("margin_guard", margin_a3 / ANGSTROM_PER_NM**3)  # nm^3
    force.addPerBondParameter("s")
    for centre, sign in zip(centres, signs, strict=True):
        force.addBond(list(centre.atoms), [float(sign)])
    force.setName(GUARD_NAME)
    return force
