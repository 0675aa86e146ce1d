"""The configuration of ``pathgan run``: its sections, the presets, and the checks across sections.

``system`` takes one source: a sequence, a PDB file, AMBER or CHARMM files, or a system folder
(:class:`SystemSection`). Each section of the YAML is a :class:`~openmm_bridge.settings.Settings`
(unknown keys, wrong types and impossible values are refused with the setting named); ``smd``
takes any setting of the pull protocol, ``train`` any of the training configuration, ``refine``
any of the string method, ``pathcv`` any of the path-CV protocol. :meth:`RunConfig.check` adds
what no section can check alone (strides against the pulls' frames, path frames against string images, ...).
"""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Any

import yaml

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pathcv_md import PathCVProtocol
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.settings import Settings, at_least, non_negative, positive
from openmm_bridge.string_method import StringConfig

from .config import TrainingConfig
from .run_system import ONLY_WITH, SOURCES, SystemSection, resolve_system_paths


def _merge_layer(data: dict[str, Any], layer: dict[str, Any], base: Path) -> dict[str, Any]:
    """``data`` updated by one layer; a layer that names a source replaces the source before it.

    The settings of the earlier source that do not go with the new one are dropped (a YAML file's
    ``pdb`` replaces the preset's ``sequence`` and ``caps``, an override's ``prmtop`` the YAML's ``pdb``
    and ``forcefield``); two sources in one layer are left for :meth:`SystemSection.check` to refuse.
    """
    system = layer.get("system")
    if isinstance(system, dict):
        system = resolve_system_paths(system, base)
        named = [s for s in SOURCES if system.get(s) is not None]
        if named and isinstance(data.get("system"), dict):
            data = {
                **data,
                "system": {
                    k: v
                    for k, v in data["system"].items()
                    if (k not in SOURCES or k in named)
                    and (k not in ONLY_WITH or any(s in ONLY_WITH[k] for s in named))
                },
            }
        layer = {**layer, "system": system}
    smd = layer.get("smd")
    if isinstance(smd, dict) and isinstance(smd.get("coordinate"), dict):
        target = smd["coordinate"].get("target")
        if isinstance(target, str):  # an RMSD pull's target structure, relative to the layer's folder
            coordinate = {**smd["coordinate"], "target": str(base / target)}
            layer = {**layer, "smd": {**smd, "coordinate": coordinate}}
    return deep_merge(data, layer)


@dataclasses.dataclass
class SmdSection(PullProtocol):
    """The reference pulls: a pull protocol plus how many replicas and where they run."""

    replicas: int = at_least(1, 8)
    workers: int | None = None
    scheduler: str | None = None

    def protocol(self) -> PullProtocol:
        """The pull protocol alone."""
        names = {f.name for f in dataclasses.fields(PullProtocol)}
        return PullProtocol.from_dict({k: v for k, v in self.to_dict().items() if k in names}, "config.smd")


@dataclasses.dataclass
class GenerateSection(Settings):
    """The candidate paths: frames along t, how many, and whether they are relaxed (:mod:`pathgan.relax`)."""

    frames: int = at_least(2, 20)
    samples: int = at_least(1, 32)
    relax: bool = True
    truncation: float = non_negative(1.0)  # scale of the noise (see pathgan.gan.GAN.generate_paths)


@dataclasses.dataclass
class RefineSection(StringConfig):
    """The zero-temperature string from the generated path: a string configuration plus its images."""

    images: int = at_least(3, 20)
    candidates: int = at_least(1, 1)  # the best k candidates are refined; the lowest converged string is kept

    def string_config(self) -> StringConfig:
        """The string configuration alone."""
        names = {f.name for f in dataclasses.fields(StringConfig)}
        return StringConfig.from_dict(
            {k: v for k, v in self.to_dict().items() if k in names}, "config.refine"
        )


@dataclasses.dataclass
class CompareSection(Settings):
    """The comparison with the reference: every ``stride``-th reference frame."""

    stride: int = positive(5)


@dataclasses.dataclass
class ReportSection(Settings):
    """The report: the t of the structures drawn."""

    structure_t: list[float] = dataclasses.field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])

    def check(self, where: str) -> None:
        """Every t in [0, 1]."""
        if not all(0.0 <= t <= 1.0 for t in self.structure_t):
            raise PathganInputError(f"{where}.structure_t: values must lie in [0, 1]")


@dataclasses.dataclass
class RunConfig(Settings):
    """Everything ``pathgan run`` does (see the module docstring)."""

    seed: int = 0
    preset: str = "quick"
    system: SystemSection = dataclasses.field(default_factory=SystemSection)
    smd: SmdSection = dataclasses.field(default_factory=SmdSection)
    train: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
    generate: GenerateSection = dataclasses.field(default_factory=GenerateSection)
    refine: RefineSection = dataclasses.field(default_factory=RefineSection)
    pathcv: PathCVProtocol = dataclasses.field(default_factory=PathCVProtocol)
    compare: CompareSection = dataclasses.field(default_factory=CompareSection)
    report: ReportSection = dataclasses.field(default_factory=ReportSection)

    def check(self, where: str) -> None:
        """What no section can check alone."""
        frames = self.smd.n_frames
        for section, stride in (("train", self.train.stride), ("compare", self.compare.stride)):
            if -(-frames // stride) < 2:
                raise PathganInputError(
                    f"{where}.{section}.stride: {stride} leaves fewer than 2 of the {frames} frames of each pull"
                )
        per_replica = -(-frames // self.train.stride)
        if self.smd.replicas < 2 and self.train.validation_fraction > 0:
            raise PathganInputError(
                f"{where}.smd.replicas: training holds out whole replicas, so it needs at least 2"
            )
        if self.train.model.template_bins > per_replica:
            raise PathganInputError(
                f"{where}.train.model.template_bins: {self.train.model.template_bins} bins, more than the "
                f"{per_replica} frames of each pull after the stride"
            )
        if self.generate.frames > frames:
            raise PathganInputError(
                f"{where}.generate.frames: {self.generate.frames} frames, more than the reference's {frames}"
            )
        n_val = min(
            max(int(round(self.train.validation_fraction * self.smd.replicas)), 1), self.smd.replicas - 1
        )
        if n_val < 2:
            raise PathganInputError(
                f"{where}.train.validation_fraction: holds out {n_val} of {self.smd.replicas} replicas; the "
                "comparison needs at least 2 held-out replicas (it splits them in halves)"
            )
        if self.refine.candidates > self.generate.samples:
            raise PathganInputError(
                f"{where}.refine.candidates: {self.refine.candidates}, more than generate.samples ({self.generate.samples})"
            )
        if self.refine.images > self.generate.frames:
            raise PathganInputError(
                f"{where}.refine.images: {self.refine.images}; needs 3 to generate.frames "
                f"({self.generate.frames}) images from the path"
            )


#: The quick preset: minutes on 2 CPU cores, still a meaningful path.
QUICK: dict[str, Any] = {
    "seed": 0,
    "system": {"sequence": "AAAAAAAAAA", "caps": True},
    # 12 pulls of 120 ps: 8 to train on, 4 held out for the comparison; started from a 20 ps
    # equilibration at c0 (seconds; short of deca-alanine's 7 ps CA-CA decorrelation time x 12)
    "smd": {
        "replicas": 12,
        "length_ps": 120.0,
        "equilibration_ps": 20.0,
        "frame_interval_steps": 250,
        "checkpoint_interval_steps": 25000,
    },
    "train": {"preset": "pathgan", "stride": 5, "validation_fraction": 0.34},
    "generate": {"frames": 20, "samples": 32},
    "refine": {"images": 20, "max_iterations": 1500},
    "pathcv": {"windows": 7, "window_ps": 2.0, "equilibration_ps": 0.5, "k_s_kcal_mol": 478.0},
    "compare": {"stride": 5},
    "report": {"structure_t": [0.0, 0.25, 0.5, 0.75, 1.0]},
}

#: The paper's scale: 50 replicas of 1 ns (a frame every 50 steps, used every 10th), 5 + 10 epochs.
PAPER: dict[str, Any] = copy.deepcopy(QUICK)
PAPER["smd"].update({"replicas": 50, "length_ps": 1000.0, "frame_interval_steps": 50})
# 500 ps at c0: 50 starts 7.2 ps apart (deca-alanine's CA-CA decorrelation time) after the transient
PAPER["smd"]["equilibration_ps"] = 500.0
PAPER["train"].update({"stride": 10, "pretrain_epochs": 5, "epochs": 10})
PAPER["compare"]["stride"] = 50
PAPER["pathcv"].update({"windows": 21, "window_ps": 20.0})
PAPER["refine"]["max_iterations"] = 3000

PRESETS = {"quick": QUICK, "paper": PAPER}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``, recursively (what is unknown is refused later, by the sections)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def resolve_config(
    preset: str = "quick", config_file: str | os.PathLike | None = None, overrides: dict | None = None
) -> RunConfig:
    """The preset, updated by a YAML file and then by ``overrides``, checked before any work.

    Paths of the ``system`` section are made absolute: those of the YAML file against its folder,
    those of ``overrides`` against the current directory. A ``system`` source (``sequence``, ``pdb``,
    ``prmtop``, ``psf``, ``folder``) replaces the one of the layer before (see :func:`_merge_layer`).
    """
    if preset not in PRESETS:
        raise PathganInputError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    data = copy.deepcopy(PRESETS[preset])
    if config_file is not None:
        try:
            loaded = yaml.safe_load(Path(config_file).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise PathganInputError(f"{config_file}: cannot read the configuration ({err})") from err
        if not isinstance(loaded, dict):
            raise PathganInputError(f"{config_file}: expected a mapping of sections")
        data = _merge_layer(data, loaded, Path(config_file).absolute().parent)
    if overrides:
        data = _merge_layer(data, overrides, Path.cwd())
    data["preset"] = preset
    data.setdefault("train", {}).setdefault("seed", data.get("seed", 0))
    return RunConfig.from_dict(data, "config")
