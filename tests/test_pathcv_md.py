"""Dynamics along a path CV: a short pull, umbrella windows through Dask, and MBAR on known data."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pathcv import default_atoms
from openmm_bridge.pathcv_md import PathCVProtocol, mbar_pmf, pull_along_path, umbrella_along_path


@pytest.fixture(scope="module")
def path_frames(small_pull, deca):
    from pathgan.data import ReferenceSet

    return ReferenceSet.from_smd(small_pull, deca, stride=20).frames[0]  # 11 frames, Angstrom


def test_pull_along_s(deca, path_frames, tmp_path):
    p = PathCVProtocol(pull_ps=1.0, k_s_kj_mol=2000.0)
    summary = pull_along_path(deca, path_frames, default_atoms(deca.topology), p, tmp_path, progress=False)
    rows = np.genfromtxt(tmp_path / "pull_s.csv", delimiter=",", names=True)
    assert len(rows) == 10 and rows["s0"][-1] == pytest.approx(1.0)
    assert np.all(np.diff(rows["s0"]) > 0)
    assert summary["final_s"] > 0.3  # dragged along the path by the moving bias
    assert (tmp_path / "pull_s.dcd").stat().st_size > 0


def test_umbrella_windows_through_dask(deca, path_frames, tmp_path):
    p = PathCVProtocol(windows=3, window_ps=0.2, equilibration_ps=0.1, k_s_kj_mol=500.0)
    result = umbrella_along_path(
        deca, path_frames, default_atoms(deca.topology), p, tmp_path, n_workers=2, progress=False
    )
    assert [w["s0"] for w in result["windows"]] == [0.0, 0.5, 1.0]
    assert result["pmf"]["samples_per_window"] == [10, 10, 10]
    assert (tmp_path / "umbrella.json").exists() and (tmp_path / "pmf_s.png").exists()


def test_mbar_recovers_a_flat_pmf():
    """Samples drawn exactly from harmonic windows on a flat landscape give a flat PMF."""
    rng = np.random.default_rng(0)
    kt = 0.0083144626 * 300.0
    k = 200.0
    centres = np.linspace(0, 1, 9)
    windows = [{"s0": c, "s": rng.normal(c, np.sqrt(kt / k), 4000).tolist()} for c in centres]
    pmf = mbar_pmf(windows, k, 300.0, bins=10, n_bootstrap=5)
    f = np.array([v for v, s in zip(pmf["pmf_kcal_mol"], pmf["s"], strict=True) if 0.0 < s < 1.0])
    assert len(f) >= 6 and np.ptp(f) < 0.15  # kcal/mol: flat inside the sampled range


def test_bad_protocols():
    with pytest.raises(PathganInputError, match="at least 2 umbrella windows"):
        PathCVProtocol(windows=1).validate()
    with pytest.raises(PathganInputError, match="pull_ps must be positive"):
        PathCVProtocol(pull_ps=0).validate()


def test_mbar_recovers_a_steep_pmf_over_its_whole_range():
    """A linear PMF rising 60 kT: harmonic windows on it are shifted Gaussians; MBAR must give the slope
    everywhere (weights span 26 orders of magnitude, more than np.histogram's cumulative sums keep)."""
    rng = np.random.default_rng(1)
    kt = 0.0083144626 * 300.0
    k, slope = 2000.0, 60.0 * kt  # kJ/mol per unit s
    centres = np.linspace(0, 1, 21)
    windows = [{"s0": c, "s": rng.normal(c - slope / k, np.sqrt(kt / k), 3000).tolist()} for c in centres]
    pmf = mbar_pmf(windows, k, 300.0, bins=20, n_bootstrap=0)
    s, f = np.array(pmf["s"]), np.array(pmf["pmf_kcal_mol"], dtype=float)
    assert np.isfinite(f).all() and f.max() > 30.0  # 60 kT = 36 kcal/mol over the range
    inner = slice(1, -1)  # the two end bins are only partly sampled
    rel = f[inner] - f[inner][0]
    expected = slope * (s[inner] - s[inner][0]) / 4.184
    np.testing.assert_allclose(rel, expected, atol=0.2)
