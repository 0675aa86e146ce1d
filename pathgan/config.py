"""Configurations of the cGAN and its training: ``paper``, ``pathgan`` (default) and ``ablation``.

Every field can be set from YAML (``TrainingConfig.from_yaml``) or a dict, checked by
:class:`openmm_bridge.settings.Settings`; the resolved configuration is saved with every
model and checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

from openmm_bridge.errors import PathganInputError
from openmm_bridge.force_table import FORCE_TERMS
from openmm_bridge.settings import Settings, at_least, non_negative, one_of, positive, within

#: Hidden activations the networks know (see :func:`pathgan.model.mlp`).
ACTIVATIONS = ("sigmoid", "silu", "tanh", "leaky_relu")

#: Energy terms in the order the hierarchy switches them on (the paper's order).
TERM_ORDER = ("bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics")
#: Terms of CHARMM and implicit-solvent systems join the loss with the term they belong beside,
#: unless the schedule names them itself.
JOINS_WITH = {
    "urey_bradley": "angles",
    "cmap": "dihedrals",
    "lj_14": "1-4",
    "lj_table": "lj",
    "implicit_solvent": "electrostatics",
}
#: Every term a schedule may name.
ALL_TERMS = TERM_ORDER + FORCE_TERMS


def with_companions(terms: list[str]) -> list[str]:
    """``terms`` plus the force terms that join with one of them (see :data:`JOINS_WITH`), in :data:`ALL_TERMS` order."""
    chosen = set(terms) | {t for t, beside in JOINS_WITH.items() if beside in terms}
    return [t for t in ALL_TERMS if t in chosen]


@dataclasses.dataclass
class ModelConfig(Settings):
    """Architecture (see :mod:`pathgan.model`)."""

    noise_dim: int = positive(31)
    hidden: list[int] = dataclasses.field(default_factory=lambda: [32, 50, 100])
    activation: str = one_of(ACTIVATIONS, "sigmoid")
    t_frequencies: int = non_negative(0)
    template_bins: int = non_negative(0)  # 0: predict coordinates (paper); K >= 2: template + correction
    noise_modes: int = non_negative(0)  # 0: noise only through the network; K: along K principal modes
    noise_scale: float = positive(1.0)  # widens the noise along the modes (see pathgan.model.NoiseModes)
    noise_bins: int = at_least(2, 25)  # bins of t in which the modes' mean and covariance are measured
    disc_hidden: list[int] = dataclasses.field(default_factory=lambda: [10])
    disc_activation: str = one_of(ACTIVATIONS, "sigmoid")
    disc_t_frequencies: int = non_negative(0)
    torsion_features: str = one_of(("angles", "cos_sin"), "angles")

    def check(self, where: str) -> None:
        """A template needs at least 2 bins."""
        if self.template_bins == 1:
            raise PathganInputError(f"{where}.template_bins: must be 0 or >= 2")
        if self.noise_modes and not self.template_bins:
            raise PathganInputError(
                f"{where}.noise_modes: the modes are deviations from a template (template_bins >= 2)"
            )
        if self.noise_modes > self.noise_dim:
            raise PathganInputError(
                f"{where}.noise_modes: {self.noise_modes} modes need noise_dim >= {self.noise_modes}"
            )


@dataclasses.dataclass
class TrainingConfig(Settings):
    """Training of the cGAN (units: kcal/mol, Angstrom; epochs count passes over the training frames)."""

    name: str = "pathgan"
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    seed: int = 0
    stride: int = positive(10)
    validation_fraction: float = within(0.0, 1.0, 0.2, closed=False)
    batch_size: int = positive(64)
    augment: bool = True
    pretrain_epochs: int = non_negative(5)
    pretrain_lr: float = positive(1e-2)
    epochs: int = non_negative(10)
    lr_g: float = positive(1e-3)
    lr_d: float = positive(1e-3)
    adam_betas: list[float] = dataclasses.field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = non_negative(1.0)
    use_energy: bool = True
    energy_steps: int = positive(8)
    energy_weight: float = non_negative(1.0)
    restraint_weight: float = non_negative(200.0)
    # "protocol": c0 -> c1 of the pull; "reference": the pulls' mean distance
    restraint_target: str = one_of(("protocol", "reference"), "protocol")
    energy_cap_kcal_mol: float = positive(1000.0)
    # t of the energy steps: the batch's ("batch") or fresh uniform draws ("uniform")
    energy_t: str = one_of(("batch", "uniform"), "batch")
    # adversarial epoch at which each term joins the energy loss (the paper's hierarchy)
    term_schedule: dict[str, int] = dataclasses.field(
        default_factory=lambda: {
            "bonds": 0,
            "angles": 0,
            "dihedrals": 0,
            "impropers": 1,
            "1-4": 2,
            "lj": 2,
            "electrostatics": 3,
        }
    )
    pretrain_terms: list[str] = dataclasses.field(default_factory=lambda: ["bonds", "angles", "dihedrals"])
    adversarial_weight: float = non_negative(1.0)
    device: str = "cpu"
    dtype: str = one_of(("float32", "float64"), "float32")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, where: str = "configuration") -> TrainingConfig:
        """Build from a (possibly partial) dict over a preset (``preset:``, default ``pathgan``).

        Unknown keys, wrong types and impossible values are errors naming the setting.
        """
        data = dict(data or {})
        preset = data.pop("preset", None) or (data["name"] if data.get("name") in PRESETS else "pathgan")
        if preset not in PRESETS:
            raise PathganInputError(f"{where}: unknown preset {preset!r}; known: {sorted(PRESETS)}")
        base = PRESETS[preset]().to_dict()
        model = data.pop("model", None)
        if model is not None:
            if not isinstance(model, dict):
                raise PathganInputError(f"{where}.model: expected a mapping, got {model!r}")
            model = {**base["model"], **model}
        merged = {**base, **data, **({"model": model} if model is not None else {})}
        return super().from_dict(merged, where)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, preset: str | None = None) -> TrainingConfig:
        """Read a YAML file (any subset of the fields) over a preset.

        The base is ``preset`` (e.g. a command line's ``--preset``) or the file's ``preset:``,
        ``pathgan`` when neither names one; the two naming different presets is an error.
        """
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise PathganInputError(f"{path}: cannot read the configuration ({err})") from err
        if not isinstance(data, dict):
            raise PathganInputError(f"{path}: expected a mapping of training settings, got {data!r}")
        if preset is not None:
            if data.get("preset", preset) != preset:
                raise PathganInputError(
                    f"{path}: names preset {data['preset']!r}, but {preset!r} was asked for; name one"
                )
            data["preset"] = preset
        return cls.from_dict(data, where=str(path))

    def check(self, where: str) -> None:
        """Energy terms known; the device usable."""
        unknown = sorted(set(self.term_schedule) - set(ALL_TERMS)) + sorted(
            set(self.pretrain_terms) - set(ALL_TERMS)
        )
        if unknown:
            raise PathganInputError(f"{where}: unknown energy terms {unknown}; known: {list(ALL_TERMS)}")

    def terms_at(self, epoch: int) -> list[str]:
        """Energy terms active in adversarial epoch ``epoch`` (0-based), in :data:`ALL_TERMS` order.

        A force term the schedule does not name joins with its companion (:data:`JOINS_WITH`).
        """
        schedule = dict(self.term_schedule)
        for term, beside in JOINS_WITH.items():
            if term not in schedule and beside in schedule:
                schedule[term] = schedule[beside]
        return [t for t in ALL_TERMS if t in schedule and schedule[t] <= epoch]

    def pretraining_terms(self) -> list[str]:
        """``pretrain_terms`` with the force terms that join them (:data:`JOINS_WITH`)."""
        return with_companions(list(self.pretrain_terms))


def paper_config() -> TrainingConfig:
    """The paper's model and schedule (section 4; the authors' code for the update counts)."""
    return TrainingConfig(name="paper")


def pathgan_config() -> TrainingConfig:
    """The default: template + noise along principal modes + correction, Fourier t, restraint on the reference distance.

    No pre-training (its torsion reconstruction pulls every sample towards one frame, against
    the noise) and no random rotations (the discriminator reads torsions, which rotations do
    not change: the augmentation did nothing).
    """
    return TrainingConfig(
        name="pathgan",
        model=ModelConfig(
            noise_dim=31,
            hidden=[128, 256, 256],
            activation="silu",
            t_frequencies=6,
            template_bins=25,
            noise_modes=31,
            noise_scale=1.25,
            disc_hidden=[64, 64],
            disc_activation="leaky_relu",
            disc_t_frequencies=6,
            torsion_features="cos_sin",
        ),
        batch_size=128,  # the potential's batched evaluation pays off at larger batches
        augment=False,
        pretrain_epochs=0,
        pretrain_lr=1e-3,
        epochs=20,
        lr_g=5e-4,
        lr_d=5e-4,
        adam_betas=[0.5, 0.999],
        energy_steps=8,
        energy_weight=0.02,
        energy_t="uniform",
        restraint_weight=5.0,
        restraint_target="reference",
        adversarial_weight=1.0,
        term_schedule={t: 0 for t in TERM_ORDER},
        pretrain_terms=["bonds", "angles", "dihedrals", "impropers"],
    )


def ablation_config() -> TrainingConfig:
    """The default without the energy terms in the generator's loss, everything else kept.

    The restraint of the pull stays in the loss, with the same energy steps, weights and
    schedule: only bonds, angles, torsions, Lennard-Jones and electrostatics are gone (the
    paper's claim: without them, structures are unphysical).
    """
    cfg = pathgan_config()
    cfg.name = "ablation"
    cfg.term_schedule = {}
    cfg.pretrain_terms = []
    return cfg


PRESETS = {"paper": paper_config, "pathgan": pathgan_config, "ablation": ablation_config}
