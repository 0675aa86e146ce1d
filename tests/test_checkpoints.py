"""The trainer's files: checkpoints refused when damaged or written with another configuration."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny
from test_trainer import make_trainer

from openmm_bridge.errors import PathganDataError, PathganInputError
from pathgan.checkpoints import CHECKPOINT, resume, write_losses


def test_damaged_checkpoints_are_refused(deca, reference, pull_protocol, tmp_path):
    cfg = tiny(epochs=1, pretrain_epochs=0)
    trainer = make_trainer(deca, reference, cfg, tmp_path / "run", pull_protocol)
    assert resume(trainer) is False  # nothing to resume
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / CHECKPOINT).write_bytes(b"\x00" * 100)
    with pytest.raises(PathganDataError, match="checkpoint.pt: unreadable model/checkpoint"):
        resume(trainer)
    torch.save({"something": 1}, tmp_path / "run" / CHECKPOINT)
    with pytest.raises(PathganDataError, match="not a pathgan checkpoint"):
        resume(trainer)


def test_checkpoint_of_another_configuration_is_refused(deca, reference, pull_protocol, tmp_path):
    cfg = tiny(epochs=1, pretrain_epochs=0)
    make_trainer(deca, reference, cfg, tmp_path / "run", pull_protocol).fit(progress=False)
    other = make_trainer(deca, reference, tiny(epochs=2, pretrain_epochs=0), tmp_path / "run", pull_protocol)
    with pytest.raises(PathganInputError, match=r"another configuration \(differs in \['epochs'\]\)"):
        resume(other)


def test_losses_csv_has_every_key_of_every_epoch(tmp_path):
    write_losses([{"epoch": 1, "a": 1.0}, {"epoch": 2, "a": 2.0, "b": 3.0}], tmp_path / "losses.csv")
    lines = (tmp_path / "losses.csv").read_text().splitlines()
    assert lines == ["epoch,a,b", "1,1.0,", "2,2.0,3.0"]
