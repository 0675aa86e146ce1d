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

Every epoch ends with a checkpoint (models, optimisers, history: resuming gives the same
numbers bit for bit, since every random draw of an epoch comes from a generator seeded
by (seed, epoch)), a row of ``losses.csv`` and the plot ``losses.png``.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - torch's own convention

from openmm_bridge.errors import PathganInputError
from openmm_bridge.fileio import atomic_file
from openmm_bridge.provenance import versions
from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import mdtraj_topology

from .config import TERM_ORDER, TrainingConfig
from .data import ReferenceSet, random_rotations
from .model import Discriminator, Generator, template_frames
from .potential import TorchMDPotential
from .restraint import EndToEndRestraint
from .torsions import TorsionSet

MODEL_FORMAT = "pathgan-model-1"
CHECKPOINT = "checkpoint.pt"
MODEL = "model.pt"
LOSSES_CSV = "losses.csv"

EnergyFn = Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


# ---------------------------------------------------------------------- the pieces
def system_fingerprint(system: MolecularSystem) -> dict[str, Any]:
    """What a model must match: atom count, names, elements and residues."""
    atoms = list(system.topology.atoms())
    return {
        "n_atoms": len(atoms),
        "atoms": [f"{a.residue.name}{a.residue.index + 1}:{a.name}" for a in atoms],
        "source": system.source,
    }


def check_fingerprint(saved: dict[str, Any], system: MolecularSystem, where: str) -> None:
    """Raise :class:`PathganInputError` unless ``system`` is the one the model was trained on."""
    ours = system_fingerprint(system)
    if saved["n_atoms"] != ours["n_atoms"]:
        raise PathganInputError(
            f"{where}: the model is for a system of {saved['n_atoms']} atoms ({saved['source']}), "
            f"this system has {ours['n_atoms']} ({ours['source']})"
        )
    diff = [k for k, (a, b) in enumerate(zip(saved["atoms"], ours["atoms"], strict=True)) if a != b]
    if diff:
        k = diff[0]
        raise PathganInputError(
            f"{where}: atom {k} is {saved['atoms'][k]} in the model's system but {ours['atoms'][k]} here "
            f"({len(diff)} atoms differ)"
        )


def reference_distance_table(
    reference: ReferenceSet, group_a: list[int], group_b: list[int], n_points: int = 51
) -> np.ndarray:
    """Mean end-to-end distance (A) of the reference frames at ``n_points`` evenly spaced t."""
    xyz, t, _ = reference.arrays()
    d = np.linalg.norm(xyz[:, group_b].mean(axis=1) - xyz[:, group_a].mean(axis=1), axis=-1)
    grid = np.linspace(0, 1, n_points)
    half = 0.5 / (n_points - 1)
    table = []
    for g in grid:
        sel = np.abs(t - g) <= half + 1e-12
        table.append(d[sel].mean() if sel.any() else np.interp(g, t[np.argsort(t)], d[np.argsort(t)]))
    return np.asarray(table)


@dataclass
class PullSpec:
    """The pull the reference came from: the restraint of the energy loss (A, kcal/mol/A^2)."""

    group_a: list[int]
    group_b: list[int]
    k_kcal_mol_a2: float = 1.0
    c0_angstrom: float = 12.0
    c1_angstrom: float = 34.0

    @classmethod
    def from_smd(cls, smd_dir: str | os.PathLike) -> PullSpec:
        """The protocol recorded in a pull folder's ``smd.json``."""
        from openmm_bridge.steered_md import MANIFEST

        p = json.loads((Path(smd_dir) / MANIFEST).read_text())["protocol"]
        return cls(p["group_a"], p["group_b"], p["k_kcal_mol_a2"], p["c0_angstrom"], p["c1_angstrom"])

    @classmethod
    def default(cls, system: MolecularSystem) -> PullSpec:
        """The paper's pull on the system's first and last CA."""
        i, j = system.end_to_end_atoms()
        return cls([i], [j])


class GAN:
    """Generator, discriminator, torsions, potential and restraint of one system and configuration."""

    def __init__(
        self,
        system: MolecularSystem,
        config: TrainingConfig,
        pull: PullSpec,
        template: np.ndarray | None = None,
        mean_structure: np.ndarray | None = None,
        centre_table: np.ndarray | None = None,
    ) -> None:
        self.system, self.config, self.pull = system, config, pull
        self.dtype = getattr(torch, config.dtype)
        self.device = torch.device(config.device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise PathganInputError("device 'cuda' was asked for, but torch sees no CUDA device")
        m = config.model
        torch.manual_seed(config.seed)  # initial weights
        self.torsions = TorsionSet.from_topology(mdtraj_topology(system))
        self.generator = Generator(
            system.n_atoms,
            m.noise_dim,
            m.hidden,
            m.activation,
            m.t_frequencies,
            template=None if template is None else torch.as_tensor(template, dtype=self.dtype),
            mean_structure=None
            if mean_structure is None
            else torch.as_tensor(mean_structure, dtype=self.dtype),
        ).to(self.device, self.dtype)
        self.discriminator = Discriminator(
            len(self.torsions), m.disc_hidden, m.disc_activation, m.disc_t_frequencies, m.torsion_features
        ).to(self.device, self.dtype)
        self.centre_table = centre_table
        self.restraint = EndToEndRestraint(
            pull.group_a,
            pull.group_b,
            pull.k_kcal_mol_a2,
            pull.c0_angstrom,
            pull.c1_angstrom,
            n_atoms=system.n_atoms,
            centre_table_angstrom=None if centre_table is None else list(centre_table),
        )
        self.potential = TorchMDPotential.from_system(
            system, restraint=self.restraint, dtype=self.dtype, device=self.device
        )

    @classmethod
    def for_reference(
        cls, system: MolecularSystem, config: TrainingConfig, pull: PullSpec, train: ReferenceSet
    ) -> GAN:
        """Build the models of ``config`` with what they take from the training frames."""
        xyz, t, _ = train.arrays()
        template = mean = table = None
        if config.model.template_bins:
            template = template_frames(xyz, t, config.model.template_bins, seed=config.seed)
        else:
            mean = _mean_structure(xyz)
        if config.restraint_target == "reference":
            table = reference_distance_table(train, pull.group_a, pull.group_b)
        return cls(system, config, pull, template, mean, table)

    def angles(self, pos: torch.Tensor) -> torch.Tensor:
        """Torsions (batch, n_torsions), radians."""
        return self.torsions.angles(pos)

    def generate(self, t: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Structures at ``t`` (batch,): (batch, n_atoms, 3) Angstrom, with fresh noise."""
        z = self.generator.sample_noise(t.shape[0], generator).to(self.device, self.dtype)
        return self.generator(t.to(self.device, self.dtype), z)

    # ------------------------------------------------------------------ files
    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the GAN (without optimisers)."""
        return {
            "format": MODEL_FORMAT,
            "config": self.config.to_dict(),
            "pull": vars(self.pull),
            "system": system_fingerprint(self.system),
            "system_dir": _folder_of(self.system),
            "torsion_names": list(self.torsions.names),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "template": None if self.generator.template is None else self.generator.template.frames.cpu(),
            "centre_table": None if self.centre_table is None else list(map(float, self.centre_table)),
            "versions": versions(),
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], system: MolecularSystem, where: str, device: str | None = None
    ) -> GAN:
        """Rebuild from :meth:`state` for ``system`` (checked against the model's)."""
        if not isinstance(state, dict) or state.get("format") != MODEL_FORMAT:
            raise PathganInputError(f"{where}: not a pathgan model (format {MODEL_FORMAT} expected)")
        check_fingerprint(state["system"], system, where)
        config = TrainingConfig.from_dict(state["config"], where=where)
        if device is not None:
            config.device = device
        gan = cls(
            system,
            config,
            PullSpec(**state["pull"]),
            template=None if state["template"] is None else state["template"].numpy(),
            mean_structure=None,
            centre_table=None if state["centre_table"] is None else np.asarray(state["centre_table"]),
        )
        gan.generator.load_state_dict(state["generator"])
        gan.discriminator.load_state_dict(state["discriminator"])
        return gan


def _folder_of(system: MolecularSystem) -> str | None:
    folder = system.metadata.get("loaded_from")
    return str(Path(folder).resolve()) if folder else None


def _mean_structure(xyz: np.ndarray) -> np.ndarray:
    from openmm_bridge.superpose import superpose

    ref = xyz[0] - xyz[0].mean(axis=0)
    return np.mean([superpose(x, ref) for x in xyz[:: max(len(xyz) // 200, 1)]], axis=0)


def load_model(path: str | os.PathLike, system: MolecularSystem, device: str | None = None) -> GAN:
    """A trained GAN from ``model.pt`` (or a checkpoint), for ``system``; clear errors for bad files."""
    path = Path(path)
    if path.is_dir():
        path = path / MODEL
    if not path.exists():
        raise PathganInputError(f"{path}: no such model file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many kinds for a damaged file
        raise PathganInputError(f"{path}: unreadable model/checkpoint ({type(err).__name__}: {err})") from err
    if isinstance(state, dict) and "gan" in state:
        state = state["gan"]
    return GAN.from_state(state, system, str(path), device)


# ---------------------------------------------------------------------- one update
def soft_cap(energy: torch.Tensor, cap: float) -> torch.Tensor:
    """``energy`` below ``cap``; ``cap + log(1 + energy - cap)`` above it (bounded gradients)."""
    over = torch.clamp(energy - cap, min=0.0)
    return energy - over + torch.log1p(over)


def energy_loss(
    energies: dict[str, torch.Tensor], terms: list[str], restraint_weight: float, cap: float
) -> torch.Tensor:
    """Mean over the batch of the capped ``sum(terms) + restraint_weight * restraint``, kcal/mol."""
    e = sum((energies[t] for t in terms), torch.zeros_like(energies["total"]))
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

    @property
    def total_epochs(self) -> int:
        """Pre-training plus adversarial epochs."""
        return self.config.pretrain_epochs + self.config.epochs

    def _rng(self, epoch: int) -> torch.Generator:
        return torch.Generator().manual_seed(1_000_003 * (self.config.seed + 1) + epoch)

    def _clip_step(self, opt: torch.optim.Optimizer, params: Iterable[torch.nn.Parameter]) -> None:
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
            e = energy_loss(energies, c.pretrain_terms, 0.0, c.energy_cap_kcal_mol)
            loss = loss + alpha * c.energy_weight * e
            e_val = e.item()
        self.opt_pre.zero_grad(set_to_none=True)
        loss.backward()
        self._clip_step(self.opt_pre, g.generator.parameters())
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
        self.opt_g.zero_grad(set_to_none=True)
        (c.adversarial_weight * loss_g).backward()
        self._clip_step(self.opt_g, g.generator.parameters())
        # 2. D on real and generated
        with torch.no_grad():
            fake = g.generate(t, rng)
        d_real = g.discriminator.logits(t, g.angles(real))
        d_fake = g.discriminator.logits(t, g.angles(fake))
        loss_d = _bce(d_real, 1.0) + _bce(d_fake, 0.0)
        self.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        self._clip_step(self.opt_d, g.discriminator.parameters())
        out = {
            "loss_g_adv": loss_g.item(),
            "loss_d": loss_d.item(),
            "d_real": torch.sigmoid(d_real).mean().item(),
            "d_fake": torch.sigmoid(d_fake).mean().item(),
        }
        # 3. G on the potential energy, one batched evaluation per step
        if c.use_energy:
            for _ in range(c.energy_steps):
                te = t if c.energy_t == "batch" else torch.rand(len(idx), generator=rng).to(t.device, t.dtype)
                fake = g.generate(te, rng)
                energies = self.energy_fn(fake, te)
                loss_e = c.energy_weight * energy_loss(
                    energies, terms, c.restraint_weight, c.energy_cap_kcal_mol
                )
                self.opt_g.zero_grad(set_to_none=True)
                loss_e.backward()
                self._clip_step(self.opt_g, g.generator.parameters())
            out["loss_energy"] = loss_e.item()
            for name in ("total", "restraint", *TERM_ORDER):
                if name in energies:
                    out[f"{name}_kcal_mol"] = energies[name].detach().mean().item()
        return out

    # ------------------------------------------------------------------ epochs
    def run_epoch(self, epoch: int, progress: bool = False) -> dict[str, float]:
        """One epoch (pre-training or adversarial, by index); returns the epoch's mean losses."""
        from tqdm.auto import tqdm

        c = self.config
        rng = self._rng(epoch)
        order = torch.randperm(len(self.t), generator=rng).to(self.t.device)
        batches = [order[k : k + c.batch_size] for k in range(0, len(order), c.batch_size)]
        pre = epoch < c.pretrain_epochs
        phase = "pretrain" if pre else "adversarial"
        terms = [] if pre else c.terms_at(epoch - c.pretrain_epochs)
        sums: dict[str, float] = {}
        t0 = time.perf_counter()
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{self.total_epochs} ({phase})",
            leave=False,
            disable=not progress,
        )
        for b, idx in enumerate(bar):
            if pre:
                alpha = (epoch * len(batches) + b + 1) / (c.pretrain_epochs * len(batches))
                row = self.pretrain_step(idx, alpha, rng)
            else:
                row = self.adversarial_step(idx, terms, rng)
            for k, v in row.items():
                if not np.isfinite(v):
                    raise RuntimeError(f"training diverged: {k} = {v} in epoch {epoch + 1}, batch {b + 1}")
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
                row = self.run_epoch(self.epoch, progress)
                self.history.append(row)
                self.epoch += 1
                self.save_checkpoint()
                self.write_losses()
                if on_epoch is not None:
                    on_epoch(row)
                bar.update(1)
                if stop_after is not None and self.epoch >= stop_after:
                    return self.history
        self.save_model()
        plot_losses(self.history, self.out / "losses.png")
        return self.history

    # ------------------------------------------------------------------ files
    def save_checkpoint(self) -> None:
        """``checkpoint.pt``: GAN, optimisers, epoch and history (atomic)."""
        state = {
            "gan": self.gan.state(),
            "opt_pre": self.opt_pre.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "epoch": self.epoch,
            "history": self.history,
        }
        with atomic_file(self.out / CHECKPOINT) as tmp:
            torch.save(state, tmp)

    def resume(self) -> bool:
        """Load ``checkpoint.pt`` if there is one; return whether it was loaded."""
        path = self.out / CHECKPOINT
        if not path.exists():
            return False
        try:
            state = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise PathganInputError(f"{path}: unreadable checkpoint ({type(err).__name__}: {err})") from err
        saved = state.get("gan", {}).get("config") if isinstance(state, dict) else None
        if saved is None:
            raise PathganInputError(f"{path}: not a pathgan checkpoint")
        ours = self.config.to_dict()
        diff = sorted(k for k in ours if k != "device" and saved.get(k) != ours[k])
        if diff:
            raise PathganInputError(f"{path}: was written with another configuration (differs in {diff})")
        check_fingerprint(state["gan"]["system"], self.gan.system, str(path))
        self.gan.generator.load_state_dict(state["gan"]["generator"])
        self.gan.discriminator.load_state_dict(state["gan"]["discriminator"])
        self.opt_pre.load_state_dict(state["opt_pre"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.epoch, self.history = int(state["epoch"]), list(state["history"])
        return True

    def save_model(self) -> Path:
        """``model.pt``: the trained GAN with its configuration, seed and versions (atomic)."""
        state = self.gan.state()
        state["epochs_trained"] = self.epoch
        state["history"] = self.history
        with atomic_file(self.out / MODEL) as tmp:
            torch.save(state, tmp)
        return self.out / MODEL

    def write_losses(self) -> None:
        """``losses.csv``: one row per epoch, every loss and energy term (kcal/mol)."""
        keys: list[str] = []
        for row in self.history:
            keys += [k for k in row if k not in keys]
        with atomic_file(self.out / LOSSES_CSV) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            for row in self.history:
                writer.writerow(row)


def plot_losses(history: list[dict[str, Any]], path: str | os.PathLike) -> None:
    """Loss curves by epoch: adversarial losses, energy by term (log scale), validation."""
    from openmm_bridge.plots import plt, save_figure

    if not history:
        return
    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))

    def series(key):
        return [r.get(key, np.nan) for r in history]

    for key in ("reconstruction", "loss_g_adv", "loss_d"):
        axes[0].plot(epochs, series(key), marker="o", label=key)
    axes[0].set_title("pre-training and adversarial losses")
    for key in ("bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics", "restraint"):
        vals = np.abs(np.asarray(series(f"{key}_kcal_mol"), dtype=float))
        if np.isfinite(vals).any():
            axes[1].semilogy(epochs, vals, marker=".", label=key)
    axes[1].set_title("|energy| of generated frames by term (kcal/mol)")
    for key in ("val_total_kcal_mol", "val_restraint_kcal_mol"):
        axes[2].plot(epochs, series(key), marker="o", label=key)
    axes[2].set_title("validation")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7, frameon=False)
    save_figure(fig, path)


# ---------------------------------------------------------------------- entry point
def train(
    system: MolecularSystem,
    reference: ReferenceSet,
    config: TrainingConfig,
    out: str | os.PathLike,
    pull: PullSpec | None = None,
    progress: bool = True,
) -> Trainer:
    """Split ``reference`` by replica, build the GAN of ``config``, train (resuming if possible)."""
    if reference.n_trajectories >= 2 and config.validation_fraction > 0:
        train_ref, val_ref = reference.split(config.validation_fraction, config.seed)
    else:
        train_ref, val_ref = reference, None
    gan = GAN.for_reference(system, config, pull or PullSpec.default(system), train_ref)
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
    trainer.resume()
    trainer.fit(progress=progress)
    return trainer
