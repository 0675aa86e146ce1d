"""Named backbone and side-chain torsions of a topology, by mdtraj's definitions.

``phi:ALA2`` is the phi of residue ALA2 (C(i-1)-N-CA-C), and so on for psi, omega and
chi1-chi4: the names the discriminator's features, the swarms' collective variables and
the command line's ``--cvs`` share.
"""

from __future__ import annotations

import mdtraj as md
import numpy as np

from .errors import PathganInputError

#: mdtraj functions giving the atom quadruples of each kind of torsion.
_KINDS = {
    "phi": md.compute_phi,
    "psi": md.compute_psi,
    "omega": md.compute_omega,
    "chi1": md.compute_chi1,
    "chi2": md.compute_chi2,
    "chi3": md.compute_chi3,
    "chi4": md.compute_chi4,
}
BACKBONE = ("phi", "psi", "omega")
SIDE_CHAIN = ("chi1", "chi2", "chi3", "chi4")


def named_torsions(
    topology: md.Topology, kinds: tuple[str, ...] = BACKBONE + SIDE_CHAIN
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Atom quadruples (n, 4) and names (``"<kind>:<residue>"``) of the torsions of ``kinds``."""
    unknown = [k for k in kinds if k not in _KINDS]
    if unknown:
        raise PathganInputError(f"unknown torsion kinds {unknown}; known: {list(_KINDS)}")
    probe = md.Trajectory(np.zeros((1, topology.n_atoms, 3), dtype=np.float32), topology)
    rows, names = [], []
    for kind in kinds:
        quads, _ = _KINDS[kind](probe)
        for q in quads:
            # name a torsion after the residue of its second atom (phi_i: C(i-1)-N(i)-CA(i)-C(i))
            res = topology.atom(int(q[2] if kind == "phi" else q[1])).residue
            rows.append(q)
            names.append(f"{kind}:{res.name}{res.resSeq}")
    return np.asarray(rows, dtype=np.int64).reshape(-1, 4), tuple(names)
