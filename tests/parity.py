"""Shared pieces of the parity tests: frames to test on, one OpenMM force alone, both engines' energies and forces."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import openmm as mm
import openmm.unit as u
import torch

KCAL_PER_A = u.kilocalorie_per_mole / u.angstrom


def frames_of(
    system: mm.System,
    positions: u.Quantity,
    seed: int,
    n_perturbed: int = 8,
    n_md: int = 15,
    md_steps: int = 100,
    minimize_iterations: int = 0,
) -> np.ndarray:
    """Frames (Angstrom): the structure (minimised first if asked), perturbed copies (0.02..0.25 A)
    and ``n_md`` frames of a 300 K Langevin run, ``md_steps`` fs apart, on the Reference platform."""
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 1 / u.picosecond, 0.001 * u.picosecond)
    integrator.setRandomNumberSeed(seed)
    ctx = mm.Context(system, integrator, mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(positions)
    if minimize_iterations:
        mm.LocalEnergyMinimizer.minimize(ctx, 10.0, minimize_iterations)
    x0 = ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
    rng = np.random.default_rng(seed)
    perturbed = [x0 + rng.normal(scale=s, size=x0.shape) for s in np.linspace(0.02, 0.25, n_perturbed)]
    ctx.setVelocitiesToTemperature(300 * u.kelvin, seed)
    md = []
    for _ in range(n_md):
        integrator.step(md_steps)
        md.append(ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom))
    return np.array([x0, *perturbed, *md], dtype=np.float64)


def force_alone(masses: mm.System | Sequence[float], force: mm.Force) -> mm.System:
    """A System with the particles of ``masses`` (a System or masses in Dalton) and only a copy of ``force``."""
    if isinstance(masses, mm.System):
        masses = [masses.getParticleMass(i).value_in_unit(u.dalton) for i in range(masses.getNumParticles())]
    single = mm.System()
    for m in masses:
        single.addParticle(m)
    single.addForce(copy.deepcopy(force))
    return single


def openmm_energies_forces(system: mm.System, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n,) kcal/mol and forces (n, atoms, 3) kcal/mol/A of frames (Angstrom), Reference platform."""
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    energies, forces = [], []
    for x in frames:
        ctx.setPositions(x * 0.1)
        state = ctx.getState(getEnergy=True, getForces=True)
        energies.append(state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole))
        forces.append(state.getForces(asNumpy=True).value_in_unit(KCAL_PER_A))
    return np.array(energies), np.array(forces)


def torch_energies_forces(module: torch.nn.Module, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n,) kcal/mol and forces -dE/dx (n, atoms, 3) kcal/mol/A of a torch energy module."""
    pos = torch.tensor(frames, dtype=torch.float64, requires_grad=True)
    energy = module(pos)
    (grad,) = torch.autograd.grad(energy.sum(), pos)
    return energy.detach().numpy(), -grad.numpy()
