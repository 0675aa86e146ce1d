"""The cGAN configurations side by side, judged as ensembles on pulls they did not train on.

Run from the repository root, after ``pathgan run --out runs/q0 --preset quick`` (its 12 pulls)::

    python benchmarks/cgan_table.py --reference runs/q0/smd --seeds 0 1 2

For each preset (``pathgan``, the default; ``paper``; ``ablation``, the default without the
physical energy terms) and training seed: ``pathgan train`` holding out a third of the pulls,
``pathgan generate --samples 32`` relaxed and raw (``--no-relax``), and ``pathgan compare``
against the held-out pulls (its ``ensemble.json``). Printed: the mean (min-max) over seeds of
the ensemble metrics of every configuration, beside the baselines measured on the same
held-out pulls (template alone, medoid training pull, linear interpolation, one held-out pull
against the others).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _tables import ENSEMBLE_COLUMNS as COLUMNS
from _tables import mean_range as cell


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
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--validation-fraction", type=float, default=0.34)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--presets", nargs="+", default=["pathgan", "paper", "ablation"])
    args = parser.parse_args()
    exe = [sys.executable, "-m", "pathgan.cli"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    config = out / "split.yaml"
    config.write_text(f"validation_fraction: {args.validation_fraction}\n")
    rows: dict[str, list[dict]] = {}
    walls: dict[str, list[float]] = {}
    for preset in args.presets:
        for seed in args.seeds:
            d = out / f"{preset}_seed{seed}"
            t0 = time.perf_counter()
            train = [*exe, "train", "--reference", args.reference, "--out", str(d), "--preset", preset]
            run(
                [
                    *train,
                    "--seed",
                    str(seed),
                    "--stride",
                    str(args.stride),
                    "--config",
                    str(config),
                    "--quiet",
                ]
            )
            walls.setdefault(preset, []).append(time.perf_counter() - t0)
            for kind, extra in (("relaxed", []), ("raw", ["--no-relax"])):
                path, cmp = d / f"path_{kind}", d / f"compare_{kind}"
                generate = [*exe, "generate", "--model", str(d), "--frames", "20", "--out", str(path)]
                run([*generate, "--samples", str(args.samples), "--seed", str(seed), *extra])
                run([*exe, "compare", "--path", str(path), "--stride", str(args.stride), "--out", str(cmp)])
                result = json.loads((cmp / "ensemble.json").read_text())
                rows.setdefault(f"{preset}, {kind}", []).append(result["generated"])
                if preset == args.presets[0] and kind == "relaxed":
                    for name, block in result["baselines"].items():
                        rows.setdefault(f"baseline: {name}", []).append(block)
            print(f"{preset} seed {seed}: done ({walls[preset][-1]:.0f} s training)", flush=True)
    (out / "table.json").write_text(json.dumps(rows, indent=1, default=float) + "\n")
    print(
        f"\nMean (min-max) over seeds {args.seeds}; {args.samples} candidates each, judged on the "
        f"{args.validation_fraction:.0%} of the pulls of {args.reference} held out of training\n"
    )
    print("| | " + " | ".join(label for _, label, _ in COLUMNS) + " |")
    print("|" + "---|" * (1 + len(COLUMNS)))
    for name, blocks in rows.items():
        cells = [cell([b.get(key, float("nan")) for b in blocks], fmt) for key, _, fmt in COLUMNS]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\ntraining wall time (s): " + ", ".join(f"{p} {np.mean(walls[p]):.0f}" for p in args.presets))


if __name__ == "__main__":
    main()
