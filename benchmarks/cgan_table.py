"""The cGAN configurations side by side on one reference set, each over several training seeds.

Run from the repository root, after a reference pull (the quick preset's scale)::

    pathgan smd --system runs/deca --out runs/quick_smd --replicas 8 --length-ps 250 --frame-interval 250
    python benchmarks/cgan_table.py --reference runs/quick_smd --stride 5 --seeds 0 1 2

For each preset and seed: ``pathgan train``, ``pathgan generate --frames 20``, ``pathgan
compare``; then the mean (and range) over seeds of every target metric of the default
configuration, with the target and whether the mean meets it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

#: (metric key in metrics.json, label, target test, target text)
TARGETS = [
    ("t0_helix_fraction", "t=0 DSSP helix fraction", lambda v: v >= 0.6, ">= 0.6"),
    ("t0_rmsd_to_reference_start_angstrom", "t=0 RMSD to reference start (A)", lambda v: v <= 1.5, "<= 1.5"),
    ("median_rmsd_same_t_angstrom", "median RMSD to reference at same t (A)", lambda v: v <= 2.0, "<= 2.0"),
    ("spearman_best_match_vs_t", "Spearman(best match, t)", lambda v: v >= 0.9, ">= 0.9"),
    (
        "max_end_to_end_deviation_angstrom",
        "max |end-to-end - reference mean| (A)",
        lambda v: v <= 1.5,
        "<= 1.5",
    ),
    ("max_bond_rms_deviation_angstrom", "max bond-length RMS deviation (A)", lambda v: v <= 0.05, "<= 0.05"),
    ("min_nonbonded_distance_angstrom", "closest non-bonded pair (A)", lambda v: v >= 1.2, ">= 1.2"),
    (
        "median_energy_excess_kcal_mol",
        "median OpenMM energy above reference (kcal/mol)",
        lambda v: v <= 25,
        "<= 25",
    ),
    (
        "max_energy_excess_kcal_mol",
        "max OpenMM energy above reference (kcal/mol)",
        lambda v: v <= 100,
        "<= 100",
    ),
]


def run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"failed: {' '.join(cmd)}\n{result.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reference", required=True, help="pull folder")
    parser.add_argument("--out", default="runs/cgan_table")
    parser.add_argument("--stride", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--presets", nargs="+", default=["pathgan", "paper", "ablation"])
    args = parser.parse_args()
    exe = [sys.executable, "-m", "pathgan.cli"]
    results: dict[str, list[dict]] = {}
    walls: dict[str, list[float]] = {}
    for preset in args.presets:
        for seed in args.seeds:
            d = Path(args.out) / f"{preset}_seed{seed}"
            t0 = time.perf_counter()
            run(
                [
                    *exe,
                    "train",
                    "--reference",
                    args.reference,
                    "--out",
                    str(d),
                    "--preset",
                    preset,
                    "--seed",
                    str(seed),
                    "--stride",
                    str(args.stride),
                    "--quiet",
                ]
            )
            walls.setdefault(preset, []).append(time.perf_counter() - t0)
            run([*exe, "generate", "--model", str(d), "--frames", "20", "--out", str(d / "path")])
            run(
                [
                    *exe,
                    "compare",
                    "--path",
                    str(d / "path"),
                    "--reference",
                    args.reference,
                    "--stride",
                    str(args.stride),
                    "--out",
                    str(d / "compare"),
                ]
            )
            summary = json.loads((d / "compare" / "metrics.json").read_text())["summary"]
            results.setdefault(preset, []).append(summary)
            print(f"{preset} seed {seed}: done ({walls[preset][-1]:.0f} s training)", flush=True)
    print(f"\nMean over seeds {args.seeds} (min-max); reference {args.reference}, stride {args.stride}\n")
    header = "| metric | target | " + " | ".join(args.presets) + " |"
    print(header)
    print("|" + "---|" * (2 + len(args.presets)))
    for key, label, ok, text in TARGETS:
        cells = []
        for preset in args.presets:
            v = np.array([r[key] for r in results[preset]], dtype=float)
            mean = np.nanmean(v) if np.isfinite(v).any() else float("nan")
            mark = " (met)" if np.isfinite(mean) and ok(mean) else ""
            cells.append(
                f"{mean:.3g} ({np.nanmin(v):.3g}-{np.nanmax(v):.3g}){mark}"
                if np.isfinite(mean)
                else "undefined"
            )
        print(f"| {label} | {text} | " + " | ".join(cells) + " |")
    print(
        "| training wall time (s) | | " + " | ".join(f"{np.mean(walls[p]):.0f}" for p in args.presets) + " |"
    )


if __name__ == "__main__":
    main()
