"""Reading frames of a system from trajectory files, with the atoms checked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import mdtraj as md
import numpy as np

from .errors import PathganInputError
from .units import nm_to_angstrom

if TYPE_CHECKING:
    from .system import MolecularSystem

#: Formats whose files carry their own topology (compared atom by atom with the system's).
_SELF_DESCRIBING = {".pdb", ".pdb.gz", ".h5", ".mol2", ".gro", ".cif", ".pdbx"}


def mdtraj_topology(system: MolecularSystem) -> md.Topology:
    """The system's topology as an mdtraj Topology."""
    return md.Topology.from_openmm(system.topology)


def load_frames(path: str | os.PathLike, system: MolecularSystem) -> md.Trajectory:
    """Read a trajectory (any format mdtraj reads) of ``system``, checking its atoms.

    Raises :class:`PathganInputError` naming the file when it is missing, holds
    another number of atoms, atoms of other names or elements, or NaN coordinates.
    """
    path = Path(path)
    if not path.is_file():
        raise PathganInputError(f"{path}: trajectory not found")
    top = mdtraj_topology(system)
    suffix = "".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix
    try:
        if suffix.lower() in _SELF_DESCRIBING:
            traj = md.load(str(path))
        else:
            traj = md.load(str(path), top=top)
    except (ValueError, OSError, IndexError) as err:
        raise PathganInputError(
            f"{path}: cannot be read as a trajectory of {system.source} ({system.n_atoms} atoms): {err}"
        ) from err
    if traj.n_atoms != system.n_atoms:
        raise PathganInputError(
            f"{path}: {traj.n_atoms} atoms per frame, but the system ({system.source}) has {system.n_atoms}"
        )
    if suffix.lower() in _SELF_DESCRIBING:
        for a, b in zip(traj.topology.atoms, top.atoms, strict=True):
            if a.element != b.element:
                raise PathganInputError(
                    f"{path}: atom {a.index} is {a} ({a.element.symbol}), but the system has {b} "
                    f"({b.element.symbol}): the topologies do not match"
                )
        traj.topology = top
    if traj.n_frames == 0:
        raise PathganInputError(f"{path}: no frames")
    bad = ~np.isfinite(traj.xyz).all(axis=(1, 2))
    if bad.any():
        raise PathganInputError(
            f"{path}: NaN or infinite coordinates in frames {np.where(bad)[0][:10].tolist()}"
        )
    return traj


def frames_angstrom(traj: md.Trajectory) -> np.ndarray:
    """Coordinates of a trajectory, shape (n_frames, n_atoms, 3), float64, Angstrom."""
    return nm_to_angstrom(traj.xyz.astype(np.float64))
