"""Umbrella sampling along a path collective variable, and the PMF along s with MBAR (pymbar's FES).

One window per target ``s0`` runs as a Dask task: the MD System plus the path-CV bias
(:mod:`.pathcv_md`), started from the path frame nearest ``s0``, equilibrated, then sampled
every ``sample_interval_steps``. Targets are evenly spaced in [0, 1], or placed from the
spread of s measured in a short pilot. :mod:`.mbar` decorrelates each window's samples,
turns them into the PMF along s with pymbar's ``FES`` and bootstrap error bars, and reports
the overlap matrix and the first-half/second-half convergence. Units: kcal/mol; z in A^2.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import openmm as mm
import openmm.unit as u

from .context import langevin, make_context
from .errors import PathganConvergenceError, PathganInputError
from .fileio import atomic_file
from .mbar import place_centres, umbrella_pmf
from .pathcv import PathCV, equally_spaced_frames, path_cv_values
from .pathcv_md import PathCVProtocol, biased_system, relaxed_start
from .provenance import versions
from .system import MolecularSystem

log = logging.getLogger(__name__)

#: Neighbouring windows further apart than this many standard deviations of s are reported.
MAX_SPACING_SIGMA = 1.5


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
    for k in range(p.steps(p.window_ps) // p.sample_interval_steps):
        integrator.step(p.sample_interval_steps)
        pos = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
        if not np.all(np.isfinite(pos)):
            raise PathganConvergenceError(
                f"umbrella window at s0 = {s0:.3f}: the MD blew up (NaN positions) after {k} samples; use "
                "fewer path-CV frames (cv_frames: consecutive frames closer than thermal noise make s "
                "jump), a softer k_s or a shorter time step"
            )
        s, z = path_cv_values(cv, pos)
        s_samples.append(s)
        z_samples.append(z)
    return {"s0": s0, "s": s_samples, "z_a2": z_samples}


def mbar_pmf(
    windows: list[dict],
    k_s_kcal_mol: float,
    temperature_k: float,
    bins: int = 25,
    n_bootstrap: int = 20,
    seed: int = 0,
    decorrelated: bool = True,
    discard_transient: bool = False,
) -> dict[str, Any]:
    """PMF along s (kcal/mol, zero at its minimum) from umbrella samples: :func:`~openmm_bridge.mbar.umbrella_pmf`.

    ``windows``: each with ``s0`` and its time series ``s``. Each window's starting transient
    is cut first if ``discard_transient`` (:func:`~openmm_bridge.mbar.production`); its samples
    are decorrelated (every g-th kept, ``decorrelated``); histogram bins over the sampled range
    (sparse ones merged); error bars: bootstrap (``n_bootstrap`` resamples, MBAR solved again
    each time), standard deviations. Besides ``s``, ``pmf_kcal_mol``, ``pmf_err_kcal_mol``,
    ``samples_per_window`` (used) and ``bin_edges``: the statistical inefficiencies, the
    overlap matrix, the halves' convergence check and the warnings.
    """
    if any(len(w["s"]) == 0 for w in windows):
        raise PathganInputError("umbrella: a window has no samples")
    result = umbrella_pmf(
        [w["s0"] for w in windows],
        [w["s"] for w in windows],
        k_s_kcal_mol,
        temperature_k,
        bins=bins,
        n_bootstrap=n_bootstrap,
        seed=seed,
        decorrelated=decorrelated,
        label="umbrella along s",
        discard_transient=discard_transient,
    )
    result["s"] = result.pop("x")
    return result


def _tasks(
    xml: str, frames: np.ndarray, atoms: list[int], lam: float, targets: np.ndarray, protocol: dict, seed: int
) -> list[dict[str, Any]]:
    """One task per target s0, started from the path frame nearest it."""
    m = len(frames)
    return [
        {
            "system_xml": xml,
            "frames_angstrom": frames.tolist(),
            "atoms": list(atoms),
            "lam_per_a2": lam,
            "s0": float(s0),
            "start_angstrom": frames[int(round(s0 * (m - 1)))].tolist(),
            "protocol": protocol,
            "seed": seed * 1000 + k + 1,
        }
        for k, s0 in enumerate(targets)
    ]


def spacing_in_sigma(windows: list[dict]) -> list[float]:
    """Distance between neighbouring targets s0 in units of the windows' measured spread of s (their mean s.d.)."""
    s0 = np.array([w["s0"] for w in windows])
    sd = np.array([np.std(w["s"]) for w in windows])
    order = np.argsort(s0)
    s0, sd = s0[order], sd[order]
    return (np.diff(s0) / np.maximum(0.5 * (sd[1:] + sd[:-1]), 1e-12)).tolist()


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
    pilot_ps: float = 0.0,
    spacing_sigma: float = 1.0,
    max_windows: int = 60,
    bins: int = 25,
    n_bootstrap: int = 20,
    respace: bool = True,
    discard_transient: bool = False,
) -> dict[str, Any]:
    """Umbrella windows along s through Dask, then MBAR; writes ``umbrella.json`` and ``pmf_s.png``.

    Window placement: ``pilot_ps`` 0 (default): ``protocol.windows`` targets evenly spaced in
    [0, 1]. ``pilot_ps`` > 0: first a pilot of ``protocol.windows`` evenly spaced windows of
    ``pilot_ps`` each, whose measured spread of s (s.d. sigma_s) places the production windows
    at most ``spacing_sigma`` sigma_s apart (:func:`~openmm_bridge.mbar.place_centres`, at most
    ``max_windows``). Either way the JSON records the spacing in units of the measured spread
    (``placement``), and :func:`mbar_pmf` adds decorrelation, bootstrap errors (``n_bootstrap``),
    the overlap matrix and the halves' convergence check; a warning is logged and recorded
    (``pmf.warnings``) where neighbours do not overlap or sit more than 1.5 sigma_s apart.

    ``respace`` (default): the frames are first placed at equal spacing in the path CV's own
    metric (:func:`~openmm_bridge.pathcv.equally_spaced_frames`), which lambda assumes, and
    ``protocol.cv_frames`` of them (default: as many as given). ``discard_transient``: each
    window's starting transient is cut before MBAR (recorded per window, ``transient_samples``).
    """
    from .execution import dask_client, run_tasks

    protocol.validate("umbrella")
    if pilot_ps < 0 or spacing_sigma <= 0 or max_windows < 2:
        raise PathganInputError(
            f"umbrella: pilot_ps must be >= 0, spacing_sigma > 0 and max_windows >= 2; got {pilot_ps}, "
            f"{spacing_sigma}, {max_windows}"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames_angstrom, dtype=np.float64)
    if respace:
        frames = equally_spaced_frames(frames, atoms, protocol.cv_frames)
    cv = PathCV(frames, atoms, lam_per_a2)
    xml = mm.XmlSerializer.serialize(system.md_system(protocol.constraints))
    targets = np.linspace(0.0, 1.0, protocol.windows)
    placement: dict[str, Any] = {"method": "even", "windows": protocol.windows}
    with dask_client(scheduler, n_workers) as client:

        def run(targets: np.ndarray, proto: dict, what: str, seed: int) -> list[dict]:
            tasks = _tasks(xml, frames, atoms, cv.lam, targets, proto, seed)
            names = [f"{what}-{k:02d}" for k in range(len(tasks))]
            return run_tasks(
                umbrella_window, tasks, names, desc=f"{what} windows", progress=progress, client=client
            )

        if pilot_ps > 0:
            pilot = run(
                targets, protocol.replace(window_ps=pilot_ps).to_dict(), "pilot", protocol.seed + 7919
            )
            sigma = [float(np.std(w["s"])) for w in pilot]
            targets = place_centres(targets, sigma, 0.0, 1.0, spacing_sigma, max_windows)
            placement = {
                "method": "pilot",
                "pilot_ps": pilot_ps,
                "pilot_s0": [w["s0"] for w in pilot],
                "pilot_sigma_s": sigma,
                "spacing_sigma": spacing_sigma,
                "windows": len(targets),
            }
        windows = run(targets, protocol.to_dict(), "umbrella", protocol.seed)
    pmf = mbar_pmf(
        windows,
        protocol.k_s_kcal_mol,
        protocol.temperature_k,
        bins,
        n_bootstrap,
        protocol.seed,
        discard_transient=discard_transient,
    )
    placement["spacing_in_measured_sigma"] = [round(v, 3) for v in spacing_in_sigma(windows)]
    wide = [
        (windows[i]["s0"], windows[i + 1]["s0"], v)
        for i, v in enumerate(placement["spacing_in_measured_sigma"])
        if v > MAX_SPACING_SIGMA
    ]
    for a, b, v in wide:
        message = (
            f"umbrella along s: windows at s0 = {a:.3f} and {b:.3f} are {v:.1f} sigma_s apart (> "
            f"{MAX_SPACING_SIGMA}); more windows (or a pilot: pilot_ps) would overlap better"
        )
        log.warning(message)
        pmf["warnings"].append(message)
    for w, g, n, t0 in zip(
        windows,
        pmf["statistical_inefficiency"],
        pmf["samples_per_window"],
        pmf["transient_samples"],
        strict=True,
    ):
        w.update(
            statistical_inefficiency=g,
            uncorrelated_samples=n,
            transient_samples=t0,
            sd_s=float(np.std(w["s"])),
        )
    result = {
        "protocol": protocol.to_dict(),
        "lambda_per_a2": cv.lam,
        "frames_respaced": respace,
        "discard_transient": discard_transient,
        "placement": placement,
        "windows": windows,
        "pmf": pmf,
        "versions": versions(),
    }
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
