"""Training on real steered-MD frames: the energy goes down, a resumed run is bit for bit the same."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny

from openmm_bridge.errors import PathganConvergenceError, PathganInputError
from pathgan.checkpoints import resume
from pathgan.gan import GAN
from pathgan.trainer import Trainer, energy_loss, soft_cap, train


def make_trainer(deca, reference, cfg, out, protocol) -> Trainer:
    """A Trainer on the small pull's frames, split as ``train`` splits them."""
    train_ref, val_ref = reference.split(cfg.validation_fraction, cfg.seed)
    gan = GAN.for_reference(deca, cfg, protocol, train_ref)
    return Trainer(gan, train_ref, val_ref, out)


def test_training_lowers_the_energy_and_writes_outputs(deca, reference, pull_protocol, tmp_path):
    cfg = tiny(epochs=4)
    trainer = train(deca, reference, cfg, tmp_path / "run", pull_protocol, progress=False)
    hist = trainer.history
    assert [r["phase"] for r in hist] == ["pretrain"] + ["adversarial"] * 4
    energies = [r["total_kcal_mol"] for r in hist[1:]]
    assert energies[-1] < energies[0], energies
    for name in ("model.pt", "checkpoint.pt", "losses.csv", "losses.png", "config.json"):
        assert (tmp_path / "run" / name).stat().st_size > 0
    header = (tmp_path / "run" / "losses.csv").read_text().splitlines()[0]
    for key in ("loss_g_adv", "loss_d", "loss_energy", "bonds_kcal_mol", "lj_kcal_mol", "val_total_kcal_mol"):
        assert key in header


def test_checkpoint_resumes_bit_for_bit(deca, reference, pull_protocol, tmp_path):
    cfg = tiny()
    straight = make_trainer(deca, reference, cfg, tmp_path / "a", pull_protocol)
    straight.fit(progress=False)
    interrupted = make_trainer(deca, reference, cfg, tmp_path / "b", pull_protocol)
    interrupted.fit(progress=False, stop_after=2)
    assert not (tmp_path / "b" / "model.pt").exists()
    resumed = make_trainer(deca, reference, cfg, tmp_path / "b", pull_protocol)
    assert resume(resumed) and resumed.epoch == 2
    resumed.fit(progress=False)
    for a, b in zip(
        straight.gan.generator.state_dict().values(), resumed.gan.generator.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    assert [r["loss_d"] for r in straight.history[1:]] == [r["loss_d"] for r in resumed.history[1:]]


def test_diverging_training_is_a_convergence_error(deca, reference, pull_protocol, tmp_path):
    cfg = tiny(epochs=1, pretrain_epochs=0)
    trainer = make_trainer(deca, reference, cfg, tmp_path / "run", pull_protocol)

    def nan_energy(pos, t):
        energies = trainer.gan.potential(pos, t)
        return {k: v * float("nan") for k, v in energies.items()}

    trainer.energy_fn = nan_energy
    with pytest.raises(
        PathganConvergenceError, match="training diverged: loss_energy = nan in epoch 1, batch 1"
    ):
        trainer.fit(progress=False)
    assert isinstance(PathganConvergenceError("x"), RuntimeError) and not isinstance(
        PathganConvergenceError("x"), PathganInputError
    )


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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (torch sees none)")
def test_training_on_cuda_keeps_everything_there_and_follows_the_cpu(
    deca, reference, pull_protocol, tmp_path
):
    """A pre-training and an adversarial epoch on the GPU: weights, data and potential on it, finite
    losses, and in float64 the CPU's losses (every random number is drawn on the CPU by seed)."""
    rows = {}
    for device in ("cpu", "cuda"):
        cfg = tiny(epochs=1, dtype="float64", device=device)
        trainer = make_trainer(deca, reference, cfg, tmp_path / device, pull_protocol)
        rows[device] = [trainer.run_epoch(e) for e in range(trainer.total_epochs)]
    g = trainer.gan
    tensors = [*g.generator.parameters(), *g.discriminator.parameters(), *g.potential.buffers(), trainer.x]
    assert {p.device.type for p in tensors} == {"cuda"}
    assert [r["phase"] for r in rows["cuda"]] == ["pretrain", "adversarial"]
    for cpu_row, gpu_row in zip(rows["cpu"], rows["cuda"], strict=True):
        losses = {k: v for k, v in gpu_row.items() if isinstance(v, float) and k != "wall_s"}
        assert "loss_energy" in losses or gpu_row["phase"] == "pretrain"
        assert all(torch.isfinite(torch.tensor(v)) for v in losses.values()), gpu_row
        for k, v in losses.items():
            assert v == pytest.approx(cpu_row[k], rel=1e-5, abs=1e-9), k
