"""A path into OpenMM: positions with units, energies by force, relaxation that keeps each frame's place.

A path is any sequence of frames of a system, (n_frames, n_atoms, 3) in Angstrom (read one
with ``pathgan.paths.load_path``, or :func:`~openmm_bridge.trajio.load_frames`)::

    positions = openmm_positions(frames)                 # list of Quantity (nm), one per frame
    energies = energies_by_force(system, frames)         # {force label: (n_frames,)} kcal/mol
    relaxed = relax_on_path(system, frames)              # restrained minimisation, frame by frame

``relax_on_path`` minimises each frame with a harmonic restraint holding the pulled
distance (default: CA of the first and last residue) at that frame's value, so frames
relax without sliding back along the path.
"""

from __future__ import annotations

import numpy as np
import openmm as mm
import openmm.unit as u

from .context import make_context
from .distances import centroid_distance
from .energies import OpenMMEvaluator
from .errors import PathganInputError
from .pull_forces import centroid_distance_force
from .system import MolecularSystem
from .units import angstrom_to_nm


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
    context = make_context(md_system, platform)
    out = []
    for frame in frames:
        context.setParameter("pull_centre", angstrom_to_nm(float(centroid_distance(frame, group_a, group_b))))
        context.setPositions(angstrom_to_nm(frame))
        mm.LocalEnergyMinimizer.minimize(context, tolerance_kj_mol_nm, max_iterations)
        out.append(context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom))
    return np.array(out)
