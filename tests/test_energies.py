"""OpenMM energies by force and their mapping onto pathgan terms."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.energies import OpenMMEvaluator
from openmm_bridge.errors import PathganInputError


def test_energies_sum_to_total_and_shapes(deca, deca_frames):
    ev = OpenMMEvaluator(deca.system)
    e = ev.energies(deca_frames[:3])
    parts = sum(e[i.label] for i in ev.forces)
    np.testing.assert_allclose(parts, e["total"])
    assert ev.forces_by_group(deca_frames[:2])["NonbondedForce"].shape == (2, 112, 3)
    with pytest.raises(PathganInputError, match=r"expected frames of shape \(n_frames, 112, 3\)"):
        ev.energies(deca_frames[:, :5])


def test_unknown_platform(deca):
    with pytest.raises(PathganInputError, match="unknown OpenMM platform 'Warp'.*Reference"):
        OpenMMEvaluator(deca.system, "Warp")
