"""The whole pipeline on your own PDB file, pulling the distance between two residues chosen by selection.

The example writes the PDB file itself (a capped GAAAAAAG peptide, built by pathgan's builder as
a helix and saved: stand-in for the file you would bring), then a ``pathgan run`` YAML file next
to it that names the file and the pull, and runs it::

    system: {pdb: my_peptide.pdb, forcefield: [amber14-all.xml]}
    smd:
      coordinate: {kind: distance, group_a: "resid 1 and name CA", group_b: "resid 8 and name CA"}
      c0_angstrom: null        # start where the structure is
      c1_angstrom: 22.0

Selections are mdtraj's (0-based ``resid``; ACE is resid 0 here, so resid 1 is GLY1).

    python examples/run_on_your_pdb.py --out runs/my_peptide            # quick preset: minutes
    python examples/run_on_your_pdb.py --out /tmp/x --tiny              # seconds, for a test
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import openmm.app as app
import yaml

from openmm_bridge.system import MolecularSystem
from pathgan.pipeline import run_pipeline

#: Settings of a seconds-long run (what the test uses).
TINY = {
    "smd": {
        "replicas": 4,
        "length_ps": 2.0,
        "frame_interval_steps": 50,
        "checkpoint_interval_steps": 500,
        "minimize_steps": 20,
    },
    "train": {
        "stride": 1,
        "pretrain_epochs": 1,
        "epochs": 2,
        "energy_steps": 2,
        "batch_size": 32,
        "validation_fraction": 0.5,
        "model": {"hidden": [32, 32], "template_bins": 4, "noise_modes": 4, "noise_bins": 4},
    },
    "generate": {"frames": 6, "samples": 4},
    "refine": {"images": 6, "max_iterations": 20},
    "pathcv": {"windows": 3, "window_ps": 0.2, "equilibration_ps": 0.1},
    "compare": {"stride": 2},
}


def write_peptide_pdb(path: Path) -> None:
    """The stand-in for the user's file: a capped GAAAAAAG helix, checked and saved as a PDB."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peptide = MolecularSystem.from_sequence("GAAAAAAG")
    with open(path, "w") as fh:
        app.PDBFile.writeFile(peptide.topology, peptide.positions, fh)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, help="folder for the PDB, the YAML and the run")
    parser.add_argument("--tiny", action="store_true", help="seconds-long settings (for tests)")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_peptide_pdb(out / "my_peptide.pdb")
    config = {
        "system": {"pdb": "my_peptide.pdb", "forcefield": ["amber14-all.xml"]},
        "smd": {
            "coordinate": {
                "kind": "distance",
                "group_a": "resid 1 and name CA",
                "group_b": "resid 8 and name CA",
            },
            "c0_angstrom": None,
            "c1_angstrom": 22.0,
        },
    }
    if args.tiny:
        config = {**TINY, **config, "smd": {**TINY["smd"], **config["smd"]}}
    (out / "run.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    run_pipeline(out / "run", "quick", out / "run.yaml", progress=not args.tiny)
    metrics = json.loads((out / "run" / "metrics.json").read_text())
    smd = json.loads((out / "run" / "smd" / "smd.json").read_text())["protocol"]
    print(
        f"pulled {metrics['pulls']['coordinate']['label']} from {smd['c0_angstrom']:.2f} to {smd['c1_angstrom']:.2f} A"
    )
    print(f"report: {out / 'run' / 'report.html'}")


if __name__ == "__main__":
    main()
