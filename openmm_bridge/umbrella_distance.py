"""Umbrella sampling along the distance between two atom groups, and its PMF with MBAR.

An equilibrium estimate of the same PMF that steered MD gives by Jarzynski/Hummer-Szabo: one
window per centre c_k (``lo_angstrom`` to ``hi_angstrom``), each an OpenMM run as a Dask task
with the restraint ``1/2 k (d - c_k)^2`` on the distance d between the geometric centres of
``group_a`` and ``group_b`` (default: CA of the first and last residue; the force of
:class:`~openmm_bridge.pull_coordinates.PullCoordinate`, the pulls' own). A window starts
from the frame of a pull folder whose distance is nearest its centre, is minimised and
equilibrated under its restraint, then sampled; :func:`~openmm_bridge.mbar.umbrella_pmf`
decorrelates, solves MBAR (pymbar's ``FES``, bootstrap errors), reports the overlap matrix
and the halves' convergence. Units: Angstrom, kcal/mol, ps, K.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.unit as u

from .context import langevin, make_context
from .distances import check_groups
from .errors import PathganInputError
from .mbar import umbrella_pmf
from .pull_coordinates import PullCoordinate
from .settings import Settings, at_least, non_negative, one_of, positive
from .system import MolecularSystem
from .units import kt_kcal_mol

log = logging.getLogger(__name__)

__all__ = [
    "ANALYSIS_SETTINGS",
    "STIFF_K_KCAL_MOL_A2",
    "DistanceUmbrellaProtocol",
    "distance_window",
    "start_frames",
    "umbrella_along_distance",
]

#: Settings of the analysis, not of the sampling: a finished run is re-analysed when only these change.
ANALYSIS_SETTINGS = ("bins", "n_bootstrap", "discard_transient")

#: Park and Schulten's stiff spring (J. Chem. Phys. 120, 5946 (2004)): about 500 pN/A.
STIFF_K_KCAL_MOL_A2 = 7.2


@dataclasses.dataclass
class DistanceUmbrellaProtocol(Settings):
    """Umbrella windows along a distance (Angstrom, kcal/mol/A^2, ps, fs, K as named).

    ``spacing_angstrom`` None: ``spacing_sigma`` times the restraint's own spread
    ``sqrt(kT/k)`` (0.77 A at k = 1, 0.29 A at 7.2, 300 K), so that neighbours overlap where
    the PMF is flat or convex. ``group_a``/``group_b`` None: CA of the first and last residue.
    ``discard_transient``: cut each window's starting transient (pymbar's
    ``detect_equilibration``, at most half the window) before MBAR, beyond the fixed
    ``equilibration_ps``. ``bins``, ``n_bootstrap`` and ``discard_transient`` are analysis
    settings (:data:`ANALYSIS_SETTINGS`): changing only them re-analyses a finished run's
    samples instead of running its windows again.
    """

    lo_angstrom: float = positive(13.0)
    hi_angstrom: float = positive(33.0)
    k_kcal_mol_a2: float = positive(1.0)
    spacing_angstrom: float | None = None
    spacing_sigma: float = positive(1.0)
    temperature_k: float = positive(300.0)
    friction_per_ps: float = positive(1.0)
    timestep_fs: float = positive(2.0)
    constraints: str | None = one_of(("HBonds", None), "HBonds")
    minimize_steps: int = non_negative(200)
    equilibration_ps: float = non_negative(20.0)
    window_ps: float = positive(100.0)
    sample_interval_steps: int = positive(50)
    bins: int = at_least(2, 60)
    n_bootstrap: int = non_negative(50)
    platform: str = "Reference"
    group_a: list[int] | None = None
    group_b: list[int] | None = None
    seed: int = 0
    discard_transient: bool = False

    def check(self, where: str) -> None:
        """A real range, a positive spacing, at least 3 samples a window."""
        if self.hi_angstrom <= self.lo_angstrom:
            raise PathganInputError(
                f"{where}: hi_angstrom ({self.hi_angstrom}) must exceed lo_angstrom ({self.lo_angstrom})"
            )
        if self.spacing_angstrom is not None and self.spacing_angstrom <= 0:
            raise PathganInputError(
                f"{where}.spacing_angstrom: must be positive, got {self.spacing_angstrom}"
            )
        if self.n_samples < 3:
            raise PathganInputError(
                f"{where}.window_ps: {self.window_ps} ps gives {self.n_samples} samples every "
                f"{self.sample_interval_steps} steps; at least 3 are needed"
            )

    def steps(self, ps: float) -> int:
        """MD steps in ``ps`` picoseconds."""
        return int(round(ps * 1000.0 / self.timestep_fs))

    @property
    def n_samples(self) -> int:
        """Samples per window."""
        return self.steps(self.window_ps) // self.sample_interval_steps

    @property
    def spacing(self) -> float:
        """Distance between neighbouring centres (Angstrom)."""
        if self.spacing_angstrom is not None:
            return self.spacing_angstrom
        return self.spacing_sigma * float(np.sqrt(kt_kcal_mol(self.temperature_k) / self.k_kcal_mol_a2))

    def centres(self) -> np.ndarray:
        """Window centres from ``lo_angstrom`` to ``hi_angstrom`` (both included), at most ``spacing`` apart."""
        n = int(np.ceil((self.hi_angstrom - self.lo_angstrom) / self.spacing - 1e-9)) + 1
        return np.linspace(self.lo_angstrom, self.hi_angstrom, max(n, 2))

    def with_groups(self, system: MolecularSystem) -> DistanceUmbrellaProtocol:
        """A copy with the default groups (CA of the first and last residue) filled in, checked on ``system``."""
        i, j = system.end_to_end_atoms() if self.group_a is None or self.group_b is None else (0, 0)
        proto = dataclasses.replace(
            self,
            group_a=list(self.group_a) if self.group_a is not None else [i],
            group_b=list(self.group_b) if self.group_b is not None else [j],
        )
        check_groups(proto.group_a, proto.group_b, system.n_atoms, "umbrella")
        return proto


def distance_window(
    system_xml: str,
    start_angstrom: list,
    centre_angstrom: float,
    protocol: dict,
    seed: int,
) -> dict[str, Any]:
    """One umbrella window (plain data in and out, for a Dask worker).

    ``start_angstrom``: (n_atoms, 3) starting positions. Returns ``centre_angstrom``, the
    sampled ``distance_angstrom`` (n_samples,), the distance after equilibration, ``seed``
    and ``wall_s``.
    """
    t0 = time.perf_counter()
    p = DistanceUmbrellaProtocol.from_dict(protocol, "umbrella")
    coordinate = PullCoordinate("distance", (p.group_a, p.group_b), "distance")
    system = mm.XmlSerializer.deserialize(system_xml)
    system.addForce(coordinate.force(p.k_kcal_mol_a2, centre_angstrom))
    integrator = langevin(p.temperature_k, p.friction_per_ps, p.timestep_fs, seed)
    context = make_context(system, p.platform, integrator)
    context.setPositions(np.asarray(start_angstrom) * u.angstrom)
    context.applyConstraints(1e-6)
    if p.minimize_steps:
        mm.LocalEnergyMinimizer.minimize(context, 10.0, p.minimize_steps)
    context.setVelocitiesToTemperature(p.temperature_k * u.kelvin, seed)

    def distance() -> float:
        pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
        return float(coordinate.values(pos)[0])

    integrator.step(p.steps(p.equilibration_ps))
    after_equilibration = distance()
    samples = []
    for _ in range(p.n_samples):
        integrator.step(p.sample_interval_steps)
        samples.append(distance())
    if not np.all(np.isfinite(samples)):
        raise PathganInputError(f"umbrella window at {centre_angstrom:g} A: non-finite distances (blew up)")
    return {
        "centre_angstrom": float(centre_angstrom),
        "distance_angstrom": samples,
        "distance_after_equilibration_angstrom": after_equilibration,
        "seed": int(seed),
        "wall_s": time.perf_counter() - t0,
    }


def start_frames(
    pull_dir: str | os.PathLike, system: MolecularSystem, coordinate: PullCoordinate, centres: np.ndarray
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """For each centre, the frame of a pull folder's finished replicas whose distance is nearest it.

    Returns positions (n_centres, n_atoms, 3) in Angstrom and, per centre, where the frame
    came from (replica, frame, its distance).
    """
    from .pull_folder import TRAJECTORY, finished_replicas
    from .trajio import frames_angstrom, load_frames

    replicas = finished_replicas(pull_dir)
    if not replicas:
        raise PathganInputError(f"{pull_dir}: no finished replicas to start umbrella windows from")
    xyz, source = [], []
    for r in replicas:
        frames = frames_angstrom(load_frames(r / TRAJECTORY, system))
        xyz.append(frames)
        source += [(r.name, k) for k in range(len(frames))]
    xyz = np.concatenate(xyz)
    d = coordinate.values(xyz)
    picks = [int(np.argmin(np.abs(d - c))) for c in centres]
    info = [
        {"replica": source[k][0], "frame": source[k][1], "distance_angstrom": round(float(d[k]), 3)}
        for k in picks
    ]
    return xyz[picks], info


def umbrella_along_distance(
    system: MolecularSystem,
    pull_dir: str | os.PathLike,
    out: str | os.PathLike,
    protocol: DistanceUmbrellaProtocol | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Umbrella windows along the distance through Dask, MBAR, and the outputs in ``out``.

    Writes ``pmf.csv`` (distance, PMF, bootstrap s.d.), ``windows.json``, ``overlap.csv``,
    ``overlap.png``, ``pmf.png`` and ``umbrella.json`` (protocol, PMF, overlap, convergence,
    warnings, versions) through :func:`~openmm_bridge.pmf_outputs.write_umbrella_folder`.
    Returns the contents of ``umbrella.json``. A finished ``out`` of the same protocol, with
    windows started from a pull folder of the same name, is reused as it is (said in the log): a
    long umbrella run is not redone, on this machine or after it was copied from another. One
    that differs only in :data:`ANALYSIS_SETTINGS` is re-analysed from its saved samples.
    """
    from .execution import run_tasks
    from .pmf_outputs import write_umbrella_folder

    p = (protocol or DistanceUmbrellaProtocol()).with_groups(system)
    p.validate("umbrella")
    finished = Path(out) / "umbrella.json"
    if finished.exists():
        meta = json.loads(finished.read_text())
        before = _finished_protocol(meta)
        if before is not None and Path(meta.get("pull_folder", "")).name == Path(pull_dir).name:
            if before == p.to_dict():
                log.info(
                    "%s: a finished umbrella run of this protocol, windows from %s; reused",
                    out,
                    meta["pull_folder"],
                )
                return meta
            saved = Path(out) / "windows.json"
            if _sampling(before) == _sampling(p.to_dict()) and saved.exists():
                changed = sorted(k for k in ANALYSIS_SETTINGS if before[k] != getattr(p, k))
                log.info("%s: the finished windows re-analysed (%s changed)", out, ", ".join(changed))
                windows = _saved_windows(saved)
                pmf = _analyse([w["centre_angstrom"] for w in windows], windows, p)
                return write_umbrella_folder(out, p.to_dict(), windows, pmf, meta["pull_folder"])
    coordinate = PullCoordinate("distance", (p.group_a, p.group_b), "distance")
    centres = p.centres()
    starts, start_info = start_frames(pull_dir, system, coordinate, centres)
    xml = mm.XmlSerializer.serialize(system.md_system(p.constraints))
    tasks = [
        {
            "system_xml": xml,
            "start_angstrom": starts[k].tolist(),
            "centre_angstrom": float(c),
            "protocol": p.to_dict(),
            "seed": p.seed * 1000 + k + 1,
        }
        for k, c in enumerate(centres)
    ]
    names = [f"umbrella-{c:.2f}A" for c in centres]
    windows = run_tasks(
        distance_window, tasks, names, scheduler=scheduler, n_workers=n_workers,
        desc="umbrella windows", progress=progress,
    )  # fmt: skip
    pmf = _analyse(centres, windows, p)
    for w, info in zip(windows, start_info, strict=True):
        w["start"] = info
    return write_umbrella_folder(out, p.to_dict(), windows, pmf, str(Path(pull_dir).resolve()))


def _analyse(
    centres: np.ndarray | list[float], windows: list[dict[str, Any]], p: DistanceUmbrellaProtocol
) -> dict[str, Any]:
    """MBAR over the windows' distance samples with ``p``'s analysis settings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pymbar's log of empty bootstrap bins
        return umbrella_pmf(
            centres,
            [w["distance_angstrom"] for w in windows],
            p.k_kcal_mol_a2,
            p.temperature_k,
            bins=p.bins,
            n_bootstrap=p.n_bootstrap,
            seed=p.seed,
            label="umbrella along the distance",
            discard_transient=p.discard_transient,
        )


def _finished_protocol(meta: dict[str, Any]) -> dict[str, Any] | None:
    """A finished run's protocol with today's defaults filled in (None if it no longer reads)."""
    try:
        return DistanceUmbrellaProtocol.from_dict(meta.get("protocol"), "umbrella.json").to_dict()
    except PathganInputError:
        return None


def _sampling(protocol: dict[str, Any]) -> dict[str, Any]:
    """The settings that decide the samples (all but :data:`ANALYSIS_SETTINGS`)."""
    return {k: v for k, v in protocol.items() if k not in ANALYSIS_SETTINGS}


def _saved_windows(path: Path) -> list[dict[str, Any]]:
    """The windows of a finished run, from its ``windows.json`` (summary and samples)."""
    saved = json.loads(path.read_text())
    return [
        {**{k: w.get(k) for k in ("centre_angstrom", "start", "seed", "wall_s")}, "distance_angstrom": x}
        for w, x in zip(saved["windows"], saved["samples"], strict=True)
    ]
