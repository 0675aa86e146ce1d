"""``pathgan run``: from a sequence to a report, in stages that are skipped when nothing changed.

Stages, each writing under ``DIR``::

    system/    build the peptide (ideal helix, minimised)
    smd/       reference steered MD (Dask replicas)           resumes a killed run
    pmf/       Jarzynski PMF of the pulls
    train/     the cGAN                                        resumes from its checkpoint
    path/      the generated path
    refine/    zero-temperature string from the generated path
    compare/   generated and refined paths against the reference
    pathcv/    umbrella windows along the refined path (openmm-torch), MBAR
    report.html, metrics.json

Each stage's key is a hash of its own settings and of the keys of the stages it reads;
``DIR/stages.json`` records the key of every finished stage. A stage whose key is
unchanged and whose outputs exist is skipped; one whose key changed is redone from
scratch (its folder is replaced), and so is everything downstream.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from openmm_bridge.errors import PathganInputError
from openmm_bridge.fileio import atomic_file
from openmm_bridge.provenance import versions

#: The quick preset: minutes on 2 CPU cores, still a meaningful path.
QUICK: dict[str, Any] = {
    "seed": 0,
    "system": {"sequence": "AAAAAAAAAA", "caps": True},
    "smd": {
        "replicas": 8,
        "length_ps": 250.0,
        "frame_interval_steps": 250,
        "checkpoint_interval_steps": 25000,
        "workers": None,
        "scheduler": None,
    },
    "train": {"preset": "pathgan", "stride": 5},
    "generate": {"frames": 20, "samples": 1},
    "refine": {"images": 20, "max_iterations": 2000},
    "pathcv": {"windows": 11, "window_ps": 4.0, "equilibration_ps": 1.0, "k_s_kj_mol": 2000.0},
    "compare": {"stride": 5},
    "report": {"structure_t": [0.0, 0.25, 0.5, 0.75, 1.0]},
}

#: The paper's scale: 50 replicas of 1 ns (a frame every 50 steps, used every 10th), 5 + 10 epochs.
PAPER: dict[str, Any] = copy.deepcopy(QUICK)
PAPER["smd"].update({"replicas": 50, "length_ps": 1000.0, "frame_interval_steps": 50})
PAPER["train"].update({"stride": 10, "pretrain_epochs": 5, "epochs": 10})
PAPER["compare"]["stride"] = 50
PAPER["pathcv"].update({"windows": 21, "window_ps": 20.0})

PRESETS = {"quick": QUICK, "paper": PAPER}
STAGES = ("system", "smd", "pmf", "train", "path", "refine", "compare", "pathcv", "report")
#: What each stage reads (its key includes theirs).
DEPENDS = {
    "system": [],
    "smd": ["system"],
    "pmf": ["smd"],
    "train": ["system", "smd"],
    "path": ["train"],
    "refine": ["path"],
    "compare": ["path", "refine", "smd"],
    "pathcv": ["refine"],
    "report": ["pmf", "train", "path", "refine", "compare", "pathcv"],
}
#: The settings section each stage's key is made from.
SECTION = {
    "system": "system",
    "smd": "smd",
    "pmf": None,
    "train": "train",
    "path": "generate",
    "refine": "refine",
    "compare": "compare",
    "pathcv": "pathcv",
    "report": "report",
}
#: Settings that change how a stage runs, not what it computes (left out of its key).
_NOT_IN_KEY = {"workers", "scheduler", "device"}


#: Sections that take any key of the object they configure (checked there: PullProtocol, TrainingConfig).
_OPEN_SECTIONS = {"smd", "train"}


def deep_merge(base: dict, override: dict, where: str = "config") -> dict:
    """``base`` updated by ``override``, recursively; unknown keys are an error (typos).

    ``smd`` and ``train`` accept any setting of the pull protocol and of the training
    configuration; those are checked when the stage builds them.
    """
    out = copy.deepcopy(base)
    section = where.split(".")[1] if "." in where else None
    for k, v in override.items():
        if k not in out and section not in _OPEN_SECTIONS:
            kind = "section" if where == "config" else "setting"
            raise PathganInputError(f"{where}: unknown {kind} {k!r}; known: {sorted(out)}")
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v, f"{where}.{k}")
        else:
            out[k] = v
    return out


def resolve_config(
    preset: str = "quick", config_file: str | os.PathLike | None = None, overrides: dict | None = None
) -> dict:
    """The preset, updated by a YAML file and then by ``overrides``."""
    if preset not in PRESETS:
        raise PathganInputError(f"unknown preset {preset!r}; known: {sorted(PRESETS)}")
    cfg = copy.deepcopy(PRESETS[preset])
    if config_file is not None:
        try:
            data = yaml.safe_load(Path(config_file).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise PathganInputError(f"{config_file}: cannot read the configuration ({err})") from err
        if not isinstance(data, dict):
            raise PathganInputError(f"{config_file}: expected a mapping of sections")
        cfg = deep_merge(cfg, data, "config")
    if overrides:
        cfg = deep_merge(cfg, overrides, "config")
    cfg["preset"] = preset
    validate_config(cfg)
    return cfg


def validate_config(cfg: dict) -> None:
    """Raise :class:`PathganInputError` for settings that cannot run, before any work starts."""
    from openmm_bridge.steered_md import PullProtocol

    from .config import TrainingConfig, check_types

    check_types({k: v for k, v in cfg.items() if k != "preset"}, QUICK, "config")
    if not isinstance(cfg["seed"], int):
        raise PathganInputError(f"config.seed: expected an integer, got {cfg['seed']!r}")
    smd = dict(cfg["smd"])
    replicas = smd.pop("replicas")
    smd.pop("workers", None)
    smd.pop("scheduler", None)
    if replicas < 1:
        raise PathganInputError(f"config.smd.replicas: must be at least 1, got {replicas}")
    protocol = PullProtocol.from_dict(smd)
    protocol.validate()
    frames = protocol.n_frames
    train = TrainingConfig.from_dict({**cfg["train"], "seed": cfg["seed"]}, where="config.train")
    for section, stride in (("train", train.stride), ("compare", cfg["compare"]["stride"])):
        if stride < 1 or -(-frames // stride) < 2:
            raise PathganInputError(
                f"config.{section}.stride: {stride} leaves fewer than 2 of the {frames} frames of each pull"
            )
    per_replica = -(-frames // train.stride)
    if replicas < 2 and train.validation_fraction > 0:
        raise PathganInputError(
            "config.smd.replicas: training holds out whole replicas, so it needs at least 2"
        )
    if train.model.template_bins > per_replica:
        raise PathganInputError(
            f"config.train.model.template_bins: {train.model.template_bins} bins, more than the {per_replica} frames "
            "of each pull after the stride"
        )
    n_gen = cfg["generate"]["frames"]
    if n_gen < 2:
        raise PathganInputError(f"config.generate.frames: a path needs at least 2 frames, got {n_gen}")
    if n_gen > frames:
        raise PathganInputError(f"config.generate.frames: {n_gen} frames, more than the reference's {frames}")
    if cfg["generate"]["samples"] < 1:
        raise PathganInputError("config.generate.samples: must be at least 1")
    images = cfg["refine"]["images"]
    if not 3 <= images <= n_gen:
        raise PathganInputError(
            f"config.refine.images: {images}; needs 3 to generate.frames ({n_gen}) images from the path"
        )
    if cfg["refine"]["max_iterations"] < 1:
        raise PathganInputError("config.refine.max_iterations: must be at least 1")
    if cfg["pathcv"]["windows"] < 2 or cfg["pathcv"]["window_ps"] <= 0 or cfg["pathcv"]["k_s_kj_mol"] <= 0:
        raise PathganInputError("config.pathcv: needs windows >= 2, window_ps > 0 and k_s_kj_mol > 0")
    if not all(0.0 <= t <= 1.0 for t in cfg["report"]["structure_t"]):
        raise PathganInputError("config.report.structure_t: values must lie in [0, 1]")


def _code_version(stage: str) -> dict[str, int]:
    """Versions of the code whose output a stage's results depend on (a new version redoes the stage)."""
    if stage == "system":
        from openmm_bridge.builder import BUILDER_VERSION
        from openmm_bridge.stereochemistry import CHECKER

        return {"builder": BUILDER_VERSION, "stereochemistry": CHECKER}
    return {}


def _key(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Pipeline:
    """Runs the stages of ``pathgan run`` in ``out`` (see the module docstring)."""

    def __init__(
        self, out: str | os.PathLike, config: dict, progress: bool = True, log: Callable[[str], None] = print
    ) -> None:
        self.out = Path(out)
        self.config = config
        self.progress = progress
        self.log = log
        self.keys: dict[str, str] = {}
        self.stage_file = self.out / "stages.json"
        self.done = json.loads(self.stage_file.read_text()) if self.stage_file.exists() else {}
        self.ran: list[str] = []
        self.skipped: list[str] = []

    # ------------------------------------------------------------------ bookkeeping
    def key(self, stage: str) -> str:
        """The stage's key: its settings, the seed and the keys of what it reads."""
        if stage not in self.keys:
            section = SECTION[stage]
            settings = (
                {k: v for k, v in self.config.get(section, {}).items() if k not in _NOT_IN_KEY}
                if section
                else {}
            )
            payload = {
                "stage": stage,
                "code": _code_version(stage),
                "settings": settings,
                "seed": self.config["seed"],
                "upstream": [self.key(d) for d in DEPENDS[stage]],
            }
            self.keys[stage] = _key(payload)
        return self.keys[stage]

    def _record(self, stage: str, seconds: float) -> None:
        self.done[stage] = {"key": self.key(stage), "seconds": round(seconds, 1)}
        with atomic_file(self.stage_file) as tmp:
            tmp.write_text(json.dumps(self.done, indent=2) + "\n")

    def up_to_date(self, stage: str) -> bool:
        """Finished before with the same key, and its outputs are there."""
        rec = self.done.get(stage)
        return bool(rec and rec["key"] == self.key(stage) and (self.out / stage).exists())

    # ------------------------------------------------------------------ running
    def run(self) -> dict:
        """Run every stage that is not up to date; return the report's metrics."""
        self.out.mkdir(parents=True, exist_ok=True)
        with atomic_file(self.out / "config.yaml") as tmp:
            tmp.write_text(yaml.safe_dump(self.config, sort_keys=False))
        for stage in STAGES:
            if self.up_to_date(stage):
                self.skipped.append(stage)
                self.log(f"[{stage}] up to date, skipped")
                continue
            folder = self.out / stage
            rec = self.done.get(stage)
            if rec and rec["key"] != self.key(stage) and folder.exists():
                shutil.rmtree(folder)  # its settings or inputs changed: start it over
            self.log(f"[{stage}] running")
            t0 = time.perf_counter()
            getattr(self, f"_stage_{stage}")(folder)
            self._record(stage, time.perf_counter() - t0)
            self.ran.append(stage)
            self.log(f"[{stage}] done in {time.perf_counter() - t0:.0f} s")
        return json.loads((self.out / "metrics.json").read_text())

    def _system(self):
        from openmm_bridge.system import MolecularSystem

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MolecularSystem.load(self.out / "system")

    def _stage_system(self, folder: Path) -> None:
        from openmm_bridge.system import MolecularSystem

        c = self.config["system"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            MolecularSystem.from_sequence(c["sequence"], caps=c["caps"]).save(folder)

    def _stage_smd(self, folder: Path) -> None:
        from openmm_bridge.steered_md import PullProtocol, run_pull

        c = dict(self.config["smd"])
        replicas, workers, scheduler = c.pop("replicas"), c.pop("workers", None), c.pop("scheduler", None)
        run_pull(
            self.out / "system",
            folder,
            replicas,
            PullProtocol.from_dict(c),
            base_seed=self.config["seed"],
            scheduler=scheduler,
            n_workers=workers,
            progress=self.progress,
        )

    def _stage_pmf(self, folder: Path) -> None:
        from openmm_bridge.pmf_outputs import analyse_pulls

        analyse_pulls(self.out / "smd", folder, n_bootstrap=200, seed=self.config["seed"])

    def _stage_train(self, folder: Path) -> None:
        from .config import TrainingConfig
        from .data import ReferenceSet
        from .train import PullSpec, train

        c = dict(self.config["train"])
        c.setdefault("seed", self.config["seed"])
        cfg = TrainingConfig.from_dict(c, where="config.train")
        system = self._system()
        reference = ReferenceSet.from_smd(self.out / "smd", system, cfg.stride)
        train(system, reference, cfg, folder, PullSpec.from_smd(self.out / "smd"), progress=self.progress)

    def _stage_path(self, folder: Path) -> None:
        from .paths import generate_path, write_path
        from .train import load_model

        c = self.config["generate"]
        system = self._system()
        gan = load_model(self.out / "train", system)
        path = generate_path(gan, c["frames"], c["samples"], seed=self.config["seed"])
        write_path(
            path,
            system,
            folder,
            {
                "model": str((self.out / "train" / "model.pt").resolve()),
                "config": gan.config.name,
                "system_dir": str((self.out / "system").resolve()),
            },
        )

    def _stage_refine(self, folder: Path) -> None:
        from openmm_bridge.plots import plot_string
        from openmm_bridge.string_method import StringConfig, ZeroTemperatureString, write_string_result

        from .paths import load_path

        c = self.config["refine"]
        system = self._system()
        _, frames = load_path(self.out / "path", system)
        cfg = StringConfig(max_iterations=c["max_iterations"])
        import numpy as np

        idx = np.round(np.linspace(0, len(frames) - 1, min(c["images"], len(frames)))).astype(int)
        result = ZeroTemperatureString(system.system, frames[idx], cfg).run(progress=self.progress)
        write_string_result(result, folder, system.topology, cfg)
        plot_string(result.history, folder / "string.png", "zero-temperature string")

    def _stage_compare(self, folder: Path) -> None:
        from openmm_bridge.energies import OpenMMEvaluator

        from .compare import compare_path, write_comparison
        from .data import ReferenceSet
        from .paths import load_path

        system = self._system()
        reference = ReferenceSet.from_smd(self.out / "smd", system, self.config["compare"]["stride"])
        # both paths are judged against the same reference frames: their OpenMM energies once
        reference_energies = OpenMMEvaluator(system.system).energies(reference.arrays()[0])
        for name, source in (
            ("generated", self.out / "path"),
            ("refined", self.out / "refine" / "string.dcd"),
        ):
            t, xyz = load_path(source, system)
            result = compare_path(t, xyz, reference, system, reference_energies=reference_energies)
            write_comparison(result, folder / name, {"path": str(source)})

    def _stage_pathcv(self, folder: Path) -> None:
        from openmm_bridge.pathcv import default_atoms
        from openmm_bridge.pathcv_md import PathCVProtocol, umbrella_along_path

        from .paths import load_path

        c = self.config["pathcv"]
        system = self._system()
        _, frames = load_path(self.out / "refine" / "string.dcd", system)
        protocol = PathCVProtocol(
            k_s_kj_mol=c["k_s_kj_mol"],
            windows=c["windows"],
            window_ps=c["window_ps"],
            equilibration_ps=c["equilibration_ps"],
            seed=self.config["seed"],
        )
        smd = self.config["smd"]
        umbrella_along_path(
            system,
            frames,
            default_atoms(system.topology),
            protocol,
            folder,
            scheduler=smd.get("scheduler"),
            n_workers=smd.get("workers"),
            progress=self.progress,
        )

    def _stage_report(self, folder: Path) -> None:
        from .report import write_report

        folder.mkdir(parents=True, exist_ok=True)
        metrics = write_report(self.out, self.config, self.done)
        with atomic_file(self.out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(metrics, indent=2) + "\n")
        with atomic_file(folder / "done.json") as tmp:
            tmp.write_text(json.dumps({"versions": versions()}) + "\n")


def run_pipeline(
    out: str | os.PathLike,
    preset: str = "quick",
    config_file: str | os.PathLike | None = None,
    overrides: dict | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> Pipeline:
    """Resolve the configuration and run (or resume) the pipeline in ``out``."""
    pipe = Pipeline(out, resolve_config(preset, config_file, overrides), progress, log)
    pipe.run()
    return pipe
