"""The best k candidates of a path folder refined with the string; the lowest string kept."""

from __future__ import annotations

import json

import numpy as np
from conftest import tiny

from openmm_bridge.string_method import StringConfig
from pathgan.candidates import refine_candidates, string_images
from pathgan.gan import GAN
from pathgan.paths import generate_path, write_path


def test_string_images_are_evenly_chosen():
    frames = np.arange(20)[:, None, None] * np.ones((1, 2, 3))
    picked = string_images(frames, 5)
    np.testing.assert_array_equal(picked[:, 0, 0], [0, 5, 10, 14, 19])
    assert len(string_images(frames, 50)) == 20


def test_the_best_k_are_refined_and_the_lowest_string_kept(deca, reference, pull_protocol, tmp_path):
    model = {"hidden": [16], "template_bins": 5, "noise_modes": 4, "noise_dim": 8, "noise_bins": 5}
    gan = GAN.for_reference(deca, tiny(model=model), pull_protocol, reference)
    path = generate_path(gan, 5, 4, seed=2)
    write_path(path, deca, tmp_path / "p", {"model": "test"})
    config = StringConfig(max_iterations=3)
    kept, rows = refine_candidates(deca, tmp_path / "p", 3, 5, config)
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["sample"] for r in rows] == [int(k) for k in path.ranking[:3]]
    assert sum(r.get("kept", False) for r in rows) == 1
    barriers = [r["barrier_kcal_mol"] for r in rows]
    converged = [r["converged"] for r in rows]
    pool = [b for b, c in zip(barriers, converged, strict=True) if c] or barriers
    assert kept.barrier_kcal_mol == min(pool) and json.dumps(rows)
