"""A path into OpenMM: positions with units, energies by force, relaxation that keeps each frame's place.

A path is any sequence of frames of a system (pathgan's path folder, or any trajectory
mdtraj reads with a matching topology)::

    frames = path_frames("runs/path", system)            # (n_frames, n_atoms, 3) Angstrom, checked
    positions = openmm_positions(frames)                 # list of Quantity (nm), one per frame
    energies = energies_by_force(system, frames)         # {force label: (n_frames,)} kcal/mol
    relaxed = relax_on_path(system, frames)              # restrained minimisation, frame by frame

``relax_on_path`` minimises each frame with a harmonic restraint holding the pulled
distance (default: CA of the first and last residue) at that frame's value, so frames
relax without sliding back along the path.
"""

from __future__ import annotations

import os

import numpy as np
import openmm as mm
import openmm.unit as u

from .energies import OpenMMEvaluator
from .errors import PathganInputError
from .platforms import get_platform
from .pulling import centroid_distance_force
from .system import MolecularSystem
from .units import angstrom_to_nm, nm_to_angstrom


def path_frames(path: str | os.PathLike, system: MolecularSystem) -> np.ndarray:
    """Frames (n_frames, n_atoms, 3) Angstrom of a path folder or trajectory, atoms checked."""
    from pathgan.paths import load_path

    _, xyz = load_path(path, system)
    if len(xyz) < 2:
        raise PathganInputError(f"{path}: a path needs at least 2 frames, got {len(xyz)}")
    return xyz


def openmm_positions(frames_angstrom: np.ndarray) -> list[u.Quantity]:
    """One ``Quantity`` of positions in nm per frame (what ``Context.setPositions`` takes)."""
    x = np.asarray(frames_angstrom, dtype=np.float64)
    if x.ndim != 3 or x.shape[2] != 3:
        raise PathganInputError(f"frames must have shape (n_frames, n_atoms, 3), got {x.shape}")
    if not np.isfinite(x).all():
        f, a = np.argwhere(~np.isfinite(x).all(axis=2))[0]
        raise PathganInputError(f"NaN or infinite coordinates (frame {f}, atom {a})")
    return [u.Quantity(angstrom_to_nm(f), u.nanometer) for f in x]


def energies_by_force(
    system: MolecularSystem, frames_angstrom: np.ndarray, platform: str = "Reference"
) -> dict:
    """OpenMM's energy of each force for every frame, kcal/mol (plus ``total``)."""
    openmm_positions(frames_angstrom)  # validates
    return OpenMMEvaluator(system.system, platform).energies(np.asarray(frames_angstrom))


def relax_on_path(
    system: MolecularSystem,
    frames_angstrom: np.ndarray,
    k_kcal_mol_a2: float = 100.0,
    group_a: list[int] | None = None,
    group_b: list[int] | None = None,
    tolerance_kj_mol_nm: float = 10.0,
    max_iterations: int = 500,
    platform: str = "Reference",
) -> np.ndarray:
    """Each frame minimised with its end-to-end distance restrained to its own value; Angstrom."""
    frames = np.asarray(frames_angstrom, dtype=np.float64)
    openmm_positions(frames)
    if group_a is None or group_b is None:
        i, j = system.end_to_end_atoms()
        group_a, group_b = group_a or [i], group_b or [j]
    md_system = system.md_system(None)
    force = centroid_distance_force(group_a, group_b, k_kcal_mol_a2, 0.0)
    md_system.addForce(force)
    plat, props = get_platform(platform, threads=1)
    context = mm.Context(md_system, mm.VerletIntegrator(0.001), plat, props)
    out = []
    for frame in frames:
        d = np.linalg.norm(frame[group_b].mean(axis=0) - frame[group_a].mean(axis=0))
        context.setParameter("pull_centre", d / 10.0)
        context.setPositions(angstrom_to_nm(frame))
        mm.LocalEnergyMinimizer.minimize(context, tolerance_kj_mol_nm, max_iterations)
        out.append(nm_to_angstrom(context.getState(getPositions=True).getPositions(asNumpy=True)._value))
    return np.array(out)
