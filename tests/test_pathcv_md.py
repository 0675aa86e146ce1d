"""Steered MD along a path CV: s follows its moving target, the work is OpenMM's, reporters are real."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pathcv import default_atoms
from openmm_bridge.pathcv_md import PathCVProtocol, pull_along_path


@pytest.fixture(scope="module")
def path_frames(small_pull, deca):
    from pathgan.data import ReferenceSet

    return ReferenceSet.from_smd(small_pull, deca, stride=20).frames[0]  # 11 frames, Angstrom


def test_s_follows_the_moving_bias_and_the_work_is_exact(deca, path_frames, tmp_path):
    p = PathCVProtocol(pull_ps=2.0, k_s_kcal_mol=2000.0, update_interval_steps=10, report_interval_steps=10)
    summary = pull_along_path(deca, path_frames, default_atoms(deca.topology), p, tmp_path, progress=False)
    rows = np.genfromtxt(tmp_path / "pull_s.csv", delimiter=",", names=True)
    assert len(rows) == 100 and rows["s0"][-1] == pytest.approx(1.0)
    np.testing.assert_allclose(rows["s0"], np.arange(1, 101) / 100)
    # dragged along the whole path: s ends near 1 and stays near its target all the way
    assert summary["final_s"] > 0.9
    assert summary["s_follows_s0_rms"] < 0.08
    # a row at every move: the work is rebuilt from s and the targets, 1/2 k ((s - s0')^2 - (s - s0)^2)
    s, s0 = rows["s"], rows["s0"]
    prev = np.concatenate([[0.0], s0[:-1]])
    rebuilt = np.cumsum(0.5 * 2000.0 * ((s - s0) ** 2 - (s - prev) ** 2))
    np.testing.assert_allclose(rows["work_kcal_mol"], rebuilt, atol=2e-3 * max(1.0, np.abs(rebuilt).max()))
    assert (tmp_path / "pull_s.png").stat().st_size > 1000


def test_bad_protocols():
    with pytest.raises(PathganInputError, match="windows: must be at least 2"):
        PathCVProtocol(windows=1).validate()
    with pytest.raises(PathganInputError, match="pull_ps: must be positive"):
        PathCVProtocol(pull_ps=0).validate()
    with pytest.raises(PathganInputError, match="k_s_kj_mol: was renamed 'k_s_kcal_mol'"):
        PathCVProtocol.from_dict({"k_s_kj_mol": 2000.0})
