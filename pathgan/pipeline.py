"""``pathgan run``: from a molecule to a report, in stages that are skipped when nothing changed.

Stages, each writing under ``DIR``::

    system/    the system folder: a peptide built from its sequence (ideal helix, minimised), or
               made from a PDB, AMBER or CHARMM files, or a copy of a system folder
    smd/       reference steered MD (Dask replicas)           resumes a killed run
    pmf/       Jarzynski PMF of the pulls
    train/     the cGAN                                        resumes from its checkpoint
    path/      the generated path
    refine/    zero-temperature string from the generated path
    compare/   generated and refined paths against the reference
    pathcv/    umbrella windows along the refined path (openmm-torch), MBAR
    report.html, metrics.json

Each stage's key is a hash of its own settings and of the keys of the stages it reads (the
system's input files by their sha256, so an edited file redoes the run and a moved one does not);
``DIR/stages.json`` records the key of every finished stage. A stage whose key is
unchanged and whose outputs exist is skipped; one whose key changed is redone from
scratch (its folder is replaced), and so is everything downstream.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import yaml

from openmm_bridge.errors import PathganInputError
from openmm_bridge.execution import shared_local_cluster
from openmm_bridge.fileio import atomic_directory, atomic_file
from openmm_bridge.input_files import sha256_hex
from openmm_bridge.provenance import versions

from .relax import DEFAULT_RELAX
from .run_config import RunConfig, resolve_config
from .run_system import FILE_SETTINGS, SystemSection

log = logging.getLogger("pathgan")

__all__ = ["STAGES", "Pipeline", "run_pipeline"]

STAGES = ("system", "landscape", "smd", "pmf", "train", "path", "refine", "compare", "pathcv", "report")
#: What each stage reads (its key includes theirs).
DEPENDS = {
    "system": [],
    "landscape": ["system"],
    "smd": ["system"],
    "pmf": ["smd"],
    "train": ["system", "smd"],
    "path": ["train"],
    "refine": ["path"],
    "compare": ["path", "refine", "smd"],
    "pathcv": ["refine"],
    "report": ["landscape", "pmf", "train", "path", "refine", "compare", "pathcv"],
}
#: The settings section each stage's key is made from.
SECTION = {
    "system": "system",
    "landscape": "landscape",
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


def _code_version(stage: str) -> dict[str, Any]:
    """Versions of the code whose output a stage's results depend on (a new version redoes the stage)."""
    if stage == "system":
        from openmm_bridge.builder import BUILDER_VERSION
        from openmm_bridge.stereochemistry import CHECKER
        from openmm_bridge.system_folder import FORMAT

        # a new folder format is refused when read: redo the folder rather than fail downstream
        return {"builder": BUILDER_VERSION, "stereochemistry": CHECKER, "folder": FORMAT}
    return {}


def _key(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _file_content(path: str, setting: str) -> dict[str, str]:
    """What of an input file goes into a key: its sha256 and suffix (how it is read), not its path."""
    p = Path(path)
    if not p.is_file():
        raise PathganInputError(f"config.system.{setting}: {p.absolute()} not found")
    return {"sha256": sha256_hex(p.read_bytes()), "suffix": p.suffix.lower()}


def system_key_settings(system: SystemSection) -> dict[str, Any]:
    """The system stage's settings as its key holds them: input files by content, not by path.

    Settings at their defaults that the key did not have before other sources existed (the unused
    sources, the ``allow_*`` flags when false) are left out, so a sequence's key is what it was.
    """
    settings = {
        k: v
        for k, v in system.to_dict().items()
        if v is not None and not (k.startswith("allow_") and v is False)
    }
    files = system.files()
    for name in FILE_SETTINGS:
        if name in files:
            settings[name] = _file_content(files[name], name)
    if "charmm_params" in files:
        settings["charmm_params"] = [_file_content(f, "charmm_params") for f in files["charmm_params"]]
    if "forcefield" in files:  # the user's own files by content, OpenMM's bundled ones by name
        settings["forcefield"] = [
            _file_content(f, "forcefield") if f in files["forcefield"] else f for f in system.forcefield
        ]
    if "folder" in files:
        settings["folder"] = {Path(f).name: _file_content(f, "folder") for f in files["folder"]}
    return settings


def _target_by_content(settings: dict[str, Any]) -> dict[str, Any]:
    """A pull coordinate's target structure (an RMSD pull, an end state's default) by its sha256, not its path."""
    coordinate = settings.get("coordinate")
    if not isinstance(coordinate, dict) or not isinstance(coordinate.get("target"), str):
        return settings
    target = coordinate["target"]
    if os.path.isfile(target):
        target = _file_content(target, "end_state")
    return {**settings, "coordinate": {**coordinate, "target": target}}


class Pipeline:
    """Runs the stages of ``pathgan run`` in ``out`` (see the module docstring)."""

    def __init__(self, out: str | os.PathLike, config: RunConfig, progress: bool = True) -> None:
        self.out = Path(out)
        self.config = config
        self.progress = progress
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
                {k: v for k, v in getattr(self.config, section).to_dict().items() if k not in _NOT_IN_KEY}
                if section
                else {}
            )
            if stage == "system":  # its input files by content: an edit redoes the run, a move does not
                settings = system_key_settings(self.config.system)
            settings = _target_by_content(settings)
            payload = {
                "stage": stage,
                "code": _code_version(stage),
                "settings": settings,
                "seed": self.config.seed,
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
            tmp.write_text(yaml.safe_dump(self.config.to_dict(), sort_keys=False))
        # the pulls and the umbrella windows share one local Dask cluster (started when first needed)
        with shared_local_cluster(self.config.smd.workers):
            self._run_stages()
        return json.loads((self.out / "metrics.json").read_text())

    def _run_stages(self) -> None:
        """Each stage in order: skipped when up to date, else (re)run and recorded."""
        for stage in STAGES:
            if self.up_to_date(stage):
                self.skipped.append(stage)
                log.info(f"[{stage}] up to date, skipped")
                if stage == "system":
                    self._check_pull()
                continue
            folder = self.out / stage
            rec = self.done.get(stage)
            if rec and rec["key"] != self.key(stage) and folder.exists():
                shutil.rmtree(folder)  # its settings or inputs changed: start it over
            log.info(f"[{stage}] running")
            t0 = time.perf_counter()
            getattr(self, f"_stage_{stage}")(folder)
            self._record(stage, time.perf_counter() - t0)
            self.ran.append(stage)
            log.info(f"[{stage}] done in {time.perf_counter() - t0:.0f} s")
            if stage == "system":
                self._check_pull()

    def _system(self):
        from openmm_bridge.system import MolecularSystem

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return MolecularSystem.load(self.out / "system")

    def _stage_system(self, folder: Path) -> None:
        from openmm_bridge.system import MolecularSystem, StereochemistryWarning

        c = self.config.system
        source = c.source
        if source == "folder":  # checked by reading it, then copied as it is
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                MolecularSystem.load(c.folder)
            with atomic_directory(folder) as tmp:
                shutil.copytree(c.folder, tmp, dirs_exist_ok=True)
            return
        accept = {"allow_d_residues": c.allow_d_residues, "allow_cis_peptides": c.allow_cis_peptides}
        forces = {"allow_unrepresented_forces": c.allow_unrepresented_forces}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StereochemistryWarning)  # refused below, naming the settings
            try:
                if source == "sequence":
                    system = MolecularSystem.from_sequence(
                        c.sequence, tuple(c.forcefield), caps=c.caps, **forces
                    )
                elif source == "pdb":
                    system = MolecularSystem.from_pdb(c.pdb, tuple(c.forcefield), **accept, **forces)
                elif source == "prmtop":
                    system = MolecularSystem.from_amber(c.prmtop, c.inpcrd, **accept, **forces)
                else:
                    system = MolecularSystem.from_charmm(
                        c.psf, c.charmm_params, c.coordinates, **accept, **forces
                    )
            except ValueError as err:  # OpenMM: a file it cannot read, a residue no template matches
                what = f"forcefield {c.forcefield}" if c.forcefield else f"{source} {getattr(c, source)}"
                raise PathganInputError(f"config.system.{what}: {err}") from err
        if c.end_state is not None:
            self._check_end_state(system, Path(c.end_state))
        stereo = system.stereochemistry
        if not stereo.passed:  # a folder that fails the check cannot be read by the next stages
            raise PathganInputError(
                f"config.system: {system.source}: stereochemistry check {stereo.summary()}. If the structure "
                "has them on purpose, set allow_d_residues and/or allow_cis_peptides: true"
            )
        system.save(folder)

    def _check_pull(self) -> None:
        """The pull's coordinate on the system built, before any stage that takes time (errors name config.smd)."""
        from openmm_bridge.pull_coordinates import resolve_coordinate
        from openmm_bridge.trajio import mdtraj_topology

        system = self._system()
        smd = self.config.smd
        if smd.coordinate is not None:
            resolve_coordinate(smd.coordinate, mdtraj_topology(system), "config.smd.coordinate")
        smd.protocol(system).with_groups(system)

    def _check_end_state(self, system, path: Path) -> None:
        """The end state is the same molecule, atom for atom, with the chirality and peptide bonds accepted for the start."""
        from openmm_bridge.pull_coordinates import read_target_structure
        from openmm_bridge.stereochemistry import check_structure
        from openmm_bridge.trajio import mdtraj_topology

        xyz = read_target_structure(path, mdtraj_topology(system), "config.system.end_state")
        accepted = system.stereochemistry.accepted
        report = check_structure(
            system.topology,
            xyz,
            allow_d_residues=accepted["d_residues"],
            allow_cis_peptides=accepted["cis_peptides"],
        )
        if not report.passed:
            raise PathganInputError(
                f"config.system.end_state: {path}: stereochemistry check {report.summary()}; a pull cannot "
                "invert a stereocentre or isomerise a peptide bond (accept them with allow_d_residues / "
                "allow_cis_peptides if the end state has them on purpose)"
            )

    def _stage_landscape(self, folder: Path) -> None:
        """The (phi, psi) free-energy surface, when ``landscape.enabled`` (else a record that it is off)."""
        from openmm_bridge.torsion_landscape import metadynamics_landscape

        c = self.config.landscape
        if not c.enabled:
            with atomic_directory(folder) as tmp:
                (tmp / "landscape.json").write_text(json.dumps({"enabled": False}) + "\n")
            return
        settings = c.settings().replace(seed=self.config.seed)
        landscape = metadynamics_landscape(self._system(), settings, progress=self.progress)
        with atomic_directory(folder) as tmp:
            landscape.save(tmp)

    def _stage_smd(self, folder: Path) -> None:
        from openmm_bridge.steered_md import run_pull

        c = self.config.smd
        run_pull(
            self.out / "system",
            folder,
            c.replicas,
            c.protocol(self._system()),
            base_seed=self.config.seed,
            scheduler=c.scheduler,
            n_workers=c.workers,
            progress=self.progress,
        )

    def _stage_pmf(self, folder: Path) -> None:
        from openmm_bridge.pmf_outputs import analyse_pulls

        analyse_pulls(self.out / "smd", folder, n_bootstrap=200, seed=self.config.seed)

    def _stage_train(self, folder: Path) -> None:
        from openmm_bridge.pull_folder import read_protocol

        from .data import ReferenceSet
        from .trainer import train

        cfg = self.config.train
        system = self._system()
        reference = ReferenceSet.from_smd(self.out / "smd", system, cfg.stride)
        train(system, reference, cfg, folder, read_protocol(self.out / "smd"), progress=self.progress)

    def _stage_path(self, folder: Path) -> None:
        from .gan import load_model
        from .paths import generate_path, write_path

        c = self.config.generate
        system = self._system()
        gan = load_model(self.out / "train", system)
        path = generate_path(
            gan,
            c.frames,
            c.samples,
            seed=self.config.seed,
            relax=DEFAULT_RELAX if c.relax else None,
            truncation=c.truncation,
        )
        provenance = {
            "model": str((self.out / "train" / "model.pt").resolve()),
            "config": gan.config.name,
            "system_dir": str((self.out / "system").resolve()),
        }
        write_path(path, system, folder, provenance)

    def _stage_refine(self, folder: Path) -> None:
        from .candidates import refine_candidates, write_refined_candidates

        c = self.config.refine
        system = self._system()
        cfg = c.string_config()
        result, rows = refine_candidates(
            system, self.out / "path", c.candidates, c.images, cfg, self.progress
        )
        write_refined_candidates(result, rows, folder, system, cfg)

    def _stage_compare(self, folder: Path) -> None:
        from openmm_bridge.energies import OpenMMEvaluator

        from .compare import compare_path, write_comparison
        from .evaluation import evaluate, training_split
        from .figures import plot_ensemble
        from .gan import load_model
        from .paths import load_candidates, load_path

        system = self._system()
        train_ref, heldout = training_split(self.out / "train", system, self.config.compare.stride)
        # every path is judged against the same held-out frames: their OpenMM energies once
        heldout_energies = OpenMMEvaluator(system.system).energies(heldout.arrays()[0])
        for name, source in (
            ("generated", self.out / "path"),
            ("refined", self.out / "refine" / "string.dcd"),
        ):
            t, xyz = load_path(source, system)
            result = compare_path(t, xyz, heldout, system, reference_energies=heldout_energies)
            write_comparison(result, folder / name, {"path": str(source), "heldout": heldout.sources})
        t, candidates, _ = load_candidates(self.out / "path", system)
        gan = load_model(self.out / "train", system)
        ensemble = evaluate(gan, t, candidates, train_ref, heldout, system, heldout_energies)
        with atomic_file(folder / "ensemble.json") as tmp:
            tmp.write_text(json.dumps(ensemble, indent=1, default=float) + "\n")
        plot_ensemble(t, candidates, heldout, system, ensemble, folder / "ensemble.png")

    def _stage_pathcv(self, folder: Path) -> None:
        from openmm_bridge.pathcv import default_atoms
        from openmm_bridge.umbrella import umbrella_along_path

        from .paths import load_path

        system = self._system()
        _, frames = load_path(self.out / "refine" / "string.dcd", system)
        umbrella_along_path(
            system,
            frames,
            default_atoms(system.topology),
            self.config.pathcv.replace(seed=self.config.seed),
            folder,
            scheduler=self.config.smd.scheduler,
            n_workers=self.config.smd.workers,
            progress=self.progress,
        )

    def _stage_report(self, folder: Path) -> None:
        from .report import write_report

        folder.mkdir(parents=True, exist_ok=True)
        metrics = write_report(self.out, self.config.to_dict(), self.done)
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
) -> Pipeline:
    """Resolve the configuration and run (or resume) the pipeline in ``out``."""
    pipe = Pipeline(out, resolve_config(preset, config_file, overrides), progress)
    pipe.run()
    return pipe
