"""Shared fixtures: the built deca-alanine and a set of frames of it (all real, all small)."""

from __future__ import annotations

import warnings

import numpy as np
import openmm as mm
import openmm.unit as u
import pytest

from openmm_bridge.system import MolecularSystem


@pytest.fixture(scope="session")
def deca() -> MolecularSystem:
    """Capped deca-alanine, ideal helix, minimised, AMBER ff14SB, vacuum."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MolecularSystem.from_sequence()


@pytest.fixture(scope="session")
def deca_frames(deca: MolecularSystem) -> np.ndarray:
    """24 frames (Angstrom): the helix, 8 perturbed copies and 15 frames of a short OpenMM MD run."""
    rng = np.random.default_rng(7)
    x0 = deca.positions_angstrom()
    perturbed = [x0 + rng.normal(scale=s, size=x0.shape) for s in np.linspace(0.02, 0.25, 8)]
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 1 / u.picosecond, 0.001 * u.picosecond)
    integrator.setRandomNumberSeed(11)
    ctx = mm.Context(deca.system, integrator, mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(deca.positions)
    ctx.setVelocitiesToTemperature(300 * u.kelvin, 11)
    md_frames = []
    for _ in range(15):
        integrator.step(100)
        md_frames.append(ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom))
    return np.array([x0, *perturbed, *md_frames], dtype=np.float64)
