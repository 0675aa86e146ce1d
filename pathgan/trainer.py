"""Training the cGAN: pre-training, the three-way update per batch, checkpoints, losses.

Per batch of real frames (t, x) the adversarial epochs do, as the paper's code does:

1. G on the adversarial loss, D fixed: ``BCE(D(t, torsions(G(t, z))), 1)``;
2. D on real and generated: ``BCE(D(t, torsions(x)), 1) + BCE(D(t, torsions(G(t, z))), 0)``;
3. ``energy_steps`` times G on the potential energy of what it generates,
   ``sum(active terms) + restraint_weight * restraint``, one batched TorchMD evaluation each.

Pre-training epochs anneal G from a torsion reconstruction loss (the real frame at the
same t) to the ``pretrain_terms`` energy. Energy terms join the loss in the hierarchy of
``term_schedule`` (bonds first, LJ and electrostatics last: LJ explodes on bad structures).
Gradients are clipped; a frame's energy above ``energy_cap_kcal_mol`` grows only
logarithmically in the loss.

Every epoch ends with a checkpoint (:mod:`.checkpoints`: models, optimisers, history;
resuming gives the same numbers bit for bit, since every random draw of an epoch comes
from a generator seeded by (seed, epoch)) and a row of ``losses.csv``; the end with
``model.pt`` and the plot ``losses.png``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention

from openmm_bridge.errors import PathganConvergenceError
from openmm_bridge.fileio import atomic_file
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.provenance import versions
from openmm_bridge.system import MolecularSystem

from .checkpoints import LOSSES_CSV, resume, save_checkpoint, save_model, write_losses
from .config import ALL_TERMS, TrainingConfig
from .data import ReferenceSet, random_rotations
from .figures import plot_losses
from .gan import GAN

EnergyFn = Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]

__all__ = ["Trainer", "energy_loss", "soft_cap", "train"]


# ---------------------------------------------------------------------- one update
def soft_cap(energy: torch.Tensor, cap: float) -> torch.Tensor:
    """``energy`` below ``cap``; ``cap + log(1 + energy - cap)`` above it (bounded gradients)."""
    over = torch.clamp(energy - cap, min=0.0)
    return energy - over + torch.log1p(over)


def energy_loss(
    energies: dict[str, torch.Tensor], terms: list[str], restraint_weight: float, cap: float
) -> torch.Tensor:
    """Mean over the batch of the capped ``sum(terms) + restraint_weight * restraint``, kcal/mol.

    Terms the system does not have (CHARMM's or implicit solvent's in an AMBER vacuum system) add nothing.
    """
    e = sum((energies[t] for t in terms if t in energies), torch.zeros_like(energies["total"]))
    if restraint_weight and "restraint" in energies:
        e = e + restraint_weight * energies["restraint"]
    return soft_cap(e, cap).mean()


def _bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class Trainer:
    """Trains a :class:`GAN` on reference frames, with checkpoints in ``out``.

    ``energy_fn`` (default: the GAN's batched TorchMD potential) can be replaced, e.g. by
    a frame-by-frame torchmd loop for the benchmark.
    """

    def __init__(
        self,
        gan: GAN,
        train: ReferenceSet,
        validation: ReferenceSet | None,
        out: str | os.PathLike,
        energy_fn: EnergyFn | None = None,
    ) -> None:
        self.gan, self.config = gan, gan.config
        self.out = Path(out)
        self.energy_fn = energy_fn or gan.potential
        c = self.config
        xyz, t, _ = train.arrays()
        self.x = torch.as_tensor(xyz, dtype=gan.dtype, device=gan.device)
        self.t = torch.as_tensor(t, dtype=gan.dtype, device=gan.device)
        self.val = None
        if validation is not None:
            vx, vt, _ = validation.arrays()
            self.val = (
                torch.as_tensor(vx, dtype=gan.dtype, device=gan.device),
                torch.as_tensor(vt, dtype=gan.dtype, device=gan.device),
            )
        self.real_angles = gan.angles(self.x)
        betas = tuple(c.adam_betas)
        self.opt_pre = torch.optim.Adam(gan.generator.parameters(), lr=c.pretrain_lr, betas=betas)
        self.opt_g = torch.optim.Adam(gan.generator.parameters(), lr=c.lr_g, betas=betas)
        self.opt_d = torch.optim.Adam(gan.discriminator.parameters(), lr=c.lr_d, betas=betas)
        self.epoch = 0
        self.history: list[dict[str, float]] = []
        self._where = "set-up"  # the epoch and batch being trained, for messages

    @property
    def total_epochs(self) -> int:
        """Pre-training plus adversarial epochs."""
        return self.config.pretrain_epochs + self.config.epochs

    def _rng(self, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(1_000_003 * (self.config.seed + 1) + epoch)

    def _update(
        self, loss: torch.Tensor, name: str, opt: torch.optim.Optimizer, params: Iterable[torch.nn.Parameter]
    ) -> None:
        """One optimiser step on ``loss``; a non-finite loss stops training with a convergence error."""
        if not bool(torch.isfinite(loss)):
            raise PathganConvergenceError(f"training diverged: {name} = {loss.item()} in {self._where}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.config.grad_clip)
        opt.step()

    # ------------------------------------------------------------------ steps
    def pretrain_step(self, idx: torch.Tensor, alpha: float, rng: torch.Generator) -> dict[str, float]:
        """Annealed pre-training: ``(1 - alpha) * torsion reconstruction + alpha * energy``."""
        g, c = self.gan, self.config
        t = self.t[idx]
        fake = g.generate(t, rng)
        diff = g.angles(fake) - self.real_angles[idx]
        rec = (2.0 * (1.0 - torch.cos(diff))).mean()  # |e^{i a} - e^{i b}|^2: no wrap-around
        loss = (1.0 - alpha) * rec
        e_val = 0.0
        if c.use_energy and alpha > 0:
            energies = self.energy_fn(fake, t)
            e = energy_loss(energies, c.pretraining_terms(), 0.0, c.energy_cap_kcal_mol)
            loss = loss + alpha * c.energy_weight * e
            e_val = e.item()
        self._update(loss, "pre-training loss", self.opt_pre, g.generator.parameters())
        return {"reconstruction": rec.item(), "energy": e_val}

    def adversarial_step(self, idx: torch.Tensor, terms: list[str], rng: torch.Generator) -> dict[str, float]:
        """One three-way update on the batch ``idx``."""
        g, c = self.gan, self.config
        t, real = self.t[idx], self.x[idx]
        if c.augment:
            rot = random_rotations(len(idx), rng, dtype=real.dtype).to(real.device)
            real = real @ rot.transpose(1, 2)
        # 1. G against a fixed D
        fake = g.generate(t, rng)
        loss_g = _bce(g.discriminator.logits(t, g.angles(fake)), 1.0)
        self._update(c.adversarial_weight * loss_g, "loss_g_adv", self.opt_g, g.generator.parameters())
        # 2. D on real and generated
        with torch.no_grad():
            fake = g.generate(t, rng)
        d_real = g.discriminator.logits(t, g.angles(real))
        d_fake = g.discriminator.logits(t, g.angles(fake))
        loss_d = _bce(d_real, 1.0) + _bce(d_fake, 0.0)
        self._update(loss_d, "loss_d", self.opt_d, g.discriminator.parameters())
        out = {
            "loss_g_adv": loss_g.item(),
            "loss_d": loss_d.item(),
            "d_real": torch.sigmoid(d_real).mean().item(),
            "d_fake": torch.sigmoid(d_fake).mean().item(),
        }
        # 3. G on the potential energy, one batched evaluation per step
        if c.use_energy:
            for _ in range(c.energy_steps):
                loss_e, energies = self.energy_step(t, terms, rng)
            out["loss_energy"] = loss_e.item()
            for name in ("total", "restraint", *ALL_TERMS):
                if name in energies:
                    out[f"{name}_kcal_mol"] = energies[name].detach().mean().item()
        return out

    def energy_step(
        self, t: torch.Tensor, terms: list[str], rng: torch.Generator
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One update of G on the potential energy of what it generates at ``t`` (at fresh uniform
        draws instead when ``energy_t`` is "uniform"): ``energy_weight`` times the capped
        ``sum(terms) + restraint_weight * restraint``. Returns that loss and the energies."""
        g, c = self.gan, self.config
        te = t if c.energy_t == "batch" else torch.rand(len(t), generator=rng).to(t.device, t.dtype)
        fake = g.generate(te, rng)
        energies = self.energy_fn(fake, te)
        loss_e = c.energy_weight * energy_loss(energies, terms, c.restraint_weight, c.energy_cap_kcal_mol)
        self._update(loss_e, "loss_energy", self.opt_g, g.generator.parameters())
        return loss_e, energies

    # ------------------------------------------------------------------ epochs
    def run_epoch(self, epoch: int) -> dict[str, float]:
        """One epoch (pre-training or adversarial, by index); returns the epoch's mean losses."""
        c = self.config
        rng = self._rng(epoch)
        order = torch.randperm(len(self.t), generator=rng).to(self.t.device)
        batches = [order[k : k + c.batch_size] for k in range(0, len(order), c.batch_size)]
        pre = epoch < c.pretrain_epochs
        phase = "pretrain" if pre else "adversarial"
        present = set(getattr(self.gan.potential, "terms", ALL_TERMS))
        terms = [] if pre else [t for t in c.terms_at(epoch - c.pretrain_epochs) if t in present]
        sums: dict[str, float] = {}
        t0 = time.perf_counter()
        for b, idx in enumerate(batches):
            self._where = f"epoch {epoch + 1}, batch {b + 1}"
            if pre:
                alpha = (epoch * len(batches) + b + 1) / (c.pretrain_epochs * len(batches))
                row = self.pretrain_step(idx, alpha, rng)
            else:
                row = self.adversarial_step(idx, terms, rng)
            for k, v in row.items():
                sums[k] = sums.get(k, 0.0) + v * len(idx)
        n = len(self.t)
        row = {
            "epoch": epoch + 1,
            "phase": phase,
            "terms": "+".join(terms),
            **{k: v / n for k, v in sums.items()},
        }
        row["wall_s"] = time.perf_counter() - t0
        row.update(self.validate(epoch))
        return row

    @torch.no_grad()
    def validate(self, epoch: int) -> dict[str, float]:
        """Energy and torsion error of frames generated at the validation frames' t (fixed seed)."""
        if self.val is None:
            return {}
        g = self.gan
        vx, vt = self.val
        rng = torch.Generator().manual_seed(12345)
        fake = g.generate(vt, rng)
        energies = g.potential(fake, vt)
        diff = g.angles(fake) - g.angles(vx)
        return {
            "val_total_kcal_mol": float(energies["total"].mean()),
            "val_restraint_kcal_mol": float(energies["restraint"].mean()),
            "val_torsion_error": float((2.0 * (1.0 - torch.cos(diff))).mean()),
        }

    def fit(
        self,
        progress: bool = True,
        on_epoch: Callable[[dict], None] | None = None,
        stop_after: int | None = None,
    ) -> list[dict[str, float]]:
        """Train from the current epoch to the end, checkpointing after every epoch.

        ``stop_after``: stop (as if interrupted) once that many epochs are done, without
        writing ``model.pt``; a later :meth:`resume` + :meth:`fit` continues.
        """
        from tqdm.auto import tqdm

        self.out.mkdir(parents=True, exist_ok=True)
        with tqdm(
            total=self.total_epochs,
            initial=self.epoch,
            desc=f"training ({self.config.name})",
            unit="epoch",
            disable=not progress,
        ) as bar:
            while self.epoch < self.total_epochs:
                row = self.run_epoch(self.epoch)
                self.history.append(row)
                self.epoch += 1
                save_checkpoint(self)
                write_losses(self.history, self.out / LOSSES_CSV)
                if on_epoch is not None:
                    on_epoch(row)
                bar.set_postfix_str(_postfix(row))
                bar.update(1)
                if stop_after is not None and self.epoch >= stop_after:
                    return self.history
        save_model(self)
        plot_losses(self.history, self.out / "losses.png")
        return self.history


def _postfix(row: dict) -> str:
    """The progress bar's summary of an epoch."""
    keys = (("reconstruction", "rec"), ("total_kcal_mol", "E"), ("d_real", "D(real)"), ("d_fake", "D(fake)"))
    return ", ".join(f"{label} {row[k]:.3g}" for k, label in keys if isinstance(row.get(k), float))


# ---------------------------------------------------------------------- entry point
def train(
    system: MolecularSystem,
    reference: ReferenceSet,
    config: TrainingConfig,
    out: str | os.PathLike,
    pull: PullProtocol | None = None,
    progress: bool = True,
) -> Trainer:
    """Split ``reference`` by replica, build the GAN of ``config``, train (resuming if possible)."""
    if reference.n_trajectories >= 2 and config.validation_fraction > 0:
        train_ref, val_ref = reference.split(config.validation_fraction, config.seed)
    else:
        train_ref, val_ref = reference, None
    gan = GAN.for_reference(system, config, pull or PullProtocol(), train_ref)
    trainer = Trainer(gan, train_ref, val_ref, out)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "config.json") as tmp:
        meta = {
            "config": config.to_dict(),
            "train": train_ref.sources,
            "validation": [] if val_ref is None else val_ref.sources,
            "versions": versions(),
        }
        tmp.write_text(json.dumps(meta, indent=2) + "\n")
    resume(trainer)
    trainer.fit(progress=progress)
    return trainer
