"""Configurations of the cGAN and its training: ``paper``, ``pathgan`` (default) and ``ablation``.

Every field can be set from YAML (``TrainingConfig.from_yaml``) or a dict; the resolved
configuration is saved with every model and checkpoint.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from openmm_bridge.errors import PathganInputError

#: Energy terms in the order the hierarchy switches them on (the paper's order).
TERM_ORDER = ("bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics")


def check_types(value: Any, default: Any, where: str) -> None:
    """A setting must have its default's type (ints accepted for floats; None where the default is None)."""
    if default is None or value is None and default is None:
        return
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise PathganInputError(f"{where}: expected a mapping, got {value!r}")
        for k, v in value.items():
            if k in default:
                check_types(v, default[k], f"{where}.{k}")
        return
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise PathganInputError(f"{where}: expected {type(default).__name__}, got {value!r}")


@dataclass
class ModelConfig:
    """Architecture (see :mod:`pathgan.model`)."""

    noise_dim: int = 31
    hidden: list[int] = field(default_factory=lambda: [32, 50, 100])
    activation: str = "sigmoid"
    t_frequencies: int = 0
    template_bins: int = 0  # 0: predict coordinates (paper); K >= 2: template + correction
    disc_hidden: list[int] = field(default_factory=lambda: [10])
    disc_activation: str = "sigmoid"
    disc_t_frequencies: int = 0
    torsion_features: str = "angles"  # or "cos_sin"


@dataclass
class TrainingConfig:
    """Training of the cGAN (units: kcal/mol, Angstrom; epochs count passes over the training frames)."""

    name: str = "pathgan"
    model: ModelConfig = field(default_factory=ModelConfig)
    seed: int = 0
    stride: int = 10
    validation_fraction: float = 0.2
    batch_size: int = 64
    augment: bool = True
    pretrain_epochs: int = 5
    pretrain_lr: float = 1e-2
    epochs: int = 10
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    grad_clip: float = 1.0
    use_energy: bool = True
    energy_steps: int = 8
    energy_weight: float = 1.0
    restraint_weight: float = 200.0
    restraint_target: str = (
        "protocol"  # "protocol": c0 -> c1 of the pull; "reference": the pulls' mean distance
    )
    energy_cap_kcal_mol: float = 1000.0
    energy_t: str = "batch"  # t of the energy steps: the batch's ("batch") or fresh uniform draws ("uniform")
    # adversarial epoch at which each term joins the energy loss (the paper's hierarchy)
    term_schedule: dict[str, int] = field(
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
    pretrain_terms: list[str] = field(default_factory=lambda: ["bonds", "angles", "dihedrals"])
    adversarial_weight: float = 1.0
    device: str = "cpu"
    dtype: str = "float32"

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "configuration") -> TrainingConfig:
        """Build from a (possibly partial) dict over the ``pathgan`` defaults; unknown keys are errors."""
        data = dict(data)
        preset = data.pop("preset", None) or (data["name"] if data.get("name") in PRESETS else "pathgan")
        if preset not in PRESETS:
            raise PathganInputError(f"{where}: unknown preset {preset!r}; known: {sorted(PRESETS)}")
        base = PRESETS[preset]()
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise PathganInputError(f"{where}: unknown training keys {unknown}; known: {sorted(known)}")
        model = data.pop("model", None)
        check_types(data, {k: v for k, v in asdict(base).items() if k != "model"}, where)
        if model is not None:
            check_types(model, asdict(base.model), f"{where}.model")
        cfg = replace(base, **data)
        if model is not None:
            mknown = {f.name for f in fields(ModelConfig)}
            bad = sorted(set(model) - mknown)
            if bad:
                raise PathganInputError(f"{where}: unknown model keys {bad}; known: {sorted(mknown)}")
            cfg.model = replace(base.model, **model)
        cfg.validate(where)
        return cfg

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> TrainingConfig:
        """Read a YAML file (any subset of the fields; ``preset:`` picks the base)."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise PathganInputError(f"{path}: cannot read the configuration ({err})") from err
        if not isinstance(data, dict):
            raise PathganInputError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
        return cls.from_dict(data, where=str(path))

    def validate(self, where: str = "configuration") -> None:
        """Raise :class:`PathganInputError` for settings that cannot train."""
        for name in ("batch_size", "stride", "energy_steps"):
            if getattr(self, name) <= 0:
                raise PathganInputError(f"{where}: {name} must be positive, got {getattr(self, name)}")
        if self.epochs < 0 or self.pretrain_epochs < 0:
            raise PathganInputError(f"{where}: epochs must be >= 0")
        unknown = sorted(set(self.term_schedule) - set(TERM_ORDER)) + sorted(
            set(self.pretrain_terms) - set(TERM_ORDER)
        )
        if unknown:
            raise PathganInputError(f"{where}: unknown energy terms {unknown}; known: {list(TERM_ORDER)}")
        if self.restraint_target not in ("protocol", "reference"):
            raise PathganInputError(f"{where}: restraint_target must be 'protocol' or 'reference'")
        if self.energy_t not in ("batch", "uniform"):
            raise PathganInputError(f"{where}: energy_t must be 'batch' or 'uniform'")
        if self.dtype not in ("float32", "float64"):
            raise PathganInputError(f"{where}: dtype must be float32 or float64")
        if self.model.template_bins == 1 or self.model.template_bins < 0:
            raise PathganInputError(f"{where}: template_bins must be 0 or >= 2")

    def terms_at(self, epoch: int) -> list[str]:
        """Energy terms active in adversarial epoch ``epoch`` (0-based), in :data:`TERM_ORDER`."""
        return [t for t in TERM_ORDER if t in self.term_schedule and self.term_schedule[t] <= epoch]


def paper_config() -> TrainingConfig:
    """The paper's model and schedule (section 4; the authors' code for the update counts)."""
    return TrainingConfig(name="paper")


def pathgan_config() -> TrainingConfig:
    """The default: template + correction generator, Fourier t, restraint on the reference distance."""
    return TrainingConfig(
        name="pathgan",
        model=ModelConfig(
            noise_dim=31,
            hidden=[128, 256, 256],
            activation="silu",
            t_frequencies=6,
            template_bins=25,
            disc_hidden=[64, 64],
            disc_activation="leaky_relu",
            disc_t_frequencies=6,
            torsion_features="cos_sin",
        ),
        batch_size=128,  # the potential's batched evaluation pays off at larger batches
        pretrain_epochs=2,
        pretrain_lr=1e-3,
        epochs=60,
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
    """The default without the energy loss (the paper's claim: without it, structures are unphysical)."""
    cfg = pathgan_config()
    cfg.name = "ablation"
    cfg.use_energy = False
    return cfg


PRESETS = {"paper": paper_config, "pathgan": pathgan_config, "ablation": ablation_config}
