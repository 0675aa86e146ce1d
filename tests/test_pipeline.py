"""``pathgan run``: every stage's outputs, skipping, redoing what changed, resuming a killed run."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from conftest import TINY_RUN

from pathgan.pipeline import STAGES, Pipeline, run_pipeline
from pathgan.run_config import resolve_config

OUTPUTS = {
    "system": ["system.xml", "structure.pdb", "metadata.json"],
    "smd": ["smd.json", "replica_000/trajectory.dcd", "replica_001/pull.csv"],
    "pmf": ["pmf.csv", "pmf.png", "pmf.json"],
    "train": ["model.pt", "losses.csv", "losses.png"],
    "path": ["path.dcd", "path.pdb", "path.json"],
    "refine": ["string.dcd", "string.json", "string.png"],
    "compare": ["generated/metrics.json", "refined/metrics.json", "generated/rmsd_heatmap.png"],
    "pathcv": ["umbrella.json", "pmf_s.png"],
}


def test_every_stage_writes_its_outputs(tiny_run):
    for stage, files in OUTPUTS.items():
        for f in files:
            assert (tiny_run / stage / f).stat().st_size > 0, f"{stage}/{f}"
    assert (tiny_run / "report.html").stat().st_size > 10_000
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert set(metrics) >= {"generated", "refined", "string", "pulls", "pmf_along_path", "versions", "config"}
    for key in (
        "t0_helix_fraction",
        "median_rmsd_same_t_angstrom",
        "spearman_best_match_vs_t",
        "max_energy_excess_kcal_mol",
    ):
        assert key in metrics["generated"] and key in metrics["refined"]
    assert metrics["string"]["force_evaluations"] > 0 and metrics["pulls"]["replicas"] == 4
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    assert config["smd"]["replicas"] == 4 and config["preset"] == "quick"
    assert set(json.loads((tiny_run / "stages.json").read_text())) == set(STAGES)


def test_the_outputs_hold_what_the_settings_asked_for(tiny_run):
    """Not just files: the frames, rows and windows that TINY_RUN asks for, of the system built."""
    from openmm_bridge.pmf_outputs import read_pull_csv
    from openmm_bridge.system import MolecularSystem
    from openmm_bridge.trajio import load_frames

    system = MolecularSystem.load(tiny_run / "system")
    assert system.stereochemistry.passed and system.n_atoms == 112
    n_frames = 1000 // 50 + 1  # 2 ps at 2 fs, a frame every 50 steps, step 0 included
    for i in (0, 1):
        assert (
            load_frames(tiny_run / "smd" / f"replica_00{i}" / "trajectory.dcd", system).n_frames == n_frames
        )
        assert len(read_pull_csv(tiny_run / "smd" / f"replica_00{i}" / "pull.csv")["step"]) == n_frames
    assert load_frames(tiny_run / "path" / "path.dcd", system).n_frames == TINY_RUN["generate"]["frames"]
    assert load_frames(tiny_run / "refine" / "string.dcd", system).n_frames == TINY_RUN["refine"]["images"]
    losses = (tiny_run / "train" / "losses.csv").read_text().splitlines()
    assert len(losses) == 1 + TINY_RUN["train"]["pretrain_epochs"] + TINY_RUN["train"]["epochs"]
    umbrella = json.loads((tiny_run / "pathcv" / "umbrella.json").read_text())
    assert len(umbrella["windows"]) == TINY_RUN["pathcv"]["windows"]
    # the candidates: every sample in ensemble.dcd, ranked; judged on the 2 replicas held out of training
    samples = TINY_RUN["generate"]["samples"]
    assert (
        load_frames(tiny_run / "path" / "ensemble.dcd", system).n_frames
        == samples * TINY_RUN["generate"]["frames"]
    )
    assert len((tiny_run / "path" / "ranking.csv").read_text().splitlines()) == 1 + samples
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    trained_on = json.loads((tiny_run / "train" / "config.json").read_text())
    assert len(metrics["heldout_replicas"]) == 2
    assert metrics["generated"]["n_paths"] == samples
    assert set(metrics["baselines"]) == {
        "template",
        "medoid_path",
        "linear_interpolation",
        "heldout_replica",
        "heldout_half",
    }
    assert metrics["heldout_replicas"] == trained_on["validation"]
    assert not set(trained_on["validation"]) & set(trained_on["train"])
    for png in (
        "pmf/pmf.png",
        "train/losses.png",
        "refine/string.png",
        "pathcv/pmf_s.png",
        "compare/ensemble.png",
    ):
        assert (tiny_run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png


def test_second_run_skips_everything_and_a_change_redoes_downstream(tiny_run, tmp_path):
    run = tmp_path / "moved"  # a copy: the shared run stays as it is, and a moved run is still up to date
    shutil.copytree(tiny_run, run)
    again = run_pipeline(run, "quick", overrides=TINY_RUN, progress=False)
    assert again.ran == [] and again.skipped == list(STAGES)
    changed = copy.deepcopy(TINY_RUN)
    changed["generate"] = {"frames": 7}
    pipe = run_pipeline(run, "quick", overrides=changed, progress=False)
    assert pipe.ran == ["path", "refine", "compare", "pathcv", "report"]
    assert json.loads((run / "path" / "path.json").read_text())["n_frames"] == 7


def test_stage_keys_change_with_the_builder_version(tmp_path, monkeypatch):
    from openmm_bridge import builder

    cfg = resolve_config("quick", overrides=TINY_RUN)
    before = Pipeline(tmp_path, cfg, progress=False)
    keys = {s: before.key(s) for s in STAGES}
    monkeypatch.setattr(builder, "BUILDER_VERSION", builder.BUILDER_VERSION + 1)
    after = Pipeline(tmp_path, cfg, progress=False)
    assert all(after.key(s) != keys[s] for s in STAGES)  # every stage reads the system, directly or not
    from openmm_bridge import system_folder

    monkeypatch.setattr(system_folder, "FORMAT", "pathgan-system/99")  # a folder format the run cannot read
    assert Pipeline(tmp_path, cfg, progress=False).key("system") != after.key("system")


def test_killed_during_training_resumes(tmp_path):
    slow = copy.deepcopy(TINY_RUN)
    slow["train"].update(epochs=12)
    cfg = tmp_path / "slow.yaml"
    cfg.write_text(yaml.safe_dump(slow))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "pathgan.cli", "run", "--out", str(out), "--config", str(cfg), "--quiet"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline, killed = time.time() + 180, False
    while time.time() < deadline and proc.poll() is None:
        if (out / "train" / "checkpoint.pt").exists():
            os.killpg(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed, f"the run ended before it could be killed: {proc.stderr.read().decode()[-2000:]}"
    assert not (out / "train" / "model.pt").exists()
    stages = json.loads((out / "stages.json").read_text())
    assert "train" not in stages and "smd" in stages
    pipe = run_pipeline(out, "quick", config_file=cfg, progress=False)
    assert pipe.skipped == ["system", "landscape", "smd", "pmf"] and pipe.ran[0] == "train"
    history = (out / "train" / "losses.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in history] == list(range(1, 14))  # every epoch once
    assert (out / "report.html").exists()


def test_implicit_solvent_run_end_to_end(tmp_path):
    """``system: forcefield: [amber14-all.xml, implicit/obc2.xml]``: every stage in OBC2, the report says so."""
    import openmm as mm

    from openmm_bridge.system import MolecularSystem
    from pathgan.run_config import deep_merge

    out = tmp_path / "obc2"
    # OBC2's CustomGBForce makes OpenMM's Reference platform about 14x slower: shorter MD than tiny's
    overrides = deep_merge(
        TINY_RUN,
        {
            "system": {"forcefield": ["amber14-all.xml", "implicit/obc2.xml"]},
            "smd": {"length_ps": 1.0, "equilibration_ps": 0.5},
            "pathcv": {"window_ps": 0.1, "equilibration_ps": 0.05},
        },
    )
    run_pipeline(out, "quick", overrides=overrides, progress=False)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["solvent"] == "implicit solvent (OBC2)"
    assert "in implicit solvent (OBC2)" in (out / "report.html").read_text()
    system = MolecularSystem.load(out / "system")
    for openmm_system in (system.system, system.md_system()):  # the pulls and the string use the GB force too
        assert any(isinstance(f, mm.CustomGBForce) for f in openmm_system.getForces())
    header = (out / "train" / "losses.csv").read_text().splitlines()[0].split(",")
    assert "implicit_solvent_kcal_mol" in header  # the generator's loss includes the solvation energy


# ---------------------------------------------------------------------- the system's sources
def _write_pdb(system, path):
    """``system``'s structure as a PDB file."""
    import openmm.app as app

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        app.PDBFile.writeFile(system.topology, system.positions, fh)
    return path


def test_a_run_from_a_pdb_file(deca, tmp_path):
    """``system: {pdb: ...}``: every stage runs on the system made from the file, which is kept verbatim."""
    from openmm_bridge.system import MolecularSystem
    from pathgan.run_config import deep_merge

    pdb = _write_pdb(deca, tmp_path / "in" / "deca.pdb")
    out = tmp_path / "run"
    pipe = run_pipeline(
        out, "quick", overrides=deep_merge(TINY_RUN, {"system": {"pdb": str(pdb)}}), progress=False
    )
    assert pipe.ran == list(STAGES)
    system = MolecularSystem.load(out / "system")
    assert system.n_atoms == deca.n_atoms and system.metadata["source"] == str(pdb)
    assert [r["role"] for r in system.inputs.records] == ["pdb"]
    assert (out / "system" / "inputs" / "deca.pdb").read_bytes() == pdb.read_bytes()
    assert yaml.safe_load((out / "config.yaml").read_text())["system"]["pdb"] == str(pdb)
    assert json.loads((out / "metrics.json").read_text())["pulls"]["replicas"] == 4


def _system_stage(tmp_path, system: dict) -> Pipeline:
    """A pipeline of the tiny settings with this ``system`` section that has run its system stage only."""
    from pathgan.run_config import deep_merge

    pipe = Pipeline(
        tmp_path / "run", resolve_config("quick", overrides=deep_merge(TINY_RUN, {"system": system}))
    )
    pipe._stage_system(pipe.out / "system")
    return pipe


def test_system_stage_from_amber_files(tmp_path):
    from amber_files import write_amber_peptide

    from openmm_bridge.system import MolecularSystem

    prmtop, inpcrd = write_amber_peptide(tmp_path / "in", "AAA")
    pipe = _system_stage(tmp_path, {"prmtop": str(prmtop), "inpcrd": str(inpcrd), "allow_cis_peptides": True})
    system = MolecularSystem.load(pipe.out / "system")
    assert system.kind == "amber" and system.metadata["source"] == str(prmtop)
    assert [r["role"] for r in system.inputs.records] == ["prmtop", "coordinates"]
    assert system.stereochemistry.accepted == {"d_residues": False, "cis_peptides": True}  # passed on
    assert len([a for a in system.topology.atoms() if a.name == "CA"]) == 3


def test_system_stage_from_charmm_files(tmp_path):
    from charmm_files import write_charmm_peptide

    from openmm_bridge.system import MolecularSystem

    psf, prm, pdb = write_charmm_peptide(tmp_path / "in")
    pipe = _system_stage(tmp_path, {"psf": str(psf), "charmm_params": [str(prm)], "coordinates": str(pdb)})
    system = MolecularSystem.load(pipe.out / "system")
    assert system.kind == "charmm" and system.end_to_end_atoms()
    assert sorted(r["name"] for r in system.inputs.records) == ["peptide.pdb", "peptide.prm", "peptide.psf"]


def test_system_stage_from_a_system_folder(deca_dir, tmp_path):
    pipe = _system_stage(tmp_path, {"folder": str(deca_dir)})
    copied = sorted(p.relative_to(pipe.out / "system") for p in (pipe.out / "system").rglob("*"))
    assert copied == sorted(p.relative_to(deca_dir) for p in deca_dir.rglob("*"))
    for name in ("metadata.json", "system.xml", "structure.pdb"):
        assert (pipe.out / "system" / name).read_bytes() == (deca_dir / name).read_bytes()
    pipe._system()  # the next stages read it


def test_a_mirrored_pdb_is_refused_unless_its_d_residues_are_accepted(deca, tmp_path):
    """A structure whose stereocentres are all inverted (its mirror image) stops the run with the setting to use."""
    import openmm.unit as u

    from openmm_bridge.errors import PathganInputError

    mirror = deca.positions_angstrom() * [-1.0, 1.0, 1.0]
    deca_mirror = type("Mirror", (), {"topology": deca.topology, "positions": mirror * u.angstrom})
    pdb = _write_pdb(deca_mirror, tmp_path / "in" / "mirror.pdb")
    with pytest.raises(PathganInputError, match="set allow_d_residues and/or allow_cis_peptides: true"):
        _system_stage(tmp_path, {"pdb": str(pdb)})
    assert not (tmp_path / "run" / "system").exists()
    pipe = _system_stage(tmp_path, {"pdb": str(pdb), "allow_d_residues": True})
    assert pipe._system().stereochemistry.accepted["d_residues"]


def test_the_default_system_key_holds_what_it_held_before_other_sources():
    """Runs of a sequence keep their stage keys: none of the other sources' settings enter them."""
    from pathgan.pipeline import system_key_settings
    from pathgan.run_system import SystemSection

    assert system_key_settings(resolve_config().system) == {
        "sequence": "AAAAAAAAAA",
        "caps": True,
        "forcefield": ["amber14-all.xml"],
    }
    assert system_key_settings(SystemSection.from_dict({"sequence": "AAA", "caps": False})) == {
        "sequence": "AAA",
        "caps": False,
        "forcefield": ["amber14-all.xml"],
    }


SOURCE_FILES = {
    "pdb": ("system: {pdb: in/p.pdb, forcefield: [amber14-all.xml, in/my.xml]}", ["p.pdb", "my.xml"]),
    "prmtop": ("system: {prmtop: in/p.prmtop, inpcrd: in/p.rst7}", ["p.prmtop", "p.rst7"]),
    "psf": (
        "system: {psf: in/p.psf, charmm_params: [in/top.rtf, in/par.prm], coordinates: in/p.crd}",
        ["p.psf", "top.rtf", "par.prm", "p.crd"],
    ),
    "folder": ("system: {folder: in}", ["metadata.json", "system.xml", "structure.pdb"]),
    "end_state": ("system: {pdb: in/p.pdb, end_state: in/end.pdb}", ["p.pdb", "end.pdb"]),
}


@pytest.mark.parametrize("source", list(SOURCE_FILES))
def test_stage_keys_follow_the_input_files_contents_not_their_paths(tmp_path, source):
    """Moving the YAML file with its inputs changes no key; editing any input changes every one."""
    yaml_text, names = SOURCE_FILES[source]
    first = tmp_path / "first"
    (first / "in").mkdir(parents=True)
    for name in names:
        (first / "in" / name).write_text(f"the content of {name}\n")
    (first / "run.yaml").write_text(yaml.safe_dump({**TINY_RUN, **yaml.safe_load(yaml_text)}))

    def keys(folder):
        pipe = Pipeline(tmp_path / "out", resolve_config("quick", folder / "run.yaml"), progress=False)
        return [pipe.key(s) for s in STAGES]

    before = keys(first)
    moved = first.rename(tmp_path / "moved elsewhere")
    assert keys(moved) == before
    for name in names:
        path = moved / "in" / name
        original = path.read_text()
        path.write_text(original + "edited\n")
        after = keys(moved)
        assert all(a != b for a, b in zip(after, before, strict=True)), name
        path.write_text(original)
    assert keys(moved) == before


@pytest.mark.parametrize(
    ("yaml_text", "named"),
    [
        (
            "system: {pdb: p.pdb, prmtop: p.prmtop}",
            "config.system: give one of sequence, pdb, prmtop, psf, folder (got pdb and prmtop)",
        ),
        ("system: {prmtop: p.prmtop}", "config.system: prmtop needs inpcrd"),
        ("system: {pdb: nope.pdb}", "config.system.pdb: {CONF}/nope.pdb not found"),
    ],
)
def test_pathgan_run_exits_2_naming_a_bad_system(tmp_path, capfd, yaml_text, named):
    import logging
    import warnings

    from pathgan.cli import main

    conf = tmp_path / "conf"
    conf.mkdir()
    for name in ("p.pdb", "p.prmtop"):
        (conf / name).write_text("")
    (conf / "bad.yaml").write_text(yaml_text + "\n")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with warnings.catch_warnings():  # main reconfigures logging and warnings: put them back
            code = main(
                ["run", "--out", str(tmp_path / "run"), "--config", str(conf / "bad.yaml"), "--quiet"]
            )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert code == 2
    err = capfd.readouterr().err
    assert err.startswith("pathgan run: error: ") and named.replace("{CONF}", str(conf)) in err
    assert not (tmp_path / "run").exists()


def test_a_run_pulling_a_torsion(tmp_path):
    """``smd: {coordinate: torsion}``: pulls, PMF, restraint, comparison and report follow phi of ALA2."""
    from openmm_bridge.pmf_outputs import read_pull_csv
    from pathgan.run_config import deep_merge

    torsion = {"kind": "torsion", "torsion": "phi:ALA2"}
    smd = {"coordinate": torsion, "c0_angstrom": -60.0, "c1_angstrom": -120.0, "k_kcal_mol_a2": 100.0}
    out = tmp_path / "torsion"
    run_pipeline(out, "quick", overrides=deep_merge(TINY_RUN, {"smd": smd}), progress=False)
    assert json.loads((out / "smd" / "smd.json").read_text())["protocol"]["coordinate"] == torsion
    table = read_pull_csv(out / "smd" / "replica_000" / "pull.csv")
    assert {"centre", "coordinate", "force"} <= set(table) and "distance_angstrom" not in table
    assert table["centre"][-1] == pytest.approx(-120.0)
    pmf = json.loads((out / "pmf" / "pmf.json").read_text())
    assert (
        pmf["coordinate"] == {"kind": "torsion", "unit": "deg"}
        and (out / "pmf" / "pmf_coordinate.csv").exists()
    )
    model = torch_load(out / "train" / "model.pt")
    assert model["pull"]["coordinate"] == torsion
    metrics = json.loads((out / "compare" / "generated" / "metrics.json").read_text())
    assert metrics["coordinate"]["label"] == "torsion phi:ALA2" and metrics["coordinate"]["unit"] == "deg"
    assert "max_coordinate_deviation_deg" in metrics["summary"]
    assert "Pulls along torsion phi:ALA2" in (out / "report.html").read_text()


def torch_load(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


def _md_snapshot(system, path, steps: int = 3000, temperature_k: float = 600.0) -> None:
    """``path``: a PDB of ``system`` after ``steps`` of hot Langevin dynamics (another conformation, same atoms)."""
    import openmm as mm
    import openmm.app as app
    import openmm.unit as u

    integrator = mm.LangevinMiddleIntegrator(
        temperature_k * u.kelvin, 5.0 / u.picosecond, 0.001 * u.picosecond
    )
    integrator.setRandomNumberSeed(7)
    sim = app.Simulation(
        system.topology, system.md_system(None), integrator, mm.Platform.getPlatformByName("Reference")
    )
    sim.context.setPositions(system.positions)
    sim.context.setVelocitiesToTemperature(temperature_k * u.kelvin, 7)
    sim.step(steps)
    with open(path, "w") as fh:
        app.PDBFile.writeFile(system.topology, sim.context.getState(getPositions=True).getPositions(), fh)


def test_two_end_states_make_targeted_md_from_amber_files(tmp_path):
    """``system: {prmtop, inpcrd, end_state}`` and no coordinate: an RMSD pull from the start's RMSD to 0."""
    from amber_files import write_amber_peptide

    from openmm_bridge.pmf_outputs import read_pull_csv
    from openmm_bridge.pull_coordinates import kabsch_rmsd
    from openmm_bridge.system import MolecularSystem
    from openmm_bridge.trajio import load_frames
    from pathgan.run_config import TARGETED_K_KCAL_MOL_A2, deep_merge

    prmtop, inpcrd = write_amber_peptide(tmp_path / "in", "AAAA")
    start = MolecularSystem.from_amber(prmtop, inpcrd)
    _md_snapshot(start, tmp_path / "in" / "end.pdb")
    system = {"prmtop": str(prmtop), "inpcrd": str(inpcrd), "end_state": str(tmp_path / "in" / "end.pdb")}
    out = tmp_path / "run"
    run_pipeline(out, "quick", overrides=deep_merge(TINY_RUN, {"system": system}), progress=False)
    protocol = json.loads((out / "smd" / "smd.json").read_text())["protocol"]
    assert protocol["coordinate"] == {"kind": "rmsd", "target": str(tmp_path / "in" / "end.pdb")}
    assert protocol["c1_angstrom"] == 0.0 and protocol["k_kcal_mol_a2"] == TARGETED_K_KCAL_MOL_A2
    loaded = MolecularSystem.load(out / "system")
    heavy = [a.index for a in loaded.topology.atoms() if a.element.symbol != "H"]
    end = load_frames(tmp_path / "in" / "end.pdb", loaded).xyz[0] * 10.0
    start_rmsd = kabsch_rmsd(loaded.positions_angstrom()[None, heavy], end[heavy])[0]
    assert protocol["c0_angstrom"] == pytest.approx(start_rmsd, abs=1e-5) and start_rmsd > 0.5
    table = read_pull_csv(out / "smd" / "replica_000" / "pull.csv")
    assert table["centre"][-1] == pytest.approx(0.0, abs=1e-9)
    assert table["coordinate"][-1] < table["coordinate"][0]  # the pulls move towards the end state
    assert json.loads((out / "metrics.json").read_text())["pulls"]["coordinate"]["label"].startswith(
        "rmsd to "
    )


def test_a_run_from_charmm_files_pulling_a_distance_between_selections(tmp_path):
    """``system: {psf, charmm_params, coordinates}`` with a distance pull whose groups are mdtraj selections."""
    from charmm_files import write_charmm_peptide

    from openmm_bridge.pmf_outputs import read_pull_csv
    from pathgan.run_config import deep_merge

    psf, prm, pdb = write_charmm_peptide(tmp_path / "in")
    system = {"psf": str(psf), "charmm_params": [str(prm)], "coordinates": str(pdb)}
    coordinate = {"kind": "distance", "group_a": "resid 0 and backbone", "group_b": "resid 4 and name CA"}
    smd = {"coordinate": coordinate, "c0_angstrom": None, "c1_angstrom": 16.0}
    out = tmp_path / "run"
    run_pipeline(out, "quick", overrides=deep_merge(TINY_RUN, {"system": system, "smd": smd}), progress=False)
    protocol = json.loads((out / "smd" / "smd.json").read_text())["protocol"]
    assert protocol["coordinate"] == coordinate and 5.0 < protocol["c0_angstrom"] < 16.0
    table = read_pull_csv(out / "smd" / "replica_000" / "pull.csv")
    centre = table["centre_angstrom"]  # a distance pull's columns keep their units in their names
    assert centre[0] == pytest.approx(protocol["c0_angstrom"]) and centre[-1] == pytest.approx(16.0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["pulls"]["coordinate"]["label"] == "distance(resid 0 and backbone | resid 4 and name CA)"


def test_a_run_from_a_system_folder(deca_dir, tmp_path):
    """``system: {folder}``: the folder is copied and every stage runs on it."""
    from pathgan.run_config import deep_merge

    out = tmp_path / "run"
    pipe = run_pipeline(
        out, "quick", overrides=deep_merge(TINY_RUN, {"system": {"folder": str(deca_dir)}}), progress=False
    )
    assert pipe.ran == list(STAGES)
    assert (out / "system" / "system.xml").read_bytes() == (deca_dir / "system.xml").read_bytes()
    assert json.loads((out / "metrics.json").read_text())["pulls"]["replicas"] == 4


def test_the_alanine_dipeptide_preset_on_tiny_settings(tmp_path):
    """The preset's pieces: ACE-ALA-NME in amber99sbildn, a phi pull, the (phi, psi) landscape and its section."""
    from openmm_bridge.system import MolecularSystem
    from pathgan.run_config import deep_merge

    tiny = deep_merge(TINY_RUN, {"landscape": {"length_ps": 5.0, "grid": 24}})
    out = tmp_path / "ad"
    run_pipeline(out, "alanine-dipeptide-quick", overrides=tiny, progress=False)
    system = MolecularSystem.load(out / "system")
    assert system.n_atoms == 22 and [r.name for r in system.topology.residues()] == ["ACE", "ALA", "NME"]
    assert system.metadata["forcefield"] == ["amber99sbildn.xml"]
    protocol = json.loads((out / "smd" / "smd.json").read_text())["protocol"]
    assert protocol["coordinate"] == {"kind": "torsion", "torsion": "phi:ALA2"}
    assert (protocol["c0_angstrom"], protocol["c1_angstrom"]) == (-80.0, 70.0)
    plane = json.loads((out / "metrics.json").read_text())["landscape"]
    assert plane["torsions"] == ["phi:ALA2", "psi:ALA2"]
    for key in ("free_energy_difference_kcal_mol", "barrier_via_x0_kcal_mol", "candidates_end_in_end_basin"):
        assert np.isfinite(plane[key]), key
    assert 0.0 <= plane["candidates_end_in_end_basin"] <= 1.0
    page = (out / "report.html").read_text()
    assert "The paths on the (phi:ALA2, psi:ALA2) plane" in page and "0 K minimum-energy path" in page


BAD_PULLS = [
    (
        {"smd": {"coordinate": {"kind": "distance", "group_a": "resname XYZ", "group_b": [3]}}},
        "config.smd.coordinate.group_a: the selection 'resname XYZ' matches no atom",
    ),
    (
        {"smd": {"coordinate": {"kind": "distance", "group_a": "resid and", "group_b": [3]}}},
        "config.smd.coordinate.group_a: invalid mdtraj selection 'resid and'",
    ),
    (
        {
            "smd": {
                "coordinate": {"kind": "torsion", "torsion": "phi:ALA40"},
                "c0_angstrom": -60.0,
                "c1_angstrom": 60.0,
            }
        },
        "config.smd.coordinate.torsion: 'phi:ALA40' is not a torsion of this system",
    ),
    (
        {
            "smd": {
                "coordinate": {"kind": "torsion", "atoms": [1, 2, 3, 4000]},
                "c0_angstrom": 0.0,
                "c1_angstrom": 60.0,
            }
        },
        "config.smd.coordinate.atoms: atom indices [4000] are out of range",
    ),
    (
        {
            "smd": {
                "coordinate": {"kind": "rmsd", "target": "{IN}/other.pdb"},
                "c0_angstrom": 2.0,
                "c1_angstrom": 0.0,
            }
        },
        "config.smd.coordinate.target: {IN}/other.pdb has 22 atoms, but the system has 42",
    ),
    (
        {"system": {"end_state": "{IN}/other.pdb"}},
        "config.system.end_state: {IN}/other.pdb has 22 atoms, but the system has 42",
    ),
]


@pytest.mark.parametrize(("layer", "named"), BAD_PULLS)
def test_pathgan_run_exits_2_naming_a_bad_pull(tmp_path, capfd, layer, named):
    """Each bad pull setting ends the run with exit code 2 and the setting named, before anything is pulled."""
    import logging
    import warnings

    import openmm.app as app

    from openmm_bridge.system import MolecularSystem
    from pathgan.cli import main

    folder = tmp_path / "in"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = MolecularSystem.from_sequence("A", ("amber99sbildn.xml",))  # another molecule: 22 atoms
    with open(folder / "other.pdb", "w") as fh:
        app.PDBFile.writeFile(other.topology, other.positions, fh)
    text = json.dumps(layer).replace("{IN}", str(folder))
    config = {**TINY_RUN, "system": {"sequence": "AAA"}}
    for section, values in json.loads(text).items():
        config[section] = {**config.get(section, {}), **values}
    (folder / "bad.yaml").write_text(yaml.safe_dump(config))
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with warnings.catch_warnings():
            code = main(
                ["run", "--out", str(tmp_path / "run"), "--config", str(folder / "bad.yaml"), "--quiet"]
            )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capfd.readouterr().err
    assert code == 2, err
    assert err.startswith("pathgan run: error: ") and named.replace("{IN}", str(folder)) in err
    assert not (tmp_path / "run" / "smd").exists()
