"""``pathgan run``: every stage's outputs, skipping, redoing what changed, resuming a killed run."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

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
    again = run_pipeline(tiny_run, "quick", overrides=TINY_RUN, progress=False)
    assert again.ran == [] and again.skipped == list(STAGES)
    changed = copy.deepcopy(TINY_RUN)
    changed["generate"] = {"frames": 7}
    pipe = run_pipeline(tiny_run, "quick", overrides=changed, progress=False)
    assert pipe.ran == ["path", "refine", "compare", "pathcv", "report"]
    assert json.loads((tiny_run / "path" / "path.json").read_text())["n_frames"] == 7
    # and back: the original settings redo the same stages again
    run_pipeline(tiny_run, "quick", overrides=TINY_RUN, progress=False)


def test_stage_keys_change_with_the_builder_version(tmp_path, monkeypatch):
    from openmm_bridge import builder

    cfg = resolve_config("quick", overrides=TINY_RUN)
    before = Pipeline(tmp_path, cfg, progress=False)
    keys = {s: before.key(s) for s in STAGES}
    monkeypatch.setattr(builder, "BUILDER_VERSION", builder.BUILDER_VERSION + 1)
    after = Pipeline(tmp_path, cfg, progress=False)
    assert all(after.key(s) != keys[s] for s in STAGES)  # every stage reads the system, directly or not


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
    assert pipe.skipped == ["system", "smd", "pmf"] and pipe.ran[0] == "train"
    history = (out / "train" / "losses.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in history] == list(range(1, 14))  # every epoch once
    assert (out / "report.html").exists()


def test_implicit_solvent_run_end_to_end(tmp_path):
    """``system: forcefield: [amber14-all.xml, implicit/obc2.xml]``: every stage in OBC2, the report says so."""
    import openmm as mm

    from openmm_bridge.system import MolecularSystem
    from pathgan.run_config import deep_merge

    out = tmp_path / "obc2"
    overrides = deep_merge(TINY_RUN, {"system": {"forcefield": ["amber14-all.xml", "implicit/obc2.xml"]}})
    run_pipeline(out, "quick", overrides=overrides, progress=False)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["solvent"] == "implicit solvent (OBC2)"
    assert "in implicit solvent (OBC2)" in (out / "report.html").read_text()
    system = MolecularSystem.load(out / "system")
    for openmm_system in (system.system, system.md_system()):  # the pulls and the string use the GB force too
        assert any(isinstance(f, mm.CustomGBForce) for f in openmm_system.getForces())
    header = (out / "train" / "losses.csv").read_text().splitlines()[0].split(",")
    assert "implicit_solvent_kcal_mol" in header  # the generator's loss includes the solvation energy
