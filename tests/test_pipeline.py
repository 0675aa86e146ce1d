"""``pathgan run``: every stage's outputs, skipping, redoing what changed, resuming a killed run."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import TINY_RUN

from openmm_bridge.errors import PathganInputError
from pathgan.pipeline import STAGES, Pipeline, resolve_config, run_pipeline

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
    assert metrics["string"]["force_evaluations"] > 0 and metrics["pulls"]["replicas"] == 2
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    assert config["smd"]["replicas"] == 2 and config["preset"] == "quick"
    assert set(json.loads((tiny_run / "stages.json").read_text())) == set(STAGES)


def test_second_run_skips_everything_and_a_change_redoes_downstream(tiny_run, tmp_path):
    again = run_pipeline(tiny_run, "quick", overrides=TINY_RUN, progress=False, log=lambda _m: None)
    assert again.ran == [] and again.skipped == list(STAGES)
    changed = copy.deepcopy(TINY_RUN)
    changed["generate"] = {"frames": 7}
    pipe = run_pipeline(tiny_run, "quick", overrides=changed, progress=False, log=lambda _m: None)
    assert pipe.ran == ["path", "refine", "compare", "pathcv", "report"]
    assert json.loads((tiny_run / "path" / "path.json").read_text())["n_frames"] == 7
    # and back: the original settings redo the same stages again
    run_pipeline(tiny_run, "quick", overrides=TINY_RUN, progress=False, log=lambda _m: None)


def test_stage_keys_change_with_the_builder_version(tmp_path, monkeypatch):
    from openmm_bridge import builder

    cfg = resolve_config("quick", overrides=TINY_RUN)
    before = Pipeline(tmp_path, cfg, progress=False, log=lambda _m: None)
    keys = {s: before.key(s) for s in STAGES}
    monkeypatch.setattr(builder, "BUILDER_VERSION", builder.BUILDER_VERSION + 1)
    after = Pipeline(tmp_path, cfg, progress=False, log=lambda _m: None)
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
    pipe = run_pipeline(out, "quick", config_file=cfg, progress=False, log=lambda _m: None)
    assert pipe.skipped == ["system", "smd", "pmf"] and pipe.ran[0] == "train"
    history = (out / "train" / "losses.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in history] == list(range(1, 14))  # every epoch once
    assert (out / "report.html").exists()


def test_configuration_errors(tmp_path):
    with pytest.raises(PathganInputError, match="unknown preset"):
        resolve_config("fast")
    with pytest.raises(PathganInputError, match="unknown section 'smdd'"):
        resolve_config("quick", overrides={"smdd": {}})
    with pytest.raises(PathganInputError, match="unknown setting 'frame'"):
        resolve_config("quick", overrides={"generate": {"frame": 3}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(PathganInputError, match="expected a mapping"):
        resolve_config("quick", bad)
    paper = resolve_config("paper")
    assert paper["smd"]["replicas"] == 50 and paper["smd"]["length_ps"] == 1000.0
    assert paper["train"]["pretrain_epochs"] == 5 and paper["train"]["epochs"] == 10
    assert Pipeline(tmp_path, resolve_config()).key("train") != Pipeline(tmp_path, paper).key("train")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"smd": {"replicas": -1}}, r"config.smd.replicas: must be at least 1, got -1"),
        ({"smd": {"replicas": "eight"}}, r"config.smd.replicas: expected int, got 'eight'"),
        ({"smd": {"length_ps": 0.0}}, "length must be positive"),
        ({"smd": {"c0_angstrom": 20.0, "c1_angstrom": 20.0}}, "nothing would be pulled"),
        ({"smd": {"platform": "Nope"}}, "unknown OpenMM platform"),
        ({"smd": {"lenght_ps": 3.0}}, "unknown pull protocol keys"),
        ({"train": {"epochs": "many"}}, r"config.train.epochs: expected int"),
        ({"train": {"stride": 10_000}}, "leaves fewer than 2 of the 501 frames"),
        ({"train": {"learning_rate": 1.0}}, "unknown training keys"),
        ({"generate": {"frames": 600}}, "600 frames, more than the reference's 501"),
        ({"refine": {"images": 50}}, r"config.refine.images: 50; needs 3 to generate.frames \(20\)"),
        ({"pathcv": {"windows": 1}}, "windows >= 2"),
        ({"seed": 1.5}, "config.seed: expected int"),
    ],
)
def test_bad_configuration_fails_before_any_work(tmp_path, overrides, message):
    with pytest.raises(PathganInputError, match=message):
        run_pipeline(tmp_path / "never", "quick", overrides=overrides, progress=False, log=lambda _m: None)
    assert not (tmp_path / "never").exists()
