"""The pulling force of a distance between the geometric centres of two atom groups.

Its own module so that both the coordinate catalogue (:mod:`.pull_coordinates`) and the
reporters that move a pull's centre (:mod:`.pulling`, which re-exports it) can use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import openmm as mm
import openmm.unit as u

from .context import N_FORCE_GROUPS
from .units import angstrom_to_nm, kcal_a2_to_kj_nm2, value_in

__all__ = ["DEFAULT_NAME", "PULL_FORCE_GROUP", "centroid_distance_force"]

#: Default name prefix of the force's global parameters (``pull_centre``, ``pull_k``).
DEFAULT_NAME = "pull"
#: Default force group of the pulling force.
PULL_FORCE_GROUP = N_FORCE_GROUPS - 1


def centroid_distance_force(
    group_a: Sequence[int],
    group_b: Sequence[int],
    k_kcal_mol_a2: float | u.Quantity,
    centre_angstrom: float | u.Quantity,
    name: str = DEFAULT_NAME,
    force_group: int = PULL_FORCE_GROUP,
) -> mm.CustomCentroidBondForce:
    """Harmonic restraint ``1/2 k (d - c)^2`` on the distance between the geometric centres of two atom groups.

    Global parameters ``<name>_centre`` (nm) and ``<name>_k`` (kJ/mol/nm^2); dU/dcentre is
    requested, so ``State.getEnergyParameterDerivatives()`` gives it too. The force is put in
    ``force_group``, which must be its own.
    """
    k = value_in(k_kcal_mol_a2, u.kilocalorie_per_mole / u.angstrom**2, "k_kcal_mol_a2")
    centre = value_in(centre_angstrom, u.angstrom, "centre_angstrom")
    force = mm.CustomCentroidBondForce(2, f"0.5*{name}_k*(distance(g1,g2)-{name}_centre)^2")
    force.addGlobalParameter(f"{name}_k", kcal_a2_to_kj_nm2(k))
    force.addGlobalParameter(f"{name}_centre", angstrom_to_nm(centre))
    force.addEnergyParameterDerivative(f"{name}_centre")
    # Equal weights: geometric centres, as NAMD colvars and pathgan's restraint in torch use.
    force.addGroup([int(i) for i in group_a], [1.0] * len(group_a))
    force.addGroup([int(i) for i in group_b], [1.0] * len(group_b))
    force.addBond([0, 1], [])
    force.setName(f"{name} restraint")
    force.setForceGroup(force_group)
    return force
