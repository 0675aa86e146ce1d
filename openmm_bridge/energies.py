"""OpenMM energies and forces of frames given in Angstrom: the one OpenMM evaluator.

:class:`OpenMMEvaluator` gives each force of the System its own force group (OpenMM allows
32), so one ``getState(groups=...)`` call per force gives that force's energy and forces;
every force is also mapped onto the pathgan potential terms it corresponds to
(:mod:`.force_table`), so the two can be compared term by term. :meth:`OpenMMEvaluator.energy_and_forces` gives the total of
one structure, counting every evaluation (the string method's cost).
"""

from __future__ import annotations

import copy

import numpy as np
import openmm as mm
import openmm.unit as u

from .context import make_context
from .errors import PathganInputError
from .force_table import ForceInfo, classify_forces, energy_forces, unrepresented_forces
from .units import ANGSTROM_PER_NM, angstrom_to_nm

__all__ = ["ForceInfo", "OpenMMEvaluator", "classify_forces", "unrepresented_forces"]


class OpenMMEvaluator:
    """Energies and forces of frames with OpenMM, one force group per force.

    Parameters
    ----------
    system
        The OpenMM System (copied; the caller's System is not modified).
    platform
        OpenMM platform name (default ``Reference``, double precision).
    """

    def __init__(self, system: mm.System, platform: str = "Reference", biases: tuple[str, ...] = ()) -> None:
        self.system = copy.deepcopy(system)
        self.forces = classify_forces(self.system)
        forces = energy_forces(self.system)
        for info, f in zip(self.forces, forces, strict=True):
            f.setForceGroup(info.group)
        self.context = make_context(self.system, platform)
        self.n_atoms = self.system.getNumParticles()
        #: Force groups of bias forces (by name: ``biases``): they push, their energy is not reported.
        self.bias_groups = {
            info.group for info, f in zip(self.forces, forces, strict=True) if f.getName() in biases
        }
        #: Calls of :meth:`energy_and_forces` so far.
        self.evaluations = 0

    def _set(self, frame_angstrom: np.ndarray) -> None:
        self.context.setPositions(angstrom_to_nm(np.asarray(frame_angstrom, dtype=np.float64)))

    def _frames(self, xyz_angstrom: np.ndarray) -> np.ndarray:
        xyz = np.asarray(xyz_angstrom, dtype=np.float64)
        if xyz.ndim == 2:
            xyz = xyz[None]
        if xyz.ndim != 3 or xyz.shape[1:] != (self.n_atoms, 3):
            raise PathganInputError(
                f"expected frames of shape (n_frames, {self.n_atoms}, 3), got {xyz.shape}"
            )
        return xyz

    def energies(self, xyz_angstrom: np.ndarray) -> dict[str, np.ndarray]:
        """Energy of each force for each frame: {label: (n_frames,)} in kcal/mol, plus ``total``."""
        xyz = self._frames(xyz_angstrom)
        out = {info.label: np.zeros(len(xyz)) for info in self.forces}
        for k, frame in enumerate(xyz):
            self._set(frame)
            for info in self.forces:
                state = self.context.getState(getEnergy=True, groups={info.group})
                out[info.label][k] = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
        out["total"] = np.sum([out[i.label] for i in self.forces], axis=0)
        return out

    def energy_and_forces(self, xyz_angstrom: np.ndarray) -> tuple[float, np.ndarray]:
        """Total energy (kcal/mol) and forces (n_atoms, 3) kcal/mol/A of one structure (n_atoms, 3) A; counted.

        Bias forces (``biases``) count in the forces, not in the energy.
        """
        self._set(self._frames(xyz_angstrom)[0])
        state = self.context.getState(getEnergy=True, getForces=True)
        self.evaluations += 1
        energy = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
        if self.bias_groups:
            bias = self.context.getState(getEnergy=True, groups=self.bias_groups)
            energy -= bias.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
        forces = state.getForces(asNumpy=True).value_in_unit(u.kilocalorie_per_mole / u.nanometer)
        return energy, forces / ANGSTROM_PER_NM

    def compare_terms(
        self, term_energies: dict[str, np.ndarray], xyz_angstrom: np.ndarray
    ) -> list[tuple[str, str, float, float, float]]:
        """OpenMM's energy of each force beside the sum of the matching terms of another potential.

        ``term_energies``: {term: (n_frames,)} kcal/mol (pathgan's terms, e.g.). Returns one row
        per force: label, terms (or what the force is when no term matches), OpenMM's mean,
        the terms' mean (NaN when none match) and the largest difference over the frames.
        """
        omm = self.energies(xyz_angstrom)
        n = len(omm["total"])
        rows = []
        for info in self.forces:
            mine = sum(term_energies[t] for t in info.terms) if info.terms else np.full(n, np.nan)
            diff = np.abs(np.asarray(mine) - omm[info.label])
            rows.append(
                (
                    info.label,
                    "+".join(info.terms) or info.note,
                    float(omm[info.label].mean()),
                    float(np.mean(mine)),
                    float(np.max(diff)),
                )
            )
        return rows

    def forces_by_group(self, xyz_angstrom: np.ndarray) -> dict[str, np.ndarray]:
        """Forces of each force: {label: (n_frames, n_atoms, 3)} in kcal/mol/A."""
        xyz = self._frames(xyz_angstrom)
        out = {info.label: np.zeros(xyz.shape) for info in self.forces}
        unit = u.kilocalorie_per_mole / u.angstrom
        for k, frame in enumerate(xyz):
            self._set(frame)
            for info in self.forces:
                state = self.context.getState(getForces=True, groups={info.group})
                out[info.label][k] = state.getForces(asNumpy=True).value_in_unit(unit)
        return out
