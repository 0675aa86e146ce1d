"""Frame and checkpoint reporters on a tiny OpenMM system (two argon atoms), and the order reporters run in."""

from __future__ import annotations

import json
import struct

import mdtraj as md
import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import pytest

from openmm_bridge.context import add_in_own_group
from openmm_bridge.reporters import AtomicCheckpointReporter, DCDFrameReporter
from openmm_bridge.work import MovingParameter


def _dimer(seed: int = 1) -> app.Simulation:
    """Two argon atoms, 4.5 A apart, on a spring whose rest length is the global parameter ``r0`` (nm).

    The spring is in a force group of its own; Langevin at 300 K on the Reference platform.
    """
    system = mm.System()
    top = app.Topology()
    res = top.addResidue("AR", top.addChain())
    for _ in range(2):
        system.addParticle(39.9)
        top.addAtom("AR", app.element.argon, res)
    spring = mm.CustomBondForce("0.5*kb*(r-r0)^2")
    spring.addGlobalParameter("r0", 0.4)
    spring.addGlobalParameter("kb", 2000.0)
    spring.addBond(0, 1, [])
    add_in_own_group(system, spring)
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 5 / u.picosecond, 2 * u.femtosecond)
    integrator.setRandomNumberSeed(seed)
    sim = app.Simulation(top, system, integrator, mm.Platform.getPlatformByName("Reference"))
    sim.context.setPositions(np.array([[0.0, 0.0, 0.0], [0.45, 0.0, 0.0]]))
    sim.context.setVelocitiesToTemperature(300 * u.kelvin, seed)
    return sim


class Recorder:
    """Every ``interval`` steps: the step, ``r0`` as the Context has it now, and the positions (nm)."""

    def __init__(self, interval: int, positions: bool = True) -> None:
        self.interval, self.positions, self.rows = interval, positions, []

    def describeNextReport(self, simulation):
        steps = self.interval - simulation.currentStep % self.interval
        return {"steps": steps, "periodic": False, "include": ["positions"] if self.positions else []}

    def report(self, simulation, state):
        xyz = state.getPositions(asNumpy=True).value_in_unit(u.nanometer) if self.positions else None
        self.rows.append((simulation.currentStep, simulation.context.getParameter("r0"), xyz))


def _header(path) -> tuple:
    """(frames, first step, interval, last step) from a DCD file's header."""
    magic, cord, n_frames, first, interval, last = struct.unpack("<i4s4i", path.read_bytes()[:24])
    assert (magic, cord) == (84, b"CORD")
    return n_frames, first, interval, last


def _frames(path, sim) -> np.ndarray:
    return md.load_dcd(str(path), top=md.Topology.from_openmm(sim.topology)).xyz


# ---------------------------------------------------------------- DCDFrameReporter
def test_dcd_frames_start_at_step_0(tmp_path):
    sim = _dimer()
    path = tmp_path / "trajectory.dcd"
    frames = DCDFrameReporter(path, 10, sim.topology, dt_ps=0.002)
    x0 = sim.context.getState(getPositions=True).getPositions(asNumpy=True)
    frames.write(x0)  # the frame of step 0, as a pull does
    rec = Recorder(10)
    sim.reporters += [frames, rec]
    sim.step(30)
    frames.close()
    assert frames.n_frames == 4
    assert _header(path) == (4, 0, 10, 30)  # frame 0 is step 0; OpenMM's DCDReporter would say step 10
    xyz = _frames(path, sim)
    expected = np.array([x0.value_in_unit(u.nanometer)] + [row[2] for row in rec.rows])
    assert [row[0] for row in rec.rows] == [10, 20, 30]
    np.testing.assert_allclose(xyz, expected, atol=1e-6)


def test_dcd_first_step_is_written_to_the_header(tmp_path):
    sim = _dimer()
    path = tmp_path / "later.dcd"
    frames = DCDFrameReporter(path, 5, sim.topology, dt_ps=0.002, first_step=100)
    sim.reporters.append(frames)
    sim.step(10)
    frames.close()
    assert _header(path) == (2, 100, 5, 105)


def test_dcd_append_continues_the_file(tmp_path):
    sim = _dimer()
    path = tmp_path / "trajectory.dcd"
    first = DCDFrameReporter(path, 10, sim.topology, dt_ps=0.002)
    first.write(sim.context.getState(getPositions=True).getPositions(asNumpy=True))
    sim.reporters.append(first)
    sim.step(30)
    first.close()
    before = _frames(path, sim)
    sim.reporters.clear()  # as a resumed run: a new reporter on the same file
    more = DCDFrameReporter(path, 10, sim.topology, dt_ps=0.002, append=True, n_frames=4)
    rec = Recorder(10)
    sim.reporters += [more, rec]
    sim.step(20)
    more.close()
    assert more.n_frames == 6
    assert _header(path) == (6, 0, 10, 50)
    xyz = _frames(path, sim)
    assert xyz.shape == (6, 2, 3)
    np.testing.assert_array_equal(xyz[:4], before)  # the old frames are untouched
    np.testing.assert_allclose(xyz[4:], np.array([row[2] for row in rec.rows]), atol=1e-6)


# ---------------------------------------------------------------- AtomicCheckpointReporter
def test_checkpoints_with_progress_replace_older_ones(tmp_path):
    sim = _dimer()
    chk = AtomicCheckpointReporter(tmp_path, 10, lambda s: {"work": 0.5 * s.currentStep, "frames": 7})
    assert AtomicCheckpointReporter.load(tmp_path) is None
    sim.reporters.append(chk)
    sim.step(30)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "checkpoint-30.chk",
        "progress.json",
    ]  # no temp files
    record = AtomicCheckpointReporter.load(tmp_path)
    assert record == {"step": 30, "checkpoint": "checkpoint-30.chk", "work": 15.0, "frames": 7}
    assert json.loads((tmp_path / "progress.json").read_text()) == record
    # the checkpoint is the state at step 30: a fresh Simulation resumes from it exactly
    state = sim.context.getState(getPositions=True, getVelocities=True)
    other = _dimer(seed=99)
    other.context.loadCheckpoint((tmp_path / record["checkpoint"]).read_bytes())
    restored = other.context.getState(getPositions=True, getVelocities=True)
    np.testing.assert_array_equal(restored.getPositions(asNumpy=True), state.getPositions(asNumpy=True))
    np.testing.assert_array_equal(restored.getVelocities(asNumpy=True), state.getVelocities(asNumpy=True))


def test_a_failed_save_keeps_the_last_complete_checkpoint(tmp_path):
    sim = _dimer()
    calls = []

    def progress(s):
        calls.append(s.currentStep)
        if s.currentStep == 20:
            raise RuntimeError("killed while saving")
        return {"work": 1.0}

    sim.reporters.append(AtomicCheckpointReporter(tmp_path, 10, progress))
    with pytest.raises(RuntimeError, match="killed while saving"):
        sim.step(30)
    assert calls == [10, 20]
    record = AtomicCheckpointReporter.load(tmp_path)
    assert record == {"step": 10, "checkpoint": "checkpoint-10.chk", "work": 1.0}
    assert (tmp_path / "checkpoint-10.chk").exists()  # still there: its record names it
    assert not list(tmp_path.glob(".*.tmp"))


# ---------------------------------------------------------------- order of reporters
def _moving(sim) -> MovingParameter:
    group = sim.system.getForce(0).getForceGroup()
    return MovingParameter(group, "r0", lambda step: 0.4 + 0.001 * step, update_interval=5)


def test_a_position_reporter_after_the_mover_sees_the_moved_parameter():
    sim = _dimer()
    mover, rec = _moving(sim), Recorder(5)
    mover.start(sim.context)
    sim.reporters += [mover, rec]
    sim.step(20)
    assert [row[0] for row in rec.rows] == [5, 10, 15, 20]
    np.testing.assert_allclose([row[1] for row in rec.rows], [0.405, 0.41, 0.415, 0.42])


def test_list_order_is_kept_the_other_way_round_too():
    sim = _dimer()
    mover, rec = _moving(sim), Recorder(5)
    mover.start(sim.context)
    sim.reporters += [rec, mover]  # the recorder first: it sees the value before this step's move
    sim.step(20)
    np.testing.assert_allclose([row[1] for row in rec.rows], [0.4, 0.405, 0.41, 0.415])


def test_a_reporter_asking_for_no_positions_runs_after_those_that_do(tmp_path):
    """Why pathgan's reporters ask for positions: OpenMM runs reporters that ask for none last."""
    sim = _dimer()
    mover, blind = _moving(sim), Recorder(5, positions=False)
    mover.start(sim.context)
    seen = []
    chk = AtomicCheckpointReporter(tmp_path, 10, lambda s: seen.append(s.context.getParameter("r0")) or {})
    sim.reporters += [blind, chk, mover]  # both listed before the mover
    sim.step(20)
    # the blind one runs after the mover anyway: it sees the new values
    np.testing.assert_allclose([row[1] for row in blind.rows], [0.405, 0.41, 0.415, 0.42])
    # the checkpoint asks for unwrapped positions, so it keeps its place: before the move
    np.testing.assert_allclose(seen, [0.405, 0.415])
