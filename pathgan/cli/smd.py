"""``pathgan smd`` (steered-MD replicas through Dask) and ``pathgan pmf`` (Jarzynski PMF)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import add_output_options, progress, table

if TYPE_CHECKING:
    from openmm_bridge.protocol import PullProtocol


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan smd`` and ``pathgan pmf``."""
    add_smd(sub)
    add_pmf(sub)


def add_smd(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan smd``."""
    from openmm_bridge.protocol import PullProtocol

    d = PullProtocol()
    p = sub.add_parser(
        "smd",
        help="steered-MD replicas of a constant-velocity pull (OpenMM, through Dask)",
        description=(
            "Pull the distance between two atom groups (default: CA of the first and last residue), or the "
            "--coordinate given, with a harmonic restraint whose centre moves linearly from c0 to c1. "
            "Defaults: the paper's protocol. "
            "Replicas run on a local Dask cluster, or on --scheduler. Re-running resumes a killed run."
        ),
    )
    p.add_argument("--system", required=True, help="system folder ('pathgan build')")
    p.add_argument("--out", required=True, help="pull folder")
    p.add_argument("--replicas", type=int, default=4, help="number of replicas (default 4)")
    p.add_argument(
        "--length-ps", type=float, default=d.length_ps, help=f"pull length, ps (default {d.length_ps:g})"
    )
    p.add_argument(
        "--equilibration-ps",
        type=float,
        default=d.equilibration_ps,
        help="equilibration at c0 the replicas start from, spaced by its decorrelation time; 0: all start "
        f"from the minimised structure (the old protocol) (default {d.equilibration_ps:g})",
    )
    p.add_argument(
        "--seed", type=int, default=2024, help="base seed; replica seeds derive from it (default 2024)"
    )
    p.add_argument("--scheduler", help="address of a running Dask scheduler (default: a local cluster)")
    p.add_argument("--workers", type=int, help="local cluster workers (default: one per core)")
    p.add_argument(
        "--c0", type=float, default=d.c0_angstrom, help=f"start centre, A (default {d.c0_angstrom:g})"
    )
    p.add_argument(
        "--c1", type=float, default=d.c1_angstrom, help=f"end centre, A (default {d.c1_angstrom:g})"
    )
    p.add_argument(
        "--k", type=float, default=d.k_kcal_mol_a2, help="force constant, kcal/mol/A^2 (default 1)"
    )
    p.add_argument("--temperature", type=float, default=d.temperature_k, help="K (default 300)")
    p.add_argument(
        "--friction", type=float, default=d.friction_per_ps, help="Langevin friction, 1/ps (default 1)"
    )
    p.add_argument("--timestep-fs", type=float, default=d.timestep_fs, help="fs (default 2)")
    p.add_argument(
        "--frame-interval", type=int, default=d.frame_interval_steps, help="steps between frames (50)"
    )
    p.add_argument(
        "--update-interval", type=int, default=d.update_interval_steps, help="steps between centre moves"
    )
    p.add_argument("--checkpoint-interval", type=int, default=d.checkpoint_interval_steps, help="steps")
    p.add_argument(
        "--minimize-steps", type=int, default=d.minimize_steps, help="minimisation iterations (500)"
    )
    p.add_argument("--no-constraints", action="store_true", help="no constraints (default: bonds to H rigid)")
    p.add_argument("--platform", default=d.platform, help="OpenMM platform (default Reference: fastest here)")
    p.add_argument("--group-a", type=int, nargs="+", help="atom indices (0-based) of the first group")
    p.add_argument("--group-b", type=int, nargs="+", help="atom indices (0-based) of the second group")
    p.add_argument(
        "--coordinate",
        help="pull another coordinate, a YAML mapping: '{kind: torsion, torsion: phi:ALA2}' (then --c0/--c1 "
        "in degrees, --k in kcal/mol/rad^2) or '{kind: rmsd, target: end.pdb, atoms: backbone}'",
    )
    p.add_argument(
        "--start", help="start every replica from this structure (e.g. a generated path's path.pdb)"
    )
    add_output_options(p)
    p.set_defaults(handler=cmd_smd)


def protocol_from_args(args: argparse.Namespace) -> PullProtocol:
    """The :class:`~openmm_bridge.steered_md.PullProtocol` of ``pathgan smd``'s options."""
    import yaml

    from openmm_bridge.errors import PathganInputError
    from openmm_bridge.protocol import PullProtocol

    coordinate = None
    if args.coordinate is not None:
        try:
            coordinate = yaml.safe_load(args.coordinate)
        except yaml.YAMLError as err:
            raise PathganInputError(f"--coordinate: not a YAML mapping ({err})") from err
        if not isinstance(coordinate, dict):
            raise PathganInputError(
                f"--coordinate: expected a mapping such as '{{kind: torsion, ...}}', got {coordinate!r}"
            )
    return PullProtocol(
        c0_angstrom=args.c0,
        c1_angstrom=args.c1,
        k_kcal_mol_a2=args.k,
        length_ps=args.length_ps,
        equilibration_ps=args.equilibration_ps,
        temperature_k=args.temperature,
        friction_per_ps=args.friction,
        timestep_fs=args.timestep_fs,
        constraints=None if args.no_constraints else "HBonds",
        minimize_steps=args.minimize_steps,
        frame_interval_steps=args.frame_interval,
        update_interval_steps=args.update_interval,
        checkpoint_interval_steps=args.checkpoint_interval,
        platform=args.platform,
        group_a=args.group_a,
        group_b=args.group_b,
        coordinate=coordinate,
    )


def cmd_smd(args: argparse.Namespace) -> int:
    """Run ``pathgan smd``."""
    from openmm_bridge.steered_md import run_pull

    protocol = protocol_from_args(args)
    protocol.validate("pathgan smd")
    results = run_pull(
        args.system,
        args.out,
        args.replicas,
        protocol,
        base_seed=args.seed,
        scheduler=args.scheduler,
        n_workers=args.workers,
        progress=progress(args),
        start=args.start,
    )
    rows = [
        [
            r["index"],
            r["seed"],
            r["n_frames"],
            r.get("final_coordinate", r["final_distance_angstrom"]),
            r["final_work_kcal_mol"],
            r["wall_s"],
        ]
        for r in results
    ]
    print(table(["replica", "seed", "frames", "final value", "work (kcal/mol)", "wall (s)"], rows))
    print(f"wrote {args.out}/replica_*/ (trajectory.dcd, pull.csv); next: pathgan pmf --smd {args.out}")
    return 0


def add_pmf(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan pmf``."""
    p = sub.add_parser(
        "pmf",
        help="potential of mean force from the pulls' work (Jarzynski)",
        description=(
            "PMF along the restraint centre from the work of the finished replicas of a pull folder: "
            "exponential average and second-order cumulant, with bootstrap error bars; and along the pulled "
            "distance itself by Hummer-Szabo reweighting. Writes pmf.csv, pmf_distance.csv, pmf.json, work.png "
            "and pmf.png."
        ),
    )
    p.add_argument("--smd", required=True, help="pull folder ('pathgan smd')")
    p.add_argument("--out", help="output folder (default: the pull folder)")
    p.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples (default 200)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--points", type=int, default=12, help="rows of the printed table (default 12)")
    p.add_argument(
        "--compare",
        help="another pull folder (e.g. pulls started from a generated path): its work beside this one's",
    )
    add_output_options(p)
    p.set_defaults(handler=cmd_pmf)


def cmd_pmf(args: argparse.Namespace) -> int:
    """Run ``pathgan pmf``."""
    import numpy as np

    from openmm_bridge.pmf_outputs import analyse_pulls

    meta, pmf, data, z, g_z = analyse_pulls(args.smd, args.out, args.bootstrap, args.seed)
    out = Path(args.out) if args.out else Path(args.smd)
    centre, temperature = data.centre_angstrom, meta["temperature_k"]
    pick = np.unique(np.linspace(0, len(centre) - 1, min(args.points, len(centre))).round().astype(int))
    rows = [[f"{v:.2f}" if k == 0 else v for k, v in enumerate(pmf.rows()[i])] for i in pick]
    print(f"PMF from {pmf.n_replicas} replicas at {temperature:g} K (kcal/mol; +- bootstrap s.d.)")
    print(table([f"centre ({data.unit})", "<W>", "exp avg", "+-", "cumulant", "+-"], rows))
    if args.compare:
        _compare_work(Path(args.smd), Path(args.compare), out)
    ok = np.isfinite(g_z)
    pick_z = np.flatnonzero(ok)[:: max(int(ok.sum()) // args.points, 1)]
    print(f"\nPMF along the pulled {data.kind} (Hummer-Szabo reweighting), kcal/mol")
    print(table([f"{data.kind} ({data.unit})", "PMF"], [[f"{z[i]:.2f}", g_z[i]] for i in pick_z]))
    along = "pmf_distance.csv" if data.kind == "distance" else "pmf_coordinate.csv"
    print(f"wrote {out}/pmf.csv, {along}, pmf.json, work.png, pmf.png")
    return 0


def _compare_work(this: Path, other: Path, out: Path) -> None:
    """Final work (kcal/mol) of two pull folders side by side, and ``work_compare.png``."""
    from openmm_bridge.pmf_outputs import compare_work

    rows = compare_work(this, other, out / "work_compare.png")
    print("\nwork at the end of the pull (kcal/mol)")
    print(table(["pulls", "replicas", "mean", "s.d."], rows))
