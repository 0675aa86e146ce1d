"""The table of what the potential represents: every OpenMM force mapped onto terms or named."""

from __future__ import annotations

import copy

import openmm as mm
import openmm.app as app
import pytest

from openmm_bridge.builder import build_peptide
from openmm_bridge.errors import PathganInputError
from openmm_bridge.force_table import (
    classify_forces,
    is_harmonic_improper,
    is_lj_table,
    lj_14_scale,
    unrepresented_forces,
)


@pytest.fixture(scope="module")
def charmm36_system() -> mm.System:
    ff = app.ForceField("charmm36.xml")
    topology, _ = build_peptide("AAA", ff, caps=False)
    return ff.createSystem(topology, nonbondedMethod=app.NoCutoff)


def test_amber_vacuum_is_fully_represented(deca):
    infos = {i.label: i.terms for i in classify_forces(deca.system)}
    assert infos == {
        "HarmonicBondForce": ("bonds",),
        "HarmonicAngleForce": ("angles",),
        "PeriodicTorsionForce": ("dihedrals", "impropers"),
        "NonbondedForce": ("1-4", "lj", "electrostatics"),
    }
    assert unrepresented_forces(deca.system) == []


def test_charmm36_forces_each_map_onto_terms(charmm36_system):
    infos = {i.label: i.terms for i in classify_forces(charmm36_system)}
    # charmm36.xml puts the Urey-Bradley terms into the bonds' HarmonicBondForce
    assert infos["HarmonicBondForce"] == ("bonds", "urey_bradley")
    assert infos["CMAPTorsionForce"] == ("cmap",)
    assert infos["CustomTorsionForce"] == ("impropers",)
    assert infos["PeriodicTorsionForce"] == ("dihedrals",)
    assert infos["CustomNonbondedForce"] == ("lj_table",)
    assert infos["CustomBondForce"] == ("lj_14",)
    assert unrepresented_forces(charmm36_system) == []


def test_recognisers_read_the_exact_expressions(charmm36_system):
    forces = {type(f).__name__: f for f in charmm36_system.getForces()}
    assert is_lj_table(forces["CustomNonbondedForce"])
    assert lj_14_scale(forces["CustomBondForce"]) == 4.0
    assert is_harmonic_improper(forces["CustomTorsionForce"])
    changed = copy.deepcopy(forces["CustomNonbondedForce"])
    changed.setEnergyFunction("acoef(type1, type2)/r^12 - 2*bcoef(type1, type2)/r^6;")
    assert not is_lj_table(changed)
    cut = copy.deepcopy(forces["CustomNonbondedForce"])
    cut.setNonbondedMethod(mm.CustomNonbondedForce.CutoffNonPeriodic)
    assert not is_lj_table(cut)
    assert lj_14_scale(mm.CustomBondForce("4*epsilon*((sigma/r)^12-(sigma/r)^6)")) is None  # no parameters
    assert not is_harmonic_improper(mm.CustomTorsionForce("k*(1+cos(theta-theta0))"))


def test_what_is_not_computed_is_named(deca):
    system = copy.deepcopy(deca.system)
    system.addForce(mm.CustomExternalForce("x^2"))
    system.addForce(mm.CustomTorsionForce("k*(1+cos(theta-theta0))"))
    system.addForce(mm.AndersenThermostat(300, 1))  # no energy: ignored
    bonds = mm.HarmonicBondForce()
    bonds.addBond(0, 1, 0.1, 1000.0)  # a chemical bond again: it would be counted twice
    system.addForce(bonds)
    notes = unrepresented_forces(system)
    assert notes[0] == "CustomExternalForce (not computed by the pathgan potential)"
    assert notes[1].startswith("CustomTorsionForce ('CustomTorsionForce', an energy expression")
    assert notes[2] == "HarmonicBondForce#2 (a second force of bonds (pathgan computes one))"
    assert len(notes) == 3


def test_a_nonbonded_force_with_a_cutoff_is_not_represented(deca):
    system = copy.deepcopy(deca.system)
    nb = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    nb.setNonbondedMethod(mm.NonbondedForce.CutoffNonPeriodic)
    assert unrepresented_forces(system) == [
        "NonbondedForce (with a cutoff or periodic boundaries (pathgan computes vacuum without cutoff))"
    ]


def test_too_many_forces(deca):
    system = copy.deepcopy(deca.system)
    for _ in range(30):
        system.addForce(mm.CustomExternalForce("0"))
    with pytest.raises(PathganInputError, match="34 forces; OpenMM force groups allow at most 32"):
        classify_forces(system)
