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
from typing import TYPE_CHECKING, Any

import yaml

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pathcv_md import PathCVProtocol
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.settings import Settings, at_least, non_negative, positive
from openmm_bridge.string_method import StringConfig
from openmm_bridge.torsion_landscape import LandscapeSettings

from .config import TrainingConfig

if TYPE_CHECKING:
    from openmm_bridge.system import MolecularSystem
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
    """The reference pulls: a pull protocol plus how many replicas and where they run.

    ``c0_angstrom: null`` starts the pull where the start structure is: c0 is the pulled
    coordinate's value there (an RMSD to the end state, a torsion, a distance), measured when
    the pulls are set up (:meth:`protocol`).
    """

    c0_angstrom: float | None = 12.0  # type: ignore[assignment]  # None: the start structure's value
    replicas: int = at_least(1, 8)
    workers: int | None = None
    scheduler: str | None = None

    def protocol(self, system: MolecularSystem | None = None) -> PullProtocol:
        """The pull protocol alone; a c0 of None becomes the coordinate's value at ``system``'s positions."""
        names = {f.name for f in dataclasses.fields(PullProtocol)}
        data = {k: v for k, v in self.to_dict().items() if k in names}
        if data["c0_angstrom"] is None:
            if system is None:
                raise PathganInputError("config.smd.c0_angstrom: null needs the system to measure the start")
            data["c0_angstrom"] = start_value(PullProtocol(**{**data, "c0_angstrom": 0.0}), system)
        return PullProtocol.from_dict(data, "config.smd")


def start_value(protocol: PullProtocol, system: MolecularSystem) -> float:
    """The pulled coordinate at ``system``'s positions (Angstrom, or degrees), rounded to 1e-6."""
    coordinate = protocol.resolve_coordinate(system)
    return round(float(coordinate.values(system.positions_angstrom()[None])[0]), 6)


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
class LandscapeSection(LandscapeSettings):
    """The free-energy surface over two torsions that the report draws the paths on (off by default).

    ``start_basin``/``end_basin``: the end states as boxes ``[[x_lo, x_hi], [y_lo, y_hi]]`` in
    degrees of the two torsions (wrapping, e.g. ``[150, 210]``), for the basin free energies, the
    barrier and the fraction of generated paths that end in the end state.
    """

    enabled: bool = False
    start_basin: list[list[float]] | None = None
    end_basin: list[list[float]] | None = None

    def settings(self) -> LandscapeSettings:
        """The metadynamics settings alone."""
        names = {f.name for f in dataclasses.fields(LandscapeSettings)}
        return LandscapeSettings.from_dict(
            {k: v for k, v in self.to_dict().items() if k in names}, "config.landscape"
        )

    def check(self, where: str) -> None:
        """Boxes of two ranges each; both basins or neither."""
        super().check(where)
        for name in ("start_basin", "end_basin"):
            box = getattr(self, name)
            if box is not None and (len(box) != 2 or any(len(r) != 2 for r in box)):
                raise PathganInputError(
                    f"{where}.{name}: expected [[x_lo, x_hi], [y_lo, y_hi]] in degrees, got {box}"
                )
        if (self.start_basin is None) != (self.end_basin is None):
            raise PathganInputError(f"{where}: give both start_basin and end_basin, or neither")


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
    landscape: LandscapeSection = dataclasses.field(default_factory=LandscapeSection)
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

#: Alanine dipeptide (ACE-ALA-NME, amber99sbildn, vacuum) from C7eq to C7ax, pulled along phi
#: through phi = 0 (the lower of its two barriers: README), with the (phi, psi) free-energy
#: surface from metadynamics. Under 5 minutes on 2 cores.
ALANINE_DIPEPTIDE_QUICK: dict[str, Any] = copy.deepcopy(QUICK)
ALANINE_DIPEPTIDE_QUICK["system"] = {"sequence": "A", "caps": True, "forcefield": ["amber99sbildn.xml"]}
ALANINE_DIPEPTIDE_QUICK["smd"].update(
    {
        "replicas": 16,
        "length_ps": 20.0,
        "frame_interval_steps": 50,
        "checkpoint_interval_steps": 5000,
        "coordinate": {"kind": "torsion", "torsion": "phi:ALA2"},
        "c0_angstrom": -80.0,  # degrees for a torsion
        "c1_angstrom": 70.0,
        "k_kcal_mol_a2": 100.0,  # kcal/mol/rad^2: phi within about 4 degrees of the centre at 300 K
    }
)
# The string's 20 images are closer than thermal noise in intra-molecular distances (a phi flip
# moves few of them): 20 path-CV frames made s jump and umbrella windows blow up; 8 do not.
ALANINE_DIPEPTIDE_QUICK["pathcv"]["cv_frames"] = 8
ALANINE_DIPEPTIDE_QUICK["landscape"] = {
    "enabled": True,
    "torsions": ["phi:ALA2", "psi:ALA2"],
    "length_ps": 2000.0,
    "start_basin": [[-120.0, -40.0], [30.0, 120.0]],  # C7eq
    "end_basin": [[30.0, 100.0], [-110.0, -20.0]],  # C7ax
}

PRESETS = {"quick": QUICK, "paper": PAPER, "alanine-dipeptide-quick": ALANINE_DIPEPTIDE_QUICK}


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``, recursively (what is unknown is refused later, by the sections)."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


#: Force constant of the targeted-MD default, kcal/mol/A^2 on the RMSD (about 0.2 A wide at 300 K).
TARGETED_K_KCAL_MOL_A2 = 20.0


def _targeted_md_default(data: dict[str, Any], layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Two end states and no pulling idea: targeted MD, an RMSD pull from the start to ``system.end_state``.

    Applies when ``system.end_state`` is given and nothing sets ``smd.coordinate``; c0 (the
    start's RMSD, measured), c1 = 0 and k = :data:`TARGETED_K_KCAL_MOL_A2` unless a layer sets them.
    """
    system = data.get("system")
    smd = data.get("smd")
    if not isinstance(system, dict) or not system.get("end_state") or not isinstance(smd, dict):
        return data
    if smd.get("coordinate") is not None:  # a pulling idea, the preset's or the user's
        return data
    given = {k for layer in layers if isinstance(layer.get("smd"), dict) for k in layer["smd"]}
    smd = {**smd, "coordinate": {"kind": "rmsd", "target": system["end_state"]}}
    for key, value in (
        ("c0_angstrom", None),
        ("c1_angstrom", 0.0),
        ("k_kcal_mol_a2", TARGETED_K_KCAL_MOL_A2),
    ):
        if key not in given:
            smd[key] = value
    return {**data, "smd": smd}


def resolve_config(
    preset: str = "quick", config_file: str | os.PathLike | None = None, overrides: dict | None = None
) -> RunConfig:
    """The preset, updated by a YAML file and then by ``overrides``, checked before any work.

    Paths of the ``system`` section are made absolute: those of the YAML file against its folder,
    those of ``overrides`` against the current directory. A ``system`` source (``sequence``, ``pdb``,
    ``prmtop``, ``psf``, ``folder``) replaces the one of the layer before (see :func:`_merge_layer`).
    A ``system.end_state`` without an ``smd.coordinate`` makes the pulls targeted MD
    (:func:`_targeted_md_default`).
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
    layers = []
    if config_file is not None:
        layers.append(loaded)
    if overrides:
        data = _merge_layer(data, overrides, Path.cwd())
        layers.append(overrides)
    data = _targeted_md_default(data, layers)
    data["preset"] = preset
    data.setdefault("train", {}).setdefault("seed", data.get("seed", 0))
    return RunConfig.from_dict(data, "config")
