"""The helix-to-coil PMF of deca-alanine in two solvents, from pull folders of the same protocol.

Builds the systems and runs the pulls (unless the folders exist), analyses each folder with
``pathgan pmf``'s code (Jarzynski along the restraint centre, Hummer-Szabo along the distance)
and draws both on one figure, with a table at every 2 A of the centre::

    python benchmarks/pmf_solvent.py --out runs/pmf_solvent --replicas 8 --length-ps 250

Vacuum (AMBER ff14SB) and OBC2 implicit solvent (``amber14-all.xml implicit/obc2.xml``); the
OBC2 pulls run on OpenMM's CPU platform (its ``CustomGBForce`` is about 2x faster there than
on the Reference platform), the vacuum ones on the Reference platform (4x faster there).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

from openmm_bridge.plots import plt, save_figure
from openmm_bridge.pmf_outputs import analyse_pulls

#: label -> (force-field files, OpenMM platform, Dask workers)
SOLVENTS = {
    "vacuum": (["amber14-all.xml"], "Reference", 2),
    "OBC2": (["amber14-all.xml", "implicit/obc2.xml"], "CPU", 1),
}


def pathgan(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pathgan.cli", *args, "--quiet"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("runs/pmf_solvent"))
    parser.add_argument("--replicas", type=int, default=8)
    parser.add_argument("--length-ps", type=float, default=250.0)
    parser.add_argument(
        "--folders", nargs=2, type=Path, metavar=("VACUUM", "OBC2"), help="existing pull folders"
    )
    args = parser.parse_args()
    results = {}
    for k, (label, (forcefield, platform, workers)) in enumerate(SOLVENTS.items()):
        smd = args.folders[k] if args.folders else args.out / f"smd_{label}"
        if not args.folders and not (smd / "smd.json").exists():
            system = args.out / f"deca_{label}"
            pathgan("build", "--out", str(system), "--forcefield", *forcefield)
            pathgan(
                "smd", "--system", str(system), "--out", str(smd), "--replicas", str(args.replicas),
                "--length-ps", str(args.length_ps), "--platform", platform, "--workers", str(workers),
            )  # fmt: skip
        meta, pmf, data, z, g_z = analyse_pulls(smd, n_bootstrap=200, seed=0)
        results[label] = (pmf, data, z, g_z)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, (pmf, data, z, g_z) in results.items():
        ax1.plot(pmf.centre_angstrom, pmf.exponential, label=f"{label}, exponential average")
        ax1.fill_between(
            pmf.centre_angstrom,
            pmf.exponential - pmf.exponential_err,
            pmf.exponential + pmf.exponential_err,
            alpha=0.3,
        )
        ax1.plot(pmf.centre_angstrom, pmf.mean_work, ls=":", label=f"{label}, mean work")
        ax2.plot(z, g_z, marker=".", label=f"{label} ({len(data.replicas)} pulls)")
    ax1.set(xlabel="restraint centre (A)", ylabel="PMF (kcal/mol)", title="along the centre (Jarzynski)")
    ax2.set(xlabel="CA-CA distance (A)", ylabel="PMF (kcal/mol)", title="along the distance (Hummer-Szabo)")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    args.out.mkdir(parents=True, exist_ok=True)
    save_figure(fig, args.out / "pmf_solvents.png")
    centres = np.arange(14.0, 34.1, 2.0)
    print("restraint centre (A) | " + " | ".join(f"{c:.0f}" for c in centres))
    for label, (pmf, data, _, _) in results.items():
        at = [int(np.argmin(np.abs(pmf.centre_angstrom - c))) for c in centres]
        print(
            f"{label} PMF (+- s.d.) | "
            + " | ".join(f"{pmf.exponential[i]:.2f} +- {pmf.exponential_err[i]:.2f}" for i in at)
        )
        print(f"{label} mean work | " + " | ".join(f"{pmf.mean_work[i]:.2f}" for i in at))
        end = data.distance_angstrom[:, -1]
        print(f"{label}: final CA-CA {end.min():.1f}-{end.max():.1f} A over {len(end)} pulls")
    for label, (_, _, z, g_z) in results.items():
        ok = np.isfinite(g_z)
        print(f"{label} Hummer-Szabo minimum at {z[ok][np.argmin(g_z[ok])]:.2f} A")
    print(f"figure: {args.out / 'pmf_solvents.png'}")


if __name__ == "__main__":
    main()
