"""Dynamics along a path collective variable: steered MD pulling s from 0 to 1, and umbrella windows along s.

Both add :func:`~openmm_bridge.pathcv.path_cv_force` (openmm-torch) to the MD System:

- :func:`pull_along_path` moves ``pathcv_s0`` linearly from 0 to 1 (a reporter, like the
  distance pull) and accumulates the exact work of the moves;
- :func:`umbrella_along_path` runs one window per s0 as a Dask task (start: the path frame
  nearest s0), samples s, and turns all windows into a PMF along s with MBAR (pymbar).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.unit as u
import torch

from .errors import PathganInputError
from .fileio import atomic_file
from .jarzynski import kt_kcal_mol
from .pathcv import S0_PARAMETER, PathCV, ensure_openmmtorch, path_cv_force
from .platforms import get_platform
from .system import MolecularSystem
from .units import KJ_PER_KCAL, angstrom_to_nm


@dataclass
class PathCVProtocol:
    """Settings of path-CV dynamics (OpenMM units unless named)."""

    k_s_kj_mol: float = 5000.0  # bias constant on s (dimensionless s)
    temperature_k: float = 300.0
    friction_per_ps: float = 1.0
    timestep_fs: float = 2.0
    constraints: str | None = "HBonds"
    pull_ps: float = 20.0
    update_interval_steps: int = 10
    report_interval_steps: int = 50
    windows: int = 11
    equilibration_ps: float = 2.0
    window_ps: float = 10.0
    sample_interval_steps: int = 10
    platform: str = "Reference"
    seed: int = 0

    def validate(self) -> None:
        """Raise :class:`PathganInputError` for settings that cannot run."""
        for name in ("k_s_kj_mol", "pull_ps", "window_ps", "timestep_fs", "sample_interval_steps"):
            if getattr(self, name) <= 0:
                raise PathganInputError(f"path CV: {name} must be positive, got {getattr(self, name)}")
        if self.windows < 2:
            raise PathganInputError(f"path CV: at least 2 umbrella windows, got {self.windows}")
        if self.report_interval_steps % self.update_interval_steps:
            raise PathganInputError("path CV: report interval must be a multiple of the update interval")
        get_platform(self.platform)

    def steps(self, ps: float) -> int:
        """MD steps in ``ps`` picoseconds."""
        return int(round(ps * 1000.0 / self.timestep_fs))


def _simulation(
    system_xml: str,
    frames_nm: np.ndarray,
    atoms: list[int],
    lam: float,
    p: PathCVProtocol,
    s0: float,
    seed: int,
) -> tuple[mm.Context, mm.Integrator]:
    ensure_openmmtorch()
    system = mm.XmlSerializer.deserialize(system_xml)
    system.addForce(path_cv_force(frames_nm, atoms, p.k_s_kj_mol, s0, lam))
    integrator = mm.LangevinMiddleIntegrator(
        p.temperature_k * u.kelvin, p.friction_per_ps / u.picosecond, p.timestep_fs * u.femtosecond
    )
    integrator.setRandomNumberSeed(seed)
    platform, props = get_platform(p.platform, threads=1)
    return mm.Context(system, integrator, platform, props), integrator


def _prepare(
    system: MolecularSystem,
    frames_angstrom: np.ndarray,
    atoms: list[int],
    protocol: PathCVProtocol,
    out: str | os.PathLike,
    lam: float | None,
) -> tuple[np.ndarray, PathCV, str, Path]:
    """What a pull and umbrella windows share: checked settings, the path in nm, its CV, the MD System XML."""
    protocol.validate()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames_nm = angstrom_to_nm(np.asarray(frames_angstrom, dtype=np.float64))
    cv = PathCV(frames_nm, atoms, lam)
    return frames_nm, cv, mm.XmlSerializer.serialize(system.md_system(protocol.constraints)), out


class PathPull:
    """Reporter that moves ``pathcv_s0`` from 0 to 1 over ``n_steps`` and accumulates the work (kJ/mol)."""

    def __init__(self, cv: PathCV, k_s: float, n_steps: int, update_interval: int) -> None:
        self.cv, self.k, self.n_steps, self.interval = cv, k_s, n_steps, update_interval
        self.s0, self.work, self.s, self.z = 0.0, 0.0, float("nan"), float("nan")

    def update(self, context: mm.Context, step: int) -> None:
        """Move the centre to its value at ``step``; add ``U(x, s0') - U(x, s0)``."""
        pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
        with torch.no_grad():
            s, z = (float(v) for v in self.cv(torch.as_tensor(pos, dtype=torch.float64)))
        new = min(step / self.n_steps, 1.0)
        self.work += 0.5 * self.k * ((s - new) ** 2 - (s - self.s0) ** 2)
        context.setParameter(S0_PARAMETER, new)
        self.s0, self.s, self.z = new, s, z


def pull_along_path(
    system: MolecularSystem,
    frames_angstrom: np.ndarray,
    atoms: list[int],
    protocol: PathCVProtocol,
    out: str | os.PathLike,
    lam: float | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Steered MD along the path: s0 from 0 to 1; writes ``pull_s.csv`` (step, s0, s, z, work) and a DCD."""
    import mdtraj as md
    from tqdm.auto import tqdm

    frames_nm, cv, xml, out = _prepare(system, frames_angstrom, atoms, protocol, out, lam)
    context, integrator = _simulation(xml, frames_nm, atoms, cv.lam, protocol, 0.0, protocol.seed + 1)
    context.setPositions(frames_nm[0])
    context.applyConstraints(1e-6)
    mm.LocalEnergyMinimizer.minimize(context, 10.0, 200)
    context.setVelocitiesToTemperature(protocol.temperature_k * u.kelvin, protocol.seed + 1)
    n = protocol.steps(protocol.pull_ps)
    pull = PathPull(cv, protocol.k_s_kj_mol, n, protocol.update_interval_steps)
    pull.update(context, 0)
    rows, frames = [], []
    step = 0
    with tqdm(total=n, desc="pull along s", unit="step", disable=not progress) as bar:
        while step < n:
            integrator.step(protocol.update_interval_steps)
            step += protocol.update_interval_steps
            pull.update(context, step)
            if step % protocol.report_interval_steps == 0 or step == n:
                rows.append((step, pull.s0, pull.s, pull.z, pull.work))
                frames.append(context.getState(getPositions=True).getPositions(asNumpy=True)._value)
            bar.update(protocol.update_interval_steps)
    with atomic_file(out / "pull_s.csv") as tmp, open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "s0", "s", "z_nm2", "work_kj_mol"])
        w.writerows([(a, f"{b:.5f}", f"{c:.5f}", f"{d:.6f}", f"{e:.4f}") for a, b, c, d, e in rows])
    traj = md.Trajectory(np.array(frames, dtype=np.float32), md.Topology.from_openmm(system.topology))
    with atomic_file(out / "pull_s.dcd") as tmp:
        traj.save_dcd(str(tmp))
    s = np.array([r[2] for r in rows])
    return {
        "final_s": float(s[-1]),
        "final_work_kj_mol": float(rows[-1][4]),
        "max_z_nm2": float(max(r[3] for r in rows)),
        "lambda_per_nm2": cv.lam,
        "s_follows_s0_rms": float(np.sqrt(np.mean((s - np.array([r[1] for r in rows])) ** 2))),
    }


def umbrella_window(
    system_xml: str,
    frames_nm: list,
    atoms: list[int],
    lam: float,
    s0: float,
    start_nm: list,
    protocol: dict,
    seed: int,
) -> dict[str, Any]:
    """One umbrella window (plain data in and out, for a Dask worker): samples of s and z."""
    p = PathCVProtocol(**protocol)
    frames = np.asarray(frames_nm)
    context, integrator = _simulation(system_xml, frames, atoms, lam, p, s0, seed)
    context.setPositions(np.asarray(start_nm))
    context.applyConstraints(1e-6)
    mm.LocalEnergyMinimizer.minimize(context, 10.0, 200)
    context.setVelocitiesToTemperature(p.temperature_k * u.kelvin, seed)
    integrator.step(p.steps(p.equilibration_ps))
    cv = PathCV(frames, atoms, lam)
    s_samples, z_samples = [], []
    for _ in range(p.steps(p.window_ps) // p.sample_interval_steps):
        integrator.step(p.sample_interval_steps)
        pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.nanometer)
        with torch.no_grad():
            s, z = cv(torch.as_tensor(pos, dtype=torch.float64))
        s_samples.append(float(s))
        z_samples.append(float(z))
    return {"s0": s0, "s": s_samples, "z": z_samples}


def mbar_pmf(
    windows: list[dict],
    k_s_kj_mol: float,
    temperature_k: float,
    bins: int = 25,
    n_bootstrap: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """PMF along s (kcal/mol, zero at its minimum) from umbrella samples, with MBAR (pymbar).

    MBAR gives the windows' free energies; each sample's weight in the unbiased state is
    ``1 / sum_k N_k exp(f_k - u_k(s_n))``; the PMF is ``-kT ln`` of the weighted histogram
    density. Error bars: standard deviation over bootstrap resamples within each window.
    """
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from pymbar import MBAR

    kt = kt_kcal_mol(temperature_k) * KJ_PER_KCAL  # kJ/mol
    s0 = np.array([w["s0"] for w in windows])
    samples = [np.asarray(w["s"], dtype=np.float64) for w in windows]
    if any(len(x) == 0 for x in samples):
        raise PathganInputError("umbrella: a window has no samples")
    s_all = np.concatenate(samples)
    edges = np.linspace(s_all.min(), s_all.max() + 1e-9, bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])

    def estimate(per_window: list[np.ndarray]) -> np.ndarray:
        n_k = np.array([len(x) for x in per_window])
        s_n = np.concatenate(per_window)
        u_kn = 0.5 * k_s_kj_mol * (s_n[None, :] - s0[:, None]) ** 2 / kt
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            mbar = MBAR(u_kn, n_k, verbose=False)
        f_k = mbar.f_k
        log_den = np.log(n_k)[:, None] + f_k[:, None] - u_kn
        m = log_den.max(axis=0)
        log_w = -(m + np.log(np.exp(log_den - m).sum(axis=0)))
        # per bin, -ln of the summed weights (log-sum-exp: weights span dozens of orders of
        # magnitude, which np.histogram's cumulative sums would round away)
        which = np.clip(np.searchsorted(edges, s_n, side="right") - 1, 0, len(edges) - 2)
        f = np.full(len(edges) - 1, np.nan)
        for b in np.unique(which):
            lw = log_w[which == b]
            top = lw.max()
            f[b] = -(top + np.log(np.exp(lw - top).sum())) + np.log(edges[b + 1] - edges[b])
        return (f - np.nanmin(f)) * kt / KJ_PER_KCAL

    pmf = estimate(samples)
    rng = np.random.default_rng(seed)
    boots = [estimate([x[rng.integers(0, len(x), len(x))] for x in samples]) for _ in range(n_bootstrap)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # bins empty in every resample: NaN, as they should
        err = np.nanstd(np.array(boots), axis=0) if n_bootstrap else np.zeros_like(pmf)
    return {
        "s": centres.tolist(),
        "pmf_kcal_mol": [None if not np.isfinite(v) else float(v) for v in pmf],
        "pmf_err_kcal_mol": [None if not np.isfinite(v) else float(v) for v in err],
        "samples_per_window": [len(x) for x in samples],
    }


def umbrella_along_path(
    system: MolecularSystem,
    frames_angstrom: np.ndarray,
    atoms: list[int],
    protocol: PathCVProtocol,
    out: str | os.PathLike,
    lam: float | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Umbrella windows at evenly spaced s0 through Dask, then MBAR; writes ``umbrella.json`` and ``pmf_s.png``."""
    from .execution import run_tasks

    frames_nm, cv, xml, out = _prepare(system, frames_angstrom, atoms, protocol, out, lam)
    m = len(frames_nm)
    targets = np.linspace(0.0, 1.0, protocol.windows)
    tasks = [
        {
            "system_xml": xml,
            "frames_nm": frames_nm.tolist(),
            "atoms": list(atoms),
            "lam": cv.lam,
            "s0": float(s0),
            "start_nm": frames_nm[int(round(s0 * (m - 1)))].tolist(),
            "protocol": asdict(protocol),
            "seed": protocol.seed * 1000 + k + 1,
        }
        for k, s0 in enumerate(targets)
    ]
    names = [f"umbrella-{k:02d}" for k in range(len(tasks))]
    windows = run_tasks(
        umbrella_window,
        tasks,
        names,
        scheduler=scheduler,
        n_workers=n_workers,
        desc="umbrella windows",
        progress=progress,
    )
    pmf = mbar_pmf(windows, protocol.k_s_kj_mol, protocol.temperature_k)
    result = {"protocol": asdict(protocol), "lambda_per_nm2": cv.lam, "windows": windows, "pmf": pmf}
    with atomic_file(out / "umbrella.json") as tmp:
        tmp.write_text(json.dumps(result) + "\n")
    _plot_pmf_s(pmf, windows, out / "pmf_s.png")
    return result


def _plot_pmf_s(pmf: dict, windows: list[dict], path: Path) -> None:
    from .plots import plt, save_figure

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for w in windows:
        a.hist(w["s"], bins=30, alpha=0.5)
    a.set_xlabel("s")
    a.set_ylabel("samples")
    a.set_title("umbrella windows")
    s, f, e = (np.asarray(pmf[k], dtype=float) for k in ("s", "pmf_kcal_mol", "pmf_err_kcal_mol"))
    b.errorbar(s, f, yerr=e, marker="o")
    b.set_xlabel("s (progress along the path)")
    b.set_ylabel("PMF (kcal/mol)")
    b.set_title("MBAR")
    save_figure(fig, path)
