"""Seed a zero-temperature string simulation from a pathgan path and write the refined path.

python examples/seed_string.py --system runs/quick/system --path runs/quick/path --out string.dcd
"""

from __future__ import annotations

import argparse

import numpy as np

from openmm_bridge.string_method import StringConfig, ZeroTemperatureString
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology, write_trajectory
from pathgan.paths import path_frames


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--system", required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--out", default="string.dcd")
    args = parser.parse_args()

    system = MolecularSystem.load(args.system)
    frames = path_frames(args.path, system)
    images = frames[np.round(np.linspace(0, len(frames) - 1, args.images)).astype(int)]
    string = ZeroTemperatureString(system.system, images, StringConfig(max_iterations=args.iterations))
    result = string.run(progress=True)
    print(
        f"converged: {result.converged} after {result.iterations} iterations, {result.force_evaluations} force evaluations"
    )
    print("energy along the string (kcal/mol above the first image):")
    print(np.round(result.energies - result.energies[0], 1))
    write_trajectory(result.images, mdtraj_topology(system), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
