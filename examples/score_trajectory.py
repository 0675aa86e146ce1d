"""Score any trajectory with pathgan's batched TorchMD potential (energies by term, kcal/mol).

python examples/score_trajectory.py --system runs/quick/system --traj runs/quick/smd/replica_000/trajectory.dcd
"""

from __future__ import annotations

import argparse

import torch

from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import frames_angstrom, load_frames
from pathgan.potential import TorchMDPotential


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--system", required=True, help="pathgan system folder")
    parser.add_argument("--traj", required=True, help="any trajectory mdtraj reads, with the system's atoms")
    parser.add_argument("--stride", type=int, default=1)
    args = parser.parse_args()

    system = MolecularSystem.load(args.system)
    traj = load_frames(args.traj, system)[:: args.stride]  # atoms checked against the system
    potential = TorchMDPotential.from_system(system, dtype=torch.float64)
    energies = potential(torch.as_tensor(frames_angstrom(traj)))  # one batched call, (n_frames,) per term
    terms = [t for t in energies if t != "total"] + ["total"]
    print("frame " + " ".join(f"{t:>14}" for t in terms))
    for i in range(traj.n_frames):
        print(f"{i:5d} " + " ".join(f"{float(energies[t][i]):14.3f}" for t in terms))


if __name__ == "__main__":
    main()
