"""Superposition: a chain of frames with rigid-body motion removed."""

from __future__ import annotations

import numpy as np

from openmm_bridge.superpose import align_chain


def test_align_chain_removes_rigid_motion():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    chain = align_chain(np.stack([x, x @ q.T + 3.0]))
    np.testing.assert_allclose(chain[1], chain[0], atol=1e-10)
