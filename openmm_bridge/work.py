"""Work of a moving restraint, from OpenMM's own energy of the force: the one work accumulator.

A steered-MD protocol moves a global parameter lambda of a bias force (the centre of a
distance restraint, the target s0 of a path collective variable, ...) in small steps. Each
move from lambda to lambda' at positions x does work

    W += U(x, lambda') - U(x, lambda)

the integral of dU/dlambda over the move, evaluated exactly by OpenMM itself: the force
sits in a force group of its own and its energy is read before and after the parameter
changes. So the work is right for any restraint OpenMM computes (a CustomCVForce, an
openmm-torch TorchForce, periodic boundaries included) and nothing is recomputed in numpy.

:class:`MovingParameter` is an OpenMM reporter: append it to ``Simulation.reporters`` and it
moves the parameter on its schedule every ``update_interval`` steps and accumulates the work.
"""

from __future__ import annotations

from collections.abc import Callable

import openmm as mm
import openmm.app as app
import openmm.unit as u

from .errors import PathganInputError


class ParameterWork:
    """Exact work (kcal/mol) of changing one global parameter of a force in its own force group."""

    def __init__(self, group: int, parameter: str, work_kcal_mol: float = 0.0) -> None:
        self.group, self.parameter = int(group), parameter
        self.work_kcal_mol = float(work_kcal_mol)

    def energy_kcal_mol(self, context: mm.Context) -> float:
        """The force's energy at the context's positions and parameter, kcal/mol."""
        state = context.getState(getEnergy=True, groups={self.group})
        return state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)

    def move(self, context: mm.Context, value: float) -> float:
        """Set the parameter to ``value`` (OpenMM's units) and add ``U(x, new) - U(x, old)``; return it."""
        if context.getParameter(self.parameter) == value:
            return 0.0
        before = self.energy_kcal_mol(context)
        context.setParameter(self.parameter, value)
        dw = self.energy_kcal_mol(context) - before
        self.work_kcal_mol += dw
        return dw


class MovingParameter:
    """An OpenMM reporter that moves a global parameter on a schedule and accumulates the work.

    Parameters
    ----------
    group
        Force group of the bias force (its own: see :func:`~openmm_bridge.context.add_in_own_group`).
    parameter
        Name of the global parameter (OpenMM's units).
    schedule
        The parameter's value at an MD step (``simulation.currentStep``).
    update_interval
        MD steps between moves.
    work_kcal_mol
        Work already done (when resuming).
    """

    def __init__(
        self,
        group: int,
        parameter: str,
        schedule: Callable[[int], float],
        update_interval: int,
        work_kcal_mol: float = 0.0,
    ) -> None:
        if update_interval <= 0:
            raise PathganInputError(f"update_interval must be positive, got {update_interval}")
        self.schedule, self.update_interval = schedule, int(update_interval)
        self.work = ParameterWork(group, parameter, work_kcal_mol)
        self.step = 0

    @property
    def work_kcal_mol(self) -> float:
        """Work done so far, kcal/mol."""
        return self.work.work_kcal_mol

    def start(self, context: mm.Context, step: int = 0) -> None:
        """Put the parameter at its scheduled value for ``step`` without counting work (the pull's start)."""
        context.setParameter(self.work.parameter, self.schedule(step))
        self.step = int(step)

    def resume(self, step: int, work_kcal_mol: float) -> None:
        """Continue from a checkpoint taken at ``step`` (the parameter is in the checkpoint)."""
        self.step, self.work.work_kcal_mol = int(step), float(work_kcal_mol)

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.update_interval - simulation.currentStep % self.update_interval
        # OpenMM runs the reporters due at a step in three groups: those asking for wrapped
        # positions, for unwrapped ones, then those asking for none. Asking for unwrapped positions,
        # like pathgan's data and frame reporters, keeps list order: the parameter moves first.
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """Move the parameter to its value at this step and add the work of the move."""
        self.step = simulation.currentStep
        self.work.move(simulation.context, self.schedule(self.step))
