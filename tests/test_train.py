"""Training on real steered-MD frames: energy goes down, checkpoints resume bit for bit, bad files."""

from __future__ import annotations

import pytest
import torch

from openmm_bridge.errors import PathganInputError
from openmm_bridge.system import MolecularSystem
from pathgan.config import TrainingConfig
from pathgan.data import ReferenceSet
from pathgan.train import GAN, PullSpec, Trainer, energy_loss, load_model, soft_cap, train


def tiny(preset: str = "pathgan", **changes) -> TrainingConfig:
    base = {
        "preset": preset,
        "stride": 3,
        "batch_size": 32,
        "pretrain_epochs": 1,
        "epochs": 3,
        "energy_steps": 2,
        "validation_fraction": 0.34,
        "model": {"hidden": [32, 32], "template_bins": 5 if preset != "paper" else 0},
    }
    return TrainingConfig.from_dict({**base, **changes})


@pytest.fixture(scope="module")
def reference(small_pull, deca) -> ReferenceSet:
    return ReferenceSet.from_smd(small_pull, deca, stride=3)


def _trainer(deca, reference, cfg, out, small_pull) -> Trainer:
    train_ref, val_ref = reference.split(cfg.validation_fraction, cfg.seed)
    gan = GAN.for_reference(deca, cfg, PullSpec.from_smd(small_pull), train_ref)
    return Trainer(gan, train_ref, val_ref, out)


def test_training_lowers_the_energy_and_writes_outputs(deca, reference, small_pull, tmp_path):
    cfg = tiny(epochs=4)
    trainer = train(deca, reference, cfg, tmp_path / "run", PullSpec.from_smd(small_pull), progress=False)
    hist = trainer.history
    assert [r["phase"] for r in hist] == ["pretrain"] + ["adversarial"] * 4
    energies = [r["total_kcal_mol"] for r in hist[1:]]
    assert energies[-1] < energies[0], energies
    for name in ("model.pt", "checkpoint.pt", "losses.csv", "losses.png", "config.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    header = (tmp_path / "run" / "losses.csv").read_text().splitlines()[0]
    for key in ("loss_g_adv", "loss_d", "loss_energy", "bonds_kcal_mol", "lj_kcal_mol", "val_total_kcal_mol"):
        assert key in header


def test_checkpoint_resumes_bit_for_bit(deca, reference, small_pull, tmp_path):
    cfg = tiny()
    straight = _trainer(deca, reference, cfg, tmp_path / "a", small_pull)
    straight.fit(progress=False)
    interrupted = _trainer(deca, reference, cfg, tmp_path / "b", small_pull)
    interrupted.fit(progress=False, stop_after=2)
    assert not (tmp_path / "b" / "model.pt").exists()
    resumed = _trainer(deca, reference, cfg, tmp_path / "b", small_pull)
    assert resumed.resume() and resumed.epoch == 2
    resumed.fit(progress=False)
    for a, b in zip(
        straight.gan.generator.state_dict().values(), resumed.gan.generator.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert [r["loss_d"] for r in straight.history[1:]] == [r["loss_d"] for r in resumed.history[1:]]


def test_paper_model_trains_and_generates(deca, reference, small_pull, tmp_path):
    cfg = tiny("paper", epochs=1)
    trainer = train(deca, reference, cfg, tmp_path / "paper", PullSpec.from_smd(small_pull), progress=False)
    gan = load_model(tmp_path / "paper", deca)
    assert gan.config.name == "paper" and gan.generator.template is None
    x = gan.generate(torch.linspace(0, 1, 5))
    assert x.shape == (5, deca.n_atoms, 3) and bool(torch.isfinite(x).all())
    assert trainer.epoch == 2


def test_bad_models_and_checkpoints(deca, reference, small_pull, tmp_path):
    cfg = tiny(epochs=1, pretrain_epochs=0)
    train(deca, reference, cfg, tmp_path / "run", PullSpec.from_smd(small_pull), progress=False)
    other = MolecularSystem.from_sequence("AAA", minimize=False)
    with pytest.raises(PathganInputError, match="model is for a system of 112 atoms"):
        load_model(tmp_path / "run", other)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(PathganInputError, match="bad.pt: unreadable model"):
        load_model(tmp_path / "bad.pt", deca)
    with pytest.raises(PathganInputError, match="no such model file"):
        load_model(tmp_path / "missing.pt", deca)
    (tmp_path / "run" / "checkpoint.pt").write_bytes(b"\x00" * 100)
    trainer = _trainer(deca, reference, cfg, tmp_path / "run", small_pull)
    with pytest.raises(PathganInputError, match="checkpoint.pt: unreadable checkpoint"):
        trainer.resume()
    torch.save({"something": 1}, tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(PathganInputError, match="not a pathgan checkpoint"):
        trainer.resume()


def test_checkpoint_of_another_configuration_is_refused(deca, reference, small_pull, tmp_path):
    cfg = tiny(epochs=1, pretrain_epochs=0)
    _trainer(deca, reference, cfg, tmp_path / "run", small_pull).fit(progress=False)
    other = _trainer(deca, reference, tiny(epochs=2, pretrain_epochs=0), tmp_path / "run", small_pull)
    with pytest.raises(PathganInputError, match=r"another configuration \(differs in \['epochs'\]\)"):
        other.resume()


def test_soft_cap_and_energy_loss():
    e = torch.tensor([10.0, 1000.0, 1e6])
    capped = soft_cap(e, 1000.0)
    assert capped[0] == 10.0 and capped[1] == 1000.0 and 1000.0 < capped[2] < 1020.0
    energies = {
        "bonds": torch.tensor([1.0, 3.0]),
        "lj": torch.tensor([10.0, 10.0]),
        "restraint": torch.tensor([1.0, 1.0]),
    }
    energies["total"] = energies["bonds"] + energies["lj"]
    assert float(energy_loss(energies, ["bonds"], 0.0, 1e9)) == 2.0
    assert float(energy_loss(energies, ["bonds", "lj"], 2.0, 1e9)) == 14.0
