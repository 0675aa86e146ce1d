"""A swarms-of-trajectories string for deca-alanine in phi/psi (vacuum), helix to extended, and its free energy.

Run from the repository root (about 45 minutes on two shared cores at the defaults)::

    nice -n 5 python benchmarks/swarms.py --out runs/swarms_deca --budget-min 40

End states: capped deca-alanine (AMBER ff14SB, vacuum) as the minimised ideal alpha-helix of
``MolecularSystem.from_sequence`` (CA1-CA10 about 14 A) and as a minimised strand built with
every (phi, psi) = (-120, 120) degrees (CA1-CA10 about 29 A), the two ends of the umbrella
PMF along the CA-CA distance. The first string is the straight line between them in the 20
backbone torsions, its structures made by restrained minimisation
(``openmm_bridge.swarms.structures_for_images``). Then :class:`SwarmsString` iterates (HBonds
constraints, 2 fs, 300 K) until both window tests pass or the wall-clock budget is spent.

Written to ``--out``: ``swarms.json`` (history: drift per iteration, profile per iteration;
the window-mean profile with errors; the free-energy difference of the ends), ``swarms.npz``,
``swarms.png`` (profile and drift history), ``benchmark.json`` (settings, timings, end-state
distances, versions). The free energy here is that of the 20 torsions at the two end points
(restrained, K = ``--k``), not the PMF along the CA-CA distance: the two differ by the
entropy of everything else at a given distance, so they are compared, not equated.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import openmm as mm
import openmm.unit as u

from openmm_bridge.collective_variables import backbone_names, resolve
from openmm_bridge.context import langevin, make_context
from openmm_bridge.execution import dask_client
from openmm_bridge.fileio import atomic_file
from openmm_bridge.provenance import versions
from openmm_bridge.swarms import (
    SwarmsConfig,
    SwarmsString,
    plot_swarms,
    write_swarms_result,
)
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology
from openmm_bridge.units import kcal_a2_to_kj_nm2


def pulled_path(
    deca: MolecularSystem,
    end_angstrom: float,
    length_ps: float,
    k_kcal_mol_a2: float,
    n_frames: int,
    seed: int,
) -> np.ndarray:
    """Frames (n_frames, n_atoms, 3), Angstrom, of a stiff-spring pull of CA1-CA10 from the helix to ``end_angstrom``.

    The first frame is the minimised helix, the last the final structure minimised with the spring
    held at ``end_angstrom`` (HBonds constraints, 2 fs, 300 K, Langevin 1/ps; 5 ps at the start first).
    """
    a, b = deca.end_to_end_atoms()
    system = deca.md_system("HBonds")
    spring = mm.CustomBondForce("0.5*kpull*(r - r0)^2")
    spring.addGlobalParameter("kpull", float(kcal_a2_to_kj_nm2(k_kcal_mol_a2)))
    start_angstrom = ca_distance(deca, deca.positions_angstrom())
    spring.addGlobalParameter("r0", start_angstrom / 10)
    spring.addBond(a, b, [])
    system.addForce(spring)
    context = make_context(system, "Reference", langevin(300.0, 1.0, 2.0, seed))
    context.setPositions(deca.positions)
    context.setVelocitiesToTemperature(300.0 * u.kelvin, seed)
    context.getIntegrator().step(2500)
    n_steps = int(round(length_ps / 0.002))
    chunk = max(n_steps // (n_frames - 1), 1)
    frames = [deca.positions_angstrom()]
    for i in range(1, n_frames):
        context.setParameter(
            "r0", (start_angstrom + (end_angstrom - start_angstrom) * i / (n_frames - 1)) / 10
        )
        context.getIntegrator().step(chunk)
        xyz = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
        frames.append(np.asarray(xyz))
    mm.LocalEnergyMinimizer.minimize(context, 1.0, 0)
    frames[-1] = np.asarray(
        context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(u.angstrom)
    )
    return np.array(frames)


def ca_distance(deca: MolecularSystem, xyz: np.ndarray) -> float:
    """CA1-CA10 distance (A) of one structure."""
    a, b = deca.end_to_end_atoms()
    return float(np.linalg.norm(xyz[a] - xyz[b]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/swarms_deca"))
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--budget-min", type=float, default=40.0, help="wall clock for the iterations")
    parser.add_argument("--max-iterations", type=int, default=400)
    parser.add_argument("--equilibration-steps", type=int, default=1000)
    parser.add_argument("--swarm-size", type=int, default=16)
    parser.add_argument("--swarm-steps", type=int, default=10)
    parser.add_argument("--k", type=float, default=120.0, help="restraint, kcal/mol/rad^2")
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--tol-drift", type=float, default=0.1, help="rad, RMS over images")
    parser.add_argument("--end", type=float, default=28.0, help="CA1-CA10 of the extended end, A")
    parser.add_argument("--pull-ps", type=float, default=100.0, help="the seeding pull's length")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--platform", default="Reference")
    args = parser.parse_args()
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        deca = MolecularSystem.from_sequence()
    seeds = pulled_path(deca, args.end, args.pull_ps, 7.2, args.images, seed=1)
    top = mdtraj_topology(deca)
    cvs = resolve(top, backbone_names(top))
    system = deca.md_system("HBonds")
    cfg = SwarmsConfig(
        max_iterations=args.max_iterations,
        restraint_k_kcal_mol=args.k,
        equilibration_steps=args.equilibration_steps,
        sample_every_steps=10,
        swarm_size=args.swarm_size,
        swarm_steps=args.swarm_steps,
        timestep_fs=2.0,
        convergence_window=args.window,
        tol_drift=args.tol_drift,
        platform=args.platform,
    )
    t_setup = time.time() - t0
    string = SwarmsString(system, seeds, cvs, cfg)
    converged = False
    t1 = time.time()
    with dask_client(None, args.workers) as client:
        for it in range(cfg.max_iterations):
            row = string.iterate(it, client=client)
            print(
                f"iteration {row['iteration']:4d}  {time.time() - t1:7.0f} s  move {row['rms_displacement_cv']:.3f} rad  "
                f"window drift {row['window_drift_cv'] or float('nan'):.3f} rad  "
                f"profile change {row['window_profile_change_sigmas'] or float('nan'):.2f} sigma  "
                f"dF {row['profile_kcal_mol'][-1]:7.2f} kcal/mol",
                flush=True,
            )
            if string.converged():
                converged = True
                break
            if time.time() - t1 > 60 * args.budget_min:
                break
    result = string.result(converged)
    write_swarms_result(result, cvs, args.out, cfg)
    plot_swarms(result, args.out / "swarms.png", "deca-alanine, phi/psi")
    d_f, d_f_err = result.delta_f_kcal_mol
    summary = {
        "converged": converged,
        "iterations": result.iterations,
        "delta_f_kcal_mol": d_f,
        "delta_f_error_kcal_mol": d_f_err,
        "barrier_kcal_mol": float(result.profile_kcal_mol.max()),
        "ca_ca_angstrom": {"helix": ca_distance(deca, seeds[0]), "extended": ca_distance(deca, seeds[-1])},
        "ca_ca_of_images_angstrom": [ca_distance(deca, x) for x in result.structures],
        "ca_ca_of_seeds_angstrom": [ca_distance(deca, x) for x in seeds],
        "images": args.images,
        "workers": args.workers,
        "setup_s": t_setup,
        "iterations_s": time.time() - t1,
        "config": cfg.to_dict(),
        "versions": versions(),
    }
    with atomic_file(args.out / "benchmark.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("config", "versions")}, indent=1))


if __name__ == "__main__":
    main()
