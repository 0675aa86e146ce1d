"""The free-energy files: a pull folder's tables, PMF tables, plots and JSON, and an umbrella run's folder.

What ``pathgan pmf`` reads and writes; the estimators themselves are in :mod:`.jarzynski`.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PathganDataError, PathganInputError
from .fileio import atomic_file
from .jarzynski import PMF, hummer_szabo_pmf, jarzynski_pmf
from .plots import plot_pmf, plot_work
from .provenance import versions
from .pull_folder import PULL_CSV, finished_replicas, read_manifest


def read_pull_csv(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Columns of a ``pull.csv`` (see :data:`~openmm_bridge.pulling.PULL_COLUMNS`) as arrays."""
    path = Path(path)
    try:
        data = np.genfromtxt(path, delimiter=",", names=True, dtype=np.float64)
    except (OSError, ValueError) as err:
        raise PathganDataError(f"{path}: cannot read the pull table ({err})") from err
    if data.size == 0 or data.dtype.names is None:
        raise PathganDataError(f"{path}: empty pull table")
    return {name: np.atleast_1d(data[name]) for name in data.dtype.names}


@dataclass
class PullData:
    """Work and pulled coordinate of the finished replicas of a pull folder (kcal/mol).

    The field names are historical: for a torsion pull ``centre_angstrom`` and
    ``distance_angstrom`` hold the centre and the torsion in degrees (``unit``), the torsion
    unwrapped onto the centre's real line (within 180 degrees of the centre).
    """

    centre_angstrom: np.ndarray  # (n_points,)
    distance_angstrom: np.ndarray  # (n_replicas, n_points)
    work_kcal_mol: np.ndarray  # (n_replicas, n_points)
    replicas: list[Path]
    kind: str = "distance"
    unit: str = "A"


def _columns(table: dict[str, np.ndarray], path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Centre and coordinate of a pull table, distance (old) columns or generic ones."""
    for centre, value in (("centre_angstrom", "distance_angstrom"), ("centre", "coordinate")):
        if centre in table and value in table:
            return table[centre], table[value]
    raise PathganDataError(f"{path}: no centre/coordinate columns (has {sorted(table)})")


def load_work(smd_dir: str | os.PathLike) -> PullData:
    """Centres, coordinate values and work of the finished replicas of a pull folder."""
    reps = finished_replicas(smd_dir)
    if not reps:
        raise PathganInputError(f"{smd_dir}: no finished replicas (replica_*/summary.json)")
    kind = (read_manifest(smd_dir)["protocol"].get("coordinate") or {}).get("kind", "distance")
    tables = [read_pull_csv(r / PULL_CSV) for r in reps]
    columns = [_columns(t, r / PULL_CSV) for r, t in zip(reps, tables, strict=True)]
    centre = columns[0][0]
    for r, (c, _) in zip(reps, columns, strict=True):
        if c.shape != centre.shape or not np.allclose(c, centre, atol=1e-5):
            raise PathganDataError(f"{r / PULL_CSV}: its centres differ from {reps[0] / PULL_CSV}'s")
    values = np.stack([v for _, v in columns])
    if kind == "torsion":  # unwrap: the torsion nearest its centre, so a pull may cross 180 degrees
        values = centre + (values - centre + 180.0) % 360.0 - 180.0
    work = np.stack([t["work_kcal_mol"] for t in tables])
    return PullData(centre, values, work, reps, kind, "deg" if kind == "torsion" else "A")


def write_pmf_csv(pmf: PMF, path: str | os.PathLike) -> None:
    """Write the PMF table (atomically)."""
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(pmf.COLUMNS)
        for row in pmf.rows():
            writer.writerow([f"{v:.4f}" for v in row])


def analyse_pulls(
    smd: str | os.PathLike, out: str | os.PathLike | None = None, n_bootstrap: int = 200, seed: int = 0
) -> tuple[dict[str, Any], PMF, PullData, np.ndarray, np.ndarray]:
    """PMF along the centre (Jarzynski) and along the pulled coordinate (Hummer-Szabo) of a pull folder.

    Writes ``pmf.csv``, ``pmf_distance.csv`` (``pmf_coordinate.csv`` for a torsion or an RMSD
    pull), ``pmf.json``, ``work.png`` and ``pmf.png`` to ``out`` (default: the pull folder).
    Returns the JSON metadata, the PMF, the pull data and the coordinate-PMF (bin centres in
    Angstrom or degrees, kcal/mol).
    """
    smd = Path(smd)
    proto = read_manifest(smd)["protocol"]
    temperature = proto["temperature_k"]
    data = load_work(smd)
    pmf = jarzynski_pmf(
        data.centre_angstrom, data.work_kcal_mol, temperature, n_bootstrap=n_bootstrap, seed=seed
    )
    k, width, name = proto["k_kcal_mol_a2"], 0.5, "distance_angstrom"
    if data.kind == "torsion":
        # k is per rad^2: per deg^2 here. A torsion is 1-D, so no Jacobian (unlike a distance's
        # 4 pi r^2) enters; the unwrapped torsion is binned on the centre's real line.
        k, width, name = k * (np.pi / 180.0) ** 2, 5.0, "torsion_deg"
    elif data.kind == "rmsd":
        name = "rmsd_angstrom"
    values = data.distance_angstrom
    lo, hi = np.floor(values.min() / width) * width, np.ceil(values.max() / width) * width
    z, g_z = hummer_szabo_pmf(
        values, data.centre_angstrom, data.work_kcal_mol, k, temperature, np.arange(lo, hi + width / 2, width)
    )
    out = Path(out) if out else smd
    out.mkdir(parents=True, exist_ok=True)
    write_pmf_csv(pmf, out / "pmf.csv")
    plot_work(data.centre_angstrom, data.work_kcal_mol, pmf, out / "work.png", data.unit)
    plot_pmf(pmf, out / "pmf.png", (z, g_z), data.unit, data.kind)
    table = "pmf_distance.csv" if data.kind == "distance" else "pmf_coordinate.csv"
    with atomic_file(out / table) as tmp:
        lines = [f"{name},pmf_kcal_mol"] + [f"{a:.3f},{b:.4f}" for a, b in zip(z, g_z, strict=True)]
        tmp.write_text("\n".join(lines) + "\n")
    along = {
        "method": f"Hummer-Szabo (PNAS 98, 3658 (2001)), {width:g} {data.unit} bins",
        name: [round(float(v), 3) for v in z],
        "pmf_kcal_mol": [None if not np.isfinite(v) else round(float(v), 4) for v in g_z],
    }
    meta = {
        "replicas": [r.name for r in data.replicas],
        "temperature_k": temperature,
        "n_bootstrap": n_bootstrap,
        "bootstrap_seed": seed,
        "final_pmf_exponential_kcal_mol": float(pmf.exponential[-1]),
        "final_pmf_cumulant_kcal_mol": float(pmf.cumulant[-1]),
        "final_mean_work_kcal_mol": float(pmf.mean_work[-1]),
        "coordinate": {"kind": data.kind, "unit": data.unit},
        "pmf_along_distance" if data.kind == "distance" else "pmf_along_coordinate": along,
        "protocol": proto,
        "versions": versions(),
    }
    with atomic_file(out / "pmf.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    return meta, pmf, data, z, g_z


def compare_work(
    this: str | os.PathLike, other: str | os.PathLike, plot: str | os.PathLike
) -> list[tuple[str, int, float, float]]:
    """The final work of two pull folders (label, replicas, mean, s.d.; kcal/mol), their mean work plotted."""
    from .plots import plot_work_comparison

    rows, curves = [], []
    for folder in (this, other):
        d = load_work(folder)
        w = d.work_kcal_mol[:, -1]
        rows.append((str(folder), len(w), float(w.mean()), float(w.std(ddof=1)) if len(w) > 1 else 0.0))
        curves.append(
            (
                f"{Path(folder).name} (mean of {len(d.replicas)})",
                d.centre_angstrom,
                d.work_kcal_mol.mean(axis=0),
            )
        )
    plot_work_comparison(curves, plot)
    return rows


def write_umbrella_folder(
    out: str | os.PathLike,
    protocol: dict[str, Any],
    windows: list[dict[str, Any]],
    pmf: dict[str, Any],
    pull_dir: str | None = None,
) -> dict[str, Any]:
    """The files of an umbrella run along a distance; returns what ``umbrella.json`` holds.

    ``pmf``: :func:`~openmm_bridge.mbar.umbrella_pmf`'s result; ``windows``: the windows'
    results (``centre_angstrom``, ``distance_angstrom`` samples, ...). Writes, atomically:
    ``pmf.csv`` (distance_angstrom, pmf_kcal_mol, pmf_err_kcal_mol), ``windows.json`` (per
    window: centre, start, mean and s.d. of the distance, samples, the transient cut, statistical
    inefficiency),
    ``overlap.csv`` (the overlap matrix, rows and columns in centre order), ``overlap.png``,
    ``pmf.png`` (window histograms, the PMF with error bars, the halves) and ``umbrella.json``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "pmf.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["distance_angstrom", "pmf_kcal_mol", "pmf_err_kcal_mol"])
        for row in zip(pmf["x"], pmf["pmf_kcal_mol"], pmf["pmf_err_kcal_mol"], strict=True):
            writer.writerow([f"{v:.4f}" for v in row])
    summary = [
        {
            "centre_angstrom": w["centre_angstrom"],
            "start": w.get("start"),
            "seed": w.get("seed"),
            "wall_s": round(float(w.get("wall_s", 0.0)), 2),
            "mean_angstrom": round(float(np.mean(w["distance_angstrom"])), 4),
            "sd_angstrom": round(float(np.std(w["distance_angstrom"])), 4),
            "samples": n_raw,
            "transient_samples": t0,
            "statistical_inefficiency": g,
            "uncorrelated_samples": n,
        }
        for w, n_raw, t0, g, n in zip(
            windows,
            pmf["raw_samples_per_window"],
            pmf.get("transient_samples", [0] * len(windows)),
            pmf["statistical_inefficiency"],
            pmf["samples_per_window"],
            strict=True,
        )
    ]
    with atomic_file(out / "windows.json") as tmp:
        tmp.write_text(
            json.dumps({"windows": summary, "samples": [w["distance_angstrom"] for w in windows]}) + "\n"
        )
    ov = pmf["overlap"]
    with atomic_file(out / "overlap.csv") as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["centre_angstrom"] + [f"{c:.3f}" for c in ov["centres"]])
        for c, row in zip(ov["centres"], ov["matrix"], strict=True):
            writer.writerow([f"{c:.3f}"] + [f"{v:.8f}" for v in row])
    plot_overlap(ov, out / "overlap.png", "A")
    plot_umbrella_pmf(windows, pmf, out / "pmf.png")
    meta = {
        "method": "umbrella sampling + MBAR (pymbar FES, histogram), samples decorrelated by pymbar.timeseries",
        "protocol": protocol,
        "pull_folder": pull_dir,
        "pmf": {k: pmf[k] for k in ("x", "pmf_kcal_mol", "pmf_err_kcal_mol", "bin_edges", "n_bootstrap")},
        "windows": summary,
        "overlap": {k: v for k, v in ov.items() if k != "matrix"},
        "convergence": pmf["convergence"],
        "warnings": pmf["warnings"],
        "versions": versions(),
    }
    with atomic_file(out / "umbrella.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def plot_overlap(overlap: dict[str, Any], path: str | os.PathLike, unit: str = "") -> None:
    """The overlap matrix as an image and its neighbours' elements against the threshold."""
    from .plots import plt, save_figure

    c = np.asarray(overlap["centres"])
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    im = a.imshow(np.asarray(overlap["matrix"]), origin="lower", cmap="viridis")
    fig.colorbar(im, ax=a, label="overlap")
    a.set(xlabel="window", ylabel="window", title="MBAR overlap matrix")
    b.semilogy(0.5 * (c[1:] + c[:-1]), np.maximum(overlap["neighbours"], 1e-6), marker="o")
    b.axhline(overlap["threshold"], color="C3", ls="--", label=f"threshold {overlap['threshold']}")
    b.set(xlabel=f"between centres ({unit})" if unit else "between centres", ylabel="O[i, i+1]")
    b.set_title("neighbours' overlap")
    b.legend(frameon=False)
    save_figure(fig, path)


def plot_umbrella_pmf(windows: list[dict[str, Any]], pmf: dict[str, Any], path: str | os.PathLike) -> None:
    """Histograms of the windows' distances, and the PMF with its error bars and both halves."""
    from .plots import plt, save_figure

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.2))
    for w in windows:
        a.hist(w["distance_angstrom"], bins=30, alpha=0.5)
    a.set(xlabel="distance (A)", ylabel="samples", title=f"{len(windows)} umbrella windows")
    b.errorbar(pmf["x"], pmf["pmf_kcal_mol"], yerr=pmf["pmf_err_kcal_mol"], marker=".", label="all samples")
    conv = pmf["convergence"]
    if conv["x"]:
        b.plot(conv["x"], conv["first_kcal_mol"], ls=":", label="first halves")
        b.plot(conv["x"], conv["second_kcal_mol"], ls="--", label="second halves")
    b.set(xlabel="distance (A)", ylabel="PMF (kcal/mol)", title="MBAR (pymbar FES), bootstrap s.d.")
    b.legend(frameon=False)
    save_figure(fig, path)
