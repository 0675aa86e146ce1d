"""Collective variables by name, their values in OpenMM, and the periodic restraint."""

from __future__ import annotations

import math

import mdtraj as md
import numpy as np
import openmm as mm
import openmm.unit as u
import pytest

from openmm_bridge.collective_variables import (
    backbone_names,
    cv_values,
    periodic_delta,
    resolve,
    restraint_force,
    set_targets,
)
from openmm_bridge.errors import PathganInputError
from openmm_bridge.trajio import mdtraj_topology


def _context(deca, force):
    system = deca.md_system(None)
    system.addForce(force)
    return mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))


def test_values_match_mdtraj(deca):
    top = mdtraj_topology(deca)
    names = backbone_names(top)
    assert len(names) == 20 and names[0] == "phi:ALA2"
    cvs = resolve(top, [*names[:3], "distance:8-18"])
    force = restraint_force(cvs, 0.0)
    ctx = _context(deca, force)
    ctx.setPositions(deca.positions)
    values = cv_values(ctx, force, cvs)  # radians and Angstrom
    traj = md.Trajectory(deca.positions_angstrom()[None] / 10, top)
    _, phi = md.compute_phi(traj)
    np.testing.assert_allclose(values[:3], phi[0, :3], atol=1e-5)
    assert values[3] == pytest.approx(10 * md.compute_distances(traj, [[8, 18]])[0, 0], abs=1e-4)


def test_restraint_is_periodic_and_zero_at_target(deca):
    top = mdtraj_topology(deca)
    cvs = resolve(top, ["phi:ALA2"])
    force = restraint_force(cvs, 100.0)  # kcal/mol/rad^2
    ctx = _context(deca, force)
    ctx.setPositions(deca.positions)
    phi = cv_values(ctx, force, cvs)[0]
    unit = u.kilocalorie_per_mole
    full = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit)
    set_targets(ctx, cvs, np.array([phi]))
    at_target = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit)
    set_targets(ctx, cvs, np.array([phi + 2 * math.pi - 0.1]))  # 0.1 rad away across the wrap
    wrapped = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit)
    assert full - at_target == pytest.approx(0.5 * 100.0 * phi**2, rel=1e-5)
    assert wrapped - at_target == pytest.approx(0.5 * 100.0 * 0.1**2, rel=1e-4)
    np.testing.assert_allclose(
        periodic_delta(np.array([3.1]), np.array([-3.1]), np.array([True])), [6.2 - 2 * math.pi]
    )


def test_distance_restraint_in_kcal_per_a2(deca):
    top = mdtraj_topology(deca)
    cvs = resolve(top, ["distance:8-18"])
    force = restraint_force(cvs, 10.0)  # kcal/mol/A^2
    ctx = _context(deca, force)
    ctx.setPositions(deca.positions)
    d = cv_values(ctx, force, cvs)[0]
    unit = u.kilocalorie_per_mole
    set_targets(ctx, cvs, np.array([d]))
    at_target = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit)
    set_targets(ctx, cvs, np.array([d + 0.5]))  # 0.5 A away
    assert ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit) - at_target == pytest.approx(
        0.5 * 10.0 * 0.5**2, rel=1e-6
    )


def test_undefined_variables_are_clear_errors(deca):
    top = mdtraj_topology(deca)
    with pytest.raises(PathganInputError, match="'phi:ALA99' is not defined on this system"):
        resolve(top, ["phi:ALA99"])
    with pytest.raises(PathganInputError, match="not defined on this system"):
        resolve(top, ["distance:0-500"])
    with pytest.raises(PathganInputError, match="expected distance:I-J"):
        resolve(top, ["distance:a-b"])
    with pytest.raises(PathganInputError, match="no collective variables"):
        resolve(top, [])


def test_cartesian_coordinates_and_their_restraint(deca):
    top = mdtraj_topology(deca)
    cvs = resolve(top, ["x:5", "y:5", "z:7"])
    assert [v.kind for v in cvs] == ["x", "y", "z"] and not any(v.periodic for v in cvs)
    force = restraint_force(cvs, 4.0)  # kcal/mol/A^2
    ctx = _context(deca, force)
    ctx.setPositions(deca.positions)
    values = cv_values(ctx, force, cvs)  # Angstrom
    xyz = deca.positions_angstrom()
    np.testing.assert_allclose(values, [xyz[5, 0], xyz[5, 1], xyz[7, 2]], atol=1e-6)
    unit = u.kilocalorie_per_mole
    set_targets(ctx, cvs, values)
    at_target = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit)
    set_targets(ctx, cvs, values + np.array([0.3, -0.4, 0.0]))  # 0.5 A away in the x-y plane
    moved = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(unit)
    assert moved - at_target == pytest.approx(0.5 * 4.0 * 0.5**2, rel=1e-6)
    with pytest.raises(PathganInputError, match="'x:999' is not defined on this system"):
        resolve(top, ["x:999"])
    with pytest.raises(PathganInputError, match="expected y:I"):
        resolve(top, ["y:CA"])
