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


#: OpenMM's CUDA and OpenCL platforms (its "common" platform code) keep every force-field parameter
#: in float32 whatever the precision: HarmonicBondForce (r0, k) and HarmonicAngleForce (theta0, k)
#: as float2, PeriodicTorsionForce (k, phase, n) as float4, NonbondedForce's particles (q, sigma,
#: eps) and exceptions (ONE_4PI_EPS0 q1q2, sigma, 4 eps) as float4, and a pair's Lennard-Jones
#: sigma and eps are formed in float (platforms/common/src/CommonKernels.cpp,
#: CommonCalcNonbondedForce.cpp, kernels/nonbondedParameters.cc and coulombLennardJones.cc; the
#: same in OpenMM 8.5.2 and 8.6). "double" makes positions and arithmetic double, not these; in
#: single and mixed precision the positions a force sees are float32 as well. The Reference
#: platform keeps all in float64, so the GPU's error is set by float32 storage, not by the
#: precision's arithmetic, and it is measured against the size of the terms that add up:
#:
#: precision -> (energy tolerance relative to the sum over forces of |energy|, force tolerance
#: relative to the largest sum over forces of |force component| on an atom). The total force on
#: the minimised helix (deca_frames[0]) is 1.65 kJ/mol/nm, the remainder of per-force components
#: up to 620 kJ/mol/nm (1,290 summed): float32 positions (6e-8 nm at 1.3 nm) times bond constants
#: up to 4.8e5 kJ/mol/nm^2 move it by 0.04, which an H200 showed (CUDA and OpenCL single and
#: mixed: 0.042 and 0.039) and test_gpu_tolerance_covers_float32_storage reproduces on Reference.
#: "default" is what make_context gives (single).
GPU_TOLERANCE = {
    "default": (1e-5, 2e-4),
    "single": (1e-5, 2e-4),
    "mixed": (1e-5, 2e-4),
    "double": (1e-6, 1e-5),
}


def _scales(ref: mm.Context, n_forces: int) -> tuple[float, float]:
    """(sum over force groups of |energy|, max over atoms of the sum over groups of |force component|)
    at ``ref``'s positions, kJ/mol and kJ/mol/nm; each force in group k = its index."""
    kj, kj_nm = u.kilojoule_per_mole, u.kilojoule_per_mole / u.nanometer
    states = [ref.getState(getEnergy=True, getForces=True, groups={k}) for k in range(n_forces)]
    e_scale = sum(abs(s.getPotentialEnergy().value_in_unit(kj)) for s in states)
    f_scale = np.sum([np.abs(s.getForces(asNumpy=True).value_in_unit(kj_nm)) for s in states], axis=0).max()
    return e_scale, float(f_scale)


def _energy_forces(ctx: mm.Context, positions_nm: np.ndarray) -> tuple[float, np.ndarray]:
    ctx.setPositions(positions_nm)
    state = ctx.getState(getEnergy=True, getForces=True)
    return (
        state.getPotentialEnergy().value_in_unit(u.kilojoule_per_mole),
        state.getForces(asNumpy=True).value_in_unit(u.kilojoule_per_mole / u.nanometer),
    )


def _in_own_groups(system: mm.System) -> mm.System:
    system = mm.XmlSerializer.clone(system)
    for k, force in enumerate(system.getForces()):
        force.setForceGroup(k)  # each force's energy on its own, for the tolerance's scale
    return system


def _parameters_as_float32(system: mm.System) -> mm.System:
    """A copy of ``system`` with each parameter rounded as OpenMM's GPU platforms store it
    (the per-particle Lennard-Jones eps through 2 sqrt(eps), an exception's charge product
    through ONE_4PI_EPS0 q1q2); a pair's sigma and eps formed in float are not reproduced."""
    f32 = lambda x: float(np.float32(x))  # noqa: E731
    one_4pi_eps0 = 138.93545764438198  # OpenMM's, kJ mol^-1 nm e^-2
    system = mm.XmlSerializer.clone(system)
    for f in system.getForces():
        if isinstance(f, mm.HarmonicBondForce):
            for i in range(f.getNumBonds()):
                a, b, r0, k = f.getBondParameters(i)
                f.setBondParameters(i, a, b, f32(r0._value), f32(k._value))
        elif isinstance(f, mm.HarmonicAngleForce):
            for i in range(f.getNumAngles()):
                a, b, c, theta0, k = f.getAngleParameters(i)
                f.setAngleParameters(i, a, b, c, f32(theta0._value), f32(k._value))
        elif isinstance(f, mm.PeriodicTorsionForce):
            for i in range(f.getNumTorsions()):
                a, b, c, d, n, phase, k = f.getTorsionParameters(i)
                f.setTorsionParameters(i, a, b, c, d, n, f32(phase._value), f32(k._value))
        elif isinstance(f, mm.NonbondedForce):
            for i in range(f.getNumParticles()):
                q, sigma, eps = f.getParticleParameters(i)
                eps32 = (f32(2.0 * np.sqrt(np.float32(eps._value))) / 2.0) ** 2
                f.setParticleParameters(i, f32(q._value), f32(sigma._value), eps32)
            for i in range(f.getNumExceptions()):
                a, b, qq, sigma, eps = f.getExceptionParameters(i)
                qq32 = f32(one_4pi_eps0 * f32(qq._value)) / one_4pi_eps0
                f.setExceptionParameters(i, a, b, qq32, f32(sigma._value), f32(eps._value))
        else:
            raise AssertionError(f"no float32 rounding written for {f.__class__.__name__}")
    return system


def test_gpu_tolerance_covers_float32_storage(deca, deca_frames):
    """The GPU tolerances hold what float32 storage alone does, on Reference: parameters rounded as
    OpenMM's GPU platforms keep them (double), and positions too (single, mixed); with a margin of
    3, and well above what the old tolerances (1e-8 of the energy; forces against the largest
    total force) allowed, so the GPU test's scales are not round-off of the comparison itself."""
    system = _in_own_groups(deca.system)
    ref = make_context(system, "Reference")
    stored = make_context(_parameters_as_float32(system), "Reference")
    worst = {"double": [0.0, 0.0], "single": [0.0, 0.0]}
    old_single_force = 0.0
    for frame in deca_frames:
        x = frame / 10.0
        e_ref, f_ref = _energy_forces(ref, x)
        e_scale, f_scale = _scales(ref, system.getNumForces())
        for precision, pos in (("double", x), ("single", x.astype(np.float32).astype(np.float64))):
            e, f = _energy_forces(stored, pos)
            worst[precision][0] = max(worst[precision][0], abs(e - e_ref) / e_scale)
            worst[precision][1] = max(worst[precision][1], np.abs(f - f_ref).max() / f_scale)
            if precision == "single":
                old_single_force = max(old_single_force, np.abs(f - f_ref).max() / np.abs(f_ref).max())
    for precision, (e_dev, f_dev) in worst.items():
        e_tol, f_tol = GPU_TOLERANCE[precision]
        assert 3 * e_dev < e_tol and 3 * f_dev < f_tol, (precision, e_dev, f_dev)
    # measured 2026-12-04: double 1.3e-7 of the energy scale and 2.1e-6 of the force scale;
    # single and mixed 0.025 of the largest total force on the minimised helix
    assert worst["double"][0] > 1e-8 and old_single_force > 1e-3, (worst, old_single_force)


@pytest.mark.parametrize(
    "platform, precision",
    [("CUDA", "default"), ("CUDA", "mixed"), ("CUDA", "double"), ("OpenCL", "default"), ("OpenCL", "mixed")],
)
def test_gpu_platform_matches_reference_on_deca_alanine(deca, deca_frames, platform, precision):
    """OpenMM's GPU platforms (where this machine has one) give the Reference platform's energies and
    forces of deca-alanine's System, within what float32 storage allows (see GPU_TOLERANCE)."""
    if platform not in available_platforms():
        why = [f for f in mm.Platform.getPluginLoadFailures() if f"OpenMM{platform}.so" in f]
        pytest.skip(f"OpenMM has no {platform} platform here{': ' + why[0] if why else ''}")
    system = _in_own_groups(deca.system)
    ref = make_context(system, "Reference")
    if precision == "default":
        gpu = make_context(system, platform)
    else:
        plat, props = get_platform(platform)
        gpu = mm.Context(system, mm.VerletIntegrator(0.001), plat, {**props, "Precision": precision})
    assert gpu.getPlatform().getName() == platform
    e_tol, f_tol = GPU_TOLERANCE[precision]
    for i, frame in enumerate(deca_frames):
        e_ref, f_ref = _energy_forces(ref, frame / 10.0)
        e_gpu, f_gpu = _energy_forces(gpu, frame / 10.0)
        e_scale, f_scale = _scales(ref, system.getNumForces())
        assert abs(e_gpu - e_ref) < e_tol * e_scale, (i, e_gpu, e_ref, e_scale)
        np.testing.assert_allclose(f_gpu, f_ref, rtol=0, atol=f_tol * f_scale, err_msg=f"frame {i}")
