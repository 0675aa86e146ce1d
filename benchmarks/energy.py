"""Frames per second of energy + gradient: torchmd's Forces.compute against pathgan's batched potential.

Both evaluate the same deca-alanine parameters (float64, all terms, vacuum, no
cutoff) on the same frames in the same run; torchmd computes the gradient with
autograd (explicit_forces=False), as a training loop would.

    python benchmarks/energy.py [--batches 1 32 128 512] [--repeats 3] [--dtype float64]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from torchmd.forces import Forces

from openmm_bridge.system import MolecularSystem
from pathgan.potential import TorchMDPotential, torchmd_parameters

TORCHMD_TERMS = ["bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics"]


def best_time(fn, repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up call, seconds."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128, 512])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence()
    par = torchmd_parameters(system, dtype)
    forces = Forces(par, terms=TORCHMD_TERMS)
    pot = TorchMDPotential.from_system(system, dtype=dtype)
    rng = np.random.default_rng(0)
    x0 = system.positions_angstrom()
    print(f"deca-alanine, {system.n_atoms} atoms, {args.dtype}, torch threads {torch.get_num_threads()}")
    print(f"{'batch':>6} {'torchmd fps':>12} {'pathgan fps':>12} {'ratio':>7}  max |dE| kcal/mol")
    for batch in args.batches:
        xyz = torch.tensor(x0 + rng.normal(scale=0.1, size=(batch, *x0.shape)), dtype=dtype)
        box = torch.zeros(batch, 3, 3, dtype=dtype)

        def run_torchmd(xyz=xyz, box=box):
            pos = xyz.clone().requires_grad_(True)
            f = torch.zeros_like(pos)
            return forces.compute(pos, box, f, explicit_forces=False, toNumpy=False)

        def run_pathgan(xyz=xyz):
            return pot.energy_and_forces(xyz)

        t_ref = best_time(run_torchmd, args.repeats)
        t_new = best_time(run_pathgan, args.repeats)
        de = (run_torchmd().detach() - run_pathgan()[0]["total"]).abs().max().item()
        print(f"{batch:>6} {batch / t_ref:>12.1f} {batch / t_new:>12.1f} {t_ref / t_new:>7.1f}  {de:.2e}")


if __name__ == "__main__":
    main()
