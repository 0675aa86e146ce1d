"""The pull folder written by ``pathgan smd``: its layout, its manifest, its replicas.

::

    DIR/smd.json                  protocol, seeds, system, versions (the manifest)
    DIR/start.pdb                 the starting structure (topology for the DCDs): of every replica
                                  with equilibration_ps 0, else of the equilibration
    DIR/equilibration/            the equilibration at c0 the replicas start from (equilibration_ps > 0;
                                  :mod:`.equilibration`): trajectory.dcd, equilibration.csv, states.npz,
                                  equilibration.json; its record, with each replica's start frame, in smd.json
    DIR/replica_000/              a finished replica (renamed into place when complete):
        trajectory.dcd            frames every ``frame_interval_steps`` (step 0 included)
        pull.csv                  per frame: step, time, centre, distance, force, work (a torsion or
                                  RMSD pull: centre, coordinate, force; ``pulling.pull_columns``)
        summary.json              seed, frames, final work, wall time, versions
    DIR/.replica_001.partial/     a replica in progress: the same files plus
        checkpoint-<step>.chk     the last OpenMM checkpoint and
        progress.json             the step, work and frame count it corresponds to
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import openmm.app as app
import openmm.unit as u

from .errors import PathganDataError, PathganInputError
from .fileio import atomic_file
from .protocol import PullProtocol
from .provenance import versions
from .system import MolecularSystem

MANIFEST = "smd.json"
START_PDB = "start.pdb"
TRAJECTORY = "trajectory.dcd"
PULL_CSV = "pull.csv"
SUMMARY = "summary.json"
FORMAT = "pathgan-smd-1"


def replica_dir(out: str | os.PathLike, index: int) -> Path:
    """Folder of a finished replica."""
    return Path(out) / f"replica_{index:03d}"


def partial_dir(out: str | os.PathLike, index: int) -> Path:
    """Folder of a replica in progress."""
    return Path(out) / f".replica_{index:03d}.partial"


def finished_replicas(out: str | os.PathLike) -> list[Path]:
    """Folders of the finished replicas of a pull folder, in index order."""
    return sorted(p for p in Path(out).glob("replica_[0-9][0-9][0-9]") if (p / SUMMARY).exists())


def replica_seed(base_seed: int, index: int) -> int:
    """Seed of replica ``index``: independent streams from one base seed, never 0 (OpenMM's 'random')."""
    state = np.random.SeedSequence(base_seed, spawn_key=(index,)).generate_state(1)[0]
    return int(state % (2**31 - 2)) + 1


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> None:
    """``data`` as indented JSON, atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2) + "\n")


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a pull folder; a clear error when there is none or it is damaged."""
    path = Path(folder) / MANIFEST
    if not path.exists():
        raise PathganInputError(f"{folder}: not a pull folder (no {MANIFEST})")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise PathganDataError(f"{path}: unreadable manifest ({err})") from err


def recorded_protocol(manifest: dict[str, Any]) -> dict[str, Any]:
    """The protocol of a manifest as a dict; one written before ``equilibration_ps`` existed reads as 0."""
    return {"equilibration_ps": 0.0, **manifest.get("protocol", {})}


def read_protocol(folder: str | os.PathLike) -> PullProtocol:
    """The pull protocol recorded in a pull folder."""
    return PullProtocol.from_dict(
        recorded_protocol(read_manifest(folder)), f"{Path(folder) / MANIFEST}: protocol"
    )


def system_sha256(system_dir: str | os.PathLike) -> str:
    """The sha256 of a system folder's System and structure: the system a pull folder is of, by content.

    A pull folder moved with its project (another path, another machine) is still the same pull.
    """
    from .input_files import sha256_hex
    from .system_folder import STRUCTURE_PDB, SYSTEM_XML

    folder = Path(system_dir)
    return sha256_hex(b"".join((folder / name).read_bytes() for name in (SYSTEM_XML, STRUCTURE_PDB)))


def _differences(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What differs between two manifests' system, seed, protocol and start (a dict of (old, new))."""
    out: dict[str, Any] = {}
    for key in ("system", "base_seed", "protocol", "start"):
        if key == "system" and "system_sha256" in old:  # by content; older manifests by path
            if old["system_sha256"] != new["system_sha256"]:
                out[key] = (old.get(key), new.get(key))
        elif key == "protocol":
            po, pn = recorded_protocol(old), new["protocol"]
            changed = {k: (po.get(k), pn[k]) for k in pn if po.get(k) != pn[k]}
            if changed:
                out[key] = changed
        elif old.get(key) != new.get(key):
            out[key] = (old.get(key), new.get(key))
    return out


def prepare_pull(
    system_dir: str | os.PathLike,
    out: str | os.PathLike,
    n_replicas: int,
    protocol: PullProtocol,
    base_seed: int = 2024,
    start: str | os.PathLike | None = None,
    start_frame: int = 0,
) -> dict[str, Any]:
    """Write (or check) the manifest and ``start.pdb`` of a pull folder; return the manifest.

    ``start``: a structure file (PDB, DCD, ... with the system's atoms) whose frame
    ``start_frame`` replaces the system's positions as the start of every replica
    (e.g. a generated path's t=0 frame).

    Re-running with the same protocol and seed continues the same pull (more replicas
    may be asked for: their seeds extend the list). A different protocol, seed, system or
    start for an existing folder is an error that names the differences.
    """
    from .trajio import load_frames

    if n_replicas <= 0:
        raise PathganInputError(f"the number of replicas must be positive, got {n_replicas}")
    system_dir, out = Path(system_dir), Path(out)
    system = MolecularSystem.load(system_dir)
    protocol = protocol.with_groups(system)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "system": str(system_dir.resolve()),
        "system_sha256": system_sha256(system_dir),
        "base_seed": int(base_seed),
        "protocol": protocol.to_dict(),
        "units": {"distance": "angstrom", "energy": "kcal/mol", "time": "ps"},
        **(
            {"coordinate": protocol.coordinate, "coordinate_unit": protocol.unit}
            if protocol.coordinate
            else {}
        ),
        "n_replicas": int(n_replicas),
        "versions": versions(),
    }
    positions = system.positions
    if start is not None:
        frame = load_frames(start, system)  # atoms checked against the system
        if not 0 <= start_frame < frame.n_frames:
            raise PathganInputError(
                f"{start}: no frame {start_frame} (it has {frame.n_frames}, counted from 0)"
            )
        positions = frame.xyz[start_frame] * u.nanometer
        manifest["start"] = f"{Path(start).resolve()}[{start_frame}]"
    if (out / MANIFEST).exists():
        old = read_manifest(out)
        diff = _differences(old, manifest)
        if diff:
            legacy = ""
            if "equilibration_ps" in diff.get("protocol", {}) and "equilibration_ps" not in old["protocol"]:
                legacy = (
                    " (its smd.json predates equilibration_ps: its replicas start from the minimised "
                    "structure, equilibration_ps 0)"
                )
            raise PathganInputError(
                f"{out}: holds a pull with another {', '.join(diff)} ({diff}){legacy}; choose another --out"
            )
        manifest["n_replicas"] = max(n_replicas, old.get("n_replicas", 0))
        if "equilibration" in old:  # the record of a finished equilibration (openmm_bridge.equilibration)
            manifest["equilibration"] = old["equilibration"]
    manifest["seeds"] = [replica_seed(base_seed, i) for i in range(manifest["n_replicas"])]
    out.mkdir(parents=True, exist_ok=True)
    if not (out / START_PDB).exists():
        with atomic_file(out / START_PDB) as tmp, open(tmp, "w") as f:
            app.PDBFile.writeFile(system.topology, positions, f, keepIds=True)
    write_json(out / MANIFEST, manifest)
    return manifest
