"""What the noise's scale trades: precision against coverage and spread, with one trained model.

Run from the repository root after a few quick runs (``pathgan run --out runs/q$s --preset quick``
with ``seed: $s`` in a ``--config`` file)::

    python benchmarks/truncation.py runs/q0 runs/q1 runs/q2 [--truncations 1.0 0.9 0.8 0.7]

For every run and truncation (``pathgan generate --truncation``: the noise vectors scaled, the
truncation trick of Brock et al. 2019), the run's own model draws its candidates (the run's
number, its seed, relaxed) and they are judged on the run's held-out pulls exactly as
``pathgan run`` judges them. Printed: mean (min-max) over runs of the ensemble metrics per
truncation, beside the template alone (precision's yardstick in issue 12: within 0.1 of it).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import yaml
from _tables import columns
from _tables import mean_range as cell

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.system import MolecularSystem
from pathgan.evaluation import HEADLINE_KEYS, evaluate, training_split
from pathgan.gan import load_model
from pathgan.paths import generate_path
from pathgan.run_config import RunConfig

#: the metrics the noise scale moves
COLUMNS = columns(*HEADLINE_KEYS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="+", help="run folders of `pathgan run`")
    parser.add_argument("--truncations", type=float, nargs="+", default=[1.0, 0.9, 0.8, 0.7])
    parser.add_argument("--out", help="write every result as JSON here")
    args = parser.parse_args()
    rows: dict[str, list[dict]] = {}
    for run in map(Path, args.runs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            system = MolecularSystem.load(run / "system")
        cfg = RunConfig.from_dict(yaml.safe_load((run / "config.yaml").read_text()), "config")
        gan = load_model(run / "train", system)
        train_ref, heldout = training_split(run / "train", system, cfg.compare.stride)
        energies = OpenMMEvaluator(system.system).energies(heldout.arrays()[0])
        for truncation in args.truncations:
            path = generate_path(
                gan, cfg.generate.frames, cfg.generate.samples, cfg.seed, truncation=truncation
            )
            result = evaluate(gan, path.t, path.xyz, train_ref, heldout, system, energies)
            rows.setdefault(f"truncation {truncation:g}", []).append(result["generated"])
            if truncation == args.truncations[0]:
                rows.setdefault("template alone", []).append(result["baselines"]["template"])
                rows.setdefault("one held-out pull", []).append(result["baselines"]["heldout_replica"])
            g = result["generated"]
            print(
                f"{run} truncation {truncation:g}: precision {g['precision']:.3f}, coverage {g['coverage']:.3f}, "
                f"spread ratio {g['spread_ratio_median']:.3f}",
                flush=True,
            )
    print(f"\nmean (min-max) over {len(args.runs)} runs, each judged on its own held-out pulls\n")
    print("| | " + " | ".join(label for _, label, _ in COLUMNS) + " |")
    print("|" + "---|" * (1 + len(COLUMNS)))
    for name, blocks in rows.items():
        cells = [cell([b.get(key, np.nan) for b in blocks], fmt) for key, _, fmt in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
