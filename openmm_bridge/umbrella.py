"""Umbrella sampling along a path collective variable, and the PMF along s with MBAR (pymbar's FES).

One window per target ``s0`` (evenly spaced in [0, 1]) runs as a Dask task: the MD System
plus the path-CV bias (:mod:`.pathcv_md`), started from the path frame nearest ``s0``,
equilibrated, then sampled every ``sample_interval_steps``. pymbar's ``FES`` turns all
windows into the PMF along s, with bootstrap error bars. Units: kcal/mol; z in A^2.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.unit as u

from .context import langevin, make_context
from .errors import PathganInputError
from .fileio import atomic_file
from .pathcv import PathCV, path_cv_values
from .pathcv_md import PathCVProtocol, biased_system, relaxed_start
from .system import MolecularSystem
from .units import kt_kcal_mol

#: A bin of the PMF needs this many samples (pymbar's bootstrap cannot lose a bin).
MIN_BIN_SAMPLES = 20


def umbrella_window(
    system_xml: str,
    frames_angstrom: list,
    atoms: list[int],
    lam_per_a2: float,
    s0: float,
    start_angstrom: list,
    protocol: dict,
    seed: int,
) -> dict[str, Any]:
    """One umbrella window (plain data in and out, for a Dask worker): samples of s and z (A^2)."""
    p = PathCVProtocol.from_dict(protocol, "umbrella")
    frames = np.asarray(frames_angstrom)
    system, _force = biased_system(mm.XmlSerializer.deserialize(system_xml), frames, atoms, p, s0, lam_per_a2)
    integrator = langevin(p.temperature_k, p.friction_per_ps, p.timestep_fs, seed)
    context = make_context(system, p.platform, integrator)
    relaxed_start(context, np.asarray(start_angstrom), p.temperature_k, seed)
    integrator.step(p.steps(p.equilibration_ps))
    cv = PathCV(frames, atoms, lam_per_a2)
    s_samples, z_samples = [], []
    for _ in range(p.steps(p.window_ps) // p.sample_interval_steps):
        integrator.step(p.sample_interval_steps)
        pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
        s, z = path_cv_values(cv, pos)
        s_samples.append(s)
        z_samples.append(z)
    return {"s0": s0, "s": s_samples, "z_a2": z_samples}


def _bin_edges(s: np.ndarray, bins: int, min_count: int = MIN_BIN_SAMPLES) -> np.ndarray:
    """Equal bins over the samples' range, sparse bins merged into their neighbours."""
    edges = list(np.linspace(s.min(), s.max() + 1e-9, bins + 1))
    while len(edges) > 2:
        counts = np.histogram(s, edges)[0]
        k = int(np.argmin(counts))
        if counts[k] >= min_count:
            break
        # merge bin k with its smaller neighbour (drop the edge between them)
        left = counts[k - 1] if k > 0 else np.inf
        right = counts[k + 1] if k < len(counts) - 1 else np.inf
        del edges[k if left <= right else k + 1]
    return np.asarray(edges)


def mbar_pmf(
    windows: list[dict],
    k_s_kcal_mol: float,
    temperature_k: float,
    bins: int = 25,
    n_bootstrap: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """PMF along s (kcal/mol, zero at its minimum) from umbrella samples, with pymbar's FES.

    Histogram bins over the sampled range (sparse ones merged, so every bin keeps samples in
    every bootstrap); error bars: pymbar's bootstrap (``n_bootstrap`` resamples, MBAR solved
    again each time), standard deviations.
    """
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from pymbar import FES
    logging.getLogger("pymbar").setLevel(logging.ERROR)

    kt = kt_kcal_mol(temperature_k)
    s0 = np.array([w["s0"] for w in windows])
    samples = [np.asarray(w["s"], dtype=np.float64) for w in windows]
    if any(len(x) == 0 for x in samples):
        raise PathganInputError("umbrella: a window has no samples")
    s_n = np.concatenate(samples)
    n_k = np.array([len(x) for x in samples])
    u_kn = 0.5 * k_s_kcal_mol * (s_n[None, :] - s0[:, None]) ** 2 / kt
    edges = _bin_edges(s_n, bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fes = FES(u_kn, n_k, verbose=False)
    fes.generate_fes(
        np.zeros_like(s_n),  # the unbiased state
        s_n,
        fes_type="histogram",
        histogram_parameters={"bin_edges": edges},
        n_bootstraps=n_bootstrap,
        seed=seed,
    )
    result = fes.get_fes(
        centres, reference_point="from-lowest", uncertainty_method="bootstrap" if n_bootstrap else None
    )
    # pymbar's histogram free energies are per bin: divide by the bin width for a density
    f = result["f_i"] + np.log(np.diff(edges))
    f = (f - f.min()) * kt
    err = result["df_i"] * kt if n_bootstrap else np.zeros_like(f)
    return {
        "s": centres.tolist(),
        "pmf_kcal_mol": [float(v) for v in f],
        "pmf_err_kcal_mol": [float(v) for v in err],
        "samples_per_window": n_k.tolist(),
        "bin_edges": edges.tolist(),
    }


def umbrella_along_path(
    system: MolecularSystem,
    frames_angstrom: np.ndarray,
    atoms: list[int],
    protocol: PathCVProtocol,
    out: str | os.PathLike,
    lam_per_a2: float | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Umbrella windows at evenly spaced s0 through Dask, then MBAR; writes ``umbrella.json`` and ``pmf_s.png``."""
    from .execution import run_tasks

    protocol.validate("umbrella")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames_angstrom, dtype=np.float64)
    cv = PathCV(frames, atoms, lam_per_a2)
    xml = mm.XmlSerializer.serialize(system.md_system(protocol.constraints))
    m = len(frames)
    targets = np.linspace(0.0, 1.0, protocol.windows)
    tasks = [
        {
            "system_xml": xml,
            "frames_angstrom": frames.tolist(),
            "atoms": list(atoms),
            "lam_per_a2": cv.lam,
            "s0": float(s0),
            "start_angstrom": frames[int(round(s0 * (m - 1)))].tolist(),
            "protocol": protocol.to_dict(),
            "seed": protocol.seed * 1000 + k + 1,
        }
        for k, s0 in enumerate(targets)
    ]
    names = [f"umbrella-{k:02d}" for k in range(len(tasks))]
    windows = run_tasks(
        umbrella_window,
        tasks,
        names,
        scheduler=scheduler,
        n_workers=n_workers,
        desc="umbrella windows",
        progress=progress,
    )
    pmf = mbar_pmf(windows, protocol.k_s_kcal_mol, protocol.temperature_k)
    result = {"protocol": protocol.to_dict(), "lambda_per_a2": cv.lam, "windows": windows, "pmf": pmf}
    with atomic_file(out / "umbrella.json") as tmp:
        tmp.write_text(json.dumps(result) + "\n")
    plot_pmf_s(pmf, windows, out / "pmf_s.png")
    return result


def plot_pmf_s(pmf: dict, windows: list[dict], path: str | os.PathLike) -> None:
    """Histograms of the windows' s and the PMF along s with its error bars."""
    from .plots import plt, save_figure

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for w in windows:
        a.hist(w["s"], bins=30, alpha=0.5)
    a.set_xlabel("s")
    a.set_ylabel("samples")
    a.set_title("umbrella windows")
    s, f, e = (np.asarray(pmf[k], dtype=float) for k in ("s", "pmf_kcal_mol", "pmf_err_kcal_mol"))
    b.errorbar(s, f, yerr=e, marker="o")
    b.set_xlabel("s (progress along the path)")
    b.set_ylabel("PMF (kcal/mol)")
    b.set_title("MBAR (pymbar FES)")
    save_figure(fig, path)
