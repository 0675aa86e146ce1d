"""Steered-MD replicas: the paper's constant-velocity pull, run, checkpointed and resumed.

One replica is one OpenMM ``Simulation`` of a :class:`~openmm_bridge.system.MolecularSystem`
with a :func:`~openmm_bridge.pulling.centroid_distance_force` whose centre a
:class:`~openmm_bridge.pulling.ConstantVelocityPull` moves from c0 to c1. Files of a
pull folder (``pathgan smd --out DIR``)::

    DIR/smd.json                  protocol, seeds, system, versions (the manifest)
    DIR/start.pdb                 the system's positions (topology for the DCDs)
    DIR/replica_000/              a finished replica (renamed into place when complete):
        trajectory.dcd            frames every ``frame_interval_steps`` (step 0 included)
        pull.csv                  per frame: step, time, centre, distance, force, work
        summary.json              seed, frames, final work, wall time, versions
    DIR/.replica_001.partial/     a replica in progress: the same files plus
        checkpoint-<step>.chk     the last OpenMM checkpoint and
        progress.json             the step, work and frame count it corresponds to

A killed run resumes: finished replicas are kept as they are, a partial one is cut
back to its last checkpoint (DCD and CSV truncated to the checkpoint's frame
count) and continues from it, bit for bit as if it had never stopped.
"""

from __future__ import annotations

import json
import os
import struct
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u

from .errors import PathganInputError
from .fileio import atomic_file
from .platforms import get_platform
from .provenance import versions
from .pulling import ConstantVelocityPull, PullDataReporter, centroid_distance_force, check_groups
from .system import MolecularSystem

MANIFEST = "smd.json"
START_PDB = "start.pdb"
TRAJECTORY = "trajectory.dcd"
PULL_CSV = "pull.csv"
SUMMARY = "summary.json"
PROGRESS = "progress.json"


@dataclass
class PullProtocol:
    """Everything that defines a pull. Defaults: the paper's protocol (GUIDE section 2).

    Distances in Angstrom, force constant in kcal/mol/A^2, times in ps or fs as named.
    ``group_a``/``group_b`` default to the CA atoms of the first and last residue.
    """

    c0_angstrom: float = 12.0
    c1_angstrom: float = 34.0
    k_kcal_mol_a2: float = 1.0
    length_ps: float = 1000.0
    temperature_k: float = 300.0
    friction_per_ps: float = 1.0
    timestep_fs: float = 2.0
    constraints: str | None = "HBonds"
    minimize_steps: int = 500
    frame_interval_steps: int = 50
    update_interval_steps: int = 10
    checkpoint_interval_steps: int = 25_000
    platform: str = "Reference"
    group_a: list[int] | None = None
    group_b: list[int] | None = None

    @property
    def n_steps(self) -> int:
        """Number of MD steps of the pull."""
        return int(round(self.length_ps * 1000.0 / self.timestep_fs))

    @property
    def n_frames(self) -> int:
        """Frames per replica, step 0 included."""
        return self.n_steps // self.frame_interval_steps + 1

    def with_groups(self, system: MolecularSystem) -> PullProtocol:
        """A copy with the default groups filled in from ``system``, validated against it."""
        i, j = system.end_to_end_atoms()
        proto = PullProtocol(**{**asdict(self)})
        proto.group_a = list(self.group_a) if self.group_a is not None else [i]
        proto.group_b = list(self.group_b) if self.group_b is not None else [j]
        proto.validate(system.n_atoms)
        return proto

    def validate(self, n_atoms: int | None = None) -> None:
        """Raise :class:`PathganInputError` for a protocol that cannot run."""
        if self.c0_angstrom == self.c1_angstrom:
            raise PathganInputError(f"pull: c0 = c1 = {self.c0_angstrom} A; nothing would be pulled")
        if self.length_ps <= 0 or self.n_steps <= 0:
            raise PathganInputError(f"pull: the length must be positive, got {self.length_ps} ps")
        for name in ("timestep_fs", "temperature_k", "friction_per_ps", "k_kcal_mol_a2"):
            if getattr(self, name) <= 0:
                raise PathganInputError(f"pull: {name} must be positive, got {getattr(self, name)}")
        for name in ("frame_interval_steps", "update_interval_steps", "checkpoint_interval_steps"):
            if getattr(self, name) <= 0:
                raise PathganInputError(f"pull: {name} must be positive, got {getattr(self, name)}")
        if self.frame_interval_steps % self.update_interval_steps:
            raise PathganInputError(
                f"pull: frame interval {self.frame_interval_steps} is not a multiple of the centre's "
                f"update interval {self.update_interval_steps}"
            )
        if self.checkpoint_interval_steps % self.frame_interval_steps:
            raise PathganInputError(
                f"pull: checkpoint interval {self.checkpoint_interval_steps} is not a multiple of the "
                f"frame interval {self.frame_interval_steps}"
            )
        if self.n_steps % self.frame_interval_steps:
            raise PathganInputError(
                f"pull: {self.n_steps} steps ({self.length_ps} ps at {self.timestep_fs} fs) is not a "
                f"multiple of the frame interval {self.frame_interval_steps}"
            )
        if n_atoms is not None and self.group_a is not None and self.group_b is not None:
            check_groups(self.group_a, self.group_b, n_atoms)
        get_platform(self.platform)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the manifest's ``protocol``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PullProtocol:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PathganInputError(f"unknown pull protocol keys {unknown}; known: {sorted(known)}")
        return cls(**data)


def replica_seed(base_seed: int, index: int) -> int:
    """Seed of replica ``index``: independent streams from one base seed, never 0 (OpenMM's 'random')."""
    state = np.random.SeedSequence(base_seed, spawn_key=(index,)).generate_state(1)[0]
    return int(state % (2**31 - 2)) + 1


@dataclass
class ReplicaResult:
    """What a finished replica reports (also its ``summary.json``)."""

    index: int
    seed: int
    n_frames: int
    final_work_kcal_mol: float
    final_distance_angstrom: float
    wall_s: float
    resumed_from_step: int = 0
    versions: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------- files
def replica_dir(out: Path, index: int) -> Path:
    """Folder of a finished replica."""
    return Path(out) / f"replica_{index:03d}"


def partial_dir(out: Path, index: int) -> Path:
    """Folder of a replica in progress."""
    return Path(out) / f".replica_{index:03d}.partial"


def _write_json(path: Path, data: dict) -> None:
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def truncate_dcd(path: Path, n_frames: int) -> None:
    """Cut an OpenMM-written DCD back to its first ``n_frames`` frames, header included."""
    with open(path, "r+b") as f:
        head = f.read(100)
        if len(head) < 100 or head[4:8] != b"CORD":
            raise PathganInputError(f"{path}: not a DCD file (bad header)")
        has_box = struct.unpack("<i", head[48:52])[0]
        f.seek(92)
        comment_bytes = struct.unpack("<i", f.read(4))[0]
        f.seek(104 + comment_bytes)
        n_atoms = struct.unpack("<i", f.read(4))[0]
        header = 104 + comment_bytes + 8
        frame = 3 * (4 * n_atoms + 8) + (56 if has_box else 0)
        stored = (os.path.getsize(path) - header) // frame
        if stored < n_frames:
            raise PathganInputError(
                f"{path}: holds {stored} whole frames, fewer than the {n_frames} checkpointed"
            )
        f.truncate(header + n_frames * frame)
        first_step, interval = struct.unpack("<ii", head[12:20])
        f.seek(8)
        f.write(struct.pack("<i", n_frames))
        f.seek(20)
        f.write(struct.pack("<i", first_step + max(n_frames - 1, 0) * interval))


def truncate_csv(path: Path, n_rows: int) -> None:
    """Keep the header and the first ``n_rows`` data rows of a CSV file (atomically)."""
    lines = path.read_text().splitlines(keepends=True)
    if len(lines) < n_rows + 1:
        raise PathganInputError(f"{path}: holds {len(lines) - 1} rows, fewer than the {n_rows} checkpointed")
    with atomic_file(path) as tmp:
        tmp.write_text("".join(lines[: n_rows + 1]))


class _FrameWriter:
    """DCD reporter whose header always says frame 0 is step 0 (also after appending)."""

    def __init__(self, path: Path, topology: app.Topology, interval: int, dt_ps: float, append: bool) -> None:
        self.interval = interval
        self.n_frames = 0
        self._file = open(path, "r+b" if append else "wb")  # noqa: SIM115 - closed in close()
        self._dcd = app.DCDFile(self._file, topology, dt_ps, firstStep=0, interval=interval, append=append)
        self.n_frames = self._dcd._modelCount

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.interval - simulation.currentStep % self.interval
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:  # noqa: D102
        self.write(state.getPositions(asNumpy=True))

    def write(self, positions: u.Quantity) -> None:
        """Append one frame."""
        self._dcd.writeModel(positions)
        self.n_frames += 1

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class _Checkpointer:
    """Saves an OpenMM checkpoint plus the pull's state every ``interval`` steps (last in the list)."""

    def __init__(self, folder: Path, interval: int, pull: ConstantVelocityPull, frames: _FrameWriter) -> None:
        self.folder, self.interval, self.pull, self.frames = folder, interval, pull, frames

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.interval - simulation.currentStep % self.interval
        return {"steps": steps, "periodic": None, "include": []}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:  # noqa: D102
        save_checkpoint(self.folder, simulation, self.pull, self.frames.n_frames)


def save_checkpoint(
    folder: Path, simulation: app.Simulation, pull: ConstantVelocityPull, n_frames: int
) -> None:
    """Write ``checkpoint-<step>.chk``, then ``progress.json`` naming it, then drop older checkpoints.

    The order makes every moment safe to die in: ``progress.json`` only ever names a
    checkpoint that is complete on disk.
    """
    step = simulation.currentStep
    chk = folder / f"checkpoint-{step}.chk"
    with atomic_file(chk) as tmp:
        tmp.write_bytes(simulation.context.createCheckpoint())
    _write_json(
        folder / PROGRESS,
        {"step": step, "work_kcal_mol": pull.work_kcal_mol, "n_frames": n_frames, "checkpoint": chk.name},
    )
    for old in folder.glob("checkpoint-*.chk"):
        if old != chk:
            old.unlink(missing_ok=True)


# ---------------------------------------------------------------------- one replica
def build_simulation(
    system: MolecularSystem, protocol: PullProtocol, seed: int
) -> tuple[app.Simulation, mm.CustomCentroidBondForce]:
    """The pull's Simulation: MD System + restraint at c0, Langevin (middle) integrator seeded with ``seed``."""
    md_system = system.md_system(protocol.constraints)
    force = centroid_distance_force(
        protocol.group_a, protocol.group_b, protocol.k_kcal_mol_a2, protocol.c0_angstrom
    )
    md_system.addForce(force)
    integrator = mm.LangevinMiddleIntegrator(
        protocol.temperature_k * u.kelvin,
        protocol.friction_per_ps / u.picosecond,
        protocol.timestep_fs * u.femtosecond,
    )
    integrator.setRandomNumberSeed(seed)
    platform, properties = get_platform(protocol.platform, threads=1)
    simulation = app.Simulation(system.topology, md_system, integrator, platform, properties)
    return simulation, force


def run_replica(system_dir: str, protocol_dict: dict, seed: int, out_dir: str, index: int) -> dict:
    """Run (or resume, or just report) replica ``index`` of a pull; return its summary as a dict.

    Arguments are plain data so that the call can travel to a Dask worker.
    """
    out = Path(out_dir)
    final = replica_dir(out, index)
    if (final / SUMMARY).exists():
        return json.loads((final / SUMMARY).read_text())
    protocol = PullProtocol.from_dict(protocol_dict)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # system warnings were shown once, when the pull was set up
        system = MolecularSystem.load(system_dir)
    work_dir = partial_dir(out, index)
    work_dir.mkdir(parents=True, exist_ok=True)
    simulation, force = build_simulation(system, protocol, seed)
    dt_ps = protocol.timestep_fs / 1000.0
    pull = ConstantVelocityPull(
        force, protocol.c0_angstrom, protocol.c1_angstrom, protocol.n_steps, protocol.update_interval_steps
    )
    t0 = time.perf_counter()
    progress_file = work_dir / PROGRESS
    resumed_from = 0
    if progress_file.exists():
        progress = json.loads(progress_file.read_text())
        chk = work_dir / progress["checkpoint"]
        try:
            simulation.loadCheckpoint(str(chk))
        except Exception as err:  # OpenMM raises a bare Exception for a corrupt checkpoint
            raise PathganInputError(f"{chk}: cannot load the checkpoint ({err})") from err
        simulation.currentStep = progress["step"]
        resumed_from = progress["step"]
        truncate_dcd(work_dir / TRAJECTORY, progress["n_frames"])
        truncate_csv(work_dir / PULL_CSV, progress["n_frames"])
        pull.resume(simulation.context, progress["step"], progress["work_kcal_mol"])
        frames = _FrameWriter(
            work_dir / TRAJECTORY, system.topology, protocol.frame_interval_steps, dt_ps, True
        )
        data = PullDataReporter(work_dir / PULL_CSV, protocol.frame_interval_steps, pull, append=True)
    else:
        # start.pdb (written by prepare_pull): the system's positions, or the structure given with --start
        start = out / START_PDB
        simulation.context.setPositions(
            app.PDBFile(str(start)).positions if start.exists() else system.positions
        )
        simulation.context.applyConstraints(1e-6)
        if protocol.minimize_steps > 0:
            simulation.minimizeEnergy(maxIterations=protocol.minimize_steps)
        simulation.context.setVelocitiesToTemperature(protocol.temperature_k * u.kelvin, seed)
        simulation.currentStep = 0
        simulation.context.setTime(0.0)
        pull.start(simulation.context)
        frames = _FrameWriter(
            work_dir / TRAJECTORY, system.topology, protocol.frame_interval_steps, dt_ps, False
        )
        data = PullDataReporter(work_dir / PULL_CSV, protocol.frame_interval_steps, pull, append=False)
        state = simulation.context.getState(getPositions=True)
        frames.write(state.getPositions(asNumpy=True))
        data.write_row(0, 0.0)
        save_checkpoint(work_dir, simulation, pull, frames.n_frames)
    # Order matters: the pull moves the centre before the data row and the frame are written,
    # and the checkpoint comes last so that it counts this step's frame.
    simulation.reporters = [
        pull,
        data,
        frames,
        _Checkpointer(work_dir, protocol.checkpoint_interval_steps, pull, frames),
    ]
    try:
        remaining = protocol.n_steps - simulation.currentStep
        if remaining > 0:
            simulation.step(remaining)
    finally:
        frames.close()
        data.close()
    if frames.n_frames != protocol.n_frames:
        raise RuntimeError(f"replica {index}: wrote {frames.n_frames} frames, expected {protocol.n_frames}")
    result = ReplicaResult(
        index=index,
        seed=seed,
        n_frames=frames.n_frames,
        final_work_kcal_mol=pull.work_kcal_mol,
        final_distance_angstrom=pull.distance_angstrom,
        wall_s=time.perf_counter() - t0,
        resumed_from_step=resumed_from,
        versions=versions(),
    )
    summary = asdict(result)
    _write_json(work_dir / SUMMARY, summary)
    for chk in work_dir.glob("checkpoint-*.chk"):
        chk.unlink()
    progress_file.unlink(missing_ok=True)
    os.replace(work_dir, final)  # the finished replica appears whole, or not at all
    return summary


# ---------------------------------------------------------------------- many replicas
def prepare_pull(
    system_dir: str | os.PathLike,
    out: str | os.PathLike,
    n_replicas: int,
    protocol: PullProtocol,
    base_seed: int = 2024,
    start: str | os.PathLike | None = None,
    start_frame: int = 0,
) -> dict:
    """Write (or check) the manifest of a pull folder; return it.

    ``start``: a structure file (PDB, DCD, ... with the system's atoms) whose frame
    ``start_frame`` replaces the system's positions as the start of every replica
    (e.g. a generated path's t=0 frame).

    Re-running with the same protocol and seed continues the same pull (more replicas
    may be asked for: their seeds extend the list). A different protocol or seed for an
    existing folder is an error that names the differences.
    """
    if n_replicas <= 0:
        raise PathganInputError(f"the number of replicas must be positive, got {n_replicas}")
    system_dir, out = Path(system_dir), Path(out)
    system = MolecularSystem.load(system_dir)
    protocol = protocol.with_groups(system)
    manifest_path = out / MANIFEST
    manifest = {
        "format": "pathgan-smd-1",
        "system": str(system_dir.resolve()),
        "base_seed": int(base_seed),
        "protocol": protocol.to_dict(),
        "units": {"distance": "angstrom", "energy": "kcal/mol", "time": "ps"},
        "n_replicas": int(n_replicas),
        "seeds": [replica_seed(base_seed, i) for i in range(n_replicas)],
        "versions": versions(),
    }
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as err:
            raise PathganInputError(f"{manifest_path}: unreadable manifest ({err})") from err
        diff = [k for k in ("system", "base_seed", "protocol") if old.get(k) != manifest[k]]
        if diff:
            detail = {k: (old.get(k), manifest[k]) for k in diff if k != "protocol"}
            if "protocol" in diff:
                po, pn = old.get("protocol", {}), manifest["protocol"]
                detail["protocol"] = {k: (po.get(k), pn[k]) for k in pn if po.get(k) != pn[k]}
            raise PathganInputError(
                f"{out}: holds a pull with another {', '.join(diff)} ({detail}); choose another --out"
            )
        manifest["n_replicas"] = max(n_replicas, old.get("n_replicas", 0))
        manifest["seeds"] = [replica_seed(base_seed, i) for i in range(manifest["n_replicas"])]
    out.mkdir(parents=True, exist_ok=True)
    positions = system.positions
    if start is not None:
        from .trajio import load_frames

        frame = load_frames(start, system)  # atoms checked against the system
        positions = frame.xyz[start_frame] * u.nanometer
        manifest["start"] = f"{Path(start).resolve()}[{start_frame}]"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("start") != manifest.get("start"):
        raise PathganInputError(f"{out}: holds a pull from another starting structure; choose another --out")
    if not (out / START_PDB).exists():
        with atomic_file(out / START_PDB) as tmp, open(tmp, "w") as f:
            app.PDBFile.writeFile(system.topology, positions, f, keepIds=True)
    _write_json(manifest_path, manifest)
    return manifest


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

    Finished replicas are kept; partial ones resume from their last checkpoint.
    """
    from .execution import run_tasks

    manifest = prepare_pull(system_dir, out, n_replicas, protocol or PullProtocol(), base_seed, start)
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
    n_steps = PullProtocol.from_dict(manifest["protocol"]).n_steps
    out = Path(out)

    def steps_done() -> int:
        return sum(_steps_done(out, i, n_steps) for i in range(len(tasks)))

    return run_tasks(
        run_replica,
        tasks,
        names,
        scheduler=scheduler,
        n_workers=n_workers,
        desc="steered MD",
        progress=progress,
        progress_units=("step", n_steps * len(tasks), steps_done),
    )


def _steps_done(out: Path, index: int, n_steps: int) -> int:
    """MD steps of replica ``index`` safely on disk (finished, or at its last checkpoint)."""
    if (replica_dir(out, index) / SUMMARY).exists():
        return n_steps
    try:
        return int(json.loads((partial_dir(out, index) / PROGRESS).read_text())["step"])
    except (OSError, ValueError, KeyError):
        return 0


def finished_replicas(out: str | os.PathLike) -> list[Path]:
    """Folders of the finished replicas of a pull folder, in index order."""
    return sorted(p for p in Path(out).glob("replica_[0-9][0-9][0-9]") if (p / SUMMARY).exists())
