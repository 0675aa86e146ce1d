"""Two independent estimators of deca-alanine's PMF along the CA(1)-CA(10) distance, in vacuum.

Steered MD (``steered_md.run_pull``; Jarzynski along the restraint centre, Hummer-Szabo along
the distance, both from ``pmf_outputs.analyse_pulls``'s estimators with bootstrap errors over
replicas) against umbrella sampling + MBAR (``umbrella_distance.umbrella_along_distance``;
windows started from the pulls' frames), for the paper's soft spring (k = 1 kcal/mol/A^2) and
Park and Schulten's stiff spring (7.2). Both PMFs along the distance are set to zero at
their minimum; agreement over 14-26 A (the issue's criterion: within 0.5 kcal/mol or the
combined 2 sigma, whichever is larger) is printed and written to ``summary.json``::

    nice -n 5 python benchmarks/pmf_umbrella.py --out runs/pmf_umbrella --replicas 4 \
        --pull-ps 400 200 --pull-equilibration-ps 500 100 --window-ps 50 40 --old-protocol soft

The umbrella windows start from the new-protocol pulls' frames. ``--old-protocol``: those
springs are also pulled without equilibration (``equilibration_ps: 0``), last, to measure the
effect of equilibrium starts. Finished pull folders are reused (partial ones resume); finished
umbrella windows too, re-analysed when only the analysis changed (``--discard-transient``: each
window's starting transient cut before MBAR).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from openmm_bridge.jarzynski import hummer_szabo_bootstrap, jarzynski_pmf
from openmm_bridge.plots import plt, save_figure
from openmm_bridge.pmf_outputs import load_work
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.provenance import versions
from openmm_bridge.pull_folder import prepare_pull
from openmm_bridge.steered_md import run_pull
from openmm_bridge.system import MolecularSystem
from openmm_bridge.umbrella_distance import (
    STIFF_K_KCAL_MOL_A2,
    DistanceUmbrellaProtocol,
    umbrella_along_distance,
)
from openmm_bridge.units import kt_kcal_mol

SPRINGS = {"soft": 1.0, "stiff": STIFF_K_KCAL_MOL_A2}
C0, C1 = 13.0, 33.0  # A: Park and Schulten's range
AGREE = (14.0, 26.0)  # A: the range
T = 300.0


def pulls(
    system_dir: Path,
    out: Path,
    k: float,
    length_ps: float,
    replicas: int,
    eq_ps: float,
    workers: int,
    platform: str = "Reference",
    frame_interval_steps: int = 50,
    run: int | None = None,
) -> Path:
    """The pull folder of one spring and one equilibration length (0: the old protocol), run unless finished.

    ``replicas`` are prepared (their seeds and equilibration starts); the first ``run`` of them
    (default: all) are run here, so that others can run on another machine and be merged.
    """
    folder = out / f"smd_k{k:g}_eq{eq_ps:g}"
    protocol = PullProtocol(
        c0_angstrom=C0, c1_angstrom=C1, k_kcal_mol_a2=k, length_ps=length_ps, equilibration_ps=eq_ps,
        checkpoint_interval_steps=50_000, platform=platform, frame_interval_steps=frame_interval_steps,
    )  # fmt: skip
    t0 = time.perf_counter()
    if run is not None and run < replicas:
        prepare_pull(system_dir, folder, replicas, protocol)  # every replica's seed and start frame
    run_pull(
        system_dir, folder, replicas if run is None else run, protocol, n_workers=workers, progress=False
    )
    print(
        f"{folder.name}: {replicas if run is None else min(run, replicas)} pulls of {length_ps:g} ps in "
        f"{time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    return folder


def smd_pmfs(folder: Path, k: float) -> dict:
    """Jarzynski along the centre and Hummer-Szabo along the distance, with bootstrap errors."""
    data = load_work(folder)
    pmf = jarzynski_pmf(data.centre_angstrom, data.work_kcal_mol, T, n_bootstrap=200, seed=0)
    edges = np.arange(
        np.floor(data.distance_angstrom.min()), np.ceil(data.distance_angstrom.max()) + 0.26, 0.5
    )
    z, g, dg = hummer_szabo_bootstrap(
        data.distance_angstrom, data.centre_angstrom, data.work_kcal_mol, k, T, edges, n_bootstrap=100, seed=0
    )
    return {
        "centre": pmf.centre_angstrom,
        "jarzynski": pmf.exponential - np.min(pmf.exponential),
        "jarzynski_err": pmf.exponential_err,
        "mean_work": pmf.mean_work - pmf.mean_work[np.argmin(pmf.exponential)],
        "z": z,
        "hs": g,
        "hs_err": dg,
        "final_distance": data.distance_angstrom[:, -1],
        "dissipation_at_end_kcal_mol": float(pmf.mean_work[-1] - pmf.exponential[-1]),
    }


def umbrella_centre_pmf(x: np.ndarray, g: np.ndarray, k: float, centres: np.ndarray) -> np.ndarray:
    """The umbrella PMF along the distance turned into the free energy along the spring's centre.

    ``F(c) = -kT ln sum_x exp(-(G(x) + k/2 (x - c)^2) / kT) dx``: what Jarzynski's equality
    estimates from the pulls, so the two can be compared where the distance lags the centre.
    """
    kt = kt_kcal_mol(T)
    ok = np.isfinite(g)
    x, g = x[ok], g[ok]
    dx = np.gradient(x)
    e = -(g[None, :] + 0.5 * k * (x[None, :] - centres[:, None]) ** 2) / kt
    m = e.max(axis=1, keepdims=True)
    f = -kt * (np.log(np.sum(np.exp(e - m) * dx[None, :], axis=1)) + m[:, 0])
    return f - f.min()


def agreement(x1, f1, e1, x2, f2, e2, lo: float, hi: float) -> dict:
    """Curve 2 interpolated onto curve 1's points in [lo, hi]; both zeroed at their minimum there."""
    inside = (x1 >= lo) & (x1 <= hi) & np.isfinite(f1)
    ok2 = np.isfinite(f2)
    x = x1[inside]
    a, ea = f1[inside], np.nan_to_num(e1[inside])
    b = np.interp(x, x2[ok2], f2[ok2])
    eb = np.interp(x, x2[ok2], np.nan_to_num(e2[ok2]))
    a, b = a - a.min(), b - b.min()
    diff = np.abs(a - b)
    tol = np.maximum(0.5, 2.0 * np.hypot(ea, eb))
    return {
        "points": int(len(x)),
        "max_abs_diff_kcal_mol": float(diff.max()) if len(x) else None,
        "rms_diff_kcal_mol": float(np.sqrt(np.mean(diff**2))) if len(x) else None,
        "fraction_within_tolerance": float(np.mean(diff <= tol)) if len(x) else None,
        "passes": bool(np.all(diff <= tol)) if len(x) else False,
        "worst_at_angstrom": float(x[np.argmax(diff / tol)]) if len(x) else None,
    }


def to_full_extension(x: np.ndarray, f: np.ndarray, e: np.ndarray, sp: dict, highest_window: float) -> dict:
    """Hummer-Szabo against the umbrella PMF from 14 A to where the peptide stops extending.

    Full extension is taken as the nearer of the last umbrella window's mean distance and the
    shortest final distance of the pulls: beyond it one of the two curves has no samples.
    """
    full = float(min(highest_window, np.min(sp["final_distance"])))
    return {"full_extension_angstrom": round(full, 2)} | agreement(
        x, f, e, sp["z"], sp["hs"], sp["hs_err"], AGREE[0], full
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/pmf_umbrella"))
    parser.add_argument("--replicas", type=int, default=4, help="pulls of the soft spring, new protocol")
    parser.add_argument("--stiff-replicas", type=int, help="pulls of the stiff spring (default: --replicas)")
    parser.add_argument("--old-replicas", type=int, help="pulls of the old protocol (default: --replicas)")
    parser.add_argument("--pull-ps", type=float, nargs=2, default=(400.0, 200.0), metavar=("SOFT", "STIFF"))
    parser.add_argument("--pull-equilibration-ps", type=float, nargs=2, default=(500.0, 100.0),
                        metavar=("SOFT", "STIFF"), help="the new protocol's equilibration at c0")  # fmt: skip
    parser.add_argument("--old-protocol", nargs="*", default=["soft"], choices=list(SPRINGS),
                        help="springs also pulled without equilibration (equilibration_ps 0), run last")  # fmt: skip
    parser.add_argument("--window-ps", type=float, nargs=2, default=(50.0, 40.0), metavar=("SOFT", "STIFF"))
    parser.add_argument("--window-equilibration-ps", type=float, default=10.0)
    parser.add_argument("--spacing-sigma", type=float, nargs=2, default=(1.0, 2.0), metavar=("SOFT", "STIFF"))
    parser.add_argument("--springs", nargs="+", default=list(SPRINGS), choices=list(SPRINGS))
    parser.add_argument(
        "--discard-transient",
        action="store_true",
        help="cut each window's starting transient before MBAR (a finished run is re-analysed)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--platform", default="Reference", help="OpenMM platform of pulls and windows")
    parser.add_argument("--frame-interval-steps", type=int, default=50, help="pull.csv rows and DCD frames")
    parser.add_argument("--pulls-only", action="store_true",
                        help="run the pulls (new protocol, then --old-protocol) and stop: no umbrella")  # fmt: skip
    parser.add_argument("--run-replicas", type=int, nargs=2, metavar=("NEW", "OLD"),
                        help="with --pulls-only: run only the first NEW / OLD of the replicas (the rest elsewhere)")  # fmt: skip
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    system_dir = out / "deca"
    if not (system_dir / "metadata.json").exists():
        MolecularSystem.from_sequence("AAAAAAAAAA").save(system_dir)
    system = MolecularSystem.load(system_dir)
    summary: dict = {"scale": vars(args) | {"out": str(out)}, "springs": {}, "versions": versions()}

    def replicas(spring: str, eq: float) -> int:
        """How many pulls a spring and protocol get."""
        if eq == 0.0 and args.old_replicas:
            return args.old_replicas
        return (args.stiff_replicas or args.replicas) if spring == "stiff" else args.replicas

    results: dict = {}
    if args.pulls_only:
        run_new, run_old = args.run_replicas or (None, None)
        for spring, eqs in ((s, [args.pull_equilibration_ps[s != "soft"]]) for s in args.springs):
            for eq in eqs + ([0.0] if spring in args.old_protocol else []):
                k, which = SPRINGS[spring], 0 if spring == "soft" else 1
                pulls(system_dir, out, k, args.pull_ps[which], replicas(spring, eq), eq, args.workers,
                      args.platform, args.frame_interval_steps, run_old if eq == 0 else run_new)  # fmt: skip
        return

    def draw() -> None:
        """The figure and summary.json of what has run so far."""
        fig, axes = plt.subplots(1, len(results), figsize=(6.5 * len(results), 4.8), squeeze=False)
        for ax, (spring, (x, f, e, n_windows, smd)) in zip(axes[0], results.items(), strict=True):
            k = SPRINGS[spring]
            ax.errorbar(x, f, yerr=e, marker=".", ms=3, lw=1, label=f"umbrella/MBAR ({n_windows} windows)")
            for eq, sp in smd.items():
                tag = f", equilibration {eq:g} ps" + (" (old protocol)" if eq == 0 else "")
                ax.errorbar(sp["z"], sp["hs"], yerr=sp["hs_err"], marker="s", ms=3, lw=1,
                            label=f"SMD Hummer-Szabo{tag}")  # fmt: skip
                ax.plot(
                    sp["centre"], sp["jarzynski"], ls="--", lw=1, label=f"SMD Jarzynski along the centre{tag}"
                )
            centre = next(iter(smd.values()))["centre"]
            ax.plot(centre, umbrella_centre_pmf(x, f, k, centre), color="k", lw=0.8, ls=":",
                    label="umbrella turned into F(centre)")  # fmt: skip
            ax.axvspan(*AGREE, color="0.92", zorder=-1)
            ax.set(xlabel="CA(1)-CA(10) distance or restraint centre (A)", ylabel="PMF (kcal/mol)",
                   title=f"deca-alanine, vacuum, k = {k:g} kcal/mol/A^2")  # fmt: skip
            ax.legend(fontsize=7, frameon=False)
        save_figure(fig, out / "pmf_umbrella_vs_smd.png")
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")

    def add_smd(spring: str, eq: float) -> None:
        k, which = SPRINGS[spring], 0 if spring == "soft" else 1
        n = replicas(spring, eq)
        folder = pulls(
            system_dir,
            out,
            k,
            args.pull_ps[which],
            n,
            eq,
            args.workers,
            args.platform,
            args.frame_interval_steps,
        )
        sp = smd_pmfs(folder, k)
        x, f, e, _, smd = results[spring]
        smd[eq] = sp
        f_centre = umbrella_centre_pmf(x, f, k, sp["centre"])
        summary["springs"][spring]["smd"][f"equilibration_{eq:g}ps"] = {
            "replicas": n,
            "pull_ps": args.pull_ps[which],
            "final_distance_angstrom": [round(float(v), 2) for v in sp["final_distance"]],
            "dissipation_at_end_kcal_mol": round(sp["dissipation_at_end_kcal_mol"], 2),
            "hummer_szabo_vs_umbrella": agreement(x, f, e, sp["z"], sp["hs"], sp["hs_err"], *AGREE),
            "jarzynski_vs_umbrella_along_centre": agreement(
                sp["centre"],
                sp["jarzynski"],
                sp["jarzynski_err"],
                sp["centre"],
                f_centre,
                np.zeros_like(f_centre),
                *AGREE,
            ),  # fmt: skip
            **(
                {
                    "hummer_szabo_vs_umbrella_to_full_extension": to_full_extension(
                        x, f, e, sp, summary["springs"][spring]["umbrella"]["highest_window_mean_angstrom"]
                    )
                }
                if spring == "stiff"
                else {}
            ),  # fmt: skip
            "hs_at_2A": at_2a(sp["z"], sp["hs"]),
            "jarzynski_at_2A": at_2a(sp["centre"], sp["jarzynski"]),
        }
        print(json.dumps(summary["springs"][spring]["smd"][f"equilibration_{eq:g}ps"]), flush=True)
        draw()

    for spring in args.springs:
        k, which = SPRINGS[spring], 0 if spring == "soft" else 1
        eq_new = args.pull_equilibration_ps[which]
        start_folder = pulls(
            system_dir,
            out,
            k,
            args.pull_ps[which],
            replicas(spring, eq_new),
            eq_new,
            args.workers,
            args.platform,
            args.frame_interval_steps,
        )
        proto = DistanceUmbrellaProtocol(
            lo_angstrom=C0, hi_angstrom=C1, k_kcal_mol_a2=k, spacing_sigma=args.spacing_sigma[which],
            equilibration_ps=args.window_equilibration_ps, window_ps=args.window_ps[which], bins=80, n_bootstrap=50, platform=args.platform, discard_transient=args.discard_transient,
        )  # fmt: skip
        t0 = time.perf_counter()
        meta = umbrella_along_distance(system, start_folder, out / f"umbrella_k{k:g}", proto, n_workers=args.workers,
                                       progress=False)  # fmt: skip
        wall_u = time.perf_counter() - t0
        x, f, e = (
            np.asarray(meta["pmf"][key], dtype=float) for key in ("x", "pmf_kcal_mol", "pmf_err_kcal_mol")
        )
        print(f"umbrella k={k:g}: {len(meta['windows'])} windows in {wall_u:.0f} s", flush=True)
        results[spring] = (x, f - np.nanmin(f), e, len(meta["windows"]), {})
        summary["springs"][spring] = {
            "k_kcal_mol_a2": k,
            "umbrella": {
                "windows": len(meta["windows"]),
                "window_ps": args.window_ps[which],
                "wall_s": round(wall_u, 1),
                "statistical_inefficiency_range": [
                    min(w["statistical_inefficiency"] for w in meta["windows"]),
                    max(w["statistical_inefficiency"] for w in meta["windows"]),
                ],
                "uncorrelated_samples": sum(w["uncorrelated_samples"] for w in meta["windows"]),
                "transient_samples": sum(w.get("transient_samples", 0) for w in meta["windows"]),
                "samples": sum(w["samples"] for w in meta["windows"]),
                "highest_window_mean_angstrom": meta["windows"][-1]["mean_angstrom"],
                "min_neighbour_overlap": min(meta["overlap"]["neighbours"]),
                "poor_pairs": meta["overlap"]["poor_pairs"],
                "halves_max_abs_diff_kcal_mol": meta["convergence"]["max_abs_diff_kcal_mol"],
                "pmf_at_2A": at_2a(x, f - np.nanmin(f)),
            },
            "smd": {},
        }
        add_smd(spring, eq_new)
    for spring in args.old_protocol:
        if spring in results:
            add_smd(spring, 0.0)
    print(f"wrote {out}/pmf_umbrella_vs_smd.png, summary.json")


def at_2a(x: np.ndarray, f: np.ndarray) -> dict[str, float]:
    """The curve at every 2 A from 14 to 32 A (interpolated; NaN outside its range)."""
    ok = np.isfinite(f)
    return {
        f"{c:g}": round(float(np.interp(c, x[ok], f[ok], left=np.nan, right=np.nan)), 2)
        for c in np.arange(14.0, 33.0, 2.0)
    }


if __name__ == "__main__":
    main()
