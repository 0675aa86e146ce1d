"""``pathgan build`` (a system folder) and ``pathgan energy`` (the TorchMD potential of a trajectory)."""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

from openmm_bridge.errors import PathganInputError
from openmm_bridge.force_table import describe_solvent

from .common import add_output_options, table


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan build`` and ``pathgan energy``."""
    _add_build(sub)
    _add_energy(sub)


def _add_build(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build",
        help="build a system folder (default: deca-alanine helix from its sequence)",
        description=(
            "Write a pathgan system folder: structure.pdb, system.xml, metadata.json and inputs/, a verbatim "
            "copy of every input file (with its sha256 and original path in metadata.json; the parameters "
            "are read again from these copies). From a sequence (ideal alpha-helix, AMBER ff14SB, vacuum, "
            "ACE/NME caps), or from a PDB + OpenMM force-field XML, an AMBER prmtop + inpcrd (CHARMM-in-AMBER "
            "'chamber' prmtops too), or a CHARMM psf + topology/parameter/stream files + coordinates. "
            "The solute only: systems with explicit water or salt ions are refused (strip them and use "
            "implicit solvent, e.g. --forcefield amber14-all.xml implicit/obc2.xml); a periodic box is "
            "ignored (vacuum, no cutoff) and recorded."
        ),
    )
    p.add_argument("--out", required=True, help="output folder (written atomically)")
    src = p.add_argument_group("source (one of)")
    src.add_argument("--sequence", help="one-letter sequence, e.g. AAAAAAAAAA (the default)")
    src.add_argument("--pdb", help="PDB file, with --forcefield")
    src.add_argument("--prmtop", help="AMBER prmtop (or chamber prmtop), with --inpcrd")
    src.add_argument("--psf", help="CHARMM psf, with --charmm-params and --coordinates")
    p.add_argument(
        "--forcefield",
        nargs="+",
        default=None,
        help="OpenMM force-field XML: bundled names (amber14-all.xml, charmm36.xml, implicit/obc2.xml) or "
        "your own files (default amber14-all.xml)",
    )
    p.add_argument("--inpcrd", help="AMBER coordinates (inpcrd/rst7)")
    p.add_argument(
        "--implicit-solvent",
        choices=("OBC2", "GBn2"),
        help="with --prmtop: OpenMM's implicit solvent with the prmtop's GB radii (default: vacuum); "
        "with --sequence/--pdb give the XML instead (--forcefield amber14-all.xml implicit/obc2.xml)",
    )
    p.add_argument(
        "--charmm-params",
        nargs="+",
        help="CHARMM topology, parameter and stream files together, any order (.rtf/.top, .prm/.par, .str, "
        "e.g. top_all22_prot.rtf par_all27_prot_lipid_cmap.prm); read as NAMD reads them: Lennard-Jones "
        "parameters of types no MASS line defines are accepted (listed in the metadata)",
    )
    p.add_argument("--coordinates", help="CHARMM coordinates (pdb or crd)")
    p.add_argument(
        "--free-termini", action="store_true", help="charged NH3+/COO- termini instead of ACE/NME caps"
    )
    p.add_argument(
        "--no-minimize", action="store_true", help="keep the ideal geometry (no energy minimisation)"
    )
    p.add_argument(
        "--allow-d-residues",
        action="store_true",
        help="accept D-residues (inverted stereocentres) in --pdb/--prmtop/--psf input; recorded in the metadata",
    )
    p.add_argument(
        "--allow-unrepresented-forces",
        action="store_true",
        help="accept forces the TorchMD potential cannot compute (CMAP, Urey-Bradley, implicit solvent, "
        "custom forces): OpenMM keeps them, training and scoring do not; recorded in the metadata",
    )
    p.add_argument(
        "--allow-cis-peptides",
        action="store_true",
        help="accept cis peptide bonds not before a proline; recorded in the metadata",
    )
    add_output_options(p)
    p.set_defaults(handler=cmd_build)


def _add_energy(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "energy",
        help="energies by term of a trajectory with the TorchMD potential",
        description="Energies (kcal/mol) by term of every frame, with the batched TorchMD potential.",
    )
    p.add_argument("--system", required=True, help="system folder written by 'pathgan build'")
    p.add_argument("--traj", required=True, help="trajectory (DCD, XTC, PDB, ... anything mdtraj reads)")
    p.add_argument(
        "--check-openmm", action="store_true", help="also OpenMM's energies by force, and the differences"
    )
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    p.add_argument("--platform", default="Reference", help="OpenMM platform for --check-openmm")
    p.add_argument("--csv", help="also write the per-frame table to this CSV file")
    add_output_options(p)
    p.set_defaults(handler=cmd_energy)


# ---------------------------------------------------------------------- build
def cmd_build(args: argparse.Namespace) -> int:
    """Run ``pathgan build``."""
    from openmm_bridge.system import DECA_ALANINE, DEFAULT_FORCEFIELD, MolecularSystem, StereochemistryWarning
    from openmm_bridge.trajio import mdtraj_topology

    sources = [s for s in (args.sequence, args.pdb, args.prmtop, args.psf) if s]
    if len(sources) > 1:
        raise PathganInputError("give one source: --sequence, --pdb, --prmtop or --psf")
    if args.implicit_solvent and not args.prmtop:
        raise PathganInputError(
            "--implicit-solvent goes with --prmtop; for --sequence/--pdb add the solvent's XML to "
            "--forcefield (e.g. amber14-all.xml implicit/obc2.xml)"
        )
    ff = tuple(args.forcefield) if args.forcefield else DEFAULT_FORCEFIELD
    accept = {"allow_d_residues": args.allow_d_residues, "allow_cis_peptides": args.allow_cis_peptides}
    forces = {"allow_unrepresented_forces": args.allow_unrepresented_forces}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StereochemistryWarning)  # reported below, with the other checks
        if args.pdb:
            system = MolecularSystem.from_pdb(args.pdb, ff, **accept, **forces)
        elif args.prmtop:
            if not args.inpcrd:
                raise PathganInputError("--prmtop needs --inpcrd")
            system = MolecularSystem.from_amber(
                args.prmtop, args.inpcrd, **accept, **forces, implicit_solvent=args.implicit_solvent
            )
        elif args.psf:
            if not (args.charmm_params and args.coordinates):
                raise PathganInputError("--psf needs --charmm-params and --coordinates")
            system = MolecularSystem.from_charmm(
                args.psf, args.charmm_params, args.coordinates, **accept, **forces
            )
        else:
            system = MolecularSystem.from_sequence(
                args.sequence or DECA_ALANINE,
                ff,
                caps=not args.free_termini,
                minimize=not args.no_minimize,
                **forces,
            )
    stereo = system.stereochemistry
    if not stereo.passed:
        raise PathganInputError(
            f"{system.source}: stereochemistry check {stereo.summary()}. Nothing was written. If the structure "
            "has them on purpose, pass --allow-d-residues and/or --allow-cis-peptides"
        )
    out = system.save(args.out)

    import mdtraj as md

    from pathgan.metrics import dssp_codes

    traj = md.Trajectory(system.positions_angstrom()[None] / 10.0, mdtraj_topology(system))
    codes = dssp_codes(traj)[0]
    protein = codes != "NA"
    n_helix = int((codes[protein] == "H").sum())
    print(
        f"system      {system.source} ({system.kind}), {system.n_atoms} atoms, {system.topology.getNumResidues()} residues"
    )
    print(
        f"DSSP        {''.join(c if c != 'NA' else '-' for c in codes)}  ({n_helix}/{int(protein.sum())} residues helix)"
    )
    print(f"stereo      {stereo.summary()}")
    for box in system.metadata.get("periodic_box", []):
        print(f"box         ignored ({box['file']}: {box['box_lengths_nm']} nm): vacuum, no cutoff")
    nowhere = system.metadata.get("charmm_parameters", {}).get("types_defined_nowhere", [])
    if nowhere:
        print(f"charmm      types with no MASS line, accepted as NAMD does: {' '.join(nowhere)}")
    print(f"solvent     {describe_solvent(system.system)}")
    left_out = system.metadata.get("potential", {}).get("unrepresented_forces", [])
    if left_out:
        print(f"potential   accepted without (OpenMM keeps them): {'; '.join(left_out)}")
    e2e = system.end_to_end_distance_angstrom()
    if e2e is not None:
        i, j = system.end_to_end_atoms()
        print(f"end-to-end  CA({i})-CA({j}) = {e2e:.2f} A")
    missing = system.unsupported_terms()
    if missing:
        print(
            f"note        terms torchmd cannot represent (left out of the pathgan potential): {', '.join(missing)}"
        )
    kept = ", ".join(r["name"] for r in system.inputs.records)
    if kept:
        print(f"inputs      kept verbatim in {out}/inputs/: {kept}")
    print(f"wrote       {out}/")
    return 0


# ---------------------------------------------------------------------- energy
def cmd_energy(args: argparse.Namespace) -> int:
    """Run ``pathgan energy``."""
    import torch

    from openmm_bridge.stereochemistry import chirality_changes
    from openmm_bridge.system import MolecularSystem
    from openmm_bridge.trajio import frames_angstrom, load_frames
    from pathgan.potential import TorchMDPotential

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        system = MolecularSystem.load(args.system)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    traj = load_frames(args.traj, system)
    xyz = frames_angstrom(traj)
    dtype = getattr(torch, args.dtype)
    pot = TorchMDPotential.from_system(system, dtype=dtype, device=args.device)
    with torch.no_grad():
        energies = pot(torch.as_tensor(xyz, dtype=dtype, device=args.device))
    energies = {k: v.double().cpu().numpy() for k, v in energies.items()}
    terms = list(energies)
    labels, changed = chirality_changes(system.topology, xyz, system.positions_angstrom())
    inverted = changed.sum(axis=1)
    print(f"TorchMD potential of {args.traj}: {len(xyz)} frames, kcal/mol ({args.dtype}, {args.device})")
    print(
        table(
            ["frame"] + terms + ["inverted centres"],
            [[k] + [float(energies[t][k]) for t in terms] + [int(inverted[k])] for k in range(len(xyz))],
        )
    )
    if inverted.any():
        bad = np.flatnonzero(inverted)
        first = [labels[c] for c in np.flatnonzero(changed[bad[0]])]
        print(
            f"warning: {len(bad)} of {len(xyz)} frames invert a stereocentre of the system's structure "
            f"(unphysical whatever their energy); first: frame {bad[0]} ({', '.join(first)})",
            file=sys.stderr,
        )
    if args.csv:
        from openmm_bridge.fileio import atomic_file

        with atomic_file(args.csv) as tmp:
            np.savetxt(
                tmp,
                np.column_stack([np.arange(len(xyz))] + [energies[t] for t in terms] + [inverted]),
                delimiter=",",
                header=",".join(["frame"] + [f"{t}_kcal_mol" for t in terms] + ["inverted_centres"]),
                comments="",
            )
    if args.check_openmm:
        from openmm_bridge.energies import OpenMMEvaluator

        rows = OpenMMEvaluator(system.system, args.platform).compare_terms(energies, xyz)
        print(f"\nOpenMM ({args.platform}) by force, mean over frames, kcal/mol")
        print(table(["force", "pathgan terms", "openmm", "pathgan", "max |diff|"], rows))
    return 0
