"""``pathgan run``: the whole pipeline, from the molecule to ``report.html`` and ``metrics.json``."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .common import add_output_options, log, progress


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan run``."""
    from pathgan.run_config import PRESETS

    p = sub.add_parser(
        "run",
        help="the whole pipeline: build, pull, train, generate, refine, compare, report",
        description=(
            "From the molecule (system: a sequence, by default capped deca-alanine; or a PDB with force-field "
            "XML files, a prmtop + inpcrd, a psf + CHARMM files + coordinates, a system folder) to "
            "DIR/report.html and DIR/metrics.json. Stages whose settings and inputs did "
            "not change are skipped; an interrupted run resumes. --preset quick finishes in minutes on 2 "
            "cores; --preset paper runs at the paper's scale. A YAML file can set any parameter "
            "(sections: seed, system, smd, train, generate, refine, pathcv, compare, report)."
        ),
    )
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    p.add_argument("--config", help="YAML file over the preset")
    add_output_options(p)
    p.set_defaults(handler=cmd_run)


def headline(metrics: dict) -> str:
    """The run's one-line summary: basins on a landscape run (the dipeptide), the helix otherwise."""
    g, nan = metrics["generated"], float("nan")
    same_t = (
        f"median RMSD at same t {g.get('median_rmsd_same_t_angstrom', nan):.2f} A, "
        f"Spearman {g.get('spearman_best_match_vs_t', nan):.3f}"
    )
    land = metrics.get("landscape") or {}
    if "candidates_start_in_start_basin" in land:
        return (
            f"Generated paths: {land['candidates_start_in_start_basin']:.2f} start in the start basin, "
            f"{land['candidates_end_in_end_basin']:.2f} end in the end basin; {same_t}"
        )
    return f"Generated path: t=0 helix {g.get('t0_helix_fraction', nan):.2f}, {same_t}"


def cmd_run(args: argparse.Namespace) -> int:
    """Run ``pathgan run``."""
    from pathgan.pipeline import run_pipeline

    t0 = time.perf_counter()
    pipe = run_pipeline(args.out, args.preset, args.config, progress=progress(args))
    metrics = json.loads((Path(args.out) / "metrics.json").read_text())
    log.info(
        f"\nran {len(pipe.ran)} stage(s), skipped {len(pipe.skipped)}, {time.perf_counter() - t0:.0f} s. "
        + headline(metrics)
    )
    print(f"open {args.out}/report.html; numbers in {args.out}/metrics.json")
    return 0
