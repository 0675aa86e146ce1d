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

``--device cuda`` adds pathgan's potential on that device, timed in the same interleaved runs
(frames already on the device, the device synchronised after each call), and its ratio to the
same potential on the CPU (``x cpu``); torchmd and OpenMM stay on the CPU. ``--markdown FILE``
also writes the table as markdown.

    python benchmarks/energy.py [--systems amber charmm36 obc2 gbn2] [--batches 1 32 128 512] [--runs 5]
                                [--device cuda] [--markdown energy.md]
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial

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


def engines(system: MolecularSystem, dtype: torch.dtype, device: str = "cpu"):
    """(torchmd loop, pathgan batch, OpenMM CPU frame by frame, pathgan batch on ``device``) as
    functions of frames (batch, n, 3) A, and the potential; the last is None when ``device`` is the CPU."""
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

    run_device = None
    if device != "cpu":
        pot_device = TorchMDPotential.from_system(system, dtype=dtype, device=device)

        def run_device(xyz: torch.Tensor):
            out = pot_device.energy_and_forces(xyz)
            torch.cuda.synchronize(xyz.device)
            return out

    return run_torchmd, run_pathgan, run_openmm, run_device, pot


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
    parser.add_argument("--device", default="cpu", help="also time pathgan's potential on this torch device")
    parser.add_argument("--markdown", help="also write the table to this markdown file")
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    on_device = args.device != "cpu"
    rng = np.random.default_rng(0)
    title = (
        f"{args.dtype}, torch threads {torch.get_num_threads()}, OpenMM {mm.__version__} CPU platform, "
        f"median (min-max) of {args.runs} interleaved runs"
    )
    if on_device:
        title += f"; pathgan also on {args.device} ({torch.cuda.get_device_name(args.device)})"
    print(title)
    columns = ["system", "batch", "torchmd fps", "OpenMM fps", "pathgan fps", "x torchmd", "x OpenMM"]
    if on_device:
        columns += [f"pathgan {args.device} fps", "x cpu"]
    columns += ["torchmd computes", "max |E - OpenMM| kcal/mol"]
    widths = [9, 5, 12, 11, 12, 16, 16] + ([17, 16] if on_device else []) + [17, 0]
    print(" ".join(f"{c:>{w}}" if w else c for c, w in zip(columns, widths, strict=True)))
    table = [columns]
    for name in args.systems:
        sequence, ff, caps = SYSTEMS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            system = MolecularSystem.from_sequence(sequence, ff, caps=caps)
        run_torchmd, run_pathgan, run_openmm, run_device, pot = engines(system, dtype, args.device)
        subset = "all" if set(pot.terms) <= set(TORCHMD_TERMS) else "a subset"
        x0 = system.positions_angstrom()
        for batch in args.batches:
            xyz = torch.tensor(x0 + rng.normal(scale=0.1, size=(batch, *x0.shape)), dtype=dtype)
            calls = [partial(f, xyz) for f in (run_torchmd, run_pathgan, run_openmm)]
            if on_device:
                xyz_device = xyz.to(args.device)
                calls.append(partial(run_device, xyz_device))
            for call in calls:
                call()  # warm-up
            times = np.array([[timed(call) for call in calls] for _ in range(args.runs)])
            vs_torchmd, vs_openmm = times[:, 0] / times[:, 1], times[:, 2] / times[:, 1]
            fps = batch / np.median(times, axis=0)
            e_openmm = run_openmm(xyz)
            de = np.abs(run_pathgan(xyz)[0]["total"].double().numpy() - e_openmm).max()

            def ratio(r: np.ndarray) -> str:
                return f"{np.median(r):.1f} ({r.min():.1f}-{r.max():.1f})"

            row = [name, str(batch), f"{fps[0]:.1f}", f"{fps[2]:.1f}", f"{fps[1]:.1f}"]
            row += [ratio(vs_torchmd), ratio(vs_openmm)]
            if on_device:
                de_device = np.abs(run_device(xyz_device)[0]["total"].double().cpu().numpy() - e_openmm).max()
                de = max(de, de_device)
                row += [f"{fps[3]:.1f}", ratio(times[:, 1] / times[:, 3])]
            row += [subset, f"{de:.1e}"]
            table.append(row)
            print(" ".join(f"{c:>{w}}" if w else c for c, w in zip(row, widths, strict=True)))
    if args.markdown:
        cells = [[c.replace("|", "\\|") for c in row] for row in table]
        lines = [f"{title}\n", "| " + " | ".join(cells[0]) + " |", "|" + " --- |" * len(cells[0])]
        lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
        with open(args.markdown, "w") as fh:
            fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
