"""Steered-MD replicas: the paper's constant-velocity pull, run, checkpointed and resumed.

One replica is one OpenMM ``Simulation`` of a :class:`~openmm_bridge.system.MolecularSystem`
with the restraint of the protocol's pull coordinate (``PullProtocol.resolve_coordinate``: a
centroid distance by default, or a torsion or an RMSD) whose centre a
:class:`~openmm_bridge.pulling.ConstantVelocityPull` moves from c0 to c1; it writes into a pull
folder (:mod:`.pull_folder`). With ``equilibration_ps > 0`` every replica starts from a frame
(positions and velocities) of one equilibration under the restraint at c0
(:mod:`.equilibration`), run first; with 0, from the minimised start structure with fresh
velocities (the old protocol). A killed run resumes: finished replicas are kept as they are, a
partial one is cut back to its last checkpoint (DCD and CSV truncated to the checkpoint's
frame count) and continues from it, bit for bit as if it had never stopped.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import openmm.app as app
import openmm.unit as u

from .equilibration import ensure_equilibration, remove_partial, restrained_simulation, start_state
from .errors import PathganDataError
from .protocol import PullProtocol
from .provenance import versions
from .pull_folder import (
    PULL_CSV,
    START_PDB,
    SUMMARY,
    TRAJECTORY,
    finished_replicas,
    partial_dir,
    prepare_pull,
    read_manifest,
    replica_dir,
    write_json,
)
from .pulling import ConstantVelocityPull, PullDataReporter
from .reporters import AtomicCheckpointReporter, DCDFrameReporter
from .system import MolecularSystem
from .trajio import truncate_csv, truncate_dcd

__all__ = ["ReplicaResult", "build_simulation", "finished_replicas", "run_pull", "run_replica"]

log = logging.getLogger(__name__)


@dataclass
class ReplicaResult:
    """What a finished replica reports (also its ``summary.json``).

    ``final_coordinate``: the pulled coordinate at the end (Angstrom, or degrees for a torsion);
    ``final_distance_angstrom``: the same for a distance pull, None for any other.
    ``start_frame``: the frame of the equilibration the replica started from (None, and left out
    of ``summary.json``, with ``equilibration_ps`` 0).
    """

    index: int
    seed: int
    n_frames: int
    final_work_kcal_mol: float
    final_distance_angstrom: float | None
    wall_s: float
    resumed_from_step: int = 0
    versions: dict[str, str] = field(default_factory=dict)
    final_coordinate: float | None = None
    start_frame: int | None = None


def build_simulation(
    system: MolecularSystem, protocol: PullProtocol, seed: int
) -> tuple[app.Simulation, ConstantVelocityPull]:
    """The pull's Simulation (MD System + restraint at c0, Langevin seeded with ``seed``) and its pull."""
    simulation, force, coordinate = restrained_simulation(system, protocol, seed)
    pull = ConstantVelocityPull(
        force,
        protocol.c0_angstrom,
        protocol.c1_angstrom,
        protocol.n_steps,
        protocol.update_interval_steps,
        coordinate=coordinate,
    )
    return simulation, pull


def _start(
    simulation: app.Simulation, pull: ConstantVelocityPull, positions: Any, protocol: PullProtocol, seed: int
) -> None:
    """Step 0 of a replica: positions, then the centre at c0.

    ``positions``: a structure (constrained, minimised, velocities drawn with ``seed``: the old
    protocol), or ``(positions_nm, velocities_nm_ps)`` of an equilibration frame, taken as they are.
    """
    if isinstance(positions, tuple):
        simulation.context.setPositions(positions[0])
        simulation.context.setVelocities(positions[1])
    else:
        simulation.context.setPositions(positions)
        simulation.context.applyConstraints(1e-6)
        if protocol.minimize_steps > 0:
            simulation.minimizeEnergy(maxIterations=protocol.minimize_steps)
        simulation.context.setVelocitiesToTemperature(protocol.temperature_k * u.kelvin, seed)
    simulation.currentStep = 0
    simulation.context.setTime(0.0)
    pull.start(simulation.context)


def run_replica(system_dir: str, protocol_dict: dict, seed: int, out_dir: str, index: int) -> dict:
    """Run (or resume, or just report) replica ``index`` of a pull; return its summary as a dict.

    Arguments are plain data so that the call can travel to a Dask worker.
    """
    out = Path(out_dir)
    final = replica_dir(out, index)
    if (final / SUMMARY).exists():
        return json.loads((final / SUMMARY).read_text())
    protocol = PullProtocol.from_dict(protocol_dict, "pull")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # system warnings were shown once, when the pull was set up
        system = MolecularSystem.load(system_dir)
    work_dir = partial_dir(out, index)
    work_dir.mkdir(parents=True, exist_ok=True)
    simulation, pull = build_simulation(system, protocol, seed)
    dt_ps = protocol.timestep_fs / 1000.0
    interval = protocol.frame_interval_steps

    def frames_at(step: int) -> int:  # frames on disk after ``step`` (frame 0 included)
        return step // interval + 1

    t0 = time.perf_counter()
    start_frame = None
    if protocol.equilibration_ps > 0:
        record = read_manifest(out).get("equilibration")
        if record is None or index >= len(record["start_frames"]):  # called alone, not through run_pull
            ensure_equilibration(system_dir, out)
        start_frame, eq_positions, eq_velocities = start_state(out, index)
    progress = AtomicCheckpointReporter.load(work_dir)
    if progress is not None:
        chk = work_dir / progress["checkpoint"]
        try:
            simulation.loadCheckpoint(str(chk))
        except Exception as err:  # OpenMM raises a bare Exception for a corrupt checkpoint
            raise PathganDataError(f"{chk}: cannot load the checkpoint ({err})") from err
        simulation.currentStep = progress["step"]
        n_frames = frames_at(progress["step"])
        truncate_dcd(work_dir / TRAJECTORY, n_frames, system.topology, dt_ps, interval)
        truncate_csv(work_dir / PULL_CSV, n_frames)
        pull.resume(progress["step"], progress["work_kcal_mol"])
        frames = DCDFrameReporter(
            work_dir / TRAJECTORY, interval, system.topology, dt_ps, append=True, n_frames=n_frames
        )
        data = PullDataReporter(work_dir / PULL_CSV, interval, pull, append=True)
    else:
        # start.pdb (written by prepare_pull): the system's positions, or the structure given with --start
        start = out / START_PDB
        if start_frame is not None:
            initial: Any = (eq_positions, eq_velocities)
        else:
            initial = app.PDBFile(str(start)).positions if start.exists() else system.positions
        _start(simulation, pull, initial, protocol, seed)
        frames = DCDFrameReporter(work_dir / TRAJECTORY, interval, system.topology, dt_ps)
        data = PullDataReporter(work_dir / PULL_CSV, interval, pull)
        state = simulation.context.getState(getPositions=True)
        frames.write(state.getPositions(asNumpy=True))
        data.write_row(0, state)
    checkpoints = AtomicCheckpointReporter(
        work_dir, protocol.checkpoint_interval_steps, lambda sim: {"work_kcal_mol": pull.work_kcal_mol}
    )
    if progress is None:
        checkpoints.save(simulation)
    # Order matters: the pull moves the centre before the data row and the frame are written,
    # and the checkpoint comes last so that it follows this step's frame.
    simulation.reporters = [pull, data, frames, checkpoints]
    try:
        remaining = protocol.n_steps - simulation.currentStep
        if remaining > 0:
            simulation.step(remaining)
    finally:
        frames.close()
        data.close()
    if frames.n_frames != protocol.n_frames:
        raise PathganDataError(
            f"replica {index}: wrote {frames.n_frames} frames, expected {protocol.n_frames}"
        )
    state = simulation.context.getState(getPositions=True)
    final_value = pull.value(
        state.getPositions(asNumpy=True).value_in_unit(u.nanometer),
        state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(u.nanometer),
    )
    result = ReplicaResult(
        index=index,
        seed=seed,
        n_frames=frames.n_frames,
        final_work_kcal_mol=pull.work_kcal_mol,
        final_distance_angstrom=final_value if pull.coordinate.kind == "distance" else None,
        wall_s=time.perf_counter() - t0,
        resumed_from_step=0 if progress is None else progress["step"],
        versions=versions(),
        final_coordinate=final_value,
        start_frame=start_frame,
    )
    summary = asdict(result)
    if start_frame is None:  # the old protocol's summary, as it was
        summary.pop("start_frame")
    write_json(work_dir / SUMMARY, summary)
    for chk in work_dir.glob("checkpoint-*.chk"):
        chk.unlink()
    (work_dir / AtomicCheckpointReporter.PROGRESS).unlink(missing_ok=True)
    os.replace(work_dir, final)  # the finished replica appears whole, or not at all
    return summary


def run_pull(
    system_dir: str | os.PathLike,
    out: str | os.PathLike,
    n_replicas: int,
    protocol: PullProtocol | None = None,
    base_seed: int = 2024,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
    start: str | os.PathLike | None = None,
) -> list[dict]:
    """Run ``n_replicas`` pulls through Dask (a local cluster, or ``scheduler``); return their summaries.

    With ``equilibration_ps > 0`` the equilibration at c0 runs first, as one Dask task (reused when
    finished); a warning says when it is too short for decorrelated starts. Finished replicas are
    kept; partial ones resume from their last checkpoint.
    """
    from .execution import dask_client, run_tasks

    manifest = prepare_pull(system_dir, out, n_replicas, protocol or PullProtocol(), base_seed, start)
    with dask_client(scheduler, n_workers) as client:
        if manifest["protocol"]["equilibration_ps"] > 0:
            remove_partial(out)  # a killed run's
            (record,) = run_tasks(
                ensure_equilibration,
                [{"system_dir": str(Path(system_dir).resolve()), "out": str(Path(out).resolve())}],
                ["equilibration"],
                desc="equilibration",
                progress=progress,
                client=client,
            )
            log.info(
                "equilibration %g ps: tau %.3g ps, starts %.3g ps apart (frames %s)",
                record["length_ps"],
                record["tau_ps"],
                record["spacing_ps"],
                record["start_frames"],
            )
            if record["warning"]:
                warnings.warn(f"{out}: {record['warning']}", stacklevel=2)
            manifest = read_manifest(out)
        return _run_replicas(system_dir, out, n_replicas, manifest, client, progress)


def _run_replicas(
    system_dir: str | os.PathLike,
    out: str | os.PathLike,
    n_replicas: int,
    manifest: dict[str, Any],
    client: Any,
    progress: bool,
) -> list[dict]:
    """The replicas of a prepared pull folder as Dask tasks on ``client``."""
    from .execution import run_tasks

    tasks = [
        {
            "system_dir": str(Path(system_dir).resolve()),
            "protocol_dict": manifest["protocol"],
            "seed": seed,
            "out_dir": str(Path(out).resolve()),
            "index": i,
        }
        for i, seed in enumerate(manifest["seeds"][:n_replicas])
    ]
    names = [f"replica-{i:03d}" for i in range(len(tasks))]
    n_steps = PullProtocol.from_dict(manifest["protocol"], "pull").n_steps
    out = Path(out)

    def steps_done() -> int:
        return sum(_steps_done(out, i, n_steps) for i in range(len(tasks)))

    return run_tasks(
        run_replica,
        tasks,
        names,
        client=client,
        desc="steered MD",
        progress=progress,
        progress_units=("step", n_steps * len(tasks), steps_done),
    )


def _steps_done(out: Path, index: int, n_steps: int) -> int:
    """MD steps of replica ``index`` safely on disk (finished, or at its last checkpoint)."""
    if (replica_dir(out, index) / SUMMARY).exists():
        return n_steps
    try:
        return int((AtomicCheckpointReporter.load(partial_dir(out, index)) or {"step": 0})["step"])
    except (OSError, ValueError, KeyError):
        return 0
