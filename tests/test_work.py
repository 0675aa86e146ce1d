"""Work of a moving restraint from OpenMM's energy of its own force group, checked by hand on a dimer."""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import pytest

from openmm_bridge.context import add_in_own_group
from openmm_bridge.errors import PathganInputError
from openmm_bridge.units import KJ_PER_KCAL
from openmm_bridge.work import MovingParameter, ParameterWork

KB = 2000.0  # kJ/mol/nm^2, the restraint's force constant
R = 0.45  # nm, the starting distance


def _restraint() -> mm.CustomBondForce:
    """``1/2 kb (r - r0)^2`` with the rest length ``r0`` (nm) a global parameter."""
    force = mm.CustomBondForce("0.5*kb*(r-r0)^2")
    force.addGlobalParameter("r0", 0.40)
    force.addGlobalParameter("kb", KB)
    force.addBond(0, 1, [])
    return force


def _system() -> tuple[app.Topology, mm.System, int]:
    """Two argon atoms with a stiff bond (group 0) and the restraint in a group of its own."""
    system = mm.System()
    top = app.Topology()
    res = top.addResidue("AR", top.addChain())
    for _ in range(2):
        system.addParticle(39.9)
        top.addAtom("AR", app.element.argon, res)
    bond = mm.HarmonicBondForce()
    bond.addBond(0, 1, 0.38, 5000.0)  # its energy must not enter the work
    system.addForce(bond)
    group = add_in_own_group(system, _restraint())
    return top, system, group


def _restraint_kcal(r: float, r0: float) -> float:
    return 0.5 * KB * (r - r0) ** 2 / KJ_PER_KCAL


def _context() -> tuple[mm.Context, int]:
    _, system, group = _system()
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(np.array([[0.0, 0.0, 0.0], [R, 0.0, 0.0]]))
    return ctx, group


# ---------------------------------------------------------------- ParameterWork
def test_energy_is_the_restraints_alone():
    ctx, group = _context()
    work = ParameterWork(group, "r0")
    assert work.energy_kcal_mol(ctx) == pytest.approx(_restraint_kcal(R, 0.40), rel=1e-12)
    total = ctx.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
    assert total - work.energy_kcal_mol(ctx) == pytest.approx(0.5 * 5000.0 * 0.07**2 / KJ_PER_KCAL, rel=1e-9)


def test_move_returns_the_energy_change_by_hand():
    ctx, group = _context()
    work = ParameterWork(group, "r0")
    dw = work.move(ctx, 0.42)
    assert dw == pytest.approx(_restraint_kcal(R, 0.42) - _restraint_kcal(R, 0.40), rel=1e-10)
    assert dw < 0  # the centre moved towards the atoms' distance
    assert ctx.getParameter("r0") == 0.42
    dw2 = work.move(ctx, 0.50)  # past the distance: the energy rises again
    assert dw2 == pytest.approx(_restraint_kcal(R, 0.50) - _restraint_kcal(R, 0.42), rel=1e-10)
    assert work.work_kcal_mol == pytest.approx(dw + dw2, rel=1e-12)
    # a path function of the parameter at fixed positions: the total is U(end) - U(start)
    assert work.work_kcal_mol == pytest.approx(_restraint_kcal(R, 0.50) - _restraint_kcal(R, 0.40), rel=1e-10)


def test_no_move_no_work():
    ctx, group = _context()
    work = ParameterWork(group, "r0", work_kcal_mol=2.5)
    assert work.move(ctx, 0.40) == 0.0
    assert work.work_kcal_mol == 2.5 and ctx.getParameter("r0") == 0.40
    ctx.setPositions(np.array([[0.0, 0.0, 0.0], [0.40, 0.0, 0.0]]))  # at the centre: dU/dr0 = 0 there
    assert work.move(ctx, 0.41) == pytest.approx(_restraint_kcal(0.40, 0.41), rel=1e-10)


def test_the_group_read_is_the_group_given():
    """The work is what the group's energy says: read from another group, the same move does no work."""
    ctx, group = _context()
    assert ParameterWork(0, "r0").move(ctx, 0.42) == 0.0  # group 0 holds only the bond
    assert ctx.getParameter("r0") == 0.42  # the parameter did move
    assert ParameterWork(group, "r0").move(ctx, 0.40) != 0.0


def test_a_force_sharing_the_group_and_the_parameter_corrupts_the_work():
    """Why the restraint needs a group of its own: whatever else is in it and depends on r0 is counted too."""
    _, system, group = _system()
    other = mm.CustomBondForce("10*r0*r")  # another force using the (Context-wide) parameter r0
    other.addGlobalParameter("r0", 0.40)
    other.addBond(0, 1, [])
    other.setForceGroup(group)
    system.addForce(other)
    ctx = mm.Context(system, mm.VerletIntegrator(0.001), mm.Platform.getPlatformByName("Reference"))
    ctx.setPositions(np.array([[0.0, 0.0, 0.0], [R, 0.0, 0.0]]))
    dw = ParameterWork(group, "r0").move(ctx, 0.42)
    own = _restraint_kcal(R, 0.42) - _restraint_kcal(R, 0.40)
    assert dw == pytest.approx(own + 10 * 0.02 * R / KJ_PER_KCAL, rel=1e-9)
    assert abs(dw - own) > 1e-3


# ---------------------------------------------------------------- MovingParameter
class Recorder:
    """Every step: the step, ``r0`` and the restraint distance (nm), after any move at that step."""

    def __init__(self) -> None:
        self.rows = []

    def describeNextReport(self, simulation):
        return {"steps": 1, "periodic": False, "include": ["positions"]}

    def report(self, simulation, state):
        x = state.getPositions(asNumpy=True).value_in_unit(u.nanometer)
        self.rows.append(
            (simulation.currentStep, simulation.context.getParameter("r0"), np.linalg.norm(x[1] - x[0]))
        )


def _simulation(seed: int = 3) -> tuple[app.Simulation, int]:
    top, system, group = _system()
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 5 / u.picosecond, 2 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    sim = app.Simulation(top, system, integrator, mm.Platform.getPlatformByName("Reference"))
    sim.context.setPositions(np.array([[0.0, 0.0, 0.0], [R, 0.0, 0.0]]))
    sim.context.setVelocitiesToTemperature(300 * u.kelvin, seed)
    return sim, group


def schedule(step: int) -> float:
    return 0.30 + 0.002 * step  # nm: moves 0.01 nm every 5 steps


def test_moving_parameter_moves_on_schedule_and_sums_the_moves():
    sim, group = _simulation()
    sim.context.setParameter("r0", 0.9)
    mover = MovingParameter(group, "r0", schedule, update_interval=5, work_kcal_mol=1.5)
    mover.start(sim.context)
    assert (
        sim.context.getParameter("r0") == pytest.approx(0.30) and mover.work_kcal_mol == 1.5
    )  # no work to start
    rec = Recorder()
    sim.reporters += [mover, rec]
    sim.step(23)
    steps = np.array([r[0] for r in rec.rows])
    r0 = np.array([r[1] for r in rec.rows])
    dist = np.array([r[2] for r in rec.rows])
    assert list(steps) == list(range(1, 24))
    np.testing.assert_allclose(r0, [schedule(5 * (s // 5)) for s in steps], atol=1e-12)  # only every 5 steps
    assert mover.step == 20
    # each move at step 5k, at that step's distance d: U(d, c_k) - U(d, c_{k-1})
    at = {s: d for s, d in zip(steps, dist, strict=True)}
    moves = [
        _restraint_kcal(at[s], schedule(s)) - _restraint_kcal(at[s], schedule(s - 5)) for s in (5, 10, 15, 20)
    ]
    assert all(abs(m) > 1e-4 for m in moves)  # real moves at varying distances
    assert mover.work_kcal_mol == pytest.approx(1.5 + sum(moves), rel=1e-9, abs=1e-12)
    assert len(set(np.round(dist, 8))) > 5  # the atoms did move: the work is not U(end) - U(start) of one x


def test_a_steady_schedule_does_no_work():
    sim, group = _simulation()
    mover = MovingParameter(group, "r0", lambda step: 0.41, update_interval=2)
    mover.start(sim.context)
    sim.reporters.append(mover)
    sim.step(20)
    assert mover.work_kcal_mol == 0.0 and mover.step == 20


def test_resume_continues_the_step_and_the_work():
    sim, group = _simulation()
    mover = MovingParameter(group, "r0", schedule, update_interval=5)
    mover.resume(40, 3.25)
    assert mover.step == 40 and mover.work_kcal_mol == 3.25 and mover.work.work_kcal_mol == 3.25
    sim.context.setParameter("r0", schedule(40))  # as a checkpoint would hold it
    sim.currentStep = 40
    sim.reporters.append(mover)
    sim.step(5)
    x = sim.context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
    d = float(np.linalg.norm(x[1] - x[0]))
    assert mover.step == 45 and sim.context.getParameter("r0") == pytest.approx(schedule(45))
    assert mover.work_kcal_mol == pytest.approx(
        3.25 + _restraint_kcal(d, schedule(45)) - _restraint_kcal(d, schedule(40)), rel=1e-9
    )


def test_update_interval_must_be_positive():
    for bad in (0, -5):
        with pytest.raises(PathganInputError, match=f"update_interval must be positive, got {bad}"):
            MovingParameter(31, "r0", schedule, update_interval=bad)


# ---------------------------------------------------------------- a periodic system
BOX_NM = 3.0
K_PBC = 2.0  # kcal/mol/A^2


def _periodic_pull(x0_nm: np.ndarray, c0_nm: float, c1_nm: float, n_steps: int = 400, seed: int = 5):
    """A raw periodic OpenMM System: 4 particles in a 3 nm box, a centroid-distance restraint with
    periodic boundary conditions between particles 0 and 1, its centre pulled from c0 to c1 (nm) by
    :class:`~openmm_bridge.pulling.ConstantVelocityPull`. Returns the pull and, at every move, the
    step, the centre (nm) and the unwrapped positions (nm)."""
    from openmm_bridge.pull_forces import centroid_distance_force
    from openmm_bridge.pulling import ConstantVelocityPull

    system = mm.System()
    system.setDefaultPeriodicBoxVectors(*(BOX_NM * np.eye(3)))
    top = app.Topology()
    top.setPeriodicBoxVectors(BOX_NM * np.eye(3) * u.nanometer)
    res = top.addResidue("AR", top.addChain())
    for _ in range(4):
        system.addParticle(39.9)
        top.addAtom("AR", app.element.argon, res)
    force = centroid_distance_force([0], [1], K_PBC, 10 * c0_nm)
    force.setUsesPeriodicBoundaryConditions(True)
    system.addForce(force)
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 5 / u.picosecond, 2 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    sim = app.Simulation(top, system, integrator, mm.Platform.getPlatformByName("Reference"))
    sim.context.setPositions(x0_nm)
    sim.context.setVelocitiesToTemperature(300 * u.kelvin, seed)
    pull = ConstantVelocityPull(force, 10 * c0_nm, 10 * c1_nm, n_steps, update_interval=10)
    pull.start(sim.context)

    class Positions:  # after the pull at each move (same unwrapped group: list order holds)
        rows: list = []

        def describeNextReport(self, simulation):
            return {"steps": 10 - simulation.currentStep % 10, "periodic": False, "include": ["positions"]}

        def report(self, simulation, state):
            x = state.getPositions(asNumpy=True).value_in_unit(u.nanometer)
            self.rows.append((simulation.currentStep, simulation.context.getParameter("pull_centre"), x))

    rec = Positions()
    rec.rows = []
    sim.reporters += [pull, rec]
    sim.step(n_steps)
    return pull, rec.rows


def _numpy_work_kcal(rows, c0_nm: float, minimum_image: bool) -> float:
    """Sum over moves of 1/2 k (d - c')^2 - 1/2 k (d - c)^2 = integral of k (c - d) dc at each move's d."""
    k = K_PBC * 418.4  # kJ/mol/nm^2
    w, c_prev = 0.0, c0_nm
    for _, c, x in rows:
        r = x[1] - x[0]
        if minimum_image:
            r = r - BOX_NM * np.round(r / BOX_NM)
        d = float(np.linalg.norm(r))
        w += 0.5 * k * ((d - c) ** 2 - (d - c_prev) ** 2)
        c_prev = c
    return w / KJ_PER_KCAL


def test_periodic_work_equals_the_numpy_reconstruction_where_no_image_matters():
    x0 = np.array([[1.0, 1.5, 1.5], [1.8, 1.5, 1.5], [0.3, 0.3, 0.3], [2.5, 2.6, 0.4]])
    pull, rows = _periodic_pull(x0, 0.8, 1.1)
    assert len(rows) == 40 and abs(pull.work_kcal_mol) > 0.5  # real work was done
    plain = _numpy_work_kcal(rows, 0.8, minimum_image=False)
    assert pull.work_kcal_mol == pytest.approx(plain, rel=1e-6, abs=1e-8)
    # no pair is closer through the boundary: the minimum image changes nothing
    assert _numpy_work_kcal(rows, 0.8, minimum_image=True) == pytest.approx(plain, rel=1e-12)


def test_periodic_work_differs_from_the_numpy_reconstruction_where_an_image_matters():
    # 2.4 nm apart in the box, 0.6 nm through its boundary: the restraint acts on the 0.6 nm image
    x0 = np.array([[0.2, 1.5, 1.5], [2.6, 1.5, 1.5], [1.0, 0.3, 0.3], [1.5, 2.6, 0.4]])
    pull, rows = _periodic_pull(x0, 0.6, 0.9)
    d_raw = [np.linalg.norm(x[1] - x[0]) for _, _, x in rows]
    assert min(d_raw) > 1.9  # never near the restraint centre without images
    plain = _numpy_work_kcal(rows, 0.6, minimum_image=False)
    imaged = _numpy_work_kcal(rows, 0.6, minimum_image=True)
    assert pull.work_kcal_mol == pytest.approx(imaged, rel=1e-6, abs=1e-8)  # OpenMM's force, right
    assert abs(pull.work_kcal_mol - plain) > 10.0  # the numpy distance without images is far off
