"""Contexts and Simulations: platforms by name, CPU threads, seeded Langevin, force groups of their own."""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import pytest

from openmm_bridge.context import (
    N_FORCE_GROUPS,
    add_in_own_group,
    available_platforms,
    free_force_group,
    get_platform,
    langevin,
    make_context,
    make_simulation,
)
from openmm_bridge.errors import PathganInputError


def _dimer() -> tuple[app.Topology, mm.System]:
    """Two argon atoms joined by a harmonic bond (0.4 nm, 1000 kJ/mol/nm^2)."""
    system = mm.System()
    top = app.Topology()
    res = top.addResidue("AR", top.addChain())
    for _ in range(2):
        system.addParticle(39.9)
        top.addAtom("AR", app.element.argon, res)
    bond = mm.HarmonicBondForce()
    bond.addBond(0, 1, 0.4, 1000.0)
    system.addForce(bond)
    return top, system


START = np.array([[0.0, 0.0, 0.0], [0.45, 0.0, 0.0]])


def _trajectory(seed: int | None, n: int = 5) -> np.ndarray:
    """Positions (nm) every 10 steps of the dimer from rest under ``langevin(..., seed)``."""
    _, system = _dimer()
    integrator = langevin(300.0, 5.0, 2.0, seed)
    ctx = make_context(system, "Reference", integrator)
    ctx.setPositions(START)
    ctx.setVelocities(np.zeros((2, 3)))  # no random velocities: the integrator's noise is the only chance
    out = []
    for _ in range(n):
        integrator.step(10)
        out.append(ctx.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer))
    return np.array(out)


def test_available_platforms_lists_reference_and_cpu():
    names = available_platforms()
    assert "Reference" in names and "CPU" in names
    assert len(names) == mm.Platform.getNumPlatforms() == len(set(names))


def test_unknown_platform_names_the_available_ones():
    with pytest.raises(PathganInputError, match="unknown OpenMM platform 'Nope'; available: ") as err:
        get_platform("Nope")
    for name in available_platforms():
        assert repr(name) in str(err.value)
    assert isinstance(err.value.__cause__, mm.OpenMMException)
    _, system = _dimer()
    with pytest.raises(PathganInputError, match="'Nope'"):
        make_context(system, "Nope")


def test_threads_are_a_property_of_the_cpu_platform_only():
    platform, props = get_platform("CPU", threads=3)
    assert platform.getName() == "CPU" and props == {"Threads": "3"}
    assert get_platform("CPU", threads=None)[1] == {}
    platform, props = get_platform("Reference", threads=3)
    assert platform.getName() == "Reference" and props == {}


def test_cpu_context_gets_its_thread_count():
    _, system = _dimer()
    ctx = make_context(system, "CPU", threads=2)
    assert ctx.getPlatform().getName() == "CPU"
    assert ctx.getPlatform().getPropertyValue(ctx, "Threads") == "2"
    ctx1 = make_context(system, "CPU")  # the default: one thread
    assert ctx1.getPlatform().getPropertyValue(ctx1, "Threads") == "1"


def test_make_context_defaults_to_a_verlet_integrator_on_reference():
    _, system = _dimer()
    ctx = make_context(system)
    assert ctx.getPlatform().getName() == "Reference"
    assert isinstance(ctx.getIntegrator(), mm.VerletIntegrator)
    ctx.setPositions(START)
    energy = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilojoule_per_mole)
    assert energy == pytest.approx(0.5 * 1000.0 * 0.05**2, rel=1e-9)


def test_langevin_has_the_given_settings():
    integrator = langevin(310.0, 2.0, 4.0, seed=17)
    assert isinstance(integrator, mm.LangevinMiddleIntegrator)
    assert integrator.getTemperature().value_in_unit(u.kelvin) == pytest.approx(310.0)
    assert integrator.getFriction().value_in_unit(u.picosecond**-1) == pytest.approx(2.0)
    assert integrator.getStepSize().value_in_unit(u.femtosecond) == pytest.approx(4.0)
    assert integrator.getRandomNumberSeed() == 17
    assert langevin(300.0, 1.0, 2.0).getRandomNumberSeed() == 0  # None: OpenMM picks one per Context


def test_same_seed_same_trajectory_other_seed_another():
    a, b, c = _trajectory(5), _trajectory(5), _trajectory(6)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert np.abs(a - c).max() > 1e-4  # a real difference, not round-off
    # unseeded runs differ from each other (OpenMM chooses a new seed per Context)
    assert not np.array_equal(_trajectory(None), _trajectory(None))


def test_make_simulation_on_the_named_platform():
    top, system = _dimer()
    sim = make_simulation(top, system, langevin(300.0, 1.0, 2.0, seed=3), "CPU", threads=2)
    assert isinstance(sim, app.Simulation)
    assert sim.topology is top and sim.context.getPlatform().getName() == "CPU"
    assert sim.context.getPlatform().getPropertyValue(sim.context, "Threads") == "2"
    sim.context.setPositions(START)
    sim.step(3)
    assert sim.currentStep == 3
    ref = make_simulation(top, system, langevin(300.0, 1.0, 2.0, seed=3))
    assert ref.context.getPlatform().getName() == "Reference"
    with pytest.raises(PathganInputError, match="available"):
        make_simulation(top, system, langevin(300.0, 1.0, 2.0), "Nope")


def test_free_force_group_is_the_highest_unused():
    _, system = _dimer()  # its bond is in group 0
    assert N_FORCE_GROUPS == 32
    assert free_force_group(mm.System()) == 31
    assert free_force_group(system) == 31
    f = mm.CustomExternalForce("0")
    f.setForceGroup(31)
    system.addForce(f)
    assert free_force_group(system) == 30


def test_add_in_own_group_gives_each_force_its_own():
    _, system = _dimer()
    forces = [mm.CustomExternalForce("0") for _ in range(3)]
    groups = [add_in_own_group(system, f) for f in forces]
    assert groups == [31, 30, 29]
    assert system.getNumForces() == 4
    assert [system.getForce(k).getForceGroup() for k in range(1, 4)] == groups
    assert [f.getForceGroup() for f in forces] == groups


def test_all_32_groups_taken_is_an_error():
    system = mm.System()
    system.addParticle(1.0)
    for group in range(N_FORCE_GROUPS):
        f = mm.CustomExternalForce("0")
        f.setForceGroup(group)
        system.addForce(f)
    extra = mm.CustomExternalForce("0")
    with pytest.raises(PathganInputError, match="all 32 force groups"):
        free_force_group(system)
    with pytest.raises(PathganInputError, match="none is free"):
        add_in_own_group(system, extra)
    assert system.getNumForces() == N_FORCE_GROUPS  # nothing was added
    # one group freed: it is found, even when it is low
    system.getForce(4).setForceGroup(5)
    assert free_force_group(system) == 4


#: precision -> (energy tolerance relative to the sum of |energy| of the forces, force tolerance
#: relative to the largest force component). "default" is what make_context gives (single).
GPU_TOLERANCE = {
    "default": (1e-5, 1e-3),
    "single": (1e-5, 1e-3),
    "mixed": (1e-5, 1e-3),
    "double": (1e-8, 1e-6),
}


@pytest.mark.parametrize(
    "platform, precision",
    [("CUDA", "default"), ("CUDA", "mixed"), ("CUDA", "double"), ("OpenCL", "default"), ("OpenCL", "mixed")],
)
def test_gpu_platform_matches_reference_on_deca_alanine(deca, deca_frames, platform, precision):
    """OpenMM's GPU platforms (where this machine has one) give the Reference platform's energies and
    forces of deca-alanine's System, within the precision's round-off."""
    if platform not in available_platforms():
        why = [f for f in mm.Platform.getPluginLoadFailures() if f"OpenMM{platform}.so" in f]
        pytest.skip(f"OpenMM has no {platform} platform here{': ' + why[0] if why else ''}")
    system = mm.XmlSerializer.clone(deca.system)
    for k, force in enumerate(system.getForces()):
        force.setForceGroup(k)  # each force's energy on its own, for the tolerance's scale
    ref = make_context(system, "Reference")
    if precision == "default":
        gpu = make_context(system, platform)
    else:
        plat, props = get_platform(platform)
        gpu = mm.Context(system, mm.VerletIntegrator(0.001), plat, {**props, "Precision": precision})
    assert gpu.getPlatform().getName() == platform
    e_tol, f_tol = GPU_TOLERANCE[precision]
    kj, kj_nm = u.kilojoule_per_mole, u.kilojoule_per_mole / u.nanometer
    for frame in deca_frames:
        for ctx in (ref, gpu):
            ctx.setPositions(frame / 10.0)
        state_ref = ref.getState(getEnergy=True, getForces=True)
        state_gpu = gpu.getState(getEnergy=True, getForces=True)
        scale = sum(
            abs(ref.getState(getEnergy=True, groups={k}).getPotentialEnergy().value_in_unit(kj))
            for k in range(system.getNumForces())
        )
        e_ref, e_gpu = (s.getPotentialEnergy().value_in_unit(kj) for s in (state_ref, state_gpu))
        assert abs(e_gpu - e_ref) < e_tol * scale, (e_gpu, e_ref, scale)
        f_ref, f_gpu = (s.getForces(asNumpy=True).value_in_unit(kj_nm) for s in (state_ref, state_gpu))
        np.testing.assert_allclose(f_gpu, f_ref, rtol=f_tol, atol=f_tol * np.abs(f_ref).max())
