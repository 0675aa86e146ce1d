"""Train the cGAN on your own trajectories: a system from AMBER prmtop/inpcrd (or CHARMM psf) and DCDs.

    python examples/train_on_own_trajectories.py --prmtop sys.prmtop --inpcrd sys.inpcrd \
        --dcd run1.dcd run2.dcd --out runs/mine --epochs 30

With --psf/--params/--crd instead of --prmtop/--inpcrd for CHARMM inputs. The trajectories'
frames are labelled with progress t = frame/(frames - 1) each; whole trajectories are held out
for validation. The end-to-end restraint of the energy loss follows the trajectories' own
mean CA(first)-CA(last) distance.
"""

from __future__ import annotations

import argparse

from openmm_bridge.system import MolecularSystem
from pathgan.config import TrainingConfig
from pathgan.data import ReferenceSet
from pathgan.paths import generate_path, write_path
from pathgan.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prmtop")
    parser.add_argument("--inpcrd")
    parser.add_argument("--psf")
    parser.add_argument("--params", nargs="+")
    parser.add_argument("--crd")
    parser.add_argument("--dcd", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--stride", type=int, default=1)
    parser.add_argument(
        "--allow-unrepresented-forces",
        action="store_true",
        help="accept forces the TorchMD potential cannot compute (CHARMM's CMAP and Urey-Bradley)",
    )
    parser.add_argument("--tiny", action="store_true", help="a tiny model and 2 epochs (for a quick check)")
    args = parser.parse_args()

    accept = {"allow_unrepresented_forces": args.allow_unrepresented_forces}
    if args.prmtop:
        system = MolecularSystem.from_amber(args.prmtop, args.inpcrd, **accept)
    else:
        system = MolecularSystem.from_charmm(args.psf, args.params, args.crd, **accept)
    reference = ReferenceSet.from_files(args.dcd, system, stride=args.stride)
    settings = {"preset": "pathgan", "epochs": args.epochs, "stride": args.stride}
    if args.tiny:
        settings.update(
            epochs=2,
            pretrain_epochs=1,
            energy_steps=2,
            batch_size=32,
            model={"hidden": [32, 32], "template_bins": 4},
        )
    config = TrainingConfig.from_dict(settings)
    trainer = train(system, reference, config, args.out)  # the default pull: CA(first)-CA(last), 12 -> 34 A
    path = generate_path(trainer.gan, n_frames=20)
    write_path(path, system, f"{args.out}/path", {"model": f"{args.out}/model.pt"})
    print(f"trained {trainer.epoch} epochs; wrote {args.out}/model.pt and {args.out}/path/")


if __name__ == "__main__":
    main()
