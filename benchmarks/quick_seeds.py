"""The quick preset's ensemble metrics over seeds, beside the baselines, from finished runs.

Run from the repository root after ``pathgan run --out runs/q$s --preset quick --config seed$s.yaml``
for a few seeds (each YAML file holding ``seed: $s``)::

    python benchmarks/quick_seeds.py runs/q0 runs/q1 runs/q2

Printed: each metric of ``metrics.json``'s ``generated`` block and of every baseline, as the mean
(min-max) over the runs, beside the issue-12 targets; and each run's wall time by stage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _tables import mean_range as cell

#: (key, label, format, target)
ROWS = [
    ("spread_ratio_median", "spread ratio (median over t > 0)", "{:.2f}", "0.7-1.3"),
    ("precision", "precision", "{:.2f}", ">= 0.7"),
    ("coverage", "coverage", "{:.2f}", ">= 0.7"),
    ("jsd_phi_psi_bits", "phi/psi JSD (bits)", "{:.3f}", "<= 2x held-out halves"),
    ("t0_helix_fraction", "t=0 DSSP helix (median over paths)", "{:.2f}", ">= 0.6"),
    (
        "median_rmsd_same_t_mean_angstrom",
        "RMSD same t, mean over pulls (A)",
        "{:.2f}",
        "<= 1.2x held-out pull",
    ),
    ("max_bond_rms_deviation_angstrom", "bond RMS deviation (A)", "{:.3f}", "<= 0.05"),
    ("median_energy_excess_kcal_mol", "median OpenMM energy excess (kcal/mol)", "{:.1f}", "<= 25"),
    ("frames_with_inverted_centres", "frames with inverted centres", "{:.0f}", "0"),
]
BLOCKS = ["template", "medoid_path", "linear_interpolation", "heldout_replica", "heldout_half"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="run folders of `pathgan run`")
    args = parser.parse_args()
    metrics = [json.loads((Path(r) / "metrics.json").read_text()) for r in args.runs]
    seeds = [m["config"]["seed"] for m in metrics]
    print(f"runs: {', '.join(args.runs)} (seeds {seeds}); mean (min to max) over runs\n")
    header = ["metric", "target", "generated", *BLOCKS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for key, label, fmt, target in ROWS:
        cells = [cell([m["generated"].get(key) for m in metrics], fmt)]
        cells += [cell([m["baselines"][b].get(key) for m in metrics], fmt) for b in BLOCKS]
        print(f"| {label} | {target} | " + " | ".join(cells) + " |")
    print()
    for run, m in zip(args.runs, metrics, strict=True):
        stages = ", ".join(f"{k} {v:.0f}" for k, v in m["stage_seconds"].items())
        s = m["string"]
        print(
            f"{run}: stages (s) {stages}; total {sum(m['stage_seconds'].values()):.0f} s; "
            f"string converged {s['converged']} in {s['iterations']} iterations, "
            f"{s['force_evaluations']} force evaluations, barrier {s['highest_energy_above_start_kcal_mol']:.1f} kcal/mol"
        )


if __name__ == "__main__":
    main()
