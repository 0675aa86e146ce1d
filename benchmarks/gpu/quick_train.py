"""The quick preset's training stage on the CPU and on a GPU, through the command line, same run.

Builds capped deca-alanine, runs the quick preset's reference pulls (``pathgan smd``: 12 pulls of
120 ps after 20 ps of equilibration, a frame every 250 steps) and trains the default cGAN on them
with the quick preset's training settings (``pathgan train``: stride 5, a third of the pulls held
out, 20 epochs) once with ``--device cpu`` and once with ``--device DEVICE``. Reports the wall time
of each ``pathgan train`` (process start included) and the sum of its epochs' own times
(``wall_s`` in losses.csv), their ratio, and the last epoch's losses of each run side by side.

    python benchmarks/gpu/quick_train.py --work /tmp/quick --device cuda [--markdown FILE]
    python benchmarks/gpu/quick_train.py --work /tmp/quick --device cuda --length-ps 48 --frame-interval 100
        (the same training stage, 241 frames a pull, from pulls 2.5 times shorter; the frame
        interval divides the pull, the equilibration and the checkpoint interval, and is a
        multiple of the pull centre's update interval, 10 steps)
    python benchmarks/gpu/quick_train.py --work /tmp/quick --device cpu --replicas 4 --length-ps 2 --epochs 1
        (a smoke run)
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import time
from pathlib import Path

CLI = [sys.executable, "-m", "pathgan.cli"]


def run(args: list[str]) -> float:
    """Run a ``pathgan`` command; its wall seconds (a failure stops the benchmark with its output)."""
    print("$ pathgan", " ".join(args), flush=True)
    t0 = time.perf_counter()
    subprocess.run([*CLI, *args], check=True)
    return time.perf_counter() - t0


def last_losses(folder: Path) -> tuple[float, dict[str, str]]:
    """(sum of the epochs' wall_s, the last row of losses.csv)."""
    with open(folder / "losses.csv") as fh:
        rows = list(csv.DictReader(fh))
    return sum(float(r.get("wall_s") or 0.0) for r in rows), rows[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", required=True, help="working folder (system, pulls, trainings)")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--replicas", type=int, default=12)
    parser.add_argument("--length-ps", type=float, default=120.0)
    parser.add_argument("--equilibration-ps", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=12)
    parser.add_argument("--frame-interval", type=int, default=250, help="steps between saved frames")
    parser.add_argument("--epochs", type=int, help="adversarial epochs (default: the preset's)")
    parser.add_argument("--markdown", help="also write the table to this markdown file")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "system" / "metadata.json").exists():
        run(["build", "--sequence", "AAAAAAAAAA", "--out", str(work / "system"), "--quiet"])
    # the checkpoint interval, like the pull and the equilibration, a multiple of the frame interval
    checkpoint = args.frame_interval * max(1, 25000 // args.frame_interval)
    smd_s = run(
        [
            "smd", "--system", str(work / "system"), "--out", str(work / "smd"),
            "--replicas", str(args.replicas), "--length-ps", str(args.length_ps),
            "--equilibration-ps", str(args.equilibration_ps), "--frame-interval", str(args.frame_interval),
            "--checkpoint-interval", str(checkpoint), "--seed", "0", "--workers", str(args.workers), "--quiet",
        ]
    )  # fmt: skip
    config = work / "quick_train.yaml"
    config.write_text("preset: pathgan\nstride: 5\nvalidation_fraction: 0.34\n")
    results = {}
    for device in ("cpu", args.device) if args.device != "cpu" else ("cpu",):
        out = work / f"train_{device.replace(':', '')}"
        extra = ["--epochs", str(args.epochs)] if args.epochs is not None else []
        wall = run(
            ["train", "--reference", str(work / "smd"), "--out", str(out), "--config", str(config),
             "--device", device, "--quiet", *extra]
        )  # fmt: skip
        epochs_s, last = last_losses(out)
        results[device] = (wall, epochs_s, last)
    base_wall, base_epochs, _ = results["cpu"]
    frames = round(args.length_ps / (args.frame_interval * 0.002)) + 1
    title = (
        f"quick preset's training stage (pathgan train, {args.replicas} pulls of {args.length_ps:g} ps, "
        f"{frames} frames each, stride 5, a third held out); reference pulls took {smd_s:.0f} s"
    )
    keys = ["loss_d", "loss_g_adv", "loss_energy", "total_kcal_mol", "val_total_kcal_mol"]
    table = [["device", "wall s", "epochs s", "x cpu (epochs)", *[f"last {k}" for k in keys]]]
    for device, (wall, epochs_s, last) in results.items():
        row = [device, f"{wall:.1f}", f"{epochs_s:.1f}", f"{base_epochs / epochs_s:.2f}x"]
        table.append(row + [f"{float(last[k]):.4g}" if last.get(k) else "-" for k in keys])
    print(title)
    for row in table:
        print("  ".join(f"{c:>14}" for c in row))
    if args.markdown:
        lines = [f"{title}\n", "| " + " | ".join(table[0]) + " |", "|" + " --- |" * len(table[0])]
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        Path(args.markdown).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
