"""What the TorchMD score of a candidate path is worth: does it predict the refined string's barrier?

Run from the repository root, after ``pathgan run --out runs/q0 --preset quick``::

    python benchmarks/candidates.py --run runs/q0 [--samples 32] [--images 20] [--seed 0]

1. ``--samples`` candidate paths from the run's model (relaxed and scored by the batched TorchMD
   potential, as ``pathgan generate`` does: the score is the highest energy along the path).
2. The zero-temperature string (OpenMM, the run's refine settings) from *every* candidate and
   from the baselines: the template, the medoid path of the training pulls, linear interpolation
   between the end states, and one held-out pull.
3. Spearman correlation of the TorchMD score with the barrier of the refined string (highest
   energy above its first image), and what best-of-N buys against one random sample (the mean
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


def refine(system: MolecularSystem, frames: np.ndarray, images: int, config) -> dict:
    t0 = time.perf_counter()
    guard = chirality_guard_force(system.topology, system.positions_angstrom())
    r = ZeroTemperatureString(system.system, string_images(frames, images), config, guard).run()
    return {
        "converged": r.converged,
        "force_evaluations": r.force_evaluations,
        "barrier_kcal_mol": r.barrier_kcal_mol,
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
                **refine(system, path.xyz[k], images, string_cfg),
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
    base_rows = {name: refine(system, frames, images, string_cfg) for name, frames in baselines.items()}
    scores = np.array([r["score_kcal_mol"] for r in rows])
    barriers = np.array([r["barrier_kcal_mol"] for r in rows])
    evals = np.array([r["force_evaluations"] for r in rows])
    best = int(np.argmin(scores))
    summary = {
        "samples": args.samples,
        "spearman_score_vs_barrier": float(spearmanr(scores, barriers).statistic),
        "converged_strings": int(sum(r["converged"] for r in rows)),
        "max_iterations": string_cfg.max_iterations,
        "best_of_n": {
            "barrier_kcal_mol": float(barriers[best]),
            "force_evaluations": int(evals[best]),
            "torchmd_frame_evaluations": torchmd_frames,
            "scoring_wall_s": scoring_s,
        },
        "single_sample_mean": {
            "barrier_kcal_mol": float(barriers.mean()),
            "force_evaluations": float(evals.mean()),
            "torchmd_frame_evaluations": torchmd_frames / args.samples,
            "scoring_wall_s": scoring_s / args.samples,
        },
        "lowest_barrier_of_all": float(barriers.min()),
        "baselines": base_rows,
        "candidates": rows,
    }
    print(
        f"\nSpearman(TorchMD score, refined barrier) over {args.samples} candidates: "
        f"{summary['spearman_score_vs_barrier']:.2f}; {summary['converged_strings']} of them converged "
        f"within {string_cfg.max_iterations} iterations"
    )
    print(
        f"{'start':<24} {'barrier (kcal/mol)':>19} {'OpenMM evaluations':>19} {'TorchMD frame evaluations':>26}"
    )
    print(f"{'best of N (by score)':<24} {barriers[best]:19.1f} {evals[best]:19d} {torchmd_frames:26d}")
    print(
        f"{'one sample (mean)':<24} {barriers.mean():19.1f} {evals.mean():19.0f} {torchmd_frames // args.samples:26d}"
    )
    for name, b in base_rows.items():
        print(f"{name:<24} {b['barrier_kcal_mol']:19.1f} {b['force_evaluations']:19d} {0:26d}")
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    torch.set_num_threads(2)
    main()
