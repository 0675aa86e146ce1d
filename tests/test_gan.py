"""The GAN container: built for a system and a pull, saved and loaded, refused for another molecule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny

from openmm_bridge.errors import PathganInputError
from openmm_bridge.system import MolecularSystem
from pathgan.gan import GAN, load_model, reference_distance_table, system_fingerprint
from pathgan.trainer import train


def test_paper_model_trains_and_generates(deca, reference, pull_protocol, tmp_path):
    cfg = tiny("paper", epochs=1)
    trainer = train(deca, reference, cfg, tmp_path / "paper", pull_protocol, progress=False)
    gan = load_model(tmp_path / "paper", deca)
    assert gan.config.name == "paper" and gan.generator.template is None
    x = gan.generate(torch.linspace(0, 1, 5))
    assert x.shape == (5, deca.n_atoms, 3) and bool(torch.isfinite(x).all())
    assert trainer.epoch == 2


def test_state_round_trip_keeps_the_pull_and_the_weights(deca, reference, pull_protocol):
    gan = GAN.for_reference(deca, tiny(), pull_protocol, reference)
    again = GAN.from_state(gan.state(), deca, "here")
    assert again.pull == gan.pull and again.pull.k_kcal_mol_a2 == pull_protocol.k_kcal_mol_a2
    for a, b in zip(gan.generator.state_dict().values(), again.generator.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    t = torch.linspace(0, 1, 4)
    np.testing.assert_allclose(again.restraint.centre(t).numpy(), gan.restraint.centre(t).numpy())


def test_restraint_follows_the_reference_distance(deca, reference, pull_protocol):
    gan = GAN.for_reference(deca, tiny(restraint_target="reference"), pull_protocol, reference)
    table = reference_distance_table(reference, gan.pull.group_a, gan.pull.group_b)
    assert table.shape == (51,) and table[-1] > table[0]  # the pulls stretch the peptide
    assert float(gan.restraint.centre(torch.tensor([1.0]))[0]) == pytest.approx(table[-1])


def test_models_are_refused_for_another_molecule_or_when_damaged(deca, reference, pull_protocol, tmp_path):
    train(deca, reference, tiny(epochs=1, pretrain_epochs=0), tmp_path / "run", pull_protocol, progress=False)
    other = MolecularSystem.from_sequence("AAA", minimize=False)
    with pytest.raises(PathganInputError, match="model is for a system of 112 atoms"):
        load_model(tmp_path / "run", other)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(PathganInputError, match="bad.pt: unreadable model"):
        load_model(tmp_path / "bad.pt", deca)
    with pytest.raises(PathganInputError, match="no such model file"):
        load_model(tmp_path / "missing.pt", deca)
    state = torch.load(tmp_path / "run" / "model.pt", weights_only=False)
    state["format"] = "pathgan-model-1"
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(PathganInputError, match="format 1, trained before pathgan built L-peptides"):
        load_model(tmp_path / "old.pt", deca)
    fingerprint = system_fingerprint(deca)
    assert fingerprint["n_atoms"] == 112 and fingerprint["atoms"][0] == "ACE1:CH3"
