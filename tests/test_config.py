"""Training configurations: presets, YAML, validation, the term hierarchy."""

from __future__ import annotations

import pytest

from openmm_bridge.errors import PathganInputError
from pathgan.config import PRESETS, TERM_ORDER, TrainingConfig, paper_config, pathgan_config


def test_paper_preset_is_the_paper():
    c = paper_config()
    assert c.model.hidden == [32, 50, 100] and c.model.noise_dim == 31 and c.model.activation == "sigmoid"
    assert c.model.disc_hidden == [10] and c.model.template_bins == 0
    assert (c.pretrain_epochs, c.epochs, c.pretrain_lr, c.lr_g) == (5, 10, 1e-2, 1e-3)
    assert c.energy_steps == 8 and c.restraint_weight == 200.0 and c.grad_clip == 1.0
    # CHARMM's and implicit solvent's terms join beside the term they belong with
    assert c.terms_at(0) == ["bonds", "angles", "dihedrals", "urey_bradley", "cmap"]
    assert c.terms_at(3) == list(TERM_ORDER) + [
        "urey_bradley",
        "cmap",
        "lj_table",
        "lj_14",
        "implicit_solvent",
    ]


def test_force_terms_follow_their_companion_unless_scheduled():
    c = TrainingConfig.from_dict({"term_schedule": {"bonds": 0, "electrostatics": 2, "implicit_solvent": 5}})
    assert c.terms_at(2) == ["bonds", "electrostatics"]  # implicit solvent scheduled on its own, later
    assert c.terms_at(5)[-1] == "implicit_solvent"
    assert TrainingConfig.from_dict({"pretrain_terms": ["angles"]}).pretraining_terms() == [
        "angles",
        "urey_bradley",
    ]
    with pytest.raises(PathganInputError, match=r"unknown energy terms \['cmapp'\]"):
        TrainingConfig.from_dict({"term_schedule": {"cmapp": 0}})


def test_presets_and_ablation():
    assert set(PRESETS) == {"paper", "pathgan", "ablation"}
    ablation, default = PRESETS["ablation"](), pathgan_config()
    # only the restraint of the pull is left in the generator's loss; everything else as the default
    assert ablation.term_schedule == {} and ablation.pretrain_terms == [] and ablation.terms_at(99) == []
    assert ablation.use_energy and ablation.energy_steps == default.energy_steps
    assert ablation.model == default.model
    assert pathgan_config().model.template_bins >= 2


def test_yaml_overrides_and_errors(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("preset: paper\nepochs: 3\nmodel:\n  hidden: [8, 8]\n")
    c = TrainingConfig.from_yaml(f)
    assert c.name == "paper" and c.epochs == 3 and c.model.hidden == [8, 8] and c.model.noise_dim == 31
    assert TrainingConfig.from_dict(c.to_dict()) == c
    f.write_text("epochz: 3\n")
    with pytest.raises(PathganInputError, match=r"c.yaml: unknown settings \['epochz'\]"):
        TrainingConfig.from_yaml(f)
    f.write_text("model:\n  hiden: [3]\n")
    with pytest.raises(PathganInputError, match=r"c.yaml.model: unknown settings \['hiden'\]"):
        TrainingConfig.from_yaml(f)
    f.write_text("batch_size: 0\n")
    with pytest.raises(PathganInputError, match="c.yaml.batch_size: must be positive, got 0"):
        TrainingConfig.from_yaml(f)
    f.write_text("term_schedule: {bonds: 0, springs: 1}\n")
    with pytest.raises(PathganInputError, match="unknown energy terms"):
        TrainingConfig.from_yaml(f)
    # a file without preset: over the preset asked for (the command line's --preset)
    f.write_text("validation_fraction: 0.34\n")
    paper = TrainingConfig.from_yaml(f, "paper")
    assert paper.name == "paper" and paper.validation_fraction == 0.34
    assert paper.to_dict() == {**PRESETS["paper"]().to_dict(), "validation_fraction": 0.34}
    f.write_text("preset: ablation\n")
    with pytest.raises(PathganInputError, match="names preset 'ablation', but 'paper' was asked for"):
        TrainingConfig.from_yaml(f, "paper")
    f.write_text(": : :\n")
    with pytest.raises(PathganInputError, match="cannot read"):
        TrainingConfig.from_yaml(f)
