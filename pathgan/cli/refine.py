"""``pathgan refine`` (string method, swarms) and ``pathgan pathcv`` (pull or umbrella along a path)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import add_output_options, evenly, path_system, progress, table

if TYPE_CHECKING:
    from openmm_bridge.string_method import StringConfig
    from openmm_bridge.system import MolecularSystem


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan refine`` and ``pathgan pathcv``."""
    add_refine(sub)
    add_pathcv(sub)


def add_refine(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan refine``."""
    p = sub.add_parser(
        "refine",
        help="refine a path with the string method (zero temperature, or swarms of trajectories)",
        description=(
            "Zero-temperature string (OpenMM forces perpendicular to the path, equal arc length, rigid-body "
            "motion removed) or the string method with swarms of trajectories in collective variables "
            "(default: backbone phi/psi), images run through Dask. Writes the refined path, the history of "
            "every iteration and plots."
        ),
    )
    p.add_argument("--path", required=True, help="path folder ('pathgan generate') or any trajectory")
    p.add_argument("--out", required=True)
    p.add_argument("--system", help="system folder (default: the path's)")
    p.add_argument("--method", choices=("string", "swarms"), default="string")
    p.add_argument("--images", type=int, default=20, help="images (evenly chosen path frames; default 20)")
    p.add_argument("--max-iterations", type=int, help="default 2000 (string) / 20 (swarms)")
    p.add_argument("--free-ends", action="store_true", help="string: let the end images relax too")
    p.add_argument(
        "--candidates",
        type=int,
        default=1,
        help="string, from a path folder: refine the K best-ranked candidates and keep the lowest "
        "converged string (default 1: the best candidate, path.dcd)",
    )
    p.add_argument("--step-size", type=float, help="string: A^2/(kcal/mol) per iteration (default 5e-4)")
    p.add_argument("--cvs", nargs="+", help="swarms: collective variables (phi:ALA2 ..., distance:I-J)")
    p.add_argument("--swarm-size", type=int, default=16)
    p.add_argument(
        "--convergence",
        choices=("window", "profile"),
        default="window",
        help="swarms: stop when the window means stop moving (drift and profile), or when the free-energy "
        "profile is stationary since its transient, to --precision (default window)",
    )
    p.add_argument(
        "--precision", type=float, default=0.5, help="swarms, --convergence profile: kcal/mol (default 0.5)"
    )
    p.add_argument("--scheduler", help="swarms: Dask scheduler address (default: local cluster)")
    p.add_argument("--workers", type=int, help="swarms: local Dask workers")
    add_output_options(p)
    p.set_defaults(handler=cmd_refine)


def string_config(args: argparse.Namespace) -> StringConfig:
    """The zero-temperature string's settings from the options."""
    from openmm_bridge.string_method import StringConfig

    cfg = StringConfig(fixed_ends=not args.free_ends)
    if args.max_iterations:
        cfg.max_iterations = args.max_iterations
    if args.step_size:
        cfg.step_size = args.step_size
    return cfg


def refine_best_candidates(args: argparse.Namespace, system: MolecularSystem) -> int:
    """``pathgan refine --candidates K``: the K best candidates of a path folder, the lowest string kept."""
    from openmm_bridge.errors import PathganInputError
    from pathgan.candidates import refine_candidates, write_refined_candidates

    if args.method != "string":
        raise PathganInputError("--candidates refines with the zero-temperature string (--method string)")
    if not Path(args.path).is_dir():
        raise PathganInputError(f"{args.path}: --candidates needs a path folder of 'pathgan generate'")
    cfg = string_config(args)
    result, rows = refine_candidates(system, args.path, args.candidates, args.images, cfg, progress(args))
    out = write_refined_candidates(result, rows, args.out, system, cfg)
    columns = ["rank", "sample", "converged", "iterations", "force_evaluations", "barrier_kcal_mol", "kept"]
    print(table(columns, [[r.get(c, "") for c in columns] for r in rows]))
    print(f"wrote {out}/string.dcd (the kept string), string.json, candidates.json, string.png")
    return 0


def cmd_refine(args: argparse.Namespace) -> int:
    """Run ``pathgan refine``."""
    from openmm_bridge.plots import plot_string
    from pathgan.paths import path_frames

    system = path_system(args)
    out = Path(args.out)
    if args.candidates != 1:
        return refine_best_candidates(args, system)
    frames = evenly(path_frames(args.path, system), args.images)
    if args.method == "string":
        from openmm_bridge.string_method import ZeroTemperatureString, write_string_result

        cfg = string_config(args)
        from openmm_bridge.stereochemistry import chirality_guard_force

        guard = chirality_guard_force(system.topology, system.positions_angstrom())
        result = ZeroTemperatureString(system.system, frames, cfg, guard).run(progress=progress(args))
        write_string_result(result, out, system.topology, cfg)
        plot_string(result.history, out / "string.png", "zero-temperature string")
        rows = [
            ["converged", result.converged],
            ["iterations", result.iterations],
            ["force evaluations", result.force_evaluations],
            ["highest energy above start (kcal/mol)", result.barrier_kcal_mol],
        ]
        print(table(["", "value"], rows))
        print(f"wrote {out}/string.dcd, string.pdb, string.json, string.npz, string.png")
        return 0
    from openmm_bridge.collective_variables import backbone_names, resolve
    from openmm_bridge.swarms import SwarmsConfig, SwarmsString, plot_swarms, write_swarms_result
    from openmm_bridge.trajio import mdtraj_topology

    top = mdtraj_topology(system)
    cvs = resolve(top, args.cvs or backbone_names(top))
    cfg = SwarmsConfig(
        swarm_size=args.swarm_size, convergence=args.convergence, profile_precision_kcal_mol=args.precision
    )
    if args.max_iterations:
        cfg.max_iterations = args.max_iterations
    result = SwarmsString(system.md_system(None), frames, cvs, cfg).run(
        args.scheduler, args.workers, progress(args)
    )
    write_swarms_result(result, cvs, out, cfg)
    plot_swarms(result, out / "swarms.png")
    d_f, d_f_err = result.delta_f_kcal_mol
    rows = [["converged", result.converged], ["iterations", result.iterations]]
    rows.append(["free energy, last image - first (kcal/mol)", f"{d_f:.2f} +- {d_f_err:.2f}"])
    print(table(["", "value"], rows))
    print(f"wrote {out}/swarms.json, swarms.npz, swarms.png")
    return 0


def add_pathcv(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan pathcv``."""
    p = sub.add_parser(
        "pathcv",
        help="steered MD or umbrella sampling along a path's s(x) (openmm-torch TorchForce)",
        description=(
            "Path collective variables s(x), z(x) of a path as an openmm-torch TorchForce. 'pull' drives s "
            "from 0 to 1 (work recorded); 'umbrella' runs windows along s through Dask and gives the PMF "
            "along the path with MBAR."
        ),
    )
    p.add_argument("mode", choices=("pull", "umbrella"))
    p.add_argument("--path", required=True, help="path folder or trajectory (the reference path of s)")
    p.add_argument("--out", required=True)
    p.add_argument("--system", help="system folder (default: the path's)")
    p.add_argument("--atoms", type=int, nargs="+", help="metric atoms (0-based; default: CA atoms)")
    p.add_argument("--k-s", type=float, default=478.0, help="bias constant on s, kcal/mol (default 478)")
    p.add_argument("--pull-ps", type=float, default=20.0)
    p.add_argument("--windows", type=int, default=21)
    p.add_argument("--window-ps", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", help="umbrella: Dask scheduler address")
    p.add_argument("--workers", type=int, help="umbrella: local Dask workers")
    add_output_options(p)
    p.set_defaults(handler=cmd_pathcv)


def cmd_pathcv(args: argparse.Namespace) -> int:
    """Run ``pathgan pathcv``."""
    from openmm_bridge.pathcv import default_atoms
    from openmm_bridge.pathcv_md import PathCVProtocol, pull_along_path
    from openmm_bridge.umbrella import umbrella_along_path
    from pathgan.paths import path_frames

    system = path_system(args)
    frames = path_frames(args.path, system)
    atoms = args.atoms or default_atoms(system.topology)
    protocol = PathCVProtocol(
        k_s_kcal_mol=args.k_s,
        pull_ps=args.pull_ps,
        windows=args.windows,
        window_ps=args.window_ps,
        seed=args.seed,
    )
    out = Path(args.out)
    if args.mode == "pull":
        summary = pull_along_path(system, frames, atoms, protocol, out, progress=progress(args))
        print(table(["", "value"], [[k, v] for k, v in summary.items()]))
        print(f"wrote {out}/pull_s.csv, pull_s.dcd, pull_s.png")
        return 0
    result = umbrella_along_path(
        system,
        frames,
        atoms,
        protocol,
        out,
        scheduler=args.scheduler,
        n_workers=args.workers,
        progress=progress(args),
    )
    pmf = result["pmf"]
    rows = [
        [f"{s:.3f}", f if f is not None else "-", e if e is not None else "-"]
        for s, f, e in zip(pmf["s"], pmf["pmf_kcal_mol"], pmf["pmf_err_kcal_mol"], strict=True)
    ]
    print(table(["s", "PMF (kcal/mol)", "+-"], rows))
    print(f"wrote {out}/umbrella.json, pmf_s.png")
    return 0
