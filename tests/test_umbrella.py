"""Umbrella windows along a path CV through Dask, and the PMF along s with pymbar's FES on known data."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.mbar import place_centres
from openmm_bridge.pathcv import default_atoms
from openmm_bridge.pathcv_md import PathCVProtocol
from openmm_bridge.umbrella import mbar_pmf, spacing_in_sigma, umbrella_along_path
from openmm_bridge.units import kt_kcal_mol

KT = kt_kcal_mol(300.0)


def test_umbrella_windows_through_dask(deca, small_pull, tmp_path):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=20).frames[0]
    p = PathCVProtocol(windows=3, window_ps=0.2, equilibration_ps=0.1, k_s_kcal_mol=120.0)
    result = umbrella_along_path(
        deca, frames, default_atoms(deca.topology), p, tmp_path, n_workers=2, progress=False
    )
    assert [w["s0"] for w in result["windows"]] == [0.0, 0.5, 1.0]
    pmf = result["pmf"]
    assert pmf["raw_samples_per_window"] == [10, 10, 10]
    assert all(1 <= n <= 10 for n in pmf["samples_per_window"])  # decorrelated: every g-th sample
    assert all(g >= 1.0 for g in pmf["statistical_inefficiency"])
    # each window samples s around its own target
    means = [np.mean(w["s"]) for w in result["windows"]]
    assert means[0] < means[1] < means[2]
    assert (
        result["placement"]["method"] == "even" and len(result["placement"]["spacing_in_measured_sigma"]) == 2
    )
    assert len(pmf["overlap"]["matrix"]) == 3 and "max_abs_diff_kcal_mol" in pmf["convergence"]
    assert "openmm" in result["versions"]
    assert (tmp_path / "umbrella.json").stat().st_size > 0 and (tmp_path / "pmf_s.png").stat().st_size > 1000
    assert result["discard_transient"] is False and pmf["transient_samples"] == [0, 0, 0]
    # the same samples with each window's transient cut (at most half a window)
    cut = mbar_pmf(result["windows"], p.k_s_kcal_mol, p.temperature_k, n_bootstrap=0, discard_transient=True)
    assert all(0 <= t0 <= 5 for t0 in cut["transient_samples"])
    assert cut["raw_samples_per_window"] == [10, 10, 10]


def test_pilot_places_windows_from_the_spread_of_s(deca, small_pull, tmp_path):
    from pathgan.data import ReferenceSet

    frames = ReferenceSet.from_smd(small_pull, deca, stride=20).frames[0]
    p = PathCVProtocol(windows=3, window_ps=0.2, equilibration_ps=0.1, k_s_kcal_mol=120.0)
    result = umbrella_along_path(
        deca, frames, default_atoms(deca.topology), p, tmp_path, n_workers=2, progress=False,
        pilot_ps=0.2, spacing_sigma=100.0, n_bootstrap=0,
    )  # fmt: skip
    placed = result["placement"]
    sigma = np.array(placed["pilot_sigma_s"])
    s0 = np.array([w["s0"] for w in result["windows"]])
    assert placed["method"] == "pilot" and len(sigma) == 3 and np.all(sigma > 0)
    assert s0[0] == 0.0 and s0[-1] == 1.0 and len(s0) == placed["windows"]
    # a 0.2 ps pilot barely spreads (sigma_s ~ 0.003), so 100 sigma_s here: the production targets
    # are the placement of the pilot's measured spreads
    np.testing.assert_allclose(s0, place_centres(placed["pilot_s0"], sigma, 0.0, 1.0, 100.0, 60))
    assert np.all(np.diff(s0) <= 100.0 * sigma.max() + 1e-9)


def test_spacing_in_sigma():
    windows = [{"s0": 0.0, "s": [-0.1, 0.1]}, {"s0": 0.5, "s": [0.4, 0.6]}]
    assert spacing_in_sigma(windows) == [5.0]


def test_mbar_recovers_a_flat_pmf():
    """Samples drawn exactly from harmonic windows on a flat landscape give a flat PMF."""
    rng = np.random.default_rng(0)
    k = 50.0  # kcal/mol
    centres = np.linspace(0, 1, 9)
    windows = [{"s0": c, "s": rng.normal(c, np.sqrt(KT / k), 4000).tolist()} for c in centres]
    pmf = mbar_pmf(windows, k, 300.0, bins=10, n_bootstrap=5)
    f = np.array([v for v, s in zip(pmf["pmf_kcal_mol"], pmf["s"], strict=True) if 0.0 < s < 1.0])
    assert len(f) >= 6 and np.ptp(f) < 0.15  # kcal/mol: flat inside the sampled range
    assert np.all(np.array(pmf["pmf_err_kcal_mol"]) >= 0)


def test_mbar_recovers_a_steep_pmf_over_its_whole_range():
    """A linear PMF rising 60 kT: harmonic windows on it are shifted Gaussians; MBAR must give the slope
    everywhere (weights span 26 orders of magnitude)."""
    rng = np.random.default_rng(1)
    k, slope = 478.0, 60.0 * KT  # kcal/mol per unit s
    centres = np.linspace(0, 1, 21)
    windows = [{"s0": c, "s": rng.normal(c - slope / k, np.sqrt(KT / k), 3000).tolist()} for c in centres]
    pmf = mbar_pmf(windows, k, 300.0, bins=20, n_bootstrap=0)
    s, f = np.array(pmf["s"]), np.array(pmf["pmf_kcal_mol"], dtype=float)
    assert np.isfinite(f).all() and f.max() > 30.0  # 60 kT = 36 kcal/mol over the range
    inner = slice(1, -1)  # the two end bins are only partly sampled
    rel = f[inner] - f[inner][0]
    np.testing.assert_allclose(rel, slope * (s[inner] - s[inner][0]), atol=0.2)


def test_a_window_that_blows_up_names_itself(deca):
    """NaN positions end the window with the s0 and what to change, not NaNs handed to MBAR."""
    import openmm as mm

    from openmm_bridge.errors import PathganConvergenceError
    from openmm_bridge.pathcv import PathCV
    from openmm_bridge.umbrella import umbrella_window

    x0 = deca.positions_angstrom()
    frames = np.stack([x0, x0 + np.random.default_rng(0).normal(0.0, 0.2, x0.shape)])
    atoms = default_atoms(deca.topology)
    wild = PathCVProtocol(
        k_s_kcal_mol=1e7, window_ps=0.2, equilibration_ps=0.0, timestep_fs=4.0, constraints=None
    )
    xml = mm.XmlSerializer.serialize(deca.md_system(None))
    with pytest.raises(PathganConvergenceError, match=r"s0 = 0\.500: the MD blew up .*cv_frames"):
        umbrella_window(
            xml, frames.tolist(), atoms, PathCV(frames, atoms).lam, 0.5, x0.tolist(), wild.to_dict(), 0
        )
