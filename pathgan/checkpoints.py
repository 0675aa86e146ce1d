"""The trainer's files: ``checkpoint.pt`` every epoch, ``model.pt`` at the end, ``losses.csv``.

Every file is written atomically. A checkpoint holds the GAN, the optimisers, the epoch and
the history, so a resumed run gives the same numbers bit for bit; it is refused when it was
written with another configuration or for another system.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.fileio import atomic_file

from .gan import MODEL, check_fingerprint, read_state

if TYPE_CHECKING:
    from .trainer import Trainer

CHECKPOINT = "checkpoint.pt"
LOSSES_CSV = "losses.csv"


def save_checkpoint(trainer: Trainer) -> Path:
    """``checkpoint.pt``: GAN, optimisers, epoch and history (atomic)."""
    state = {
        "gan": trainer.gan.state(),
        "opt_pre": trainer.opt_pre.state_dict(),
        "opt_g": trainer.opt_g.state_dict(),
        "opt_d": trainer.opt_d.state_dict(),
        "epoch": trainer.epoch,
        "history": trainer.history,
    }
    with atomic_file(trainer.out / CHECKPOINT) as tmp:
        torch.save(state, tmp)
    return trainer.out / CHECKPOINT


def resume(trainer: Trainer) -> bool:
    """Load ``checkpoint.pt`` into ``trainer`` if there is one; return whether it was loaded."""
    path = trainer.out / CHECKPOINT
    if not path.exists():
        return False
    state = read_state(path)
    saved = state.get("gan", {}).get("config") if isinstance(state, dict) else None
    if saved is None:
        raise PathganDataError(f"{path}: not a pathgan checkpoint")
    ours = trainer.config.to_dict()
    diff = sorted(k for k in ours if k != "device" and saved.get(k) != ours[k])
    if diff:
        raise PathganInputError(f"{path}: was written with another configuration (differs in {diff})")
    check_fingerprint(state["gan"]["system"], trainer.gan.system, str(path))
    trainer.gan.generator.load_state_dict(state["gan"]["generator"])
    trainer.gan.discriminator.load_state_dict(state["gan"]["discriminator"])
    trainer.opt_pre.load_state_dict(state["opt_pre"])
    trainer.opt_g.load_state_dict(state["opt_g"])
    trainer.opt_d.load_state_dict(state["opt_d"])
    trainer.epoch, trainer.history = int(state["epoch"]), list(state["history"])
    return True


def save_model(trainer: Trainer) -> Path:
    """``model.pt``: the trained GAN with its configuration, seed and versions (atomic)."""
    state = trainer.gan.state()
    state["epochs_trained"] = trainer.epoch
    state["history"] = trainer.history
    with atomic_file(trainer.out / MODEL) as tmp:
        torch.save(state, tmp)
    return trainer.out / MODEL


def write_losses(history: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """``losses.csv``: one row per epoch, every loss and energy term (kcal/mol)."""
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    with atomic_file(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        for row in history:
            writer.writerow(row)
