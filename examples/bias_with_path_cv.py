"""Bias your own OpenMM Simulation along a pathgan path with the path collective variable s(x).

The bias 1/2 k (s - s0)^2 is an openmm-torch TorchForce; s0 is a global parameter you move.

    python examples/bias_with_path_cv.py --system runs/quick/system --path runs/quick/path --steps 5000
"""

from __future__ import annotations

import argparse

import openmm as mm
import openmm.app as app
import openmm.unit as u

from openmm_bridge.pathcv import PathCV, default_atoms, path_cv_force, path_cv_values
from openmm_bridge.system import MolecularSystem
from pathgan.paths import path_frames


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--system", required=True, help="pathgan system folder")
    parser.add_argument("--path", required=True, help="path folder or trajectory")
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--k", type=float, default=478.0, help="bias constant on s, kcal/mol")
    args = parser.parse_args()

    system = MolecularSystem.load(args.system)
    frames = path_frames(args.path, system)  # Angstrom
    atoms = default_atoms(system.topology)

    # Your own System and Simulation, plus one Force.
    omm_system = system.md_system("HBonds")
    omm_system.addForce(path_cv_force(frames, atoms, k_s_kcal_mol=args.k, s0=0.0))
    integrator = mm.LangevinMiddleIntegrator(300 * u.kelvin, 1 / u.picosecond, 2 * u.femtosecond)
    simulation = app.Simulation(
        system.topology, omm_system, integrator, mm.Platform.getPlatformByName("Reference")
    )
    simulation.context.setPositions(frames[0] * u.angstrom)
    simulation.minimizeEnergy(maxIterations=100)

    cv = PathCV(frames, atoms)
    chunks = 10
    for k in range(1, chunks + 1):
        simulation.context.setParameter("pathcv_s0", k / chunks)  # drag the bias along the path
        simulation.step(args.steps // chunks)
        pos = (
            simulation.context.getState(getPositions=True)
            .getPositions(asNumpy=True)
            .value_in_unit(u.angstrom)
        )
        s, z = path_cv_values(cv, pos)
        print(f"s0 = {k / chunks:.1f}   s = {s:.3f}   z = {z:.4f} A^2")


if __name__ == "__main__":
    main()
