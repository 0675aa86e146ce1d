"""Trajectory files of a system: reading frames with the atoms checked, writing, cutting back.

Every trajectory read in pathgan goes through :func:`load_frames` (or :func:`read_dcd`), which
also silences the chatter that mdtraj's DCD reader prints from C (``dcdplugin) detected
standard 32-bit DCD file ...``). Coordinates leave this module in Angstrom.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import mdtraj as md
import numpy as np
import openmm.app as app
import openmm.unit as u

from .errors import PathganDataError, PathganInputError
from .fileio import atomic_file
from .units import angstrom_to_nm, nm_to_angstrom

if TYPE_CHECKING:
    from .system import MolecularSystem

#: Formats whose files carry their own topology (compared atom by atom with the system's).
_SELF_DESCRIBING = {".pdb", ".pdb.gz", ".h5", ".mol2", ".gro", ".cif", ".pdbx"}


@contextlib.contextmanager
def quiet_c_stdout() -> Iterator[None]:
    """Send what C code prints to standard output (file descriptor 1) to /dev/null meanwhile."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no real standard output: nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None).fflush(None)  # what the C library still buffers goes to /dev/null too
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def mdtraj_topology(system: MolecularSystem) -> md.Topology:
    """The system's topology as an mdtraj Topology."""
    return md.Topology.from_openmm(system.topology)


def _suffix(path: Path) -> str:
    return ("".join(path.suffixes[-2:]) if path.name.endswith(".gz") else path.suffix).lower()


def read_trajectory(path: str | os.PathLike, top: md.Topology | str | None = None) -> md.Trajectory:
    """``md.load`` without the DCD reader's chatter; ``top`` for formats without a topology."""
    with quiet_c_stdout():
        return md.load(str(path), top=top) if top is not None else md.load(str(path))


def load_frames(path: str | os.PathLike, system: MolecularSystem) -> md.Trajectory:
    """Read a trajectory (any format mdtraj reads) of ``system``, checking its atoms.

    Raises :class:`PathganInputError` naming the file when it is missing, holds
    another number of atoms, atoms of other names or elements, or NaN coordinates.
    """
    path = Path(path)
    if not path.is_file():
        raise PathganInputError(f"{path}: trajectory not found")
    top = mdtraj_topology(system)
    self_describing = _suffix(path) in _SELF_DESCRIBING
    try:
        traj = read_trajectory(path, None if self_describing else top)
    except (ValueError, OSError, IndexError) as err:
        raise PathganInputError(
            f"{path}: cannot be read as a trajectory of {system.source} ({system.n_atoms} atoms): {err}"
        ) from err
    if traj.n_atoms != system.n_atoms:
        raise PathganInputError(
            f"{path}: {traj.n_atoms} atoms per frame, but the system ({system.source}) has {system.n_atoms}"
        )
    if self_describing:
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


#: mdtraj's writer of each file suffix.
_WRITERS = {".dcd": "save_dcd", ".pdb": "save_pdb", ".xtc": "save_xtc", ".h5": "save_hdf5"}


def write_trajectory(xyz_angstrom: np.ndarray, topology: md.Topology, path: str | os.PathLike) -> Path:
    """Frames (n_frames, n_atoms, 3) Angstrom to a DCD, PDB, XTC or HDF5 file (by suffix), atomically."""
    path = Path(path)
    writer = _WRITERS.get(path.suffix.lower())
    if writer is None:
        raise PathganInputError(f"{path}: cannot write this format; use one of {sorted(_WRITERS)}")
    xyz = angstrom_to_nm(np.asarray(xyz_angstrom, dtype=np.float64)).astype(np.float32)
    with atomic_file(path) as tmp:
        getattr(md.Trajectory(xyz.reshape(-1, topology.n_atoms, 3), topology), writer)(str(tmp))
    return path


def truncate_dcd(
    path: str | os.PathLike,
    n_frames: int,
    topology: app.Topology,
    dt_ps: float,
    interval: int,
    first_step: int = 0,
) -> None:
    """Cut a DCD back to its first ``n_frames`` frames (atomically), with a header that says so.

    The frames are read with mdtraj's DCD reader (Angstrom, as stored) and written again with
    OpenMM's ``DCDFile`` (``first_step``, ``interval``, ``dt_ps`` as the run that wrote them),
    bit for bit the same coordinates. Raises :class:`PathganDataError` when the file holds fewer.
    """
    from mdtraj.formats import DCDTrajectoryFile

    path = Path(path)
    try:
        with quiet_c_stdout(), DCDTrajectoryFile(str(path)) as fh:
            xyz, _lengths, _angles = fh.read(n_frames)
    except (OSError, ValueError, IndexError) as err:
        raise PathganDataError(f"{path}: not a readable DCD file ({err})") from err
    if len(xyz) < n_frames:
        raise PathganDataError(
            f"{path}: holds {len(xyz)} whole frames, fewer than the {n_frames} checkpointed"
        )
    with atomic_file(path) as tmp, open(tmp, "wb") as out:
        dcd = app.DCDFile(out, topology, dt_ps * u.picosecond, firstStep=first_step, interval=interval)
        for frame in xyz:  # float64 through OpenMM's nm conversion: the float32 values come back exactly
            dcd.writeModel(frame.astype(np.float64) * u.angstrom)


def truncate_csv(path: str | os.PathLike, n_rows: int) -> None:
    """Keep the header and the first ``n_rows`` data rows of a CSV file (atomically)."""
    path = Path(path)
    lines = path.read_text().splitlines(keepends=True)
    if len(lines) < n_rows + 1:
        raise PathganDataError(f"{path}: holds {len(lines) - 1} rows, fewer than the {n_rows} checkpointed")
    with atomic_file(path) as tmp:
        tmp.write_text("".join(lines[: n_rows + 1]))
