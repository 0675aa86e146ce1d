"""Free-energy estimators against exact answers, as the pulling speed grows.

Run from the repository root::

    python benchmarks/estimators.py [--speeds 0.5 1 1.25 2 4 8] [--replicas 200] [--sets 5]
        [--png docs/figures/estimators_speed.png] [--out runs/estimators.json]

A particle dragged across a 1-D double well through OpenMM (:mod:`openmm_bridge.double_well`,
its default settings: barrier 4 kT, trap 20 kcal/mol/A^2, centre from -1.5 to +1.5 A, starts
drawn exactly from equilibrium at the first centre). At every speed, ``--sets`` independent
sets of ``--replicas`` pulls; for each set and estimator, against the exact curve by
quadrature on a 20-point grid:

- Jarzynski's exponential average and the 2nd-order cumulant, along the trap centre
  (``F(lambda)``, zero at the start);
- Hummer-Szabo, along x (``U(x)`` up to a constant, fitted), 20 bins over [-1.25, 1.25] A;

the RMS deviation, the mean bootstrap error (200 resamples of the replicas), the fraction of
points within 2 sigma and the mean signed deviation (the bias). Printed: a Markdown table of
the means over sets (RMS +- its standard error over sets); written: a plot of RMS against
speed with the bootstrap errors, and every number as JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from openmm_bridge.double_well import DoubleWellPull, compare_to_exact
from openmm_bridge.fileio import atomic_file
from openmm_bridge.jarzynski import hummer_szabo_bootstrap, jarzynski_pmf
from openmm_bridge.provenance import versions

ESTIMATORS = ("exponential", "cumulant", "hummer_szabo")
LABELS = {"exponential": "exponential (Jarzynski)", "cumulant": "cumulant", "hummer_szabo": "Hummer-Szabo"}
N_GRID = 20


def one_set(settings: DoubleWellPull, n_bootstrap: int) -> dict:
    """Pull one set of replicas; each estimator's match to its exact curve, and the dissipated work."""
    result = settings.run()
    rows = result.grid_rows(N_GRID)
    centre = result.centre_angstrom[rows]
    exact_f = settings.free_energy_along_centre(centre)
    pmf = jarzynski_pmf(
        centre, result.work_kcal_mol[:, rows], settings.temperature_k, n_bootstrap=n_bootstrap, seed=0
    )
    a = settings.half_width_angstrom
    z, g, g_err = hummer_szabo_bootstrap(
        result.x_angstrom,
        result.centre_angstrom,
        result.work_kcal_mol,
        settings.k_kcal_mol_a2,
        settings.temperature_k,
        np.linspace(-1.25 * a, 1.25 * a, N_GRID + 1),
        n_bootstrap=n_bootstrap,
        seed=0,
    )
    return {
        "dissipated_work_kt": result.dissipated_work_kt(),
        "exponential": compare_to_exact(pmf.exponential, pmf.exponential_err, exact_f),
        "cumulant": compare_to_exact(pmf.cumulant, pmf.cumulant_err, exact_f),
        "hummer_szabo": compare_to_exact(g, g_err, settings.potential_kcal_mol(z), fit_offset=True),
    }


def summarise(sets: list[dict]) -> dict:
    """Means over sets (and the standard error of the RMS) per estimator."""
    out = {"dissipated_work_kt": float(np.mean([s["dissipated_work_kt"] for s in sets]))}
    for name in ESTIMATORS:
        rms = np.array([s[name]["rms_kcal_mol"] for s in sets])
        out[name] = {
            key: float(np.mean([s[name][key] for s in sets]))
            for key in (
                "rms_kcal_mol",
                "mean_error_kcal_mol",
                "fraction_within_2_sigma",
                "mean_deviation_kcal_mol",
            )
        }
        out[name]["rms_sem_kcal_mol"] = float(rms.std(ddof=1) / np.sqrt(len(rms))) if len(rms) > 1 else 0.0
        out[name]["sets_passing"] = int(
            sum(s[name]["rms_over_error"] <= 2.0 and s[name]["fraction_within_2_sigma"] >= 0.9 for s in sets)
        )
    return out


def plot(rows: list[dict], path: Path) -> None:
    """RMS deviation against speed (error bars: standard error over sets), dashed: the mean bootstrap error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed = np.array([r["speed_angstrom_per_ps"] for r in rows])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for name, colour in zip(ESTIMATORS, ("C0", "C1", "C2"), strict=True):
        s = [r["summary"][name] for r in rows]
        ax.errorbar(
            speed,
            [x["rms_kcal_mol"] for x in s],
            yerr=[x["rms_sem_kcal_mol"] for x in s],
            marker="o",
            color=colour,
            label=f"{LABELS[name]}: RMS vs exact",
            capsize=3,
        )
        ax.plot(
            speed,
            [x["mean_error_kcal_mol"] for x in s],
            ls="--",
            color=colour,
            alpha=0.7,
            label=f"{LABELS[name]}: bootstrap error",
        )
        if name != "hummer_szabo":  # its offset is fitted: no signed bias to show
            bx.plot(
                speed, [x["mean_deviation_kcal_mol"] for x in s], marker="o", color=colour, label=LABELS[name]
            )
    for axis in (ax, bx):
        axis.set_xscale("log")
        axis.set_xticks(speed, [f"{v:.3g}" for v in speed])
        axis.minorticks_off()
        axis.set_xlabel("pulling speed (A/ps)")
    ax.set_yscale("log")
    ax.set_ylabel("kcal/mol (20-point grid)")
    ax.set_title("error against the exact curve")
    ax.legend(fontsize=7)
    twin = bx.twinx()
    twin.plot(speed, [r["summary"]["dissipated_work_kt"] for r in rows], color="grey", ls=":", marker="s")
    twin.set_ylabel("mean dissipated work (kT), grey", color="grey")
    bx.axhline(0.0, color="k", lw=0.5)
    bx.set_ylabel("mean signed deviation from exact F (kcal/mol)")
    bx.set_title("bias along the trap centre")
    bx.legend(fontsize=7)
    fig.tight_layout()
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def table(rows: list[dict], n_replicas: int, n_sets: int) -> str:
    """Markdown: per speed, dissipated work and each estimator's RMS (+- s.e.) / bootstrap error / within 2 sigma."""
    head = (
        "| speed (A/ps) | W_diss (kT) | "
        + " | ".join(f"{LABELS[n]}: RMS / boot. err / within 2σ / bias" for n in ESTIMATORS)
        + " |"
    )
    lines = [
        f"{n_sets} sets of {n_replicas} pulls per speed; kcal/mol; RMS over the 20-point grid, mean over sets "
        "(Hummer-Szabo: offset fitted, so no signed bias)",
        "",
        head,
        "|" + "---|" * (2 + len(ESTIMATORS)),
    ]
    for r in rows:
        s = r["summary"]
        cells = [
            f"{s[n]['rms_kcal_mol']:.3f} ± {s[n]['rms_sem_kcal_mol']:.3f} / {s[n]['mean_error_kcal_mol']:.3f} / "
            f"{s[n]['fraction_within_2_sigma']:.2f} / "
            + ("-" if n == "hummer_szabo" else f"{s[n]['mean_deviation_kcal_mol']:+.3f}")
            for n in ESTIMATORS
        ]
        lines.append(
            f"| {r['speed_angstrom_per_ps']:.3g} | {s['dissipated_work_kt']:.2f} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speeds", type=float, nargs="+", default=[0.5, 1.0, 1.25, 2.0, 4.0, 8.0])
    parser.add_argument("--replicas", type=int, default=200)
    parser.add_argument("--sets", type=int, default=5)
    parser.add_argument("--bootstrap", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--png", default="docs/figures/estimators_speed.png")
    parser.add_argument("--out", default="runs/estimators.json")
    args = parser.parse_args()
    rows, t0 = [], time.perf_counter()
    for i, speed in enumerate(sorted(args.speeds)):
        settings = DoubleWellPull(speed_angstrom_per_ps=speed, n_replicas=args.replicas)
        sets = [
            one_set(settings.replace(seed=args.seed * 100_000 + 1000 * i + k), args.bootstrap)
            for k in range(args.sets)
        ]
        realised = abs(settings.lambda1_angstrom - settings.lambda0_angstrom) / (
            settings.n_steps * settings.timestep_fs / 1000.0
        )
        rows.append(
            {
                "speed_angstrom_per_ps": realised,
                "n_steps": settings.n_steps,
                "sets": sets,
                "summary": summarise(sets),
            }
        )
        s = rows[-1]["summary"]
        print(
            f"speed {realised:.3g} A/ps ({settings.n_steps} steps): W_diss {s['dissipated_work_kt']:.2f} kT, RMS "
            + ", ".join(f"{n} {s[n]['rms_kcal_mol']:.3f}" for n in ESTIMATORS)
            + f"  [{time.perf_counter() - t0:.0f} s]",
            flush=True,
        )
    print()
    print(table(rows, args.replicas, args.sets))
    plot(rows, Path(args.png))
    meta = {
        "settings": DoubleWellPull().to_dict(),
        "replicas": args.replicas,
        "sets": args.sets,
        "bootstrap": args.bootstrap,
        "seed": args.seed,
        "rows": rows,
        "versions": versions(),
        "wall_s": time.perf_counter() - t0,
    }
    with atomic_file(args.out) as tmp:
        tmp.write_text(json.dumps(meta, indent=1) + "\n")
    print(f"\nwrote {args.png} and {args.out} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
