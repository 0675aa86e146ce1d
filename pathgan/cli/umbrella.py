"""``pathgan umbrella``: umbrella sampling along the distance between two atom groups, PMF with MBAR."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_output_options, load_system, progress, table


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan umbrella``."""
    from openmm_bridge.umbrella_distance import STIFF_K_KCAL_MOL_A2, DistanceUmbrellaProtocol

    d = DistanceUmbrellaProtocol()
    p = sub.add_parser(
        "umbrella",
        help="umbrella windows along a distance (OpenMM, through Dask) and the PMF with MBAR",
        description=(
            "One window per centre from --lo to --hi, each started from the frame of the pull folder --smd "
            "nearest its centre, equilibrated, sampled; samples decorrelated (pymbar.timeseries), the PMF from "
            "pymbar's FES with bootstrap errors, the overlap matrix and a first-half/second-half check. "
            f"--stiff: Park and Schulten's {STIFF_K_KCAL_MOL_A2} kcal/mol/A^2. Writes pmf.csv, windows.json, "
            "overlap.csv, overlap.png, pmf.png and umbrella.json."
        ),
    )
    p.add_argument("--system", help="system folder (default: the one the pull folder records)")
    p.add_argument("--smd", required=True, help="pull folder whose frames start the windows ('pathgan smd')")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--lo", type=float, default=d.lo_angstrom, help="first centre, A (default 13)")
    p.add_argument("--hi", type=float, default=d.hi_angstrom, help="last centre, A (default 33)")
    spring = p.add_mutually_exclusive_group()
    spring.add_argument(
        "--k", type=float, default=d.k_kcal_mol_a2, help="kcal/mol/A^2 (default 1, the paper's)"
    )
    spring.add_argument("--stiff", action="store_true", help=f"k = {STIFF_K_KCAL_MOL_A2} kcal/mol/A^2")
    p.add_argument("--spacing", type=float, help="A between centres (default: --spacing-sigma sqrt(kT/k))")
    p.add_argument("--spacing-sigma", type=float, default=d.spacing_sigma, help="default 1")
    p.add_argument(
        "--equilibration-ps", type=float, default=d.equilibration_ps, help="per window (default 20)"
    )
    p.add_argument("--window-ps", type=float, default=d.window_ps, help="sampling per window (default 100)")
    p.add_argument("--sample-interval", type=int, default=d.sample_interval_steps, help="steps (default 50)")
    p.add_argument("--bins", type=int, default=d.bins, help="histogram bins before merging sparse ones")
    p.add_argument("--bootstrap", type=int, default=d.n_bootstrap, help="bootstrap resamples (default 50)")
    p.add_argument(
        "--discard-transient",
        action="store_true",
        help="cut each window's starting transient (pymbar detect_equilibration, at most half) before MBAR; "
        "on a finished --out of the same sampling, only the analysis is redone",
    )
    p.add_argument("--platform", default=d.platform, help="OpenMM platform (default Reference)")
    p.add_argument("--group-a", type=int, nargs="+", help="atom indices (0-based) of the first group")
    p.add_argument("--group-b", type=int, nargs="+", help="atom indices (0-based) of the second group")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster workers (default: one per core)")
    add_output_options(p)
    p.set_defaults(handler=cmd_umbrella)


def cmd_umbrella(args: argparse.Namespace) -> int:
    """Run ``pathgan umbrella``."""
    from openmm_bridge.pull_folder import read_manifest
    from openmm_bridge.umbrella_distance import (
        STIFF_K_KCAL_MOL_A2,
        DistanceUmbrellaProtocol,
        umbrella_along_distance,
    )

    system = load_system(args.system, read_manifest(args.smd).get("system"), args.smd)
    protocol = DistanceUmbrellaProtocol.from_dict(
        {
            "lo_angstrom": args.lo,
            "hi_angstrom": args.hi,
            "k_kcal_mol_a2": STIFF_K_KCAL_MOL_A2 if args.stiff else args.k,
            "spacing_angstrom": args.spacing,
            "spacing_sigma": args.spacing_sigma,
            "equilibration_ps": args.equilibration_ps,
            "window_ps": args.window_ps,
            "sample_interval_steps": args.sample_interval,
            "bins": args.bins,
            "n_bootstrap": args.bootstrap,
            "discard_transient": args.discard_transient,
            "platform": args.platform,
            "group_a": args.group_a,
            "group_b": args.group_b,
            "seed": args.seed,
        },
        "umbrella",
    )
    meta = umbrella_along_distance(
        system, args.smd, args.out, protocol, args.scheduler, args.workers, progress(args)
    )
    pmf = meta["pmf"]
    rows = list(zip(pmf["x"], pmf["pmf_kcal_mol"], pmf["pmf_err_kcal_mol"], strict=True))
    print(table(["distance (A)", "PMF (kcal/mol)", "+-"], rows[:: max(len(rows) // 15, 1)]))
    conv = meta["convergence"]["max_abs_diff_kcal_mol"]
    halves = (
        f"halves differ by at most {conv:.2f} kcal/mol" if conv is not None else "halves: too few samples"
    )
    overlap = min(meta["overlap"]["neighbours"])
    cut = sum(w.get("transient_samples", 0) for w in meta["windows"])
    transient = f"; {cut} transient samples cut" if protocol.discard_transient else ""
    print(f"{len(meta['windows'])} windows; smallest neighbour overlap {overlap:.3f}; {halves}{transient}")
    for w in meta["warnings"]:
        print(f"warning: {w}")
    print(f"wrote {Path(args.out)}/pmf.csv, windows.json, overlap.csv, overlap.png, pmf.png, umbrella.json")
    return 0
