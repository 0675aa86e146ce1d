"""Ensemble metrics on cases with known answers: identical, disjoint and shifted ensembles."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import pytest

from openmm_bridge.trajio import mdtraj_topology
from pathgan.compare import heavy_atoms
from pathgan.ensemble_metrics import (
    ensemble_scores,
    jensen_shannon,
    knn_radii,
    phi_psi_histogram,
    precision_coverage,
    rmsd_matrix,
    spread,
    t_bins,
)


def _cloud(rng, centre: np.ndarray, n: int, scale: float) -> np.ndarray:
    return centre[None] + rng.normal(scale=scale, size=(n, *centre.shape))


def test_rmsd_matrix_matches_mdtraj(deca, deca_frames):
    top = mdtraj_topology(deca)
    heavy = heavy_atoms(top)
    ours = rmsd_matrix(deca_frames[:4][:, heavy], deca_frames[:, heavy])
    traj = md.Trajectory((deca_frames / 10).astype(np.float32), top)
    theirs = np.stack([10 * md.rmsd(traj, traj, frame=i, atom_indices=heavy) for i in range(4)])
    np.testing.assert_allclose(ours, theirs, atol=1e-2)
    np.testing.assert_allclose(np.diag(ours[:, :4]), 0.0, atol=1e-6)
    mirrored = deca_frames[:1] * np.array([-1.0, 1.0, 1.0])  # no reflection may superpose it
    assert rmsd_matrix(mirrored, deca_frames[:1])[0, 0] > 0.5


def test_identical_ensembles_score_perfectly(deca_frames):
    x, t = deca_frames[:24], np.repeat(np.linspace(0.05, 0.95, 4), 6)
    path = np.tile(np.arange(6), 4)
    s = ensemble_scores(x, t, path, x, t, path, np.arange(x.shape[1]), n_bins=4, skip_first_bin_spread=False)
    assert s["precision"] == 1.0 and s["coverage"] == 1.0
    assert s["spread_ratio_median"] == pytest.approx(1.0)


def test_copies_of_one_path_have_no_spread(deca_frames):
    frames = np.repeat(deca_frames[:1], 5, axis=0)
    assert spread(frames, np.zeros(5), np.arange(5)) == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(spread(frames, np.zeros(5), np.zeros(5)))  # one path: no pair to measure


def test_a_reference_without_spread_defines_no_ratio(deca_frames):
    # every pull's t=0 frame is the one start structure: no spread there, so no ratio (not a crash)
    ref = np.repeat(deca_frames[:1], 2, axis=0)
    gen = deca_frames[:3]
    s = ensemble_scores(
        gen, np.zeros(3), np.arange(3), ref, np.zeros(2), np.arange(2), np.arange(ref.shape[1])
    )
    assert s["per_bin"][0]["spread_reference_angstrom"] == pytest.approx(0.0, abs=1e-6)
    assert np.isnan(s["per_bin"][0]["spread_ratio"])


def test_disjoint_ensembles_have_no_precision_or_coverage():
    rng = np.random.default_rng(0)
    centre = rng.normal(scale=3.0, size=(20, 3))
    a = _cloud(rng, centre, 30, 0.1)
    b = _cloud(rng, centre + np.array([0.0, 0.0, 5.0]) * (np.arange(20) % 2)[:, None], 30, 0.1)
    inside_ref, n_g, inside_gen, n_r = precision_coverage(a, b)
    assert (inside_ref, inside_gen) == (0, 0) and (n_g, n_r) == (30, 30)


def test_a_narrow_ensemble_is_precise_but_covers_little():
    rng = np.random.default_rng(1)
    centre = rng.normal(scale=3.0, size=(20, 3))
    reference = _cloud(rng, centre, 60, 0.3)
    narrow = _cloud(rng, centre, 60, 0.05)  # all near the centre of the reference cloud
    inside_ref, n_g, inside_gen, n_r = precision_coverage(narrow, reference)
    assert inside_ref / n_g > 0.9 and inside_gen / n_r < 0.3


def test_knn_radii():
    d = np.array([[0.0, 1.0, 2.0, 3.0], [1.0, 0.0, 1.5, 2.5], [2.0, 1.5, 0.0, 4.0], [3.0, 2.5, 4.0, 0.0]])
    np.testing.assert_allclose(knn_radii(d, k=1), [1.0, 1.0, 1.5, 2.5])
    np.testing.assert_allclose(knn_radii(d, k=3), [3.0, 2.5, 4.0, 4.0])
    np.testing.assert_allclose(knn_radii(d[:3, :3], k=3), [0.0, 0.0, 0.0])  # too few frames: no ball


def test_jensen_shannon_known_answers():
    rng = np.random.default_rng(2)
    pairs = rng.uniform(-np.pi, np.pi, size=(5000, 2))
    h = phi_psi_histogram(pairs)
    assert h.shape == (36, 36) and h.sum() == pytest.approx(1.0)
    assert jensen_shannon(h, h) == pytest.approx(0.0)
    left = phi_psi_histogram(np.column_stack([rng.uniform(-3, -0.1, 500), rng.uniform(-3, 3, 500)]))
    right = phi_psi_histogram(np.column_stack([rng.uniform(0.1, 3, 500), rng.uniform(-3, 3, 500)]))
    assert jensen_shannon(left, right) == pytest.approx(1.0)  # disjoint: one bit


def test_t_bins():
    np.testing.assert_array_equal(t_bins(np.array([0.0, 0.05, 0.1, 0.99, 1.0])), [0, 0, 1, 9, 9])
