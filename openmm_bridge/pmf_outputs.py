"""The free-energy files of a pull folder: reading the pull tables, writing PMF tables, plots and JSON.

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
