"""Candidate paths refined in OpenMM: the best k of a path folder, each with the zero-temperature string.

``pathgan generate --samples N`` ranks its candidates by their TorchMD score (the highest
potential energy along the path); the best ``k`` are refined here, and the string whose highest
energy above its start is lowest (among the converged ones, if any converged) is kept. The
string carries a chirality guard (:func:`~openmm_bridge.stereochemistry.chirality_guard_force`):
it keeps every stereocentre on its side and never counts in the reported energies.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from openmm_bridge.errors import PathganInputError
from openmm_bridge.fileio import atomic_file
from openmm_bridge.stereochemistry import chirality_guard_force
from openmm_bridge.string_method import StringConfig, StringResult, ZeroTemperatureString, write_string_result
from openmm_bridge.system import MolecularSystem

from .paths import load_candidates


def string_images(frames: np.ndarray, n_images: int) -> np.ndarray:
    """``n_images`` frames chosen evenly along a path (all of them when there are fewer)."""
    idx = np.round(np.linspace(0, len(frames) - 1, min(n_images, len(frames)))).astype(int)
    return frames[idx]


def refine_candidates(
    system: MolecularSystem,
    path_folder: str | os.PathLike,
    k: int,
    n_images: int,
    config: StringConfig,
    progress: bool = False,
) -> tuple[StringResult, list[dict[str, Any]]]:
    """Refine the ``k`` best-ranked candidates; return the kept string and a summary of each."""
    _, xyz, ranking = load_candidates(path_folder, system)
    if not 1 <= k <= len(ranking):
        raise PathganInputError(f"{path_folder}: cannot refine the {k} best of {len(ranking)} candidate(s)")
    guard = chirality_guard_force(system.topology, system.positions_angstrom())
    results, rows = [], []
    for rank, sample in enumerate(ranking[:k]):
        images = string_images(xyz[sample], n_images)
        result = ZeroTemperatureString(system.system, images, config, guard).run(progress)
        results.append(result)
        rows.append(
            {
                "rank": rank + 1,
                "sample": int(sample),
                "converged": result.converged,
                "iterations": result.iterations,
                "force_evaluations": result.force_evaluations,
                "barrier_kcal_mol": result.barrier_kcal_mol,
            }
        )
    pool = [i for i, r in enumerate(results) if r.converged] or list(range(len(results)))
    best = min(pool, key=lambda i: results[i].barrier_kcal_mol)
    rows[best]["kept"] = True
    return results[best], rows


def write_refined_candidates(
    result: StringResult,
    rows: list[dict[str, Any]],
    out: str | os.PathLike,
    system: MolecularSystem,
    config: StringConfig,
) -> Path:
    """The kept string (``string.*``), each candidate's summary (``candidates.json``) and ``string.png``."""
    from openmm_bridge.plots import plot_string  # matplotlib, only when a folder is written

    out = Path(out)
    write_string_result(result, out, system.topology, config)
    with atomic_file(out / "candidates.json") as tmp:
        tmp.write_text(json.dumps(rows, indent=2) + "\n")
    plot_string(result.history, out / "string.png", "zero-temperature string")
    return out
