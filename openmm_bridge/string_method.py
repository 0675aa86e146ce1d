"""The zero-temperature string method (E, Ren and Vanden-Eijnden 2002, 2007) with OpenMM forces.

A string is a chain of images between two end states. Each iteration

1. evaluates OpenMM's energy and forces on every moving image (one Context, Reference
   platform by default; every evaluation is counted);
2. moves each interior image along the component of its force perpendicular to the path
   (tangent by central differences), ``dx = step_size * F_perp``, capped at
   ``max_step_angstrom`` per atom; free end images follow their full force;
3. removes rigid-body motion by superposing every image on its predecessor (Cartesian);
4. redistributes the images at equal arc length along the polyline through them.

It has converged when the largest RMS displacement of an image in an iteration is below
``tol_displacement_angstrom`` and the largest change of the energy profile below
``tol_energy_kcal_mol``. Units at the interface: Angstrom and kcal/mol.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm

from .context import get_platform
from .energies import OpenMMEvaluator
from .errors import PathganInputError
from .fileio import atomic_file
from .settings import Settings, non_negative, one_of, positive
from .superpose import align_chain
from .trajio import write_trajectory


@dataclasses.dataclass
class StringConfig(Settings):
    """Settings of the zero-temperature string (Angstrom, kcal/mol)."""

    max_iterations: int = positive(2000)
    step_size: float = positive(5e-4)  # Angstrom^2 / (kcal/mol): displacement per unit force
    max_step_angstrom: float = positive(0.02)  # cap on any atom's move in one iteration
    tol_displacement_angstrom: float = non_negative(2e-3)
    tol_energy_kcal_mol: float = non_negative(0.05)
    fixed_ends: bool = True
    align: bool = True
    # "full": the simplified string (E, Ren, Vanden-Eijnden 2007)
    projection: str = one_of(("perpendicular", "full"), "perpendicular")
    save_every: int = positive(10)
    platform: str = "Reference"

    def check(self, where: str) -> None:
        """The platform must exist."""
        get_platform(self.platform)


def arc_length(images: np.ndarray) -> np.ndarray:
    """Cumulative arc length (Euclidean, all coordinates) at each image, (n_images,), Angstrom."""
    seg = np.linalg.norm((images[1:] - images[:-1]).reshape(len(images) - 1, -1), axis=1)
    return np.concatenate([[0.0], np.cumsum(seg)])


def reparametrize(
    images: np.ndarray, arc: np.ndarray | None = None, n_images: int | None = None
) -> np.ndarray:
    """Images at equal arc length along the polyline (linear interpolation), the ends kept.

    ``arc``: (n_images,) cumulative arc length at each image in a metric of the caller's
    (default :func:`arc_length`, Euclidean over all coordinates); ``n_images``: how many come
    out (default as many as go in).
    """
    s = arc_length(images) if arc is None else np.asarray(arc, dtype=np.float64)
    if s[-1] <= 0:
        raise PathganInputError("string: all images coincide (zero length)")
    n = len(images) if n_images is None else int(n_images)
    target = np.linspace(0.0, s[-1], n)
    flat = images.reshape(len(images), -1)
    seg = np.clip(np.searchsorted(s, target, side="right") - 1, 0, len(images) - 2)
    w = (target - s[seg]) / np.maximum(s[seg + 1] - s[seg], 1e-300)
    out = flat[seg] * (1 - w[:, None]) + flat[seg + 1] * w[:, None]
    out[0], out[-1] = flat[0], flat[-1]
    return out.reshape((n, *images.shape[1:]))


def tangents(images: np.ndarray) -> np.ndarray:
    """Unit tangents (n_images, n_atoms, 3) by central differences (one-sided at the ends)."""
    t = np.empty_like(images)
    t[1:-1] = images[2:] - images[:-2]
    t[0] = images[1] - images[0]
    t[-1] = images[-1] - images[-2]
    norms = np.linalg.norm(t.reshape(len(t), -1), axis=1)
    return t / np.maximum(norms, 1e-300)[:, None, None]


def check_images(images_angstrom: np.ndarray, n_atoms: int, where: str = "string") -> np.ndarray:
    """Validated float64 copy of (n_images, n_atoms, 3) images."""
    x = np.array(images_angstrom, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise PathganInputError(f"{where}: images must have shape (n_images, n_atoms, 3), got {x.shape}")
    if x.shape[0] < 3:
        raise PathganInputError(f"{where}: a string needs at least 3 images, got {x.shape[0]}")
    if x.shape[1] != n_atoms:
        raise PathganInputError(f"{where}: {x.shape[1]} atoms per image, but the system has {n_atoms}")
    bad = ~np.isfinite(x).all(axis=2)
    if bad.any():
        i, a = np.argwhere(bad)[0]
        raise PathganInputError(f"{where}: NaN or infinite coordinates (image {i}, atom {a})")
    if np.allclose(x[0], x[-1], atol=1e-6):
        raise PathganInputError(f"{where}: the two end states are the same structure")
    return x


@dataclass
class StringResult:
    """Outcome of a string run: final images (A), energies (kcal/mol), history, cost."""

    images: np.ndarray
    energies: np.ndarray
    converged: bool
    iterations: int
    force_evaluations: int
    history: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[np.ndarray] = field(default_factory=list)

    @property
    def barrier_kcal_mol(self) -> float:
        """Highest energy along the path above the first image."""
        return float(self.energies.max() - self.energies[0])


class ZeroTemperatureString:
    """The zero-temperature string on an OpenMM System (see the module docstring)."""

    def __init__(
        self,
        system: mm.System,
        images_angstrom: np.ndarray,
        config: StringConfig | None = None,
        guard: mm.Force | None = None,
    ) -> None:
        self.config = config or StringConfig()
        self.config.validate("string")
        if guard is not None:  # a bias (e.g. a chirality guard): it pushes, its energy is not reported
            system = mm.XmlSerializer.deserialize(mm.XmlSerializer.serialize(system))
            system.addForce(copy.deepcopy(guard))
        self.evaluator = OpenMMEvaluator(
            system, self.config.platform, () if guard is None else (guard.getName(),)
        )
        x = check_images(images_angstrom, self.evaluator.n_atoms)
        if self.config.align:
            x = align_chain(x)
        self.images = reparametrize(x)
        self._end_cache: dict[int, tuple[float, np.ndarray]] = {}

    def _energies_forces(self) -> tuple[np.ndarray, np.ndarray]:
        m = len(self.images)
        energies = np.empty(m)
        forces = np.empty_like(self.images)
        for i in range(m):
            end = i in (0, m - 1)
            if end and self.config.fixed_ends and i in self._end_cache:
                energies[i], forces[i] = self._end_cache[i]
                continue
            energies[i], forces[i] = self.evaluator.energy_and_forces(self.images[i])
            if end and self.config.fixed_ends:
                self._end_cache[i] = (energies[i], forces[i])
        return energies, forces

    def step(self) -> tuple[np.ndarray, float]:
        """One iteration; returns the energies before the move and the largest image displacement (A)."""
        c = self.config
        energies, forces = self._energies_forces()
        tau = tangents(self.images)
        move = forces.copy()
        if c.projection == "perpendicular":
            dot = (forces * tau).sum(axis=(1, 2))
            move[1:-1] -= dot[1:-1, None, None] * tau[1:-1]
        if c.fixed_ends:
            move[0] = move[-1] = 0.0
        disp = c.step_size * move
        biggest = np.linalg.norm(disp, axis=2).max(axis=1)
        scale = np.minimum(1.0, c.max_step_angstrom / np.maximum(biggest, 1e-300))
        new = self.images + disp * scale[:, None, None]
        if c.align:
            new = align_chain(new)
        new = reparametrize(new)
        old = align_chain(self.images) if c.align else self.images
        shift = np.sqrt(((new - old) ** 2).sum(axis=2).mean(axis=1)).max()
        self.images = new
        return energies, float(shift)

    def run(self, progress: bool = False) -> StringResult:
        """Iterate until converged or ``max_iterations``; keep the history."""
        from tqdm.auto import tqdm

        c = self.config
        history: list[dict[str, Any]] = []
        snapshots = [self.images.copy()]
        previous = None
        converged = False
        bar = tqdm(range(c.max_iterations), desc="string", unit="it", disable=not progress)
        for it in bar:
            energies, shift = self.step()
            d_energy = float(np.abs(energies - previous).max()) if previous is not None else float("inf")
            previous = energies
            history.append(
                {
                    "iteration": it + 1,
                    "max_displacement_angstrom": shift,
                    "max_energy_change_kcal_mol": d_energy,
                    "barrier_kcal_mol": float(energies.max() - energies[0]),
                    "force_evaluations": self.evaluator.evaluations,
                    "energies_kcal_mol": energies.tolist(),
                }
            )
            if (it + 1) % c.save_every == 0:
                snapshots.append(self.images.copy())
            bar.set_postfix(shift=f"{shift:.1e}", dE=f"{d_energy:.1e}")
            if shift < c.tol_displacement_angstrom and d_energy < c.tol_energy_kcal_mol:
                converged = True
                break
        final, _ = self._energies_forces()
        snapshots.append(self.images.copy())
        return StringResult(
            self.images.copy(), final, converged, len(history), self.evaluator.evaluations, history, snapshots
        )


def write_string_result(
    result: StringResult,
    out: str | os.PathLike,
    topology: mm.app.Topology | None = None,
    config: StringConfig | None = None,
) -> Path:
    """``string.json`` (history, energies, cost, settings), ``string.npz`` (snapshots) and, with a
    topology, ``string.dcd`` + ``string.pdb`` (the final images); all atomic."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "converged": result.converged,
        "iterations": result.iterations,
        "force_evaluations": result.force_evaluations,
        "barrier_kcal_mol": result.barrier_kcal_mol,
        "energies_kcal_mol": result.energies.tolist(),
        "config": asdict(config) if config is not None else None,
        "history": result.history,
    }
    with atomic_file(out / "string.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    with atomic_file(out / "string.npz") as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, images=result.images, snapshots=np.stack(result.snapshots))
    if topology is not None:
        import mdtraj as md

        top = md.Topology.from_openmm(topology)
        write_trajectory(result.images, top, out / "string.dcd")
        write_trajectory(result.images[:1], top, out / "string.pdb")
    return out
