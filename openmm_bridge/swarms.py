"""The string method with swarms of trajectories (Pan, Sezer and Roux, J. Phys. Chem. B 112, 3432 (2008)).

Images live in the space of collective variables (default: backbone phi/psi of every
residue). Each iteration, for every image (a Dask task, run where the steered-MD
replicas run):

1. restrained equilibration: ``equilibration_steps`` of Langevin dynamics with a harmonic
   restraint holding the variables at the image;
2. a swarm: ``swarm_size`` short unrestrained runs of ``swarm_steps`` from the
   equilibrated structure, velocities drawn afresh;
3. the drift: the mean change of the variables over the swarm.

The images move by their drift, are smoothed (``smoothing``), and are redistributed at
equal arc length in variable space (angles unwrapped along the string); the end images
stay fixed. Converged when the largest image displacement (in variable space) and the
largest change of the images' mean potential energy fall under the tolerances.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.unit as u

from .collective_variables import (
    CollectiveVariable,
    cv_values,
    periodic_delta,
    restraint_force,
    set_targets,
)
from .context import get_platform, langevin, make_context
from .errors import PathganInputError
from .fileio import atomic_file
from .settings import Settings, non_negative, positive, within
from .string_method import check_images, reparametrize
from .units import angstrom_to_nm, nm_to_angstrom


@dataclasses.dataclass
class SwarmsConfig(Settings):
    """Settings of the swarms-of-trajectories string (kcal/mol, fs, ps, K as named; CVs in rad / A)."""

    RENAMED = {"restraint_k_kj_mol": "restraint_k_kcal_mol"}

    max_iterations: int = positive(20)
    restraint_k_kcal_mol: float = positive(120.0)  # per rad^2 (torsions) or per A^2 (distances)
    equilibration_steps: int = positive(500)
    swarm_size: int = positive(16)
    swarm_steps: int = positive(10)
    temperature_k: float = positive(300.0)
    friction_per_ps: float = positive(1.0)
    timestep_fs: float = positive(1.0)
    smoothing: float = within(0.0, 0.5, 0.1, closed=False)
    tol_displacement: float = non_negative(0.02)  # largest image move per iteration, CV units (rad / A)
    tol_energy_kcal_mol: float = non_negative(0.5)
    platform: str = "Reference"
    seed: int = 0

    def check(self, where: str) -> None:
        """The platform must exist."""
        get_platform(self.platform)


def image_task(
    system_xml: str,
    positions_nm: list,
    cvs: list[tuple[str, str, tuple[int, ...]]],
    targets: list[float],
    config: dict,
    seed: int,
) -> dict[str, Any]:
    """One image of one iteration (plain data in and out, for a Dask worker)."""
    c = SwarmsConfig.from_dict(config, "swarms")
    variables = [CollectiveVariable(n, k, tuple(a)) for n, k, a in cvs]
    system = mm.XmlSerializer.deserialize(system_xml)
    restraint = restraint_force(variables, c.restraint_k_kcal_mol)
    system.addForce(restraint)
    integrator = langevin(c.temperature_k, c.friction_per_ps, c.timestep_fs, seed)
    context = make_context(system, c.platform, integrator)
    context.setPositions(np.asarray(positions_nm))
    set_targets(context, variables, np.asarray(targets), c.restraint_k_kcal_mol)
    context.setVelocitiesToTemperature(c.temperature_k * u.kelvin, seed)
    integrator.step(c.equilibration_steps)
    start = context.getState(getPositions=True, getEnergy=True)
    z0 = cv_values(context, restraint, variables)
    # potential energy without the restraint: switch it off
    context.setParameter("cv_k", 0.0)
    e0 = context.getState(getEnergy=True).getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole)
    periodic = np.array([v.periodic for v in variables])
    ends = []
    for k in range(c.swarm_size):
        context.setState(start)
        context.setParameter("cv_k", 0.0)
        context.setVelocitiesToTemperature(c.temperature_k * u.kelvin, seed * 1000 + k + 1)
        integrator.step(c.swarm_steps)
        ends.append(periodic_delta(cv_values(context, restraint, variables), z0, periodic))
    return {
        "positions_nm": start.getPositions(asNumpy=True).value_in_unit(u.nanometer).tolist(),
        "z_equilibrated": z0.tolist(),
        "drift": np.mean(ends, axis=0).tolist(),
        "energy_kcal_mol": e0,
    }


def unwrap_string(z: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Images (n_images, n_cvs) with periodic variables made continuous along the string."""
    out = z.copy()
    for i in range(1, len(z)):
        out[i] = out[i - 1] + periodic_delta(z[i], out[i - 1], periodic)
    return out


def wrap(z: np.ndarray, periodic: np.ndarray) -> np.ndarray:
    """Periodic variables back into (-pi, pi]."""
    return np.where(periodic, (z + np.pi) % (2 * np.pi) - np.pi, z)


def smooth(z: np.ndarray, s: float) -> np.ndarray:
    """Interior images moved towards their neighbours' mean by fraction ``s`` (ends fixed)."""
    out = z.copy()
    out[1:-1] = (1 - s) * z[1:-1] + s * 0.5 * (z[:-2] + z[2:])
    return out


@dataclass
class SwarmsResult:
    """Images in variable space (n_images, n_cvs), their structures (A), energies and history."""

    z: np.ndarray
    structures: np.ndarray
    energies: np.ndarray
    converged: bool
    iterations: int
    history: list[dict[str, Any]]


class SwarmsString:
    """String method with swarms of trajectories on an OpenMM System (see the module docstring)."""

    def __init__(
        self,
        system: mm.System,
        structures_angstrom: np.ndarray,
        cvs: list[CollectiveVariable],
        config: SwarmsConfig | None = None,
    ) -> None:
        self.config = config or SwarmsConfig()
        self.config.validate("swarms")
        self.system_xml = mm.XmlSerializer.serialize(system)
        self.cvs = cvs
        self.periodic = np.array([v.periodic for v in cvs])
        x = check_images(structures_angstrom, system.getNumParticles(), "swarms")
        for v in cvs:
            if max(v.atoms) >= system.getNumParticles():
                raise PathganInputError(f"collective variable {v.name!r} is not defined on this system")
        self.positions_nm = angstrom_to_nm(x)
        self.z = self._measure(system, self.positions_nm)
        if np.allclose(self.z[0], self.z[-1], atol=1e-6):
            raise PathganInputError("swarms: the end states have the same collective variables")
        self.z = wrap(reparametrize(unwrap_string(self.z, self.periodic)[:, :, None])[:, :, 0], self.periodic)
        self.energies: np.ndarray | None = None
        self.history: list[dict[str, Any]] = []

    def _measure(self, system: mm.System, positions_nm: np.ndarray) -> np.ndarray:
        sys_copy = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
        force = restraint_force(self.cvs, 0.0)
        sys_copy.addForce(force)
        ctx = make_context(sys_copy)
        out = []
        for p in positions_nm:
            ctx.setPositions(p)
            out.append(cv_values(ctx, force, self.cvs))
        return np.array(out)

    def iterate(
        self,
        it: int,
        scheduler: str | None = None,
        n_workers: int | None = None,
        progress: bool = False,
        client: Any = None,
    ) -> dict:
        """One iteration over all images through Dask (``client``: an open one to reuse); its history row."""
        from .execution import run_tasks

        c = self.config
        cv_spec = [(v.name, v.kind, v.atoms) for v in self.cvs]
        m = len(self.z)
        tasks = [
            {
                "system_xml": self.system_xml,
                "positions_nm": self.positions_nm[i].tolist(),
                "cvs": cv_spec,
                "targets": self.z[i].tolist(),
                "config": c.to_dict(),
                "seed": 1 + c.seed * 100_003 + it * 1009 + i,
            }
            for i in range(m)
        ]
        names = [f"swarm-it{it:03d}-image{i:03d}" for i in range(m)]
        results = run_tasks(
            image_task,
            tasks,
            names,
            scheduler=scheduler,
            n_workers=n_workers,
            desc=f"swarms iteration {it + 1}",
            progress=progress,
            client=client,
        )
        drift = np.array([r["drift"] for r in results])
        z_eq = np.array([r["z_equilibrated"] for r in results])
        energies = np.array([r["energy_kcal_mol"] for r in results])
        moved = self.z.copy()
        moved[1:-1] = self.z[1:-1] + drift[1:-1]  # ends fixed
        moved = unwrap_string(wrap(moved, self.periodic), self.periodic)
        moved = smooth(moved, c.smoothing)
        new = wrap(reparametrize(moved[:, :, None])[:, :, 0], self.periodic)
        shift = float(np.abs(periodic_delta(new, self.z, self.periodic)).max())
        d_energy = (
            float(np.abs(energies - self.energies).max()) if self.energies is not None else float("inf")
        )
        self.z = new
        self.positions_nm = np.array([r["positions_nm"] for r in results])
        self.energies = energies
        row = {
            "iteration": it + 1,
            "max_displacement_cv": shift,
            "max_energy_change_kcal_mol": d_energy,
            "energies_kcal_mol": energies.tolist(),
            "mean_drift_cv": float(np.abs(drift[1:-1]).mean()) if m > 2 else 0.0,
            "z_equilibrated_offset_cv": float(np.abs(periodic_delta(z_eq, self.z, self.periodic)).mean()),
            "z": self.z.tolist(),
        }
        self.history.append(row)
        return row

    def run(
        self, scheduler: str | None = None, n_workers: int | None = None, progress: bool = True
    ) -> SwarmsResult:
        """Iterate until converged or ``max_iterations``."""
        from .execution import dask_client

        c = self.config
        converged = False
        with dask_client(scheduler, n_workers) as client:  # one cluster for every iteration
            for it in range(c.max_iterations):
                row = self.iterate(it, progress=progress, client=client)
                if (
                    row["max_displacement_cv"] < c.tol_displacement
                    and row["max_energy_change_kcal_mol"] < c.tol_energy_kcal_mol
                ):
                    converged = True
                    break
        return SwarmsResult(
            self.z.copy(),
            nm_to_angstrom(self.positions_nm),
            self.energies,
            converged,
            len(self.history),
            self.history,
        )


def write_swarms_result(
    result: SwarmsResult, cvs: list[CollectiveVariable], out: str | os.PathLike, config: SwarmsConfig
) -> Path:
    """``swarms.json`` (variables, images, energies, history, settings) and ``swarms.npz`` (atomic)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "collective_variables": [v.name for v in cvs],
        "units": {"torsions": "radian", "distances": "angstrom", "energy": "kcal/mol"},
        "converged": result.converged,
        "iterations": result.iterations,
        "z": result.z.tolist(),
        "energies_kcal_mol": None if result.energies is None else result.energies.tolist(),
        "config": config.to_dict(),
        "history": result.history,
    }
    with atomic_file(out / "swarms.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    with atomic_file(out / "swarms.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, z=result.z, structures_angstrom=result.structures)
    return out
