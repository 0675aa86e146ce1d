"""Steered MD along a path collective variable: ``pathcv_s0`` dragged from 0 to 1 in an OpenMM Simulation.

The path-CV force (:func:`~openmm_bridge.pathcv.path_cv_force`, openmm-torch) is added to the
MD System; :class:`PathPull` is a reporter (a :class:`~openmm_bridge.work.MovingParameter`) that
moves ``pathcv_s0`` linearly and accumulates the exact work from OpenMM's energy of the force;
:class:`PathCVDataReporter` writes s, z and the work. Both are ordinary OpenMM reporters, so a
user's own reporters can run beside them. Umbrella windows along s are :mod:`.umbrella`.

Units: Angstrom and kcal/mol at the Python interface (z in A^2); the Context parameters are
OpenMM's (``pathcv_s0`` dimensionless, ``pathcv_ks`` kJ/mol).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u

from .context import get_platform, langevin, make_simulation
from .errors import PathganInputError
from .fileio import atomic_file
from .pathcv import S0_PARAMETER, PathCV, path_cv_force, path_cv_values
from .plots import plot_path_pull
from .pulling import check_own_group
from .reporters import DCDFrameReporter
from .settings import Settings, at_least, one_of, positive
from .system import MolecularSystem
from .work import MovingParameter


@dataclasses.dataclass
class PathCVProtocol(Settings):
    """Settings of path-CV dynamics (kcal/mol, ps, fs, K as named)."""

    RENAMED = {"k_s_kj_mol": "k_s_kcal_mol"}

    k_s_kcal_mol: float = positive(1200.0)  # bias constant on s (dimensionless s)
    temperature_k: float = positive(300.0)
    friction_per_ps: float = positive(1.0)
    timestep_fs: float = positive(2.0)
    constraints: str | None = one_of(("HBonds", None), "HBonds")
    pull_ps: float = positive(20.0)
    update_interval_steps: int = positive(10)
    report_interval_steps: int = positive(50)
    windows: int = at_least(2, 11)
    equilibration_ps: float = 2.0
    window_ps: float = positive(10.0)
    sample_interval_steps: int = positive(10)
    platform: str = "Reference"
    seed: int = 0
    #: Umbrella windows: the path re-spaced to this many frames, equal in the CV's own metric
    #: (None: as many as given). Fewer frames where the path is short in intra-molecular
    #: distances (a torsion flip): consecutive frames closer than thermal noise make s jump.
    cv_frames: int | None = None

    def check(self, where: str) -> None:
        """The report interval is a multiple of the update interval; the platform exists."""
        if self.cv_frames is not None and self.cv_frames < 2:
            raise PathganInputError(f"{where}.cv_frames: must be at least 2 (or null), got {self.cv_frames}")
        if self.report_interval_steps % self.update_interval_steps:
            raise PathganInputError(f"{where}: report interval must be a multiple of the update interval")
        if self.equilibration_ps < 0:
            raise PathganInputError(f"{where}.equilibration_ps: must be >= 0, got {self.equilibration_ps}")
        get_platform(self.platform)

    def steps(self, ps: float) -> int:
        """MD steps in ``ps`` picoseconds."""
        return int(round(ps * 1000.0 / self.timestep_fs))


def biased_system(
    md_system: mm.System,
    frames_angstrom: np.ndarray,
    atoms: list[int],
    protocol: PathCVProtocol,
    s0: float,
    lam_per_a2: float | None = None,
) -> tuple[mm.System, mm.Force]:
    """``md_system`` with the path-CV bias at ``s0`` added (in its own force group); the force."""
    force = path_cv_force(frames_angstrom, atoms, protocol.k_s_kcal_mol, s0, lam_per_a2)
    md_system.addForce(force)
    return md_system, force


def relaxed_start(
    context: mm.Context, positions_angstrom: np.ndarray, temperature_k: float, seed: int
) -> None:
    """Positions, constraints, a short minimisation under the bias, velocities: a window's or pull's start."""
    context.setPositions(positions_angstrom * u.angstrom)
    context.applyConstraints(1e-6)
    mm.LocalEnergyMinimizer.minimize(context, 10.0, 200)
    context.setVelocitiesToTemperature(temperature_k * u.kelvin, seed)


class PathPull(MovingParameter):
    """A reporter that moves ``pathcv_s0`` from 0 to 1 over ``n_steps`` and accumulates the work (kcal/mol)."""

    def __init__(self, force: mm.Force, n_steps: int, update_interval: int) -> None:
        if n_steps <= 0:
            raise PathganInputError(f"path pull: the number of steps must be positive, got {n_steps}")
        self.force, self.n_steps = force, int(n_steps)
        super().__init__(
            force.getForceGroup(), S0_PARAMETER, lambda step: min(step / self.n_steps, 1.0), update_interval
        )

    def start(self, context: mm.Context, step: int = 0) -> None:  # noqa: D102 - see MovingParameter
        check_own_group(context.getSystem(), self.force)
        super().start(context, step)


class PathCVDataReporter:
    """Writes step, s0, s, z (A^2) and the pull's work (kcal/mol) to CSV every ``interval`` steps."""

    COLUMNS = ("step", "s0", "s", "z_a2", "work_kcal_mol")

    def __init__(self, file: str | os.PathLike, interval: int, cv: PathCV, pull: PathPull) -> None:
        self.interval, self.cv, self.pull = int(interval), cv, pull
        self.rows: list[tuple[int, float, float, float, float]] = []
        self._file = open(file, "w", newline="")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file)
        self._writer.writerow(self.COLUMNS)

    def describeNextReport(self, simulation: app.Simulation) -> dict:  # noqa: N802 - OpenMM's reporter API
        steps = self.interval - simulation.currentStep % self.interval
        return {"steps": steps, "periodic": False, "include": ["positions"]}

    def report(self, simulation: app.Simulation, state: mm.State) -> None:
        """One row at this step (the pull has moved s0 already)."""
        s, z = path_cv_values(self.cv, state.getPositions(asNumpy=True).value_in_unit(u.angstrom))
        step = simulation.currentStep
        row = (step, self.pull.schedule(step), s, z, self.pull.work_kcal_mol)
        self.rows.append(row)
        self._writer.writerow([row[0], f"{row[1]:.5f}", f"{s:.5f}", f"{z:.6f}", f"{row[4]:.5f}"])
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def pull_along_path(
    system: MolecularSystem,
    frames_angstrom: np.ndarray,
    atoms: list[int],
    protocol: PathCVProtocol,
    out: str | os.PathLike,
    lam_per_a2: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Steered MD along the path: s0 from 0 to 1; writes ``pull_s.csv`` (step, s0, s, z, work), ``pull_s.dcd``
    and ``pull_s.png``; returns a summary."""
    from tqdm.auto import tqdm

    protocol.validate("path CV")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames_angstrom, dtype=np.float64)
    cv = PathCV(frames, atoms, lam_per_a2)
    md_system, force = biased_system(
        system.md_system(protocol.constraints), frames, atoms, protocol, 0.0, cv.lam
    )
    integrator = langevin(
        protocol.temperature_k, protocol.friction_per_ps, protocol.timestep_fs, protocol.seed + 1
    )
    simulation = make_simulation(system.topology, md_system, integrator, protocol.platform)
    relaxed_start(simulation.context, frames[0], protocol.temperature_k, protocol.seed + 1)
    n = protocol.steps(protocol.pull_ps)
    pull = PathPull(force, n, protocol.update_interval_steps)
    pull.start(simulation.context)
    interval = protocol.report_interval_steps
    with atomic_file(out / "pull_s.csv") as csv_tmp, atomic_file(out / "pull_s.dcd") as dcd_tmp:
        data = PathCVDataReporter(csv_tmp, interval, cv, pull)
        dcd = DCDFrameReporter(
            dcd_tmp, interval, system.topology, protocol.timestep_fs / 1000.0, first_step=interval
        )
        simulation.reporters = [pull, data, dcd]
        try:
            with tqdm(total=n, desc="pull along s", unit="step", disable=not progress) as bar:
                for _ in range(0, n, interval):
                    simulation.step(min(interval, n - simulation.currentStep))
                    bar.update(simulation.currentStep - bar.n)
        finally:
            data.close()
            dcd.close()
    rows = np.array(data.rows)
    plot_path_pull(rows, out / "pull_s.png")
    return {
        "final_s": float(rows[-1, 2]),
        "final_work_kcal_mol": float(rows[-1, 4]),
        "max_z_a2": float(rows[:, 3].max()),
        "lambda_per_a2": cv.lam,
        "s_follows_s0_rms": float(np.sqrt(np.mean((rows[:, 2] - rows[:, 1]) ** 2))),
    }
