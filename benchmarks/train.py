"""Training throughput: a full three-way cGAN step with the batched potential, against torchmd frame by frame.

Both runs train the same GAN (the default configuration) on the same frames, in the same
process; the only difference is the energy of the generator's loss:

- pathgan: ``TorchMDPotential`` on the whole batch, one call per energy step;
- torchmd loop (the paper's code's way): ``Forces.compute`` on one frame at a time, the
  per-frame energies stacked, then one backward pass.

Throughput = training frames per second through the full three-way step (G adversarial,
D, ``energy_steps`` energy steps), best of ``--repeats`` epochs.

``--device cuda`` also trains with pathgan's potential on that device (the GAN, its data and its
potential there; every random number is still drawn on the CPU), in the same process, and gives
its ratio to the same training on the CPU; the torchmd loop stays on the CPU. ``--skip-torchmd``
leaves the torchmd loop out; ``--markdown FILE`` also writes the table as markdown.

    python benchmarks/train.py [--frames 512] [--batch-size 64] [--repeats 2] [--device cuda]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from torchmd.forces import Forces

from openmm_bridge.protocol import PullProtocol
from openmm_bridge.system import MolecularSystem
from pathgan.config import TERM_ORDER, pathgan_config
from pathgan.data import ReferenceSet
from pathgan.gan import GAN
from pathgan.potential import torchmd_parameters
from pathgan.trainer import Trainer


def torchmd_loop(system: MolecularSystem, gan: GAN, dtype: torch.dtype):
    """An energy function with the potential's interface that calls torchmd once per frame."""
    forces = Forces(torchmd_parameters(system, dtype), terms=list(TERM_ORDER))
    box = torch.zeros(1, 3, 3, dtype=dtype)

    def energy(pos: torch.Tensor, t: torch.Tensor) -> dict[str, torch.Tensor]:
        rows = [
            forces.compute(
                pos[i : i + 1], box, None, returnDetails=True, toNumpy=False, calculateForces=False
            )[0]
            for i in range(pos.shape[0])
        ]
        out = {term: torch.cat([r[term] for r in rows]) for term in TERM_ORDER}
        out["restraint"] = gan.restraint(pos, t)
        out["total"] = sum(out[t] for t in TERM_ORDER) + out["restraint"]
        return out

    return energy


def synthetic_reference(system: MolecularSystem, n_frames: int, n_traj: int = 4) -> ReferenceSet:
    """Thermal-looking copies of the helix (the benchmark measures speed, not learning)."""
    rng = np.random.default_rng(0)
    x0 = system.positions_angstrom()
    per = n_frames // n_traj
    masses = np.array([a.element.mass._value for a in system.topology.atoms()])
    frames = [x0 + rng.normal(scale=0.1, size=(per, *x0.shape)) for _ in range(n_traj)]
    return ReferenceSet(
        [f - f.mean(axis=1, keepdims=True) for f in frames], [f"synthetic{i}" for i in range(n_traj)], masses
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu", help="also train with pathgan's potential on this device")
    parser.add_argument("--skip-torchmd", action="store_true", help="leave the torchmd loop out")
    parser.add_argument("--markdown", help="also write the table to this markdown file")
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence()
    ref = synthetic_reference(system, args.frames)
    runs = [("pathgan", "cpu")]
    if args.device != "cpu":
        runs.append(("pathgan", args.device))
    if not args.skip_torchmd:
        runs.append(("torchmd loop", "cpu"))
    rates = {}
    for name, device in runs:
        cfg = pathgan_config()
        cfg.batch_size, cfg.pretrain_epochs, cfg.augment, cfg.device = args.batch_size, 0, True, device
        gan = GAN.for_reference(system, cfg, PullProtocol(), ref)
        energy = None if name == "pathgan" else torchmd_loop(system, gan, gan.dtype)
        trainer = Trainer(gan, ref, None, "/tmp/pathgan-bench-train", energy_fn=energy)
        best = float("inf")
        for r in range(args.repeats):
            t0 = time.perf_counter()
            trainer.run_epoch(r)
            best = min(best, time.perf_counter() - t0)
        rates[name, device] = args.frames / best
    title = (
        f"three-way step, deca-alanine ({system.n_atoms} atoms), {args.frames} frames, batch {args.batch_size}, "
        f"{cfg.energy_steps} energy steps, {cfg.dtype}, torch threads {torch.get_num_threads()}, "
        f"best of {args.repeats} epochs"
    )
    if args.device != "cpu":
        title += f", {args.device}: {torch.cuda.get_device_name(args.device)}"
    print(title)
    base = rates["pathgan", "cpu"]
    table = [["run", "device", "training frames/s", "ratio to pathgan on cpu"]]
    for (name, device), rate in rates.items():
        table.append([name, device, f"{rate:.1f}", f"{rate / base:.2f}x"])
        print(f"{name:<14} {device:<6} {rate:9.1f} training frames/s  {rate / base:6.2f}x pathgan on cpu")
    if ("torchmd loop", "cpu") in rates:
        print(f"ratio: {base / rates['torchmd loop', 'cpu']:.1f}x")
    if args.markdown:
        lines = [f"{title}\n", "| " + " | ".join(table[0]) + " |", "|" + " --- |" * len(table[0])]
        lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
        with open(args.markdown, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
