"""Equilibrium starts for steered MD: one run under the restraint held at c0, replicas drawn from it.

Jarzynski's equality and Hummer-Szabo reweighting assume each pull starts from a configuration
drawn from equilibrium under the restraint at its first centre (GUIDE section 2, "Free energies
from pulls"). Before the replicas of a pull folder run, :func:`ensure_equilibration` runs ONE
Langevin simulation of ``PullProtocol.equilibration_ps`` with the protocol's restraint held at
``c0`` (same MD System, temperature, friction and time step as the pulls), recording the pulled
coordinate and the potential energy every ``update_interval_steps`` and a frame (positions AND
velocities) every ``frame_interval_steps``. Its decorrelation is measured with
``pymbar.timeseries``: the transient is discarded (``detect_equilibration``), then the
statistical inefficiency ``g`` of the coordinate and of the energy over the rest; the
decorrelation time is ``tau = g * sampling interval`` (the stride of pymbar's
``subsample_correlated_data``), the larger of the two. Replica ``i`` starts from frame
``last - i * step``, the starts spread evenly over the run after the transient and at least tau
apart (:func:`select_starts`). A decorrelation time measured on a run much shorter than the
slowest motion underestimates it (pymbar's own warning): for deca-alanine at c0 = 12 A a 2 ns run
gives tau = 7 ps for the CA-CA distance, a 100 ps run about 0.3 ps (rare kinks of the helix). A run too short for every
replica at that spacing is said (a warning, and ``decorrelated: false`` with the length needed
in the record), never silent.

In the pull folder (:mod:`.pull_folder`)::

    DIR/equilibration/trajectory.dcd       frames every frame_interval_steps (step 0: the minimised start)
    DIR/equilibration/equilibration.csv    step, time_ps, coordinate, potential_energy_kcal_mol
    DIR/equilibration/states.npz           positions (nm) and velocities (nm/ps) of every frame, float64
    DIR/equilibration/equilibration.json   the analysis (its record also goes into smd.json)

The folder appears whole (written in a temporary folder beside it and renamed): a finished
equilibration is reused, a killed one is redone from the start.
"""

from __future__ import annotations

import csv
import importlib.metadata
import json
import math
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u

from .context import langevin, make_simulation
from .errors import PathganDataError
from .fileio import atomic_directory
from .protocol import PullProtocol
from .provenance import versions
from .pull_coordinates import PullCoordinate
from .pull_folder import MANIFEST, START_PDB, TRAJECTORY, read_manifest, recorded_protocol, write_json
from .reporters import DCDFrameReporter
from .system import MolecularSystem
from .timeseries import statistical_inefficiency, transient
from .units import ANGSTROM_PER_NM

__all__ = [
    "EQUILIBRATION",
    "EquilibrationRecorder",
    "decorrelation",
    "ensure_equilibration",
    "equilibration_seed",
    "remove_partial",
    "restrained_simulation",
    "run_equilibration",
    "select_starts",
    "start_state",
]

#: Folder of the equilibration inside a pull folder, and its files.
EQUILIBRATION = "equilibration"
TABLE = "equilibration.csv"
STATES = "states.npz"
RECORD = "equilibration.json"


def equilibration_seed(base_seed: int) -> int:
    """Seed of the equilibration run: its own stream of the pull's base seed, never 0 (OpenMM's 'random')."""
    # spawn_key (0, 0) is distinct from every replica's (index,) (pull_folder.replica_seed)
    state = np.random.SeedSequence(base_seed, spawn_key=(0, 0)).generate_state(1)[0]
    return int(state % (2**31 - 2)) + 1


def restrained_simulation(
    system: MolecularSystem, protocol: PullProtocol, seed: int
) -> tuple[app.Simulation, mm.Force, PullCoordinate]:
    """The MD System plus the protocol's restraint at c0, Langevin at its temperature seeded with ``seed``."""
    md_system = system.md_system(protocol.constraints)
    coordinate = protocol.resolve_coordinate(system)
    force = coordinate.force(protocol.k_kcal_mol_a2, protocol.c0_angstrom)
    md_system.addForce(force)
    integrator = langevin(protocol.temperature_k, protocol.friction_per_ps, protocol.timestep_fs, seed)
    return make_simulation(system.topology, md_system, integrator, protocol.platform), force, coordinate


def coordinate_column(coordinate: PullCoordinate) -> str:
    """The coordinate's column in ``equilibration.csv`` (unit in the name, as in ``pull.csv``)."""
    return "distance_angstrom" if coordinate.kind == "distance" else "coordinate"


class EquilibrationRecorder:
    """An OpenMM reporter: the coordinate and potential energy every ``sample_interval`` steps to CSV,
    and every ``frame_interval`` steps a DCD frame plus the positions and velocities (kept in memory).

    ``frame_interval`` must be a multiple of ``sample_interval``. Positions are unwrapped.
    """

    def __init__(
        self,
        folder: Path,
        coordinate: PullCoordinate,
        topology: app.Topology,
        sample_interval: int,
        frame_interval: int,
        dt_ps: float,
    ) -> None:
        self.coordinate = coordinate
        self.sample_interval, self.frame_interval = int(sample_interval), int(frame_interval)
        # per frame, (n_atoms, 3) float64; per sample, the coordinate and the energy (kcal/mol)
        self.positions_nm: list[np.ndarray] = []
        self.velocities_nm_ps: list[np.ndarray] = []
        self.values: list[float] = []
        self.energies_kcal_mol: list[float] = []
        self._frames = DCDFrameReporter(folder / TRAJECTORY, frame_interval, topology, dt_ps)
        self._file = open(folder / TABLE, "w", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file)
        self._writer.writerow(["step", "time_ps", coordinate_column(coordinate), "potential_energy_kcal_mol"])

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.sample_interval - simulation.currentStep % self.sample_interval
        return {"steps": steps, "periodic": False, "include": ["positions", "velocities", "energy"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """Record this step (a row; a frame too on the frame interval)."""
        self.record(simulation.currentStep, state)

    def record(self, step: int, state: mm.State) -> None:
        """Record ``state`` as the state at ``step``."""
        xyz_nm = state.getPositions(asNumpy=True).value_in_unit(u.nanometer)
        value = float(self.coordinate.values(np.asarray(xyz_nm) * ANGSTROM_PER_NM)[0])
        energy = state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
        self.values.append(value)
        self.energies_kcal_mol.append(energy)
        time_ps = state.getTime().value_in_unit(u.picosecond)
        self._writer.writerow([step, f"{time_ps:.4f}", f"{value:.6f}", f"{energy:.6f}"])
        if step % self.frame_interval == 0:
            self._frames.write(state.getPositions(asNumpy=True))
            self.positions_nm.append(np.array(xyz_nm, dtype=np.float64))
            self.velocities_nm_ps.append(
                np.array(state.getVelocities(asNumpy=True).value_in_unit(u.nanometer / u.picosecond))
            )

    def close(self) -> None:
        """Close the files."""
        self._frames.close()
        self._file.close()


def decorrelation(values: np.ndarray, energies: np.ndarray, sample_interval_ps: float) -> dict[str, float]:
    """Transient and decorrelation time of an equilibration's coordinate and energy series.

    Parameters
    ----------
    values, energies
        (n_samples,): the pulled coordinate and the potential energy (kcal/mol), one sample every
        ``sample_interval_ps``.

    Returns
    -------
    dict
        ``t0_samples`` (samples discarded as transient: the later of the two series' origins
        by ``pymbar.timeseries.detect_equilibration``, so that the minimised start's heating and
        the coordinate's relaxation are both left out; at most half the series), ``g_coordinate``/``g_energy`` (statistical
        inefficiencies over the rest, in samples), ``tau_coordinate_ps``/``tau_energy_ps``
        (``g * sample_interval_ps``) and ``tau_ps``, the larger.
    """
    values, energies = np.asarray(values, dtype=np.float64), np.asarray(energies, dtype=np.float64)
    # at most half the run: on a short series detect_equilibration may pick a late origin whose
    # few samples look uncorrelated (an underestimated g wins its maximum of N_eff)
    t0 = min(max(transient(values), transient(energies)), len(values) // 2)
    g_c, g_e = statistical_inefficiency(values[t0:]), statistical_inefficiency(energies[t0:])
    return {
        "t0_samples": t0,
        "g_coordinate": g_c,
        "g_energy": g_e,
        "tau_coordinate_ps": g_c * sample_interval_ps,
        "tau_energy_ps": g_e * sample_interval_ps,
        "tau_ps": max(g_c, g_e) * sample_interval_ps,
    }


def select_starts(n_frames: int, first: int, spacing: int, n_replicas: int) -> tuple[list[int], bool]:
    """Frames the replicas start from, spread evenly back from the last frame to ``first``.

    Replica ``i`` starts from frame ``last - i * step`` with ``step`` the larger of ``spacing``
    (frames; the decorrelation time) and an even spread of the ``n_replicas`` over
    ``[first, last]``: as far apart as the run allows, at least ``spacing``. Returns the frames and
    whether they all fit so. When they do not, the replicas are spread evenly over
    ``[first, last]`` (distinct frames, closer than ``spacing``), or, with fewer usable frames than
    replicas, the usable frames are used in turn (frames reused); the caller says so.
    """
    last = n_frames - 1
    spacing = max(int(spacing), 1)
    first = min(max(int(first), 0), last)
    if n_replicas == 1:
        return [last], True
    step = max(spacing, (last - first) // (n_replicas - 1))
    if last - (n_replicas - 1) * step >= first:
        return [last - i * step for i in range(n_replicas)], True
    usable = last - first + 1
    if usable >= n_replicas:
        return [int(f) for f in np.round(np.linspace(last, first, n_replicas)).astype(int)], False
    return [last - (i % usable) for i in range(n_replicas)], False


def _analysis(rec: dict[str, Any], n_replicas: int, old_frames: list[int] | None = None) -> dict[str, Any]:
    """The equilibration's record with the start frames of ``n_replicas`` (and its warning, if any)."""
    frame_ps, first, spacing = rec["frame_interval_ps"], rec["first_usable_frame"], rec["spacing_frames"]
    frames, _ = select_starts(rec["n_frames"], first, spacing, n_replicas)
    if old_frames:  # replicas that may have run keep the frame they were given
        frames = list(old_frames[:n_replicas]) + frames[len(old_frames) :]
    distinct = sorted(set(frames))
    gaps = np.diff(distinct)
    min_gap = int(gaps.min()) if len(gaps) else None
    needed_ps = (first + (n_replicas - 1) * spacing) * frame_ps
    decorrelated = len(distinct) == len(frames) and (min_gap is None or min_gap >= spacing)
    out = {
        **rec,
        "n_replicas": n_replicas,
        "start_frames": frames,
        "start_times_ps": [round(f * frame_ps, 6) for f in frames],
        "min_spacing_ps": None if min_gap is None else round(min_gap * frame_ps, 6),
        "decorrelated": bool(decorrelated and min(frames) >= first),
        "needed_ps": round(needed_ps, 6),
        "warning": None,
    }
    if not out["decorrelated"]:
        reused = len(distinct) < len(frames)
        out["warning"] = (
            f"equilibration_ps = {rec['length_ps']:g} is too short for {n_replicas} replicas spaced by the "
            f"decorrelation time tau = {rec['tau_ps']:.3g} ps after a transient of {rec['discarded_ps']:.3g} ps "
            f"(needs about {needed_ps:.3g} ps): "
            + (
                f"only {len(distinct)} distinct frames, so {len(frames) - len(distinct)} replicas reuse a frame "
                "(their Langevin noise differs)"
                if reused
                else f"some starts are only {out['min_spacing_ps']:.3g} ps apart, less than tau: they are "
                "correlated"
            )
            + "; raise equilibration_ps for independent starts"
        )
    return out


def run_equilibration(
    system: MolecularSystem, protocol: PullProtocol, positions: Any, seed: int, folder: str | os.PathLike
) -> dict[str, Any]:
    """Run the equilibration into ``folder`` (which must exist and be empty); return its analysis.

    ``positions``: the start (minimised here with ``protocol.minimize_steps``, as a replica
    would be); velocities drawn at the protocol's temperature with ``seed``. The restraint stays
    at c0 throughout. The returned dict holds the measured decorrelation (:func:`decorrelation`),
    the spacing of the starts in frames (``spacing_frames``, the decorrelation time rounded up to
    whole frames) and the first frame after the transient (``first_usable_frame``).
    """
    folder = Path(folder)
    simulation, force, coordinate = restrained_simulation(system, protocol, seed)
    simulation.context.setPositions(positions)
    simulation.context.applyConstraints(1e-6)
    if protocol.minimize_steps > 0:
        simulation.minimizeEnergy(maxIterations=protocol.minimize_steps)
    simulation.context.setVelocitiesToTemperature(protocol.temperature_k * u.kelvin, seed)
    simulation.currentStep = 0
    simulation.context.setTime(0.0)
    dt_ps = protocol.timestep_fs / 1000.0
    sample, frame = protocol.update_interval_steps, protocol.frame_interval_steps
    recorder = EquilibrationRecorder(folder, coordinate, system.topology, sample, frame, dt_ps)
    try:
        recorder.record(0, simulation.context.getState(getPositions=True, getVelocities=True, getEnergy=True))
        simulation.reporters = [recorder]
        simulation.step(protocol.equilibration_steps)
    finally:
        recorder.close()
    np.savez(
        folder / STATES,
        positions_nm=np.stack(recorder.positions_nm),
        velocities_nm_ps=np.stack(recorder.velocities_nm_ps),
    )
    d = decorrelation(np.array(recorder.values), np.array(recorder.energies_kcal_mol), sample * dt_ps)
    frame_ps = frame * dt_ps
    n_frames = len(recorder.positions_nm)
    rec = {
        "length_ps": protocol.equilibration_ps,
        "seed": int(seed),
        "n_frames": n_frames,
        "frame_interval_ps": frame_ps,
        "sample_interval_ps": sample * dt_ps,
        "coordinate": coordinate.label,
        "coordinate_unit": coordinate.unit,
        "discarded_ps": d["t0_samples"] * sample * dt_ps,
        "first_usable_frame": min(math.ceil(d["t0_samples"] * sample / frame), n_frames - 1),
        **{k: v for k, v in d.items() if k != "t0_samples"},
        # the spacing of the starts: tau rounded up to whole frames (always at least one frame)
        "spacing_frames": max(math.ceil(d["tau_ps"] / frame_ps - 1e-9), 1),
        "mean_coordinate": float(np.mean(recorder.values[d["t0_samples"] :])),
        "sd_coordinate": float(np.std(recorder.values[d["t0_samples"] :])),
        "files": {
            "trajectory": f"{EQUILIBRATION}/{TRAJECTORY}",
            "table": f"{EQUILIBRATION}/{TABLE}",
            "states": f"{EQUILIBRATION}/{STATES}",
        },
        "versions": versions(),
        "pymbar": importlib.metadata.version("pymbar"),  # its estimate of tau; not in versions()
    }
    rec["spacing_ps"] = rec["spacing_frames"] * frame_ps
    return rec


def ensure_equilibration(system_dir: str | os.PathLike, out: str | os.PathLike) -> dict[str, Any] | None:
    """The equilibration of pull folder ``out``: reused when finished, else run (a partial one is redone).

    Writes its record (with the start frames of the manifest's ``n_replicas``) into ``smd.json``
    under ``"equilibration"`` and returns it; None when the protocol has ``equilibration_ps`` 0 (the
    old protocol: every replica starts from the minimised ``start.pdb``). Plain arguments, so it can
    run on a Dask worker.
    """
    out = Path(out)
    manifest = read_manifest(out)
    protocol = PullProtocol.from_dict(recorded_protocol(manifest), f"{out / MANIFEST}: protocol")
    if protocol.equilibration_ps == 0:
        return None
    final = out / EQUILIBRATION
    if not (final / RECORD).exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # system warnings were shown once, when the pull was set up
            system = MolecularSystem.load(system_dir)
        start = out / START_PDB
        positions = app.PDBFile(str(start)).positions if start.exists() else system.positions
        # A folder of its own, renamed into place when complete: a killed run leaves no record, so it is
        # redone; replicas started alone in parallel (run_replica) may each run it, the last one wins.
        with atomic_directory(final) as partial:
            seed = equilibration_seed(manifest["base_seed"])
            rec = run_equilibration(system, protocol, positions, seed, partial)
            write_json(partial / RECORD, rec)
    rec = json.loads((final / RECORD).read_text())
    if rec.get("length_ps") != protocol.equilibration_ps:
        raise PathganDataError(
            f"{final}: an equilibration of {rec.get('length_ps')} ps, but the protocol asks for "
            f"{protocol.equilibration_ps} ps; remove {final} or choose another --out"
        )
    old = manifest.get("equilibration")
    record = _analysis(rec, int(manifest["n_replicas"]), old.get("start_frames") if old else None)
    record.pop("versions", None)  # the manifest has its own
    if old != record:
        write_json(out / MANIFEST, {**read_manifest(out), "equilibration": record})
    return record


def remove_partial(out: str | os.PathLike) -> None:
    """Remove what killed equilibrations left in pull folder ``out`` (call only when none is running)."""
    for tmp in Path(out).glob(f".{EQUILIBRATION}.*.tmp"):
        shutil.rmtree(tmp, ignore_errors=True)


def start_state(out: str | os.PathLike, index: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Replica ``index``'s start: its frame of the equilibration, positions (nm) and velocities (nm/ps).

    Shapes (n_atoms, 3), float64. Requires :func:`ensure_equilibration` to have recorded the frames.
    """
    out = Path(out)
    record = read_manifest(out).get("equilibration")
    if record is None or index >= len(record["start_frames"]):
        raise PathganDataError(f"{out / MANIFEST}: no equilibration start recorded for replica {index}")
    frame = int(record["start_frames"][index])
    with np.load(out / EQUILIBRATION / STATES) as states:
        return frame, states["positions_nm"][frame], states["velocities_nm_ps"][frame]
