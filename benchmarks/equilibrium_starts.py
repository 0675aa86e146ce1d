"""Equilibrium starts for steered MD: deca-alanine's decorrelation at c0, and old protocol against new.

Run from the repository root (each part alone with ``--only``)::

    nice -n 5 python benchmarks/equilibrium_starts.py --out runs/equilibrium_starts

1. ``tau``: one long equilibration of capped deca-alanine (AMBER ff14SB, vacuum, HBonds, Langevin
   2 fs, 1/ps, 300 K) under the paper's restraint held at c0 = 12 A (k = 1 kcal/mol/A^2), through
   :func:`openmm_bridge.equilibration.run_equilibration`: the transient, the statistical inefficiency
   and decorrelation time of the CA-CA distance and of the potential energy (pymbar), a block-average
   check of the CA-CA tau, and the tau a shorter run of the same trajectory would have measured.
2. ``starts``: ``--replicas`` pulls of the quick preset's protocol (12 -> 34 A over 120 ps, k = 1,
   frames every 0.5 ps), once with the old protocol (``equilibration_ps 0``: every replica from the
   minimised helix) and once with the quick preset's equilibration (20 ps); the mean work and CA-CA
   distance over the first picoseconds and at the end, beside each other.

Writes ``summary.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from openmm_bridge.equilibration import decorrelation, run_equilibration
from openmm_bridge.pmf_outputs import read_pull_csv
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import finished_replicas
from openmm_bridge.steered_md import run_pull
from openmm_bridge.system import MolecularSystem
from pathgan.run_config import QUICK


def _system(folder: Path) -> tuple[MolecularSystem, Path]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        system = MolecularSystem.from_sequence("AAAAAAAAAA", caps=True)
        system.save(folder / "system")
    return system, folder / "system"


def tau_at_c0(system: MolecularSystem, length_ps: float, tmp: Path) -> dict:
    """Decorrelation of the CA-CA distance and the energy in one ``length_ps`` equilibration at c0 = 12 A."""
    proto = PullProtocol(equilibration_ps=length_ps, frame_interval_steps=500).with_groups(system)
    folder = tmp / "tau"
    folder.mkdir()
    t0 = time.perf_counter()
    rec = run_equilibration(system, proto, system.positions, 12345, folder)
    wall = time.perf_counter() - t0
    table = read_pull_csv(folder / "equilibration.csv")
    d, e = table["distance_angstrom"], table["potential_energy_kcal_mol"]
    dt = rec["sample_interval_ps"]
    start = int(round(rec["discarded_ps"] / dt))
    blocks = {}
    for block_ps in (1.0, 10.0, 50.0, 100.0):
        n = int(round(block_ps / dt))
        x = d[start:]
        means = x[: len(x) // n * n].reshape(-1, n).mean(1)
        if len(means) >= 10:  # g from the variance of block means: tends to the true g for long blocks
            blocks[block_ps] = round(float(n * means.var() / x.var() * dt), 3)
    shorter = {}
    for part_ps in (20.0, 100.0, 500.0):
        n = int(round(part_ps / dt)) + 1
        if n < len(d):
            shorter[part_ps] = round(decorrelation(d[:n], e[:n], dt)["tau_coordinate_ps"], 3)
    keys = ("discarded_ps", "g_coordinate", "g_energy", "tau_coordinate_ps", "tau_energy_ps", "tau_ps")
    return {
        "length_ps": length_ps,
        "wall_s": round(wall, 1),
        **{k: rec[k] for k in keys},
        "mean_ca_ca_angstrom": rec["mean_coordinate"],
        "sd_ca_ca_angstrom": rec["sd_coordinate"],
        "tau_ca_ca_from_block_averages_ps": blocks,
        "tau_ca_ca_measured_on_the_first_ps": shorter,
    }


def _first_ps(table: dict, t_ps: float) -> tuple[float, float]:
    """Work (kcal/mol) and CA-CA distance (A) at time ``t_ps`` of a pull (the frame nearest)."""
    i = int(np.argmin(np.abs(table["time_ps"] - t_ps)))
    return float(table["work_kcal_mol"][i]), float(table["distance_angstrom"][i])


def old_against_new(system_dir: Path, replicas: int, workers: int, pull_ps: float | None, tmp: Path) -> dict:
    """The quick preset's pulls from the minimised helix (old) and from its equilibration (new).

    ``pull_ps``: only the first ``pull_ps`` of the quick preset's pull (the same centre velocity,
    c1 moved in), when only the first picoseconds are wanted.
    """
    smd = QUICK["smd"]
    length = smd["length_ps"] if pull_ps is None else pull_ps
    c0, c1 = PullProtocol().c0_angstrom, PullProtocol().c1_angstrom
    base = PullProtocol(
        c1_angstrom=c0 + (c1 - c0) * length / smd["length_ps"],
        length_ps=length,
        frame_interval_steps=smd["frame_interval_steps"],
        checkpoint_interval_steps=smd["checkpoint_interval_steps"],
    )
    out: dict = {}
    for name, eq_ps in (
        ("old (equilibration_ps 0)", 0.0),
        (f"new (equilibration_ps {smd['equilibration_ps']:g})", smd["equilibration_ps"]),
    ):
        folder = tmp / f"pull_{eq_ps:g}"
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run_pull(
                system_dir,
                folder,
                replicas,
                base.replace(equilibration_ps=eq_ps),
                base_seed=7,
                n_workers=workers,
                progress=False,
            )
        wall = time.perf_counter() - t0
        tables = [read_pull_csv(r / "pull.csv") for r in finished_replicas(folder)]
        row: dict = {
            "wall_s": round(wall, 1),
            "warnings": [str(w.message) for w in caught if "equilibration" in str(w.message)],
        }
        for t in (0.0, 1.0, 2.0, 5.0):
            w, d = zip(*(_first_ps(tab, t) for tab in tables), strict=True)
            row[f"t={t:g} ps"] = {
                "mean_work_kcal_mol": round(float(np.mean(w)), 3),
                "sd_work_kcal_mol": round(float(np.std(w, ddof=1)), 3),
                "mean_ca_ca_angstrom": round(float(np.mean(d)), 3),
                "sd_ca_ca_angstrom": round(float(np.std(d, ddof=1)), 3),
            }
        final = [float(tab["work_kcal_mol"][-1]) for tab in tables]
        row["final"] = {
            "mean_work_kcal_mol": round(float(np.mean(final)), 2),
            "sd_work_kcal_mol": round(float(np.std(final, ddof=1)), 2),
        }
        manifest = json.loads((folder / "smd.json").read_text())
        if "equilibration" in manifest:
            rec = manifest["equilibration"]
            row["equilibration"] = {
                k: rec[k]
                for k in (
                    "tau_ps",
                    "discarded_ps",
                    "spacing_ps",
                    "min_spacing_ps",
                    "start_frames",
                    "decorrelated",
                )
            }
        out[name] = row
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/equilibrium_starts"))
    parser.add_argument(
        "--tau-ps", type=float, default=2000.0, help="length of the tau run (default 2000 ps)"
    )
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=("tau", "starts"))
    parser.add_argument(
        "--pull-ps",
        type=float,
        help="run only the first ps of the quick pulls (same velocity; default: all 120)",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    summary_path = args.out / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        system, system_dir = _system(tmp)
        if args.only in (None, "tau"):
            summary["tau"] = tau_at_c0(system, args.tau_ps, tmp)
            print(json.dumps(summary["tau"], indent=1))
            summary_path.write_text(json.dumps(summary, indent=2) + "\n")
        if args.only in (None, "starts"):
            summary["starts"] = old_against_new(system_dir, args.replicas, args.workers, args.pull_ps, tmp)
            summary["starts"]["pull_ps"] = args.pull_ps or QUICK["smd"]["length_ps"]
            print(json.dumps(summary["starts"], indent=1))
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {summary_path}")


if __name__ == "__main__":
    main()
