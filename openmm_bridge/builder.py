"""Build a peptide from its sequence alone: an ideal backbone from internal coordinates.

The backbone (N, CA, C, O) is placed atom by atom with the natural extension
reference frame (NeRF) from standard bond lengths and angles and the requested
phi/psi/omega. Each side chain is PDBFixer's residue template (an L-amino acid)
moved rigidly onto the residue's own N, CA and C by a proper rotation, so every
residue keeps the template's configuration at CA (and at CB of Thr and Ile) and
proline's ring closes on its own N. A free C-terminus gets its OXT in the carboxylate
plane; hydrogens come from OpenMM's ``Modeller.addHydrogens`` for the chosen force
field. No structure file is shipped or downloaded, and the result is checked with
:mod:`.stereochemistry` before it is returned.

Builder version 1 let PDBFixer place the side chains: its superposition does not
exclude reflections, and with only N, CA, C and O to fit, it mirrored the side chain
of some residues (all alanines of deca-alanine): D-residues. Version 2 is this module.
"""

from __future__ import annotations

import io
import random
from collections.abc import Sequence

import numpy as np
import openmm.app as app
import openmm.unit as u

from .errors import PathganInputError
from .stereochemistry import check_structure, dihedral_deg, template_heavy_atoms
from .superpose import kabsch_transform

#: Version of the builder, part of every built system's metadata and of the pipeline's stage keys
#: (version 1 made D-residues; see the module docstring).
BUILDER_VERSION: int = 2

#: One-letter to three-letter codes of the standard residues the builder accepts.
THREE_LETTER: dict[str, str] = {
    "A": "ALA",
    "R": "ARG",
    "N": "ASN",
    "D": "ASP",
    "C": "CYS",
    "Q": "GLN",
    "E": "GLU",
    "G": "GLY",
    "H": "HIS",
    "I": "ILE",
    "L": "LEU",
    "K": "LYS",
    "M": "MET",
    "F": "PHE",
    "P": "PRO",
    "S": "SER",
    "T": "THR",
    "W": "TRP",
    "Y": "TYR",
    "V": "VAL",
}

#: Ideal alpha-helix backbone dihedrals, degrees.
HELIX_PHI_DEG: float = -57.0
HELIX_PSI_DEG: float = -47.0

# Engh & Huber backbone geometry, Angstrom and degrees.
_N_CA, _CA_C, _C_N, _C_O = 1.458, 1.525, 1.329, 1.231
_N_CA_C, _CA_C_N, _C_N_CA, _CA_C_O = 111.2, 116.2, 121.7, 120.5


def place_atom(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle_deg: float, torsion_deg: float
) -> np.ndarray:
    """Position of atom d from three placed atoms (NeRF).

    Returns d such that |c - d| = ``bond`` (Angstrom), the angle b-c-d is
    ``angle_deg`` and the dihedral a-b-c-d is ``torsion_deg`` (IUPAC sign).
    """
    angle, torsion = np.radians(angle_deg), np.radians(torsion_deg)
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    d_local = bond * np.array(
        [-np.cos(angle), np.sin(angle) * np.cos(torsion), np.sin(angle) * np.sin(torsion)]
    )
    return c + d_local[0] * bc + d_local[1] * m + d_local[2] * n


def parse_sequence(sequence: str) -> list[str]:
    """Three-letter residue names from a one-letter sequence such as ``"AAAAAAAAAA"``.

    Raises :class:`PathganInputError` (a ``ValueError``) naming any letter that is not a standard residue.
    """
    seq = sequence.strip().upper()
    if not seq:
        raise PathganInputError("empty sequence: give at least one residue, e.g. 'AAAAAAAAAA'")
    unknown = sorted({ch for ch in seq if ch not in THREE_LETTER})
    if unknown:
        raise PathganInputError(
            f"sequence {sequence!r} has non-standard residue letters {unknown}; "
            f"allowed: {''.join(sorted(THREE_LETTER))}"
        )
    return [THREE_LETTER[ch] for ch in seq]


def backbone_coordinates(
    n_residues: int,
    phi_deg: float | Sequence[float] = HELIX_PHI_DEG,
    psi_deg: float | Sequence[float] = HELIX_PSI_DEG,
    omega_deg: float = 180.0,
) -> np.ndarray:
    """N, CA, C, O positions of ``n_residues`` residues, shape (n_residues, 4, 3), Angstrom.

    ``phi_deg``/``psi_deg`` are one value for all residues or one per residue.
    The last residue's O is placed as if another residue followed with the
    same psi (the caller may replace it).
    """
    phis = np.broadcast_to(np.asarray(phi_deg, dtype=float), (n_residues,))
    psis = np.broadcast_to(np.asarray(psi_deg, dtype=float), (n_residues,))
    chain: list[np.ndarray] = [
        np.zeros(3),
        np.array([_N_CA, 0.0, 0.0]),
    ]
    # C of residue 0, in the xy plane.
    ang = np.radians(180.0 - _N_CA_C)
    chain.append(chain[1] + _CA_C * np.array([np.cos(ang), np.sin(ang), 0.0]))
    for i in range(1, n_residues + 1):
        n_prev, ca_prev, c_prev = chain[-3], chain[-2], chain[-1]
        n_i = place_atom(n_prev, ca_prev, c_prev, _C_N, _CA_C_N, psis[i - 1])
        ca_i = place_atom(ca_prev, c_prev, n_i, _N_CA, _C_N_CA, omega_deg)
        c_i = place_atom(c_prev, n_i, ca_i, _CA_C, _N_CA_C, phis[i] if i < n_residues else -60)
        chain.extend([n_i, ca_i, c_i])
    xyz = np.array(chain).reshape(n_residues + 1, 3, 3)
    out = np.zeros((n_residues, 4, 3))
    out[:, :3] = xyz[:n_residues]
    for i in range(n_residues):
        n_next = xyz[i + 1, 0]
        # O lies in the peptide plane, trans to the next N.
        out[i, 3] = place_atom(n_next, xyz[i, 1], xyz[i, 2], _C_O, _CA_C_O, 180.0)
    return out


#: Bond length C-OXT and angle CA-C-OXT of a free carboxylate (Angstrom, degrees).
_C_OXT, _CA_C_OXT = 1.25, 117.0


def side_chain(resname: str, n: np.ndarray, ca: np.ndarray, c: np.ndarray) -> dict[str, np.ndarray]:
    """Heavy side-chain atoms of ``resname`` (Angstrom, by name) placed on a residue's N, CA and C.

    PDBFixer's template of the residue (an L-amino acid) is moved rigidly, by the proper
    rotation that best superposes its N, CA, C on the given ones, so its configuration at
    every stereocentre is kept. Glycine has no side chain (an empty dict).
    """
    template = template_heavy_atoms(resname)
    frame = ("N", "CA", "C")
    rotation, translation = kabsch_transform(np.stack([template[a] for a in frame]), np.stack([n, ca, c]))
    return {
        name: xyz @ rotation + translation
        for name, xyz in template.items()
        if name not in (*frame, "O", "OXT")
    }


def _heavy_atom_pdb(residues: list[str], caps: bool, phi_deg: float, psi_deg: float) -> str:
    """PDB text of every heavy atom: backbone from internal coordinates, side chains from templates."""
    names = (["ACE"] + residues + ["NME"]) if caps else list(residues)
    xyz = backbone_coordinates(len(names), phi_deg, psi_deg)
    lines: list[str] = []
    serial = 1

    def atom(name: str, resname: str, resid: int, pos: np.ndarray) -> None:
        nonlocal serial
        element = name[0]
        lines.append(
            f"ATOM  {serial:5d} {name:<4s} {resname:3s} A{resid:4d}    "
            f"{pos[0]:8.3f}{pos[1]:8.3f}{pos[2]:8.3f}  1.00  0.00          {element:>2s}"
        )
        serial += 1

    for i, resname in enumerate(names):
        n, ca, c, o = xyz[i]
        resid = i + 1
        if resname == "ACE":
            atom("CH3", resname, resid, ca)
            atom("C", resname, resid, c)
            atom("O", resname, resid, o)
        elif resname == "NME":
            atom("N", resname, resid, n)
            atom("C", resname, resid, ca)
        else:
            atom("N", resname, resid, n)
            atom("CA", resname, resid, ca)
            atom("C", resname, resid, c)
            atom("O", resname, resid, o)
            for name, pos in side_chain(resname, n, ca, c).items():
                atom(name, resname, resid, pos)
            if not caps and i == len(names) - 1:
                # the second carboxylate oxygen: in the plane of N, CA, C, O, opposite O
                psi_o = float(dihedral_deg(np.stack([n, ca, c, o]), 0, 1, 2, 3))
                atom("OXT", resname, resid, place_atom(n, ca, c, _C_OXT, _CA_C_OXT, psi_o + 180.0))
    lines += ["TER", "END"]
    return "\n".join(lines) + "\n"


def build_peptide(
    sequence: str,
    forcefield: app.ForceField,
    caps: bool = True,
    phi_deg: float = HELIX_PHI_DEG,
    psi_deg: float = HELIX_PSI_DEG,
    seed: int = 1,
) -> tuple[app.Topology, u.Quantity]:
    """Topology and positions (nm) of a peptide of L-amino acids with all atoms, from its sequence.

    Parameters
    ----------
    sequence
        One-letter codes of standard residues, e.g. ``"AAAAAAAAAA"``.
    forcefield
        The force field whose hydrogen definitions ``addHydrogens`` follows.
    caps
        Neutral ACE/NME caps (default).  With ``False`` the termini are free and
        charged at pH 7 (NH3+ and COO-).
    phi_deg, psi_deg
        Backbone dihedrals of every residue (default: ideal alpha-helix).
    seed
        Seed of the placement of hydrogens, so the same sequence always gives the same
        coordinates.

    Raises :class:`PathganInputError` if the built structure fails the stereochemistry
    check (an L-residue came out inverted, or a peptide bond cis): a builder bug, never
    silently returned.
    """
    import openmm as mm

    residues = parse_sequence(sequence)
    pdb = app.PDBFile(io.StringIO(_heavy_atom_pdb(residues, caps, phi_deg, psi_deg)))
    modeller = app.Modeller(pdb.topology, pdb.positions)
    # addHydrogens starts hydrogens at positions drawn from Python's global RNG; the
    # Reference platform makes its small minimisation reproducible.
    state = random.getstate()
    random.seed(seed)
    try:
        modeller.addHydrogens(forcefield, pH=7.0, platform=mm.Platform.getPlatformByName("Reference"))
    finally:
        random.setstate(state)
    report = check_structure(modeller.topology, np.asarray(modeller.positions.value_in_unit(u.angstrom)))
    if not report.passed:
        raise PathganInputError(f"builder: sequence {sequence}: {'; '.join(report.problems())}")
    return modeller.topology, modeller.positions
