"""The paths of a run on the plane of two torsions, over the free-energy surface (``landscape`` stage).

For a small molecule whose transition two torsions describe (alanine dipeptide's phi and
psi), the report draws the reference pulls, the generated candidates and the refined string
on the metadynamics surface (:mod:`openmm_bridge.torsion_landscape`) and reads off numbers a
practitioner checks first: the basins' free-energy difference, the barrier of each route, where
the string crosses, and how many candidates end in the end state. Degrees and kcal/mol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from openmm_bridge.collective_variables import available_torsions
from openmm_bridge.plots import plt, save_figure
from openmm_bridge.pull_coordinates import dihedral_degrees
from openmm_bridge.system import MolecularSystem
from openmm_bridge.torsion_landscape import Box, Landscape, in_box
from openmm_bridge.trajio import mdtraj_topology
from openmm_bridge.units import kcal_to_kj

#: phi in (0, 131.8) degrees against the rest: the basin split of Invernizzi and Parrinello's
#: alanine-dipeptide free-energy difference (0 < phi < 2.3 rad), for a like-for-like comparison.
PHI_POSITIVE_BAND = (0.0, float(np.degrees(2.3)))


def torsion_angles(xyz_angstrom: np.ndarray, system: MolecularSystem, names: tuple[str, str]) -> np.ndarray:
    """The two torsions of every frame: (..., n_atoms, 3) Angstrom -> (..., 2) degrees in (-180, 180]."""
    torsions = available_torsions(mdtraj_topology(system))
    xyz = np.asarray(xyz_angstrom, dtype=np.float64)
    flat = xyz.reshape(-1, *xyz.shape[-2:])
    angles = np.stack([dihedral_degrees(flat, torsions[name]) for name in names], axis=-1)
    return angles.reshape(*xyz.shape[:-2], 2)


def _fraction_in(points: np.ndarray, box: Box) -> float:
    """Fraction of (x, y) points (n, 2) degrees inside ``box``."""
    return float(np.mean(in_box(points[:, 0], points[:, 1], box))) if len(points) else float("nan")


def landscape_summary(
    landscape: Landscape,
    start: Box,
    end: Box,
    candidates: np.ndarray,
    pulls: list[np.ndarray],
    string: np.ndarray,
    string_energies_kcal_mol: np.ndarray,
) -> dict[str, Any]:
    """The numbers of the (x, y)-plane section of the report.

    Parameters
    ----------
    landscape
        The free-energy surface.
    start, end
        The end states as boxes ((x_lo, x_hi), (y_lo, y_hi)), degrees.
    candidates
        (n_paths, n_frames, 2) degrees: the generated paths.
    pulls
        Each (n_frames, 2) degrees: the reference pulls.
    string
        (n_images, 2) degrees: the refined string.
    string_energies_kcal_mol
        (n_images,) OpenMM potential energies of the string's images (0 K), kcal/mol.
    """
    f_start, f_end = landscape.basin_free_energy(start), landscape.basin_free_energy(end)
    start_min = landscape.minimum(start)
    via_zero = landscape.saddle(start, end, avoid_x=(150.0, 210.0))
    via_180 = landscape.saddle(start, end, avoid_x=(-30.0, 30.0))
    phi_positive = ((PHI_POSITIVE_BAND[0], PHI_POSITIVE_BAND[1]), (-180.0, 180.0))
    rest = ((PHI_POSITIVE_BAND[1], 360.0), (-180.0, 180.0))
    along = landscape.at(string[:, 0], string[:, 1])
    top = int(np.argmax(along))
    e = np.asarray(string_energies_kcal_mol, dtype=np.float64)
    # the string's ends are the candidates' frames, not minima: its barrier is counted from the
    # lowest image on the start side of the highest one (the start basin's bottom along it)
    top_e = int(np.argmax(e))
    barrier = float(e[top_e] - e[: top_e + 1].min())
    return {
        "torsions": list(landscape.names),
        "free_energy_difference_kcal_mol": f_end - f_start,
        "free_energy_difference_phi_positive_kcal_mol": landscape.basin_free_energy(phi_positive)
        - landscape.basin_free_energy(rest),
        "start_minimum": {"free_energy_kcal_mol": start_min[0], "x_deg": start_min[1], "y_deg": start_min[2]},
        "barrier_via_x0_kcal_mol": via_zero[0] - start_min[0],
        "saddle_via_x0_deg": [via_zero[1], via_zero[2]],
        "barrier_via_x180_kcal_mol": via_180[0] - start_min[0],
        "saddle_via_x180_deg": [via_180[1], via_180[2]],
        "metadynamics_half_vs_full_kcal_mol": landscape.metadata.get("half_kcal_mol"),
        "candidates_start_in_start_basin": _fraction_in(candidates[:, 0], start),
        "candidates_end_in_end_basin": _fraction_in(candidates[:, -1], end),
        "pulls_end_in_end_basin": _fraction_in(np.array([p[-1] for p in pulls]), end),
        "string_highest_free_energy_kcal_mol": float(along[top]) - start_min[0],
        "string_highest_free_energy_at_deg": [float(string[top, 0]), float(string[top, 1])],
        "string_max_energy_above_start_kcal_mol": float(e.max() - e[0]),
        "string_barrier_kcal_mol": barrier,
        "string_barrier_kj_mol": kcal_to_kj(barrier),
        "string_max_energy_kj_mol": kcal_to_kj(float(e.max())),
        "string_max_energy_at_deg": [
            float(string[int(np.argmax(e)), 0]),
            float(string[int(np.argmax(e)), 1]),
        ],
    }


def plot_paths_on_landscape(
    landscape: Landscape,
    candidates: np.ndarray,
    pulls: list[np.ndarray],
    heldout: list[bool],
    string: np.ndarray,
    boxes: tuple[Box, Box] | None,
    path: str | Path,
) -> None:
    """The surface (filled contours, 1 kcal/mol apart up to 12) with the pulls, the candidates and the string."""
    fig, ax = plt.subplots(figsize=(7, 6))
    f = np.minimum(landscape.free_energy_kcal_mol, 12.0)
    im = ax.contourf(landscape.x_deg, landscape.y_deg, f, levels=np.arange(0.0, 12.5, 1.0), cmap="viridis")
    fig.colorbar(im, label="free energy (kcal/mol)")

    def line(xy: np.ndarray, **style: Any) -> None:
        # break the line where it wraps around +-180, so that it is not drawn across the plane
        jumps = np.where(np.abs(np.diff(xy, axis=0)).max(axis=1) > 180.0)[0] + 1
        for k, piece in enumerate(np.split(xy, jumps)):
            ax.plot(piece[:, 0], piece[:, 1], **(style if k == 0 else {**style, "label": None}))

    for k, (pull, is_heldout) in enumerate(zip(pulls, heldout, strict=True)):
        first = k == 0 or (is_heldout and not any(heldout[:k]))
        label = ("held-out pull" if is_heldout else "training pull") if first else None
        line(pull, color="w" if is_heldout else "0.75", lw=0.7, alpha=0.8, label=label)
    for k, cand in enumerate(candidates):
        line(cand, color="C1", lw=0.9, alpha=0.6, label="generated candidate" if k == 0 else None)
    line(string, color="r", lw=2.5, marker="o", ms=3, label="refined string (0 K)")
    if boxes is not None:
        for box, name in zip(boxes, ("start", "end"), strict=True):
            (x0, x1), (y0, y1) = box
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", ls="--", lw=1))
            ax.annotate(name, (x0, y1), xytext=(2, 2), textcoords="offset points", fontsize=8)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-180, 180)
    ax.set_xlabel(f"{landscape.names[0]} (degrees)")
    ax.set_ylabel(f"{landscape.names[1]} (degrees)")
    ax.set_title(f"paths over the free energy from metadynamics ({landscape.temperature_k:g} K)")
    ax.legend(loc="lower left", fontsize=7, framealpha=0.7)
    save_figure(fig, path)


def landscape_section(run_dir: Path, out_png: Path) -> dict[str, Any] | None:
    """The figure and numbers of a run whose ``landscape`` stage ran (None when it was off)."""
    import json
    import warnings

    import yaml

    from openmm_bridge.energies import OpenMMEvaluator

    from .paths import load_candidates, load_path

    folder = run_dir / "landscape"
    if not (folder / "landscape.npz").exists():
        return None
    landscape = Landscape.load(folder)
    settings = yaml.safe_load((run_dir / "config.yaml").read_text()).get("landscape", {})
    boxes = None
    if settings.get("start_basin") and settings.get("end_basin"):
        boxes = tuple(tuple(tuple(r) for r in settings[k]) for k in ("start_basin", "end_basin"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.load(run_dir / "system")
    names = landscape.names
    _, cand_xyz, _ = load_candidates(run_dir / "path", system)
    candidates = torsion_angles(cand_xyz, system, names)
    _, string_xyz = load_path(run_dir / "refine" / "string.dcd", system)
    string = torsion_angles(string_xyz, system, names)
    ensemble = json.loads((run_dir / "compare" / "ensemble.json").read_text())
    heldout_names = {Path(p).parent.name for p in ensemble.get("heldout_replicas", [])}
    pulls, heldout, pull_frames = [], [], []
    for replica in sorted((run_dir / "smd").glob("replica_*")):
        _, xyz = load_path(replica / "trajectory.dcd", system)
        pull_frames.append(xyz)
        pulls.append(torsion_angles(xyz, system, names))
        heldout.append(replica.name in heldout_names)
    plot_paths_on_landscape(landscape, candidates, pulls, heldout, string, boxes, out_png)
    if boxes is None:
        return {"torsions": list(names)}
    energies = json.loads((run_dir / "refine" / "string.json").read_text())["energies_kcal_mol"]
    summary = landscape_summary(landscape, boxes[0], boxes[1], candidates, pulls, string, energies)
    # what ML path generators report: the highest potential energy along each path, absolute, kJ/mol
    evaluator = OpenMMEvaluator(system.system)
    pull_max = [kcal_to_kj(float(evaluator.energies(xyz)["total"].max())) for xyz in pull_frames]
    cand_max = [kcal_to_kj(float(evaluator.energies(xyz)["total"].max())) for xyz in cand_xyz]
    summary["pulls_max_energy_kj_mol"] = [float(np.mean(pull_max)), float(np.std(pull_max))]
    summary["candidates_max_energy_kj_mol"] = [float(np.mean(cand_max)), float(np.std(cand_max))]
    return summary
