"""Terms computed from the OpenMM forces' own parameters, against OpenMM's Reference platform."""

from __future__ import annotations

import numpy as np
import openmm as mm
import pytest
import torch
from conftest import test_frames
from parity import force_alone, openmm_energies_forces, torch_energies_forces

from openmm_bridge.force_table import energy_forces
from pathgan.force_terms import HarmonicPairs, PairLennardJones, force_terms


def _check(term: torch.nn.Module, system: mm.System, frames: np.ndarray) -> tuple[float, float]:
    e_ref, f_ref = openmm_energies_forces(system, frames)
    e, f = torch_energies_forces(term, frames)
    assert abs(e_ref).max() > 0.1  # a term that is there, so a wrong one shows
    return float(np.max(np.abs(e - e_ref))), float(np.max(np.abs(f - f_ref)))


@pytest.fixture(scope="module")
def frames(charmm36) -> np.ndarray:
    frames = test_frames(charmm36, seed=11, n_perturbed=8, n_md=12)
    assert len(frames) >= 20
    return frames


def test_urey_bradley_matches_openmm(charmm36, frames):
    system = charmm36.system
    bond_force = next(f for f in system.getForces() if isinstance(f, mm.HarmonicBondForce))
    term = HarmonicPairs.urey_bradley(system)
    assert len(term.pairs) == 36  # 1-3 pairs of CHARMM's H-C-H, C-N-CA... angles in penta-alanine
    # OpenMM's force holds bonds and Urey-Bradley terms: compare the Urey-Bradley part alone
    ub_pairs = {frozenset(p) for p in term.pairs.tolist()}
    only_ub = mm.HarmonicBondForce()
    for k in range(bond_force.getNumBonds()):
        i, j, r0, kb = bond_force.getBondParameters(k)
        if frozenset((i, j)) in ub_pairs:
            only_ub.addBond(i, j, r0, kb)
    reference = force_alone(system, only_ub)
    de, df = _check(term, reference, frames)
    assert de < 2e-3 and df < 1e-2, (de, df)


def test_tabulated_lennard_jones_matches_openmm(charmm36, frames):
    force = next(f for f in charmm36.system.getForces() if isinstance(f, mm.CustomNonbondedForce))
    de, df = _check(PairLennardJones.from_table(force), force_alone(charmm36.system, force), frames)
    assert de < 2e-3 and df < 1e-2, (de, df)


def test_lennard_jones_14_bonds_match_openmm(charmm36, frames):
    force = next(f for f in charmm36.system.getForces() if isinstance(f, mm.CustomBondForce))
    de, df = _check(PairLennardJones.from_14_bonds(force), force_alone(charmm36.system, force), frames)
    assert de < 2e-3 and df < 1e-2, (de, df)


def test_wrong_forces_are_refused():
    with pytest.raises(ValueError, match="not charmm36.xml's tabulated"):
        PairLennardJones.from_table(mm.CustomNonbondedForce("r"))
    with pytest.raises(ValueError, match="not charmm36.xml's 1-4"):
        PairLennardJones.from_14_bonds(mm.CustomBondForce("r"))


def test_force_terms_of_each_system(deca, charmm36):
    assert force_terms(deca.system) == {}  # AMBER in vacuum: everything is torchmd's
    terms = force_terms(charmm36.system, torch.float32)
    assert list(terms) == ["urey_bradley", "cmap", "lj_table", "lj_14"]
    assert terms["lj_table"].a.dtype == torch.float32
    assert len(energy_forces(charmm36.system)) == 8
