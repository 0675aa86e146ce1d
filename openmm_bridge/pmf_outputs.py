"""The free-energy outputs of a pull folder: tables, plots and JSON (what ``pathgan pmf`` writes)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .errors import PathganInputError
from .fileio import atomic_file
from .jarzynski import PMF, PullData, hummer_szabo_pmf, jarzynski_pmf, load_work
from .plots import plot_pmf, plot_work
from .provenance import versions
from .steered_md import MANIFEST


def analyse_pulls(
    smd: str | os.PathLike, out: str | os.PathLike | None = None, n_bootstrap: int = 200, seed: int = 0
) -> tuple[dict[str, Any], PMF, PullData, np.ndarray, np.ndarray]:
    """PMF along the centre (Jarzynski) and along the distance (Hummer-Szabo) of a pull folder.

    Writes ``pmf.csv``, ``pmf_distance.csv``, ``pmf.json``, ``work.png`` and ``pmf.png`` to ``out``
    (default: the pull folder). Returns the JSON metadata, the PMF, the pull data and the
    distance-PMF (bin centres, kcal/mol).
    """
    smd = Path(smd)
    if not (smd / MANIFEST).exists():
        raise PathganInputError(f"{smd}: not a pull folder (no {MANIFEST})")
    manifest = json.loads((smd / MANIFEST).read_text())
    proto = manifest["protocol"]
    temperature = proto["temperature_k"]
    data = load_work(smd)
    pmf = jarzynski_pmf(
        data.centre_angstrom, data.work_kcal_mol, temperature, n_bootstrap=n_bootstrap, seed=seed
    )
    lo, hi = np.floor(data.distance_angstrom.min()), np.ceil(data.distance_angstrom.max())
    z, g_z = hummer_szabo_pmf(
        data.distance_angstrom,
        data.centre_angstrom,
        data.work_kcal_mol,
        proto["k_kcal_mol_a2"],
        temperature,
        np.arange(lo, hi + 0.5, 0.5),
    )
    out = Path(out) if out else smd
    out.mkdir(parents=True, exist_ok=True)
    pmf.write_csv(out / "pmf.csv")
    plot_work(data.centre_angstrom, data.work_kcal_mol, pmf, out / "work.png")
    plot_pmf(pmf, out / "pmf.png", (z, g_z))
    with atomic_file(out / "pmf_distance.csv") as tmp:
        lines = ["distance_angstrom,pmf_kcal_mol"] + [f"{a:.3f},{b:.4f}" for a, b in zip(z, g_z, strict=True)]
        tmp.write_text("\n".join(lines) + "\n")
    meta = {
        "replicas": [r.name for r in data.replicas],
        "temperature_k": temperature,
        "n_bootstrap": n_bootstrap,
        "bootstrap_seed": seed,
        "final_pmf_exponential_kcal_mol": float(pmf.exponential[-1]),
        "final_pmf_cumulant_kcal_mol": float(pmf.cumulant[-1]),
        "final_mean_work_kcal_mol": float(pmf.mean_work[-1]),
        "pmf_along_distance": {
            "method": "Hummer-Szabo (PNAS 98, 3658 (2001)), 0.5 A bins",
            "distance_angstrom": [round(float(v), 3) for v in z],
            "pmf_kcal_mol": [None if not np.isfinite(v) else round(float(v), 4) for v in g_z],
        },
        "protocol": proto,
        "versions": versions(),
    }
    with atomic_file(out / "pmf.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    return meta, pmf, data, z, g_z
