"""OpenMM energies by force and their mapping onto pathgan terms."""

from __future__ import annotations

import copy

import numpy as np
import openmm as mm
import pytest

from openmm_bridge.energies import OpenMMEvaluator, classify_forces
from openmm_bridge.errors import PathganInputError


def test_classify_amber_and_extra_forces(deca):
    infos = {i.label: i.terms for i in classify_forces(deca.system)}
    assert infos["PeriodicTorsionForce"] == ("dihedrals", "impropers")
    system = copy.deepcopy(deca.system)
    system.addForce(mm.HarmonicBondForce())  # a second bond force reads as Urey-Bradley
    system.addForce(mm.CMAPTorsionForce())
    system.addForce(mm.CustomTorsionForce("k*(theta-theta0)^2"))
    infos = {i.label: i for i in classify_forces(system)}
    assert "Urey-Bradley" in infos["HarmonicBondForce#2"].note and not infos["HarmonicBondForce#2"].terms
    assert "CMAP" in infos["CMAPTorsionForce"].note
    assert infos["PeriodicTorsionForce"].terms == ("dihedrals",)
    assert infos["CustomTorsionForce"].terms == ("impropers",)


def test_energies_sum_to_total_and_shapes(deca, deca_frames):
    ev = OpenMMEvaluator(deca.system)
    e = ev.energies(deca_frames[:3])
    parts = sum(e[i.label] for i in ev.forces)
    np.testing.assert_allclose(parts, e["total"])
    assert ev.forces_by_group(deca_frames[:2])["NonbondedForce"].shape == (2, 112, 3)
    with pytest.raises(PathganInputError, match=r"expected frames of shape \(n_frames, 112, 3\)"):
        ev.energies(deca_frames[:, :5])


def test_unknown_platform(deca):
    with pytest.raises(PathganInputError, match="unknown OpenMM platform 'Warp'.*Reference"):
        OpenMMEvaluator(deca.system, "Warp")


def test_unrepresented_forces_are_named(deca):
    from openmm_bridge.energies import unrepresented_forces

    assert unrepresented_forces(deca.system) == []  # AMBER in vacuum: every force is computed
    system = copy.deepcopy(deca.system)
    system.addForce(mm.CustomExternalForce("x^2"))
    ub = mm.HarmonicBondForce()  # a second bond force: CHARMM's Urey-Bradley
    ub.addBond(0, 2, 0.2, 100.0)
    system.addForce(ub)
    assert unrepresented_forces(system) == [
        "CustomExternalForce (not representable in torchmd)",
        "HarmonicBondForce#2: Urey-Bradley (not representable in torchmd)",
    ]
