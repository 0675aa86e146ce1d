"""Judging candidate paths on held-out replicas, beside the baselines, by one code path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny

from openmm_bridge.errors import PathganInputError
from pathgan.evaluation import (
    baseline_paths,
    ensemble_metrics,
    evaluate,
    heldout_half_metrics,
    heldout_replica_path,
    phi_psi_pairs,
    training_split,
)
from pathgan.gan import GAN
from pathgan.paths import generate_path
from pathgan.trainer import train


@pytest.fixture(scope="module")
def split(reference):
    return reference.split(0.34, 0)  # 2 replicas to train on, 1 held out


def test_a_held_out_replica_against_itself_is_perfect_and_baselines_are_single_paths(
    deca, split, pull_protocol
):
    train_ref, heldout = split
    t = heldout.labels(0)[::10]
    own = heldout_replica_path(heldout, t)[None]
    m = ensemble_metrics(t, own, heldout, deca)
    assert m["median_rmsd_same_t_mean_angstrom"] == pytest.approx(0.0, abs=1e-6)
    assert m["precision"] == pytest.approx(1.0) and m["jsd_phi_psi_bits"] < 0.5
    gan = GAN.for_reference(deca, tiny(), pull_protocol, train_ref)
    paths = baseline_paths(gan, train_ref, heldout, t)
    assert set(paths) == {"template", "medoid_path", "linear_interpolation"}
    assert all(p.shape == (len(t), deca.n_atoms, 3) for p in paths.values())
    # a straight line between the end states has the right ends and nothing physical between them
    line = paths["linear_interpolation"]
    np.testing.assert_allclose(line[0], paths["template"][0], atol=1e-6)


def test_phi_psi_pairs_are_per_residue(deca, deca_frames):
    import mdtraj as md

    from openmm_bridge.trajio import mdtraj_topology

    pairs = phi_psi_pairs(deca_frames[:3], deca)
    assert pairs.shape == (3, 10, 2)
    traj = md.Trajectory(deca_frames[:3] / 10, mdtraj_topology(deca))
    np.testing.assert_allclose(pairs[:, :, 0], md.compute_phi(traj)[1], atol=1e-5)
    np.testing.assert_allclose(pairs[:, :, 1], md.compute_psi(traj)[1], atol=1e-5)


def test_evaluate_names_the_held_out_replicas_and_scores_every_baseline(
    deca, reference, pull_protocol, tmp_path
):
    cfg = tiny(
        epochs=1,
        pretrain_epochs=0,
        validation_fraction=0.67,
        model={"hidden": [16], "template_bins": 5, "noise_modes": 4, "noise_dim": 8, "noise_bins": 5},
    )
    trainer = train(deca, reference, cfg, tmp_path / "model", pull_protocol, progress=False)
    train_ref, heldout = training_split(tmp_path / "model", deca, stride=10)
    saved = json.loads((tmp_path / "model" / "config.json").read_text())
    assert heldout.sources == saved["validation"] and train_ref.sources == saved["train"]
    assert not set(heldout.sources) & set(train_ref.sources) and heldout.n_trajectories == 2
    path = generate_path(trainer.gan, 6, 4, seed=1)
    result = evaluate(trainer.gan, path.t, path.xyz, train_ref, heldout, deca, None)
    assert result["heldout_replicas"] == heldout.sources
    assert set(result["baselines"]) == {
        "template",
        "medoid_path",
        "linear_interpolation",
        "heldout_replica",
        "heldout_half",
    }
    g = result["generated"]
    assert g["n_paths"] == 4 and 0 <= g["precision"] <= 1 and 0 <= g["coverage"] <= 1
    assert g["spread_ratio_median"] > 0 and result["baselines"]["template"]["spread_ratio_median"] == 0.0
    half = heldout_half_metrics(heldout, deca)
    assert half["n_replicas"] == [1, 1]


def test_a_model_without_held_out_replicas_is_refused(tmp_path, deca):
    (tmp_path / "config.json").write_text(json.dumps({"train": ["a.dcd"], "validation": []}))
    with pytest.raises(PathganInputError, match="held out no replicas"):
        training_split(tmp_path, deca)
