"""The pulled coordinate: one centroid distance for numpy and torch, and the atom groups it takes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openmm_bridge.distances import centroid_distance, check_groups
from openmm_bridge.errors import PathganInputError


def test_numpy_and_torch_give_the_same_distance(deca_frames):
    numpy = centroid_distance(deca_frames, [0, 1, 2], [98, 99])
    tensor = centroid_distance(torch.tensor(deca_frames), torch.tensor([0, 1, 2]), torch.tensor([98, 99]))
    expected = np.linalg.norm(deca_frames[:, [98, 99]].mean(1) - deca_frames[:, [0, 1, 2]].mean(1), axis=-1)
    np.testing.assert_allclose(numpy, expected, rtol=1e-12)
    np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-12)
    assert np.shape(centroid_distance(deca_frames[0], [0], [5])) == ()  # one structure: a scalar


def test_bad_groups_are_named():
    with pytest.raises(
        PathganInputError,
        match=r"pull: atom indices \[200\] of the second group are out of range \(the system has 112 atoms\)",
    ):
        check_groups([0], [200], 112)
    with pytest.raises(PathganInputError, match=r"share atoms \[1\]"):
        check_groups([0, 1], [1], 112)
    with pytest.raises(PathganInputError, match="the first atom group is empty"):
        check_groups([], [1], 112)
