"""The configuration of ``pathgan run``: presets, YAML, every bad setting refused before any work."""

from __future__ import annotations

import pytest

from openmm_bridge.errors import PathganInputError
from pathgan.pipeline import Pipeline, run_pipeline
from pathgan.run_config import resolve_config


def test_configuration_errors(tmp_path):
    with pytest.raises(PathganInputError, match="unknown preset"):
        resolve_config("fast")
    with pytest.raises(PathganInputError, match=r"config: unknown settings \['smdd'\]"):
        resolve_config("quick", overrides={"smdd": {}})
    with pytest.raises(PathganInputError, match=r"config.generate: unknown settings \['frame'\]"):
        resolve_config("quick", overrides={"generate": {"frame": 3}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(PathganInputError, match="expected a mapping"):
        resolve_config("quick", bad)
    paper = resolve_config("paper")
    assert paper.smd.replicas == 50 and paper.smd.length_ps == 1000.0
    assert paper.train.pretrain_epochs == 5 and paper.train.epochs == 10 and paper.train.name == "pathgan"
    assert Pipeline(tmp_path, resolve_config()).key("train") != Pipeline(tmp_path, paper).key("train")
    with pytest.raises(PathganInputError, match=r"config.pathcv.k_s_kj_mol: was renamed 'k_s_kcal_mol'"):
        resolve_config("quick", overrides={"pathcv": {"k_s_kj_mol": 2000.0}})


def test_yaml_sections_and_the_train_seed(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("seed: 3\nsmd: {replicas: 6}\ntrain: {epochs: 7, model: {hidden: [16]}}\n")
    cfg = resolve_config("quick", f)
    assert cfg.seed == 3 and cfg.train.seed == 3 and cfg.smd.replicas == 6 and cfg.smd.length_ps == 120.0
    assert cfg.train.epochs == 7 and cfg.train.model.hidden == [16] and cfg.train.model.template_bins == 25
    assert cfg.smd.protocol().length_ps == 120.0 and cfg.refine.string_config().max_iterations == 1500


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"smd": {"replicas": -1}}, r"config.smd.replicas: must be at least 1, got -1"),
        ({"smd": {"replicas": "eight"}}, r"config.smd.replicas: expected int, got 'eight'"),
        ({"smd": {"length_ps": 0.0}}, "config.smd.length_ps: must be positive"),
        ({"smd": {"c0_angstrom": 20.0, "c1_angstrom": 20.0}}, "nothing would be pulled"),
        ({"smd": {"platform": "Nope"}}, "unknown OpenMM platform"),
        ({"smd": {"lenght_ps": 3.0}}, r"config.smd: unknown settings \['lenght_ps'\]"),
        ({"train": {"epochs": "many"}}, r"config.train.epochs: expected int"),
        ({"train": {"stride": 10_000}}, "leaves fewer than 2 of the 241 frames"),
        ({"train": {"learning_rate": 1.0}}, r"config.train: unknown settings \['learning_rate'\]"),
        ({"generate": {"frames": 600}}, "600 frames, more than the reference's 241"),
        ({"refine": {"images": 50}}, r"config.refine.images: 50; needs 3 to generate.frames \(20\)"),
        ({"pathcv": {"windows": 1}}, "config.pathcv.windows: must be at least 2"),
        ({"report": {"structure_t": [0.5, 1.5]}}, "config.report.structure_t: values must lie in"),
        ({"seed": 1.5}, "config.seed: expected int"),
        ({"smd": {"replicas": 4}}, "holds out 1 of 4 replicas; the comparison needs at least 2"),
        ({"refine": {"candidates": 40}}, r"config.refine.candidates: 40, more than generate.samples \(32\)"),
        ({"generate": {"truncation": -0.5}}, "config.generate.truncation: must be"),
    ],
)
def test_bad_configuration_fails_before_any_work(tmp_path, overrides, message):
    with pytest.raises(PathganInputError, match=message):
        run_pipeline(tmp_path / "never", "quick", overrides=overrides, progress=False)
    assert not (tmp_path / "never").exists()
