"""The (phi, psi) free-energy surface of alanine dipeptide in vacuum, converged, for the README's comparison.

The same well-tempered metadynamics as the ``landscape`` stage of ``--preset
alanine-dipeptide-quick`` (:mod:`openmm_bridge.torsion_landscape`), longer and over several
seeds, with the numbers read off each surface: the basin free-energy difference C7ax - C7eq (the
preset's boxes), the phi > 0 basin against the rest (Invernizzi and Parrinello's split), the
lowest barrier through phi = 0 and through phi = 180, and the change between half and whole run::

    python benchmarks/landscape.py --out runs/landscape --length-ps 10000 --seeds 1 2 3
    python benchmarks/landscape.py --out runs/landscape_ff14sb --forcefield amber14-all.xml

Writes ``<out>/seed_<k>/landscape.*``, ``<out>/landscape.json`` (every seed, mean and s.d.) and
``<out>/landscape.png`` (the first seed's surface).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from openmm_bridge.fileio import atomic_file
from openmm_bridge.system import MolecularSystem
from openmm_bridge.torsion_landscape import Landscape, LandscapeSettings, metadynamics_landscape
from pathgan.landscape_report import PHI_POSITIVE_BAND, plot_paths_on_landscape
from pathgan.run_config import ALANINE_DIPEPTIDE_QUICK

START = tuple(tuple(r) for r in ALANINE_DIPEPTIDE_QUICK["landscape"]["start_basin"])
END = tuple(tuple(r) for r in ALANINE_DIPEPTIDE_QUICK["landscape"]["end_basin"])


def numbers(land: Landscape) -> dict[str, float]:
    """What the README compares, read off one surface (kcal/mol, degrees)."""
    f_min = land.minimum(START)[0]
    via0 = land.saddle(START, END, avoid_x=(150.0, 210.0))
    via180 = land.saddle(START, END, avoid_x=(-30.0, 30.0))
    positive = ((PHI_POSITIVE_BAND[0], PHI_POSITIVE_BAND[1]), (-180.0, 180.0))
    rest = ((PHI_POSITIVE_BAND[1], 360.0), (-180.0, 180.0))
    return {
        "dF_c7ax_minus_c7eq_kcal_mol": land.basin_free_energy(END) - land.basin_free_energy(START),
        "dF_phi_positive_minus_rest_kcal_mol": land.basin_free_energy(positive)
        - land.basin_free_energy(rest),
        "barrier_via_phi0_kcal_mol": via0[0] - f_min,
        "saddle_via_phi0_deg": [via0[1], via0[2]],
        "barrier_via_phi180_kcal_mol": via180[0] - f_min,
        "saddle_via_phi180_deg": [via180[1], via180[2]],
        "c7eq_minimum_deg": list(land.minimum(START)[1:]),
        "c7ax_minimum_deg": list(land.minimum(END)[1:]),
        "half_vs_full_kcal_mol": land.metadata["half_kcal_mol"],
        "wall_s": land.metadata["wall_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True)
    parser.add_argument("--length-ps", type=float, default=10000.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--forcefield", default="amber99sbildn.xml")
    args = parser.parse_args()

    out = Path(args.out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence("A", (args.forcefield,))
    rows = {}
    for seed in args.seeds:
        folder = out / f"seed_{seed}"
        if (folder / "landscape.npz").exists():
            land = Landscape.load(folder)
        else:
            land = metadynamics_landscape(
                system, LandscapeSettings(length_ps=args.length_ps, seed=seed), True
            )
            land.save(folder)
        rows[seed] = numbers(land)
        print(seed, json.dumps(rows[seed]))
    keys = [k for k, v in next(iter(rows.values())).items() if isinstance(v, float)]
    summary = {
        k: [
            float(np.mean([r[k] for r in rows.values()])),
            float(np.std([r[k] for r in rows.values()], ddof=1)),
        ]
        if len(rows) > 1
        else [rows[args.seeds[0]][k], float("nan")]
        for k in keys
    }
    result = {"forcefield": args.forcefield, "length_ps": args.length_ps, "seeds": rows, "mean_sd": summary}
    with atomic_file(out / "landscape.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1) + "\n")
    first = Landscape.load(out / f"seed_{args.seeds[0]}")
    empty = np.zeros((0, 2, 2))
    plot_paths_on_landscape(first, empty, [], [], np.zeros((0, 2)), (START, END), out / "landscape.png")
    for k, (m, s) in summary.items():
        print(f"{k:40s} {m:8.2f} +- {s:.2f}")


if __name__ == "__main__":
    main()
