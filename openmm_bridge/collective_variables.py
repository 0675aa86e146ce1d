"""Collective variables that OpenMM computes: torsions, distances and positions, by name, with restraints.

A variable is named like pathgan's torsion features (``"phi:ALA2"``, ``"psi:ALA11"``, any
of mdtraj's phi/psi/omega/chi1-4), ``"distance:I-J"`` (atoms I and J, 0-based) or
``"x:I"``, ``"y:I"``, ``"z:I"`` (a Cartesian coordinate of atom I, for model surfaces). Each
becomes a Custom*Force whose energy *is* the variable, so OpenMM's ``CustomCVForce`` can
read its value and restrain it::

    cvs = resolve(system_topology, ["phi:ALA2", "psi:ALA2", "distance:8-108"])
    force = restraint_force(cvs, k_kcal_mol=120.0)    # 1/2 k (cv - cv_target)^2, periodic for angles
    system.addForce(force); ...; set_targets(context, cvs, values)
    cv_values(context, force, cvs)                     # radians / Angstrom

Units at the interface: radians for torsions, Angstrom for distances and positions, kcal/mol
per rad^2 or per A^2 for the force constant. Inside the force (its Context parameters ``cv_k``, kJ/mol,
and ``cv<i>_target``, radians or nm) OpenMM's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mdtraj as md
import numpy as np
import openmm as mm

from .errors import PathganInputError
from .torsion_index import named_torsions
from .units import ANGSTROM_PER_NM, angstrom_to_nm, kcal_to_kj, nm_to_angstrom

#: Kinds of variable that are one Cartesian coordinate of one atom.
CARTESIAN = ("x", "y", "z")


@dataclass(frozen=True)
class CollectiveVariable:
    """A named torsion (radians, periodic), distance or Cartesian coordinate (A outside, nm inside OpenMM)."""

    name: str
    kind: str  # "torsion", "distance", or "x" / "y" / "z" (a coordinate of one atom)
    atoms: tuple[int, ...]

    @property
    def periodic(self) -> bool:
        """Angles wrap at +-pi."""
        return self.kind == "torsion"

    def force(self) -> mm.Force:
        """A Force whose energy is the variable's value."""
        if self.kind == "torsion":
            f = mm.CustomTorsionForce("theta")
            f.addTorsion(*self.atoms, [])
        elif self.kind in CARTESIAN:
            f = mm.CustomExternalForce(self.kind)  # no periodic wrapping: the coordinate itself
            f.addParticle(self.atoms[0], [])
        else:
            f = mm.CustomBondForce("r")
            f.addBond(*self.atoms, [])
        return f


def available_torsions(topology: md.Topology) -> dict[str, tuple[int, int, int, int]]:
    """Every named backbone and side-chain torsion of ``topology`` (mdtraj definitions)."""
    indices, names = named_torsions(topology)
    return {name: tuple(int(a) for a in q) for name, q in zip(names, indices, strict=True)}


def backbone_names(topology: md.Topology) -> list[str]:
    """phi and psi of every residue that has them (the swarms' default variables)."""
    return [n for n in available_torsions(topology) if n.startswith(("phi:", "psi:"))]


def resolve(topology: md.Topology, names: Sequence[str]) -> list[CollectiveVariable]:
    """Variables from names; a name the system does not define is a clear error."""
    if not names:
        raise PathganInputError("no collective variables given")
    torsions = available_torsions(topology)
    out = []
    for name in names:
        if name.startswith("distance:"):
            try:
                i, j = (int(v) for v in name.split(":", 1)[1].split("-"))
            except ValueError as err:
                raise PathganInputError(
                    f"collective variable {name!r}: expected distance:I-J (atom indices)"
                ) from err
            bad = [a for a in (i, j) if not 0 <= a < topology.n_atoms]
            if bad or i == j:
                raise PathganInputError(
                    f"collective variable {name!r} is not defined on this system ({topology.n_atoms} atoms)"
                )
            out.append(CollectiveVariable(name, "distance", (i, j)))
        elif name.split(":", 1)[0] in CARTESIAN:
            out.append(cartesian(name, topology.n_atoms))
        elif name in torsions:
            out.append(CollectiveVariable(name, "torsion", torsions[name]))
        else:
            known = ", ".join(list(torsions)[:6])
            raise PathganInputError(
                f"collective variable {name!r} is not defined on this system (known torsions: {known}, ...; "
                "or distance:I-J, or x:I / y:I / z:I)"
            )
    return out


def cartesian(name: str, n_atoms: int) -> CollectiveVariable:
    """``"x:I"`` (or y, z): coordinate of atom I (0-based) of a system of ``n_atoms``."""
    axis, _, index = name.partition(":")
    try:
        i = int(index)
    except ValueError as err:
        raise PathganInputError(f"collective variable {name!r}: expected {axis}:I (an atom index)") from err
    if axis not in CARTESIAN or not 0 <= i < n_atoms:
        raise PathganInputError(
            f"collective variable {name!r} is not defined on this system ({n_atoms} atoms)"
        )
    return CollectiveVariable(name, axis, (i,))


def restraint_force(cvs: Sequence[CollectiveVariable], k_kcal_mol: float) -> mm.CustomCVForce:
    """``sum_i 1/2 k d_i^2`` with d_i the (periodic, for angles) difference to global ``cv<i>_target``.

    ``k_kcal_mol``: kcal/mol per rad^2 for torsions and per A^2 for distances (one value for all).
    """
    terms, defs = [], []
    for i, cv in enumerate(cvs):
        if cv.periodic:
            defs.append(f"d{i} = min(a{i}, {2 * math.pi} - a{i}); a{i} = abs(cv{i} - cv{i}_target)")
            terms.append(f"d{i}^2")
        else:  # distances and positions: the force works in nm, (A/nm)^2 d^2 is d^2 in A^2
            defs.append(f"d{i} = cv{i} - cv{i}_target")
            terms.append(f"{ANGSTROM_PER_NM**2}*d{i}^2")
    expr = f"0.5*cv_k*({' + '.join(terms)}); " + "; ".join(defs)
    force = mm.CustomCVForce(expr)
    force.addGlobalParameter("cv_k", float(kcal_to_kj(k_kcal_mol)))
    for i, cv in enumerate(cvs):
        force.addCollectiveVariable(f"cv{i}", cv.force())
        force.addGlobalParameter(f"cv{i}_target", 0.0)
    force.setName("collective-variable restraint")
    return force


def _to_openmm(cvs: Sequence[CollectiveVariable], values: np.ndarray) -> np.ndarray:
    return np.array([v if cv.periodic else angstrom_to_nm(v) for cv, v in zip(cvs, values, strict=True)])


def set_targets(
    context: mm.Context,
    cvs: Sequence[CollectiveVariable],
    values: np.ndarray,
    k_kcal_mol: float | None = None,
) -> None:
    """Set the restraint's targets (radians / Angstrom) and optionally its force constant in ``context``."""
    for i, v in enumerate(_to_openmm(cvs, np.asarray(values, dtype=np.float64))):
        context.setParameter(f"cv{i}_target", float(v))
    if k_kcal_mol is not None:
        context.setParameter("cv_k", float(kcal_to_kj(k_kcal_mol)))


def cv_values(context: mm.Context, force: mm.CustomCVForce, cvs: Sequence[CollectiveVariable]) -> np.ndarray:
    """Current values of the force's variables (radians / Angstrom)."""
    raw = np.asarray(force.getCollectiveVariableValues(context), dtype=np.float64)
    return np.array([v if cv.periodic else nm_to_angstrom(v) for cv, v in zip(cvs, raw, strict=True)])


def periodic_delta(a: np.ndarray, b: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """``a - b``, wrapped into (-pi, pi] where ``periodic``."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return np.where(periodic, (d + np.pi) % (2 * np.pi) - np.pi, d)
