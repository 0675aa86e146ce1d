"""OpenMM reporters for long runs that must survive being killed: frames and checkpoints.

OpenMM runs the reporters due at a step in three groups, one after the other: those that
ask for wrapped positions, those that ask for unwrapped ones, then those that ask for no
positions (these join the larger of the first two groups); list order holds only within a
group. pathgan's reporters all ask for unwrapped positions, so they run in list order
whatever else the user adds::

    frames = DCDFrameReporter("trajectory.dcd", 50, simulation.topology, dt_ps=0.002)
    checkpoints = AtomicCheckpointReporter(folder, 25_000, lambda sim: {"work": pull.work_kcal_mol})
    simulation.reporters += [pull, frames, checkpoints]   # the checkpoint last: it counts this step's frame
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openmm as mm
import openmm.app as app
import openmm.unit as u

from .fileio import atomic_file


class DCDFrameReporter:
    """Writes a DCD frame every ``interval`` steps; the header says frame 0 is ``first_step``.

    OpenMM's own ``DCDReporter`` records its first frame as step ``interval``; a pull
    folder's trajectories start with the frame of step 0 (:meth:`write`), so this one is
    told. ``append=True`` continues a file that holds ``n_frames`` whole frames.
    """

    def __init__(
        self,
        file: str | os.PathLike,
        interval: int,
        topology: app.Topology,
        dt_ps: float,
        first_step: int = 0,
        append: bool = False,
        n_frames: int = 0,
    ) -> None:
        self.interval, self.n_frames = int(interval), int(n_frames)
        self._file = open(file, "r+b" if append else "wb")  # noqa: SIM115 - closed in close()
        self._dcd = app.DCDFile(
            self._file, topology, dt_ps * u.picosecond, firstStep=first_step, interval=interval, append=append
        )

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.interval - simulation.currentStep % self.interval
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """Append the state's positions."""
        self.write(state.getPositions(asNumpy=True), state.getPeriodicBoxVectors())

    def write(self, positions: u.Quantity, box_vectors: Any = None) -> None:
        """Append one frame (positions with units)."""
        self._dcd.writeModel(positions, periodicBoxVectors=box_vectors)
        self.n_frames += 1

    def close(self) -> None:
        """Close the file."""
        self._file.close()


class AtomicCheckpointReporter:
    """Every ``interval`` steps: an OpenMM checkpoint, then ``progress.json`` naming it, atomically.

    ``progress`` returns what else the run needs to resume (the pull's work, frame counts,
    ...); it is saved with the step and the checkpoint's name. Older checkpoints are removed
    only after the new one and its record are complete, so the run may die at any moment.
    """

    PROGRESS = "progress.json"

    def __init__(
        self, folder: str | os.PathLike, interval: int, progress: Callable[[app.Simulation], dict[str, Any]]
    ) -> None:
        self.folder, self.interval, self.progress = Path(folder), int(interval), progress

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.interval - simulation.currentStep % self.interval
        # unwrapped positions, like the other pathgan reporters: the checkpoint keeps its place in the list
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:  # noqa: D102 - see save
        self.save(simulation)

    def save(self, simulation: app.Simulation) -> None:
        """Write ``checkpoint-<step>.chk``, then ``progress.json``, then drop older checkpoints."""
        step = simulation.currentStep
        chk = self.folder / f"checkpoint-{step}.chk"
        with atomic_file(chk) as tmp:
            tmp.write_bytes(simulation.context.createCheckpoint())
        record = {"step": step, "checkpoint": chk.name, **self.progress(simulation)}
        with atomic_file(self.folder / self.PROGRESS) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
        for old in self.folder.glob("checkpoint-*.chk"):
            if old != chk:
                old.unlink(missing_ok=True)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> dict[str, Any] | None:
        """The last progress record of ``folder`` (None when there is none)."""
        path = Path(folder) / cls.PROGRESS
        return json.loads(path.read_text()) if path.exists() else None
