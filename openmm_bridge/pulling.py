"""Constant-velocity pulling in OpenMM: a Force, a reporter that moves it, a reporter that logs it.

Three pieces, each usable in a user's own :class:`openmm.app.Simulation` (arguments in Angstrom
and kcal/mol, or OpenMM Quantities)::

    force = centroid_distance_force([ca_first], [ca_last], k_kcal_mol_a2=1.0, centre_angstrom=12.0)
    system.addForce(force)                       # before creating the Simulation
    simulation = app.Simulation(topology, system, integrator)
    pull = ConstantVelocityPull(force, 12.0, 34.0, n_steps=500_000)
    simulation.reporters.append(pull)            # moves the centre, accumulates the work
    simulation.reporters.append(PullDataReporter("pull.csv", 50, pull))
    simulation.step(500_000)
    pull.work_kcal_mol

The restraint is ``U = 1/2 k (d - c)^2`` on the distance ``d`` between the geometric
centres of two atom groups (NAMD colvars' ``distance`` with a moving harmonic). Its global
parameters are ``pull_centre`` (nm) and ``pull_k`` (kJ/mol/nm^2), OpenMM's units, so the
centre is saved in OpenMM checkpoints with the rest of the state. The force lives in force
group 31 (``force_group``), which no other force of the System may use: the work is read
from OpenMM's energy of that group.

The centre moves in steps of ``update_interval`` MD steps (default 10: 4.4e-4 A a step at
the paper's 22 A/ns). The work is exact for that protocol: each move from ``c`` to ``c'`` at
positions ``x`` adds ``U(x, c') - U(x, c)`` as OpenMM computes it (:mod:`.work`).

Every reporter here asks for unwrapped positions, so OpenMM runs them in list order at a
shared step: the pull moves the centre before the data row is written.

Any :class:`~openmm_bridge.pull_coordinates.PullCoordinate` (torsion, RMSD) is pulled the same
way: give its ``coordinate.force(...)`` and ``coordinate=`` to :class:`ConstantVelocityPull`,
whose centres are then in the coordinate's unit (degrees for a torsion).
"""

from __future__ import annotations

import csv
import os

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u

from .distances import centroid_distance
from .errors import PathganInputError
from .pull_coordinates import PullCoordinate
from .pull_forces import DEFAULT_NAME, PULL_FORCE_GROUP, centroid_distance_force

__all__ = [
    "COORDINATE_COLUMNS",
    "DEFAULT_NAME",
    "PULL_FORCE_GROUP",
    "ConstantVelocityPull",
    "PullDataReporter",
    "centroid_distance_force",
    "check_own_group",
    "minimum_image",
    "pull_columns",
]
from .units import ANGSTROM_PER_NM, kcal_a2_to_kj_nm2, kcal_to_kj, value_in
from .work import MovingParameter


def _group_atoms(force: mm.CustomCentroidBondForce, group: int) -> np.ndarray:
    atoms, _weights = force.getGroupParameters(group)
    return np.asarray(atoms, dtype=int)


def _global_parameter(force: mm.Force, parameter: str) -> float:
    for i in range(force.getNumGlobalParameters()):
        if force.getGlobalParameterName(i) == parameter:
            return force.getGlobalParameterDefaultValue(i)
    raise PathganInputError(f"the force has no global parameter {parameter!r}")


def minimum_image(delta: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The shortest periodic image of displacement ``delta`` (3,) in the box with rows a, b, c (3, 3).

    OpenMM's reduced box (a along x, b in the xy plane), as its own periodic forces compute it;
    any length unit, the same for both.
    """
    delta = np.asarray(delta, dtype=np.float64).copy()
    box = np.asarray(box, dtype=np.float64)
    for k in (2, 1, 0):
        delta -= box[k] * np.round(delta[k] / box[k, k])
    return delta


def check_own_group(system: mm.System, force: mm.Force) -> None:
    """Raise :class:`PathganInputError` if another force of ``system`` shares ``force``'s group."""
    group = force.getForceGroup()
    others = [
        system.getForce(k).getName()
        for k in range(system.getNumForces())
        if system.getForce(k).getForceGroup() == group and system.getForce(k).getName() != force.getName()
    ]
    if others:
        raise PathganInputError(
            f"force group {group} of {force.getName()!r} is shared with {others}; the work is read from that "
            "group's energy, so give the pulling force a group of its own (force_group=...)"
        )


class ConstantVelocityPull(MovingParameter):
    """A reporter that moves a pulling force's centre linearly and accumulates the work.

    Append it to ``Simulation.reporters`` *before* any reporter that reads it
    (:class:`PullDataReporter`).

    Parameters
    ----------
    force
        The restraint (already in the Simulation's System, in a force group of its own): a
        :func:`centroid_distance_force`, or ``coordinate.force(...)``.
    c0_angstrom, c1_angstrom
        Centre at step ``start_step`` and at ``start_step + n_steps``: Angstrom (or Quantity),
        degrees for a torsion coordinate.
    n_steps
        Length of the pull in MD steps; after it the centre stays at ``c1``.
    update_interval
        MD steps between moves of the centre.
    start_step
        ``Simulation.currentStep`` at which the pull starts (0 for a fresh Simulation).
    work_kcal_mol
        Work already accumulated (when resuming).
    name
        Prefix of the force's global parameters.
    coordinate
        The pulled coordinate whose ``force`` ``force`` is; None: the distance between the
        groups of a :func:`centroid_distance_force`. Its ``centre_to_openmm`` converts the
        centre to the Context's units (nm or radians).
    """

    def __init__(
        self,
        force: mm.CustomCentroidBondForce,
        c0_angstrom: float | u.Quantity,
        c1_angstrom: float | u.Quantity,
        n_steps: int,
        update_interval: int = 10,
        start_step: int = 0,
        work_kcal_mol: float = 0.0,
        name: str = DEFAULT_NAME,
        coordinate: PullCoordinate | None = None,
    ) -> None:
        if coordinate is None:
            coordinate = PullCoordinate(
                "distance", (_group_atoms(force, 0), _group_atoms(force, 1)), "distance"
            )
        self.coordinate = coordinate
        torsion = coordinate.kind == "torsion"
        unit = u.degree if torsion else u.angstrom
        self.c0 = float(value_in(c0_angstrom, unit, "c0_angstrom"))
        self.c1 = float(value_in(c1_angstrom, unit, "c1_angstrom"))
        if n_steps <= 0:
            raise PathganInputError(f"pull: the number of steps must be positive, got {n_steps}")
        if self.c0 == self.c1:
            raise PathganInputError(
                f"pull: c0 and c1 are both {self.c0} {coordinate.unit}; nothing would be pulled"
            )
        self.n_steps, self.start_step, self.name, self.force = int(n_steps), int(start_step), name, force
        k_unit = kcal_to_kj(1.0) if torsion else kcal_a2_to_kj_nm2(1.0)
        #: kcal/mol per unit^2 (kcal/mol/rad^2 for a torsion); the name is historical.
        self.k_kcal_mol_a2 = _global_parameter(force, f"{name}_k") / k_unit
        if coordinate.kind == "distance":
            self.group_a, self.group_b = (np.asarray(g, dtype=int) for g in coordinate.atoms)
        super().__init__(
            force.getForceGroup(),
            f"{name}_centre",
            lambda step: coordinate.centre_to_openmm(self.centre_at(step)),
            update_interval,
            work_kcal_mol,
        )
        self.step = self.start_step

    def centre_at(self, step: int) -> float:
        """Protocol centre (Angstrom, or degrees for a torsion) at MD step ``step``."""
        frac = min(max((step - self.start_step) / self.n_steps, 0.0), 1.0)
        return self.c0 + frac * (self.c1 - self.c0)

    @property
    def centre_angstrom(self) -> float:
        """The centre at the last step the pull saw, Angstrom."""
        return self.centre_at(self.step)

    def value(self, positions_nm: np.ndarray, box_nm: np.ndarray | None = None) -> float:
        """The pulled coordinate of positions (n_atoms, 3) in nm: Angstrom, or degrees for a torsion.

        Only recorded (the work is OpenMM's own, :mod:`.work`). ``box_nm`` (3, 3): the periodic box
        vectors; with a distance force that uses periodic boundary conditions the distance between the
        group centres is then taken between nearest images, as the force takes it.
        """
        xyz = np.asarray(positions_nm, dtype=np.float64) * ANGSTROM_PER_NM
        if self.coordinate.kind == "distance":
            if box_nm is not None and self.force.usesPeriodicBoundaryConditions():
                delta = xyz[self.group_b].mean(0) - xyz[self.group_a].mean(0)
                box = np.asarray(box_nm, dtype=np.float64) * ANGSTROM_PER_NM
                return float(np.linalg.norm(minimum_image(delta, box)))
            return float(centroid_distance(xyz, self.group_a, self.group_b))
        return float(self.coordinate.values(xyz)[0])

    def distance_angstrom(self, positions_nm: np.ndarray) -> float:
        """The pulled distance of positions (n_atoms, 3) in nm, Angstrom (a distance pull only)."""
        if self.coordinate.kind != "distance":
            raise PathganInputError(f"pull along {self.coordinate.label}: not a distance; use value()")
        return self.value(positions_nm)

    def restoring_force(self, centre: float, value: float) -> float:
        """``-dU/dcv`` at ``value`` for ``centre``: kcal/mol per Angstrom, or per radian for a torsion."""
        if self.coordinate.kind == "torsion":
            diff = (centre - value + 180.0) % 360.0 - 180.0  # wrapped, as the force does
            return self.k_kcal_mol_a2 * np.radians(diff)
        return self.k_kcal_mol_a2 * (centre - value)

    def start(self, context: mm.Context, step: int | None = None) -> None:  # noqa: D102 - see MovingParameter
        check_own_group(context.getSystem(), self.force)
        super().start(context, self.start_step if step is None else step)


#: Columns of :class:`PullDataReporter`'s CSV for a distance pull (units in the names).
PULL_COLUMNS = (
    "step",
    "time_ps",
    "centre_angstrom",
    "distance_angstrom",
    "force_kcal_mol_angstrom",
    "work_kcal_mol",
)
#: Columns for any other coordinate: centre and coordinate in its unit (Angstrom, or degrees for
#: a torsion), force = -dU/dcv in kcal/mol per Angstrom (or per radian for a torsion).
COORDINATE_COLUMNS = ("step", "time_ps", "centre", "coordinate", "force", "work_kcal_mol")


def pull_columns(kind: str) -> tuple[str, ...]:
    """The ``pull.csv`` columns of a pull along a coordinate of ``kind``."""
    return PULL_COLUMNS if kind == "distance" else COORDINATE_COLUMNS


class PullDataReporter:
    """Writes the state of a :class:`ConstantVelocityPull` to CSV every ``report_interval`` steps.

    ``report_interval`` must be a multiple of the pull's ``update_interval``, so that
    every row is written just after a move of the centre. ``append=True`` continues
    an existing file (when resuming); the header is written only to a new file. The
    coordinate is measured on unwrapped positions (for a distance force with periodic
    boundary conditions, between the nearest images of the group centres, as the force does);
    columns: :func:`pull_columns`.
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
            self._writer.writerow(pull_columns(pull.coordinate.kind))
            self._file.flush()

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.report_interval - simulation.currentStep % self.report_interval
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """Write one row (the pull must already have moved the centre at this step)."""
        self.write_row(simulation.currentStep, state)

    def write_row(self, step: int, state: mm.State) -> None:
        """Write the pull's state at ``step`` with the positions and time of ``state``."""
        p = self.pull
        box = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.nanometer)
        value = p.value(state.getPositions(asNumpy=True).value_in_unit(u.nanometer), box)
        centre = p.centre_at(step)
        self._writer.writerow(
            [
                step,
                f"{state.getTime().value_in_unit(u.picosecond):.4f}",
                f"{centre:.6f}",
                f"{value:.6f}",
                f"{p.restoring_force(centre, value):.6f}",  # -dU/dcv: positive pulls towards larger cv
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
