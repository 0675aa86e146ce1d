"""``pathgan train``, ``pathgan generate`` and ``pathgan compare``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from openmm_bridge.errors import PathganInputError

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
    p.add_argument(
        "--preset",
        choices=("pathgan", "paper", "ablation"),
        help="base configuration (default: the --config file's preset:, else pathgan)",
    )
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

    if args.config:
        cfg = TrainingConfig.from_yaml(args.config, args.preset)  # the file's settings over the preset
    else:
        cfg = PRESETS[args.preset or "pathgan"]()
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
        help="generate candidate paths with a trained model, scored and ranked by the TorchMD potential",
        description=(
            "Draw --samples candidate paths (one noise draw each, frames at evenly spaced t), relax them "
            "in the batched TorchMD potential, score each by its highest energy along t (restraint left "
            "out) and rank them. Writes path.dcd (the best), ensemble.dcd (all), ranking.csv, path.pdb, "
            "path.json/npz."
        ),
    )
    p.add_argument("--model", required=True, help="model.pt, or its training folder")
    p.add_argument("--frames", type=int, default=20, help="frames along t (default 20)")
    p.add_argument(
        "--samples", type=int, default=32, help="candidate paths to draw, relax and rank (default 32)"
    )
    p.add_argument("--no-relax", action="store_true", help="the generator's raw output, not relaxed")
    p.add_argument(
        "--truncation",
        type=float,
        default=1.0,
        help="scale of the noise (default 1; below 1: candidates closer to the mean path, "
        "higher precision, lower coverage; 0: the mean path alone)",
    )
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
    from pathgan.relax import DEFAULT_RELAX

    path = generate_path(
        gan,
        args.frames,
        args.samples,
        args.seed,
        relax=None if args.no_relax else DEFAULT_RELAX,
        truncation=args.truncation,
    )
    provenance = {
        "model": str(model_path.resolve()),
        "config": gan.config.name,
        "training_seed": gan.config.seed,
        "noise_seed": args.seed,
        "system_dir": recorded if args.system is None else str(Path(args.system).resolve()),
    }
    write_path(path, system, args.out, provenance)
    rows = [[r + 1, int(k), float(path.scores[k])] for r, k in enumerate(path.ranking[:10])]
    print(
        f"{args.frames} frames x {args.samples} candidate(s), ranked by their highest TorchMD energy (kcal/mol)"
    )
    print(table(["rank", "sample", "score"], rows))
    print(f"wrote {args.out}/path.dcd (the best), ensemble.dcd, ranking.csv, path.pdb, path.json, path.npz")
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
    p.add_argument(
        "--reference",
        nargs="+",
        help="pull folder, or trajectory files (when the path names no model: the model's held-out replicas otherwise)",
    )
    p.add_argument(
        "--model", help="training folder whose held-out replicas judge the path (default: the path's model)"
    )
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
    heldout, train_ref, model_dir = _heldout(args, system)
    result = compare_path(t, xyz, heldout, system, args.platform)
    provenance = {"path": str(Path(args.path).resolve()), "reference": list(heldout.sources)}
    write_comparison(result, args.out, provenance)
    rows = [[k, v] for k, v in result["summary"].items()]
    print(table(["metric", "value"], rows))
    print(f"wrote {args.out}/metrics.json, rmsd_heatmap.png, rmsd_curves.png, profiles.png")
    if model_dir is not None and (Path(args.path) / "path.json").exists():
        _compare_ensemble(args, system, heldout, train_ref, model_dir)
    return 0


def _heldout(
    args: argparse.Namespace, system: MolecularSystem
) -> tuple[ReferenceSet, ReferenceSet | None, Path | None]:
    """The frames to judge against: the model's held-out replicas when the path names its model, else ``--reference``."""
    from pathgan.evaluation import training_split

    meta_file = Path(args.path) / "path.json"
    model = (
        json.loads(meta_file.read_text()).get("provenance", {}).get("model") if meta_file.exists() else None
    )
    model_dir = Path(args.model) if args.model else (Path(model).parent if model else None)
    if model_dir is not None and (model_dir / "config.json").exists():
        train_ref, heldout = training_split(model_dir, system, args.stride)
        print(
            f"judged on the model's held-out replicas: {', '.join(Path(s).parent.name for s in heldout.sources)}"
        )
        return heldout, train_ref, model_dir
    if not args.reference:
        raise PathganInputError(f"{args.path}: no model with held-out replicas recorded; pass --reference")
    print("note: judged on every --reference trajectory; frames the model trained on may be among them")
    return load_reference(args.reference, system, args.stride), None, None


def _compare_ensemble(
    args: argparse.Namespace,
    system: MolecularSystem,
    heldout: ReferenceSet,
    train_ref: ReferenceSet,
    model_dir: Path,
) -> None:
    """Every candidate against the held-out replicas, beside the baselines: ``ensemble.json``, ``ensemble.png``."""
    from openmm_bridge.energies import OpenMMEvaluator
    from openmm_bridge.fileio import atomic_file
    from pathgan.evaluation import HEADLINE_KEYS, evaluate
    from pathgan.figures import plot_ensemble
    from pathgan.gan import load_model
    from pathgan.paths import load_candidates

    t, candidates, _ = load_candidates(args.path, system)
    energies = OpenMMEvaluator(system.system, args.platform).energies(heldout.arrays()[0])
    result = evaluate(load_model(model_dir, system), t, candidates, train_ref, heldout, system, energies)
    out = Path(args.out)
    with atomic_file(out / "ensemble.json") as tmp:
        tmp.write_text(json.dumps(result, indent=1, default=float) + "\n")
    plot_ensemble(t, candidates, heldout, system, result, out / "ensemble.png")
    blocks = {"generated": result["generated"], **result["baselines"]}
    print(f"\n{len(candidates)} candidates against the held-out replicas, beside the baselines")
    print(
        table(
            ["", *HEADLINE_KEYS],
            [[name, *(float(b.get(k, float("nan"))) for k in HEADLINE_KEYS)] for name, b in blocks.items()],
        )
    )
    print(f"wrote {out}/ensemble.json, ensemble.png")
