"""``pathgan train``, ``pathgan generate`` and ``pathgan compare``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from .common import add_output_options, load_system, progress, table

if TYPE_CHECKING:
    from openmm_bridge.system import MolecularSystem
    from pathgan.config import TrainingConfig
    from pathgan.data import ReferenceSet


def load_reference(sources: list[str], system: MolecularSystem, stride: int) -> ReferenceSet:
    """A :class:`~pathgan.data.ReferenceSet` from one pull folder or trajectory files."""
    from pathgan.data import ReferenceSet

    if len(sources) == 1 and Path(sources[0]).is_dir():
        return ReferenceSet.from_smd(sources[0], system, stride)
    return ReferenceSet.from_files(sources, system, stride)


def register(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan train``, ``pathgan generate`` and ``pathgan compare``."""
    add_train(sub)
    add_generate(sub)
    add_compare(sub)


# ---------------------------------------------------------------------- train
def add_train(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan train``."""
    p = sub.add_parser(
        "train",
        help="train the cGAN on reference trajectories",
        description=(
            "Train the conditional GAN with the TorchMD energy loss on reference frames (a pull folder "
            "from 'pathgan smd', or trajectory files with the system's topology). Checkpoints every epoch; "
            "re-running with the same options resumes. Writes model.pt, checkpoint.pt, losses.csv, losses.png, "
            "config.json."
        ),
    )
    p.add_argument("--system", help="system folder (default: the one recorded in the pull folder)")
    p.add_argument("--reference", nargs="+", required=True, help="pull folder, or trajectory files")
    p.add_argument("--out", required=True, help="training folder")
    p.add_argument("--preset", choices=("pathgan", "paper", "ablation"), default="pathgan")
    p.add_argument("--config", help="YAML file with any training settings (over the preset)")
    p.add_argument("--epochs", type=int, help="adversarial epochs")
    p.add_argument("--pretrain-epochs", type=int, help="pre-training epochs")
    p.add_argument("--seed", type=int, help="training seed")
    p.add_argument("--stride", type=int, help="use every n-th reference frame")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--device", help="torch device: cpu or cuda")
    add_output_options(p)
    p.set_defaults(handler=cmd_train)


def training_config(args: argparse.Namespace) -> TrainingConfig:
    """The :class:`~pathgan.config.TrainingConfig` of the options (preset, YAML, flags in that order)."""
    from pathgan.config import PRESETS, TrainingConfig

    cfg = TrainingConfig.from_yaml(args.config) if args.config else PRESETS[args.preset]()
    if args.config and args.preset != "pathgan":
        cfg = TrainingConfig.from_dict({**cfg.to_dict(), "preset": args.preset}, where=args.config)
    for flag, key in (
        ("epochs", "epochs"),
        ("pretrain_epochs", "pretrain_epochs"),
        ("seed", "seed"),
        ("stride", "stride"),
        ("batch_size", "batch_size"),
        ("device", "device"),
    ):
        if getattr(args, flag) is not None:
            setattr(cfg, key, getattr(args, flag))
    cfg.validate()
    return cfg


def cmd_train(args: argparse.Namespace) -> int:
    """Run ``pathgan train``."""
    from openmm_bridge.protocol import PullProtocol
    from openmm_bridge.pull_folder import MANIFEST, read_manifest
    from pathgan.trainer import train

    cfg = training_config(args)
    pull_dir = args.reference[0] if len(args.reference) == 1 and Path(args.reference[0]).is_dir() else None
    manifest = read_manifest(pull_dir) if pull_dir and (Path(pull_dir) / MANIFEST).exists() else None
    system = load_system(args.system, manifest and manifest["system"], "pathgan train")
    reference = load_reference(args.reference, system, cfg.stride)
    pull = (
        PullProtocol.from_dict(manifest["protocol"], f"{pull_dir}: protocol") if manifest else PullProtocol()
    )
    trainer = train(system, reference, cfg, args.out, pull, progress=progress(args))
    last = trainer.history[-1] if trainer.history else {}
    print(
        f"trained {cfg.name} ({trainer.epoch} epochs, seed {cfg.seed}) on {reference.n_trajectories} trajectories"
    )
    if "total_kcal_mol" in last:
        print(
            f"last epoch: generated energy {last['total_kcal_mol']:.1f} kcal/mol, D(real) {last['d_real']:.2f}"
        )
    print(f"wrote {args.out}/model.pt, losses.csv, losses.png; next: pathgan generate --model {args.out}")
    return 0


# ---------------------------------------------------------------------- generate
def add_generate(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan generate``."""
    p = sub.add_parser(
        "generate",
        help="generate a path (frames at evenly spaced t) with a trained model",
        description="Write path.dcd + path.pdb + path.json/npz (t, TorchMD energies by term, provenance).",
    )
    p.add_argument("--model", required=True, help="model.pt, or its training folder")
    p.add_argument("--frames", type=int, default=20, help="frames along t (default 20)")
    p.add_argument("--samples", type=int, default=1, help="paths to draw (an ensemble; default 1)")
    p.add_argument("--seed", type=int, default=0, help="noise seed")
    p.add_argument("--out", required=True, help="path folder")
    p.add_argument("--system", help="system folder (default: the one the model was trained on)")
    p.add_argument("--device", help="torch device (default: the model's)")
    add_output_options(p)
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    """Run ``pathgan generate``."""
    from pathgan.gan import MODEL, load_model, read_state
    from pathgan.paths import generate_path, write_path

    model_path = Path(args.model) / MODEL if Path(args.model).is_dir() else Path(args.model)
    state = read_state(model_path)
    recorded = state.get("system_dir") if isinstance(state, dict) else None
    system = load_system(args.system, recorded, str(model_path))
    gan = load_model(model_path, system, args.device)
    path = generate_path(gan, args.frames, args.samples, args.seed)
    provenance = {
        "model": str(model_path.resolve()),
        "config": gan.config.name,
        "training_seed": gan.config.seed,
        "noise_seed": args.seed,
        "system_dir": recorded if args.system is None else str(Path(args.system).resolve()),
    }
    write_path(path, system, args.out, provenance)
    e = path.energies["total"][0]
    print(
        f"{args.frames} frames x {args.samples} sample(s); TorchMD total energy {e.min():.1f} .. {e.max():.1f} kcal/mol"
    )
    print(f"wrote {args.out}/path.dcd, path.pdb, path.json, path.npz")
    return 0


# ---------------------------------------------------------------------- compare
def add_compare(sub: argparse._SubParsersAction) -> None:
    """Register ``pathgan compare``."""
    p = sub.add_parser(
        "compare",
        help="judge a path against reference trajectories (RMSD map, helicity, energies)",
        description=(
            "Heavy-atom RMSD of every path frame to every reference frame (heatmap and curves), best matches "
            "and their Spearman correlation with t, RMSD at the same t, DSSP helix fraction, end-to-end "
            "distance, bond-length deviation, closest contacts and OpenMM energies by force beside the "
            "reference's. Writes metrics.json and plots."
        ),
    )
    p.add_argument("--path", required=True, help="path folder ('pathgan generate') or any trajectory")
    p.add_argument("--reference", nargs="+", required=True, help="pull folder, or trajectory files")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--system", help="system folder (default: the path's)")
    p.add_argument("--stride", type=int, default=1, help="use every n-th reference frame")
    p.add_argument("--platform", default="Reference", help="OpenMM platform for the energies")
    add_output_options(p)
    p.set_defaults(handler=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    """Run ``pathgan compare``."""
    from pathgan.compare import compare_path, write_comparison
    from pathgan.paths import load_path

    recorded = None
    meta_file = Path(args.path) / "path.json"
    if meta_file.exists():
        recorded = json.loads(meta_file.read_text()).get("provenance", {}).get("system_dir")
    system = load_system(args.system, recorded, args.path)
    t, xyz = load_path(args.path, system)
    reference = load_reference(args.reference, system, args.stride)
    result = compare_path(t, xyz, reference, system, args.platform)
    write_comparison(result, args.out, {"path": str(Path(args.path).resolve()), "reference": args.reference})
    rows = [[k, v] for k, v in result["summary"].items()]
    print(table(["metric", "value"], rows))
    print(f"wrote {args.out}/metrics.json, rmsd_heatmap.png, rmsd_curves.png, profiles.png")
    return 0
