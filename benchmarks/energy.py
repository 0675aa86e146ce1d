"""Frames per second of energy + forces: pathgan's batched potential against torchmd's loop and OpenMM.

For each system (deca-alanine in AMBER ff14SB vacuum, in OBC2 and GBn2 implicit solvent, and
in CHARMM36 with Urey-Bradley and CMAP), the same frames are evaluated by

- pathgan's batched potential (every term of the System, gradient by autograd),
- torchmd's ``Forces.compute``, one frame after another, with autograd forces as a training
  loop would; torchmd has no form for Urey-Bradley, CMAP, the LJ table or implicit solvent, so
  on those systems it computes only its own subset of the energy (the column says so),
- OpenMM's CPU platform, frame by frame (``setPositions`` + ``getState(energy, forces)``), the
  engine a user would otherwise call; it computes the whole System.

Each ratio is the median of ``--runs`` interleaved runs (each run times the three engines one
after another), so load on the machine hits all engines alike; the range is printed beside it.

    python benchmarks/energy.py [--systems amber charmm36 obc2 gbn2] [--batches 1 32 128 512] [--runs 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import openmm as mm
import openmm.unit as u
import torch
from torchmd.forces import Forces

from openmm_bridge.context import make_context
from openmm_bridge.system import MolecularSystem
from pathgan.potential import TorchMDPotential, torchmd_parameters

TORCHMD_TERMS = ["bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics"]

#: name -> (sequence, force-field files, ACE/NME caps)
SYSTEMS = {
    "amber": ("AAAAAAAAAA", ("amber14-all.xml",), True),
    "obc2": ("AAAAAAAAAA", ("amber14-all.xml", "implicit/obc2.xml"), True),
    "gbn2": ("AAAAAAAAAA", ("amber14-all.xml", "implicit/gbn2.xml"), True),
    "charmm36": ("AAAAAAAAAA", ("charmm36.xml",), False),  # charmm36.xml has no ACE/NME templates
}


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def engines(system: MolecularSystem, dtype: torch.dtype):
    """(torchmd loop, pathgan batch, OpenMM CPU frame by frame) as functions of frames (batch, n, 3) A."""
    par = torchmd_parameters(system, dtype)
    forces = Forces(par, terms=TORCHMD_TERMS)
    pot = TorchMDPotential.from_system(system, dtype=dtype)
    context = make_context(system.system, "CPU")

    def run_torchmd(xyz: torch.Tensor):
        pos = xyz.clone().requires_grad_(True)
        box = torch.zeros(len(xyz), 3, 3, dtype=dtype)
        return forces.compute(pos, box, torch.zeros_like(pos), explicit_forces=False, toNumpy=False)

    def run_pathgan(xyz: torch.Tensor):
        return pot.energy_and_forces(xyz)

    def run_openmm(xyz: torch.Tensor):
        out = []
        for frame in xyz.numpy():
            context.setPositions(frame / 10.0)
            state = context.getState(getEnergy=True, getForces=True)
            out.append(state.getPotentialEnergy().value_in_unit(u.kilocalorie_per_mole))
        return np.array(out)

    return run_torchmd, run_pathgan, run_openmm, pot


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--systems", nargs="+", choices=sorted(SYSTEMS), default=["amber", "charmm36", "obc2"]
    )
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128, 512])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    rng = np.random.default_rng(0)
    print(
        f"{args.dtype}, torch threads {torch.get_num_threads()}, OpenMM {mm.__version__} CPU platform, "
        f"median (min-max) of {args.runs} interleaved runs"
    )
    header = (
        f"{'system':>9} {'batch':>5} {'torchmd fps':>12} {'OpenMM fps':>11} {'pathgan fps':>12} "
        f"{'x torchmd':>16} {'x OpenMM':>16}  torchmd computes   max |E - OpenMM| kcal/mol"
    )
    print(header)
    for name in args.systems:
        sequence, ff, caps = SYSTEMS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            system = MolecularSystem.from_sequence(sequence, ff, caps=caps)
        run_torchmd, run_pathgan, run_openmm, pot = engines(system, dtype)
        subset = "all" if set(pot.terms) <= set(TORCHMD_TERMS) else "a subset"
        x0 = system.positions_angstrom()
        for batch in args.batches:
            xyz = torch.tensor(x0 + rng.normal(scale=0.1, size=(batch, *x0.shape)), dtype=dtype)
            for fn in (run_torchmd, run_pathgan, run_openmm):
                fn(xyz)  # warm-up
            times = np.array(
                [
                    [timed(lambda f=f, xyz=xyz: f(xyz)) for f in (run_torchmd, run_pathgan, run_openmm)]
                    for _ in range(args.runs)
                ]
            )
            vs_torchmd, vs_openmm = times[:, 0] / times[:, 1], times[:, 2] / times[:, 1]
            fps = batch / np.median(times, axis=0)
            de = np.abs(run_pathgan(xyz)[0]["total"].double().numpy() - run_openmm(xyz)).max()

            def ratio(r: np.ndarray) -> str:
                return f"{np.median(r):.1f} ({r.min():.1f}-{r.max():.1f})"

            print(
                f"{name:>9} {batch:>5} {fps[0]:>12.1f} {fps[2]:>11.1f} {fps[1]:>12.1f} "
                f"{ratio(vs_torchmd):>16} {ratio(vs_openmm):>16}  {subset:<17} {de:.1e}"
            )


if __name__ == "__main__":
    main()
