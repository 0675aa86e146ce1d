"""What the TorchMD score of a candidate path is worth: does it predict the refined string's barrier?

Run from the repository root, after ``pathgan run --out runs/q0 --preset quick``::

    python benchmarks/candidates.py --run runs/q0 [--samples 32] [--images 20] [--seed 0]

1. ``--samples`` candidate paths from the run's model (relaxed and scored by the batched TorchMD
   potential, as ``pathgan generate`` does: the score is the highest energy along the path).
2. The zero-temperature string (OpenMM, the run's refine settings) from *every* candidate and
   from the baselines: the template, the medoid path of the training pulls, linear interpolation
   between the end states, and one held-out pull.
3. Spearman correlation of the TorchMD score with the barrier of the refined string (highest
   energy above its first image; the ends are fixed, so when the energy rises all the way to the
   stretched end this is the end gap, E(last) - E(first), and the table says so beside the
   interior excess, the highest interior image above the higher end, and the mean energy along
   the string), and what best-of-N buys against one random sample (the mean
   over candidates) and against the baselines: OpenMM force evaluations of the string, the
   barrier, and the cost of scoring (TorchMD frame evaluations, wall seconds).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from openmm_bridge.stereochemistry import chirality_guard_force
from openmm_bridge.string_method import ZeroTemperatureString
from openmm_bridge.system import MolecularSystem
from pathgan.candidates import string_images
from pathgan.evaluation import baseline_paths, heldout_replica_path, training_split
from pathgan.gan import load_model
from pathgan.paths import generate_path
from pathgan.relax import DEFAULT_RELAX
from pathgan.run_config import RunConfig

#: per-string quantities averaged or picked in the summary
COLUMNS = [
    "barrier_kcal_mol",
    "end_gap_kcal_mol",
    "interior_excess_kcal_mol",
    "mean_energy_above_start_kcal_mol",
    "force_evaluations",
]


def refine(system: MolecularSystem, frames: np.ndarray, images: int, config, guard) -> dict:
    t0 = time.perf_counter()
    r = ZeroTemperatureString(system.system, string_images(frames, images), config, guard).run()
    e = r.energies - r.energies[0]
    return {
        "converged": r.converged,
        "force_evaluations": r.force_evaluations,
        "barrier_kcal_mol": r.barrier_kcal_mol,
        # with fixed ends the highest point may be the end state itself: say where it is, and
        # what the path adds above its higher end (> 0 only for a barrier inside the path)
        "highest_image": int(np.argmax(e)),
        "end_gap_kcal_mol": float(e[-1]),
        "interior_excess_kcal_mol": float(e[1:-1].max() - max(e[0], e[-1])),
        "mean_energy_above_start_kcal_mol": float(e.mean()),
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", required=True, help="a pathgan run folder")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-iterations", type=int, help="string iterations (default: the run's refine setting)"
    )
    parser.add_argument("--out", help="write the table as JSON here")
    args = parser.parse_args()
    run = Path(args.run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.load(run / "system")
    import yaml

    cfg = RunConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text()), "config")
    string_cfg, images = cfg.refine.string_config(), cfg.refine.images
    if args.max_iterations:
        string_cfg.max_iterations = args.max_iterations
    gan = load_model(run / "train", system)
    guard = chirality_guard_force(system.topology, system.positions_angstrom())  # every string's
    t0 = time.perf_counter()
    path = generate_path(gan, cfg.generate.frames, args.samples, seed=args.seed)
    scoring_s = time.perf_counter() - t0
    r = DEFAULT_RELAX
    torchmd_frames = args.samples * cfg.generate.frames * (r.local_steps + r.full_steps + 1)
    rows = []
    for k in range(args.samples):
        rows.append(
            {
                "sample": k,
                "score_kcal_mol": float(path.scores[k]),
                **refine(system, path.xyz[k], images, string_cfg, guard),
            }
        )
        print(
            f"candidate {k:2d}: score {rows[-1]['score_kcal_mol']:8.1f}  barrier {rows[-1]['barrier_kcal_mol']:7.1f}  "
            f"evaluations {rows[-1]['force_evaluations']:6d}",
            flush=True,
        )
    train_ref, heldout = training_split(run / "train", system, cfg.compare.stride)
    baselines = baseline_paths(gan, train_ref, heldout, path.t)
    baselines["heldout_replica"] = heldout_replica_path(heldout, path.t)
    base_rows = {
        name: refine(system, frames, images, string_cfg, guard) for name, frames in baselines.items()
    }
    scores = np.array([r["score_kcal_mol"] for r in rows])
    col = {key: np.array([r[key] for r in rows]) for key in COLUMNS}
    best = int(np.argmin(scores))
    n_images = images - 1
    summary = {
        "samples": args.samples,
        "spearman_score_vs_barrier": float(spearmanr(scores, col["barrier_kcal_mol"]).statistic),
        "spearman_score_vs_end_gap": float(spearmanr(scores, col["end_gap_kcal_mol"]).statistic),
        "spearman_score_vs_mean_energy": float(
            spearmanr(scores, col["mean_energy_above_start_kcal_mol"]).statistic
        ),
        "converged_strings": int(sum(r["converged"] for r in rows)),
        "strings_highest_at_last_image": int(sum(r["highest_image"] == n_images for r in rows)),
        "max_iterations": string_cfg.max_iterations,
        "best_of_n": {
            **{key: float(col[key][best]) for key in COLUMNS},
            "converged": bool(rows[best]["converged"]),
            "torchmd_frame_evaluations": torchmd_frames,
            "scoring_wall_s": scoring_s,
        },
        "single_sample_mean": {
            **{key: float(col[key].mean()) for key in COLUMNS},
            "converged": float(np.mean([r["converged"] for r in rows])),
            "torchmd_frame_evaluations": torchmd_frames / args.samples,
            "scoring_wall_s": scoring_s / args.samples,
        },
        "lowest_barrier_of_all": float(col["barrier_kcal_mol"].min()),
        "baselines": base_rows,
        "candidates": rows,
    }
    print(
        f"\nover {args.samples} candidates: Spearman of the TorchMD score with the refined string's "
        f"barrier {summary['spearman_score_vs_barrier']:.2f}, with its end gap "
        f"{summary['spearman_score_vs_end_gap']:.2f}, with its mean energy "
        f"{summary['spearman_score_vs_mean_energy']:.2f}; {summary['converged_strings']} converged within "
        f"{string_cfg.max_iterations} iterations; {summary['strings_highest_at_last_image']} have their "
        "highest point at the last image (the barrier is then the end gap)"
    )
    print(
        "| start | converged | barrier | end gap | interior excess | mean energy | OpenMM evaluations | TorchMD frame evaluations |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")

    def line(name: str, r: dict, torchmd: float) -> None:
        conv = r["converged"] if isinstance(r["converged"], bool) else f"{r['converged']:.2f}"
        print(
            f"| {name} | {conv} | {r['barrier_kcal_mol']:.1f} | {r['end_gap_kcal_mol']:.1f} | "
            f"{r['interior_excess_kcal_mol']:.1f} | {r['mean_energy_above_start_kcal_mol']:.1f} | "
            f"{r['force_evaluations']:.0f} | {torchmd:.0f} |"
        )

    line("best of N (by score)", summary["best_of_n"], torchmd_frames)
    line("one sample (mean)", summary["single_sample_mean"], torchmd_frames / args.samples)
    for name, b in base_rows.items():
        line(name, b, 0)
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
