"""Training throughput: a full three-way cGAN step with the batched potential, against torchmd frame by frame.

Both runs train the same GAN (the default configuration) on the same frames, in the same
process; the only difference is the energy of the generator's loss:

- pathgan: ``TorchMDPotential`` on the whole batch, one call per energy step;
- torchmd loop (the paper's code's way): ``Forces.compute`` on one frame at a time, the
  per-frame energies stacked, then one backward pass.

Throughput = training frames per second through the full three-way step (G adversarial,
D, ``energy_steps`` energy steps), best of ``--repeats`` epochs.

    python benchmarks/train.py [--frames 512] [--batch-size 64] [--repeats 2]
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
    args = parser.parse_args()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence()
    ref = synthetic_reference(system, args.frames)
    cfg = pathgan_config()
    cfg.batch_size, cfg.pretrain_epochs, cfg.augment = args.batch_size, 0, True
    rates = {}
    for name in ("pathgan", "torchmd loop"):
        gan = GAN.for_reference(system, cfg, PullProtocol(), ref)
        energy = None if name == "pathgan" else torchmd_loop(system, gan, gan.dtype)
        trainer = Trainer(gan, ref, None, "/tmp/pathgan-bench-train", energy_fn=energy)
        best = float("inf")
        for r in range(args.repeats):
            t0 = time.perf_counter()
            trainer.run_epoch(r)
            best = min(best, time.perf_counter() - t0)
        rates[name] = args.frames / best
    print(
        f"three-way step, deca-alanine ({system.n_atoms} atoms), batch {args.batch_size}, "
        f"{cfg.energy_steps} energy steps, {cfg.dtype}, torch threads {torch.get_num_threads()}"
    )
    for name, rate in rates.items():
        print(f"{name:<14} {rate:9.1f} training frames/s")
    print(f"ratio: {rates['pathgan'] / rates['torchmd loop']:.1f}x")


if __name__ == "__main__":
    main()
