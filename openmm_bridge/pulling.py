"""Constant-velocity pulling in OpenMM: a Force, a reporter that moves it, a reporter that logs it.

Three pieces, each usable in a user's own :class:`openmm.app.Simulation`::

    force = centroid_distance_force([ca_first], [ca_last], k_kcal_mol_a2=1.0, centre_angstrom=12.0)
    system.addForce(force)                       # before creating the Simulation
    simulation = app.Simulation(topology, system, integrator)
    pull = ConstantVelocityPull(force, 12.0, 34.0, n_steps=500_000)
    simulation.reporters.append(pull)            # moves the centre, accumulates the work
    simulation.reporters.append(PullDataReporter("pull.csv", 50, pull))
    simulation.step(500_000)
    pull.work_kcal_mol

The restraint is ``U = 1/2 k (d - c)^2`` on the distance ``d`` between the geometric
centres of two atom groups (NAMD colvars' ``distance`` with a moving harmonic).
The centre ``c`` is a global parameter of the force (in nm, OpenMM's unit), so it
is saved in OpenMM checkpoints with the rest of the state.

The centre moves in steps of ``update_interval`` MD steps (default 10: 4.4e-4 A a
step at the paper's 22 A/ns). The work is exact for that protocol: at each move
from ``c`` to ``c'`` at positions ``x`` it adds ``U(x, c') - U(x, c)``, the integral
of dU/dc dc over the move, as NAMD colvars' accumulated work does every step.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u

from .errors import PathganInputError
from .units import ANGSTROM_PER_NM, KJ_PER_KCAL

#: Default name prefix of the force's global parameters (``pull_centre``, ``pull_k``).
DEFAULT_NAME = "pull"


def check_groups(group_a: Sequence[int], group_b: Sequence[int], n_atoms: int, where: str = "pull") -> None:
    """Raise :class:`PathganInputError` unless both groups are non-empty, in range and disjoint."""
    for label, group in (("first", group_a), ("second", group_b)):
        if len(group) == 0:
            raise PathganInputError(f"{where}: the {label} atom group is empty")
        bad = [i for i in group if not 0 <= int(i) < n_atoms]
        if bad:
            raise PathganInputError(
                f"{where}: atom indices {bad} of the {label} group are out of range (the system has {n_atoms} atoms)"
            )
    if set(map(int, group_a)) & set(map(int, group_b)):
        raise PathganInputError(f"{where}: the two atom groups share atoms")


def centroid_distance_force(
    group_a: Sequence[int],
    group_b: Sequence[int],
    k_kcal_mol_a2: float,
    centre_angstrom: float,
    name: str = DEFAULT_NAME,
) -> mm.CustomCentroidBondForce:
    """Harmonic restraint on the distance between the geometric centres of two atom groups.

    Energy ``1/2 k (d - c)^2``. Global parameters ``<name>_centre`` (nm) and
    ``<name>_k`` (kJ/mol/nm^2); the derivative of the energy with respect to the
    centre is requested, so ``State.getEnergyParameterDerivatives()`` gives dU/dc.
    """
    force = mm.CustomCentroidBondForce(2, f"0.5*{name}_k*(distance(g1,g2)-{name}_centre)^2")
    force.addGlobalParameter(f"{name}_k", k_kcal_mol_a2 * KJ_PER_KCAL * ANGSTROM_PER_NM**2)
    force.addGlobalParameter(f"{name}_centre", centre_angstrom / ANGSTROM_PER_NM)
    force.addEnergyParameterDerivative(f"{name}_centre")
    # Equal weights: geometric centres, as NAMD colvars and pathgan's EndToEndRestraint use.
    force.addGroup([int(i) for i in group_a], [1.0] * len(group_a))
    force.addGroup([int(i) for i in group_b], [1.0] * len(group_b))
    force.addBond([0, 1], [])
    force.setName(f"{name} restraint")
    return force


def _group_atoms(force: mm.CustomCentroidBondForce, group: int) -> np.ndarray:
    atoms, _weights = force.getGroupParameters(group)
    return np.asarray(atoms, dtype=int)


class ConstantVelocityPull:
    """A reporter that moves a :func:`centroid_distance_force` centre linearly and accumulates the work.

    Append it to ``Simulation.reporters`` *before* any reporter that reads it
    (:class:`PullDataReporter`): reporters due at the same step run in list order.

    Parameters
    ----------
    force
        The restraint (already in the Simulation's System).
    c0_angstrom, c1_angstrom
        Centre at step ``start_step`` and at ``start_step + n_steps``.
    n_steps
        Length of the pull in MD steps; after it the centre stays at ``c1``.
    update_interval
        MD steps between moves of the centre.
    start_step
        ``Simulation.currentStep`` at which the pull starts (0 for a fresh Simulation).
    work_kcal_mol
        Work already accumulated (when resuming).
    """

    def __init__(
        self,
        force: mm.CustomCentroidBondForce,
        c0_angstrom: float,
        c1_angstrom: float,
        n_steps: int,
        update_interval: int = 10,
        start_step: int = 0,
        work_kcal_mol: float = 0.0,
        name: str = DEFAULT_NAME,
    ) -> None:
        if n_steps <= 0:
            raise PathganInputError(f"pull: the number of steps must be positive, got {n_steps}")
        if c0_angstrom == c1_angstrom:
            raise PathganInputError(f"pull: c0 and c1 are both {c0_angstrom} A; nothing would be pulled")
        if update_interval <= 0:
            raise PathganInputError(f"pull: update_interval must be positive, got {update_interval}")
        self.c0, self.c1 = float(c0_angstrom), float(c1_angstrom)
        self.n_steps, self.update_interval, self.start_step = (
            int(n_steps),
            int(update_interval),
            int(start_step),
        )
        self.name = name
        self.k_kcal_mol_a2 = force.getGlobalParameterDefaultValue(_index(force, f"{name}_k")) / (
            KJ_PER_KCAL * ANGSTROM_PER_NM**2
        )
        self.group_a, self.group_b = _group_atoms(force, 0), _group_atoms(force, 1)
        self.work_kcal_mol = float(work_kcal_mol)
        self.centre_angstrom = self.c0
        self.distance_angstrom = float("nan")
        self.step = self.start_step

    # ------------------------------------------------------------------ protocol
    def centre_at(self, step: int) -> float:
        """Protocol centre (Angstrom) at MD step ``step``."""
        frac = min(max((step - self.start_step) / self.n_steps, 0.0), 1.0)
        return self.c0 + frac * (self.c1 - self.c0)

    def distance_of(self, positions_nm: np.ndarray) -> float:
        """Distance (Angstrom) between the groups' geometric centres."""
        a = positions_nm[self.group_a].mean(axis=0)
        b = positions_nm[self.group_b].mean(axis=0)
        return float(np.linalg.norm(a - b) * ANGSTROM_PER_NM)

    @property
    def force_kcal_mol_a(self) -> float:
        """Restraint force along the distance, ``-dU/dd = k (c - d)``, kcal/mol/A (positive pulls apart)."""
        return self.k_kcal_mol_a2 * (self.centre_angstrom - self.distance_angstrom)

    def resume(self, context: mm.Context, step: int, work_kcal_mol: float) -> None:
        """Set the state after loading a checkpoint taken at ``step`` with this work."""
        self.step, self.work_kcal_mol = int(step), float(work_kcal_mol)
        self.centre_angstrom = context.getParameter(f"{self.name}_centre") * ANGSTROM_PER_NM
        positions = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
        self.distance_angstrom = self.distance_of(positions)

    def start(self, context: mm.Context) -> None:
        """Put the centre at its start value and record the starting distance (step 0 of the pull)."""
        context.setParameter(f"{self.name}_centre", self.c0 / ANGSTROM_PER_NM)
        self.resume(context, self.start_step, self.work_kcal_mol)

    # ------------------------------------------------------------------ reporter API
    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.update_interval - simulation.currentStep % self.update_interval
        return {"steps": steps, "periodic": None, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """Move the centre to its value at this step and add the work of the move."""
        self.step = simulation.currentStep
        d = self.distance_of(state.getPositions(asNumpy=True).value_in_unit(u.nanometer))
        new = self.centre_at(self.step)
        old = self.centre_angstrom
        self.work_kcal_mol += 0.5 * self.k_kcal_mol_a2 * ((d - new) ** 2 - (d - old) ** 2)
        simulation.context.setParameter(f"{self.name}_centre", new / ANGSTROM_PER_NM)
        self.centre_angstrom, self.distance_angstrom = new, d


def _index(force: mm.CustomCentroidBondForce, parameter: str) -> int:
    for i in range(force.getNumGlobalParameters()):
        if force.getGlobalParameterName(i) == parameter:
            return i
    raise PathganInputError(f"the force has no global parameter {parameter!r}")


#: Columns of :class:`PullDataReporter`'s CSV (units in the names).
PULL_COLUMNS = (
    "step",
    "time_ps",
    "centre_angstrom",
    "distance_angstrom",
    "force_kcal_mol_angstrom",
    "work_kcal_mol",
)


class PullDataReporter:
    """Writes the state of a :class:`ConstantVelocityPull` to CSV every ``report_interval`` steps.

    ``report_interval`` must be a multiple of the pull's ``update_interval``, so that
    every row is written just after a move of the centre. ``append=True`` continues
    an existing file (when resuming); the header is written only to a new file.
    """

    def __init__(
        self, file: str | os.PathLike, report_interval: int, pull: ConstantVelocityPull, append: bool = False
    ) -> None:
        if report_interval % pull.update_interval:
            raise PathganInputError(
                f"{file}: report interval {report_interval} is not a multiple of the pull's "
                f"update interval {pull.update_interval}"
            )
        self.report_interval, self.pull = int(report_interval), pull
        self._file = open(file, "a" if append else "w", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file)
        if not append or self._file.tell() == 0:
            self._writer.writerow(PULL_COLUMNS)
            self._file.flush()

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.report_interval - simulation.currentStep % self.report_interval
        return {"steps": steps, "periodic": None, "include": []}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """Write one row (the pull must already have moved the centre at this step)."""
        self.write_row(simulation.currentStep, state.getTime().value_in_unit(u.picosecond))

    def write_row(self, step: int, time_ps: float) -> None:
        """Write the pull's current state as one row."""
        p = self.pull
        self._writer.writerow(
            [
                step,
                f"{time_ps:.4f}",
                f"{p.centre_angstrom:.6f}",
                f"{p.distance_angstrom:.6f}",
                f"{p.force_kcal_mol_a:.6f}",
                f"{p.work_kcal_mol:.8f}",
            ]
        )
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __del__(self) -> None:
        f = getattr(self, "_file", None)
        if f is not None and not f.closed:
            f.close()
