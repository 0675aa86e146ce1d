"""Umbrella windows along the CA-CA distance of deca-alanine: real OpenMM windows through Dask, MBAR, the folder."""

from __future__ import annotations

import csv
import json
import logging

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pull_coordinates import PullCoordinate
from openmm_bridge.umbrella_distance import (
    STIFF_K_KCAL_MOL_A2,
    DistanceUmbrellaProtocol,
    distance_window,
    start_frames,
    umbrella_along_distance,
)


def test_centres_spaced_by_the_spring_spread():
    soft = DistanceUmbrellaProtocol(lo_angstrom=13.0, hi_angstrom=33.0, k_kcal_mol_a2=1.0)
    stiff = soft.replace(k_kcal_mol_a2=STIFF_K_KCAL_MOL_A2)
    for p in (soft, stiff):
        c = p.centres()
        assert c[0] == 13.0 and c[-1] == 33.0
        assert np.diff(c).max() <= np.sqrt(0.596 / p.k_kcal_mol_a2) + 1e-6  # kT = 0.596 kcal/mol at 300 K
    assert len(stiff.centres()) > 2 * len(soft.centres())
    assert np.allclose(np.diff(soft.replace(spacing_angstrom=2.0).centres()), 2.0)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"lo_angstrom": 20.0, "hi_angstrom": 14.0}, "hi_angstrom"),
        ({"spacing_angstrom": -1.0}, "spacing_angstrom"),
        ({"window_ps": 0.1}, "window_ps"),
        ({"k_kcal_mol_a2": 0.0}, "k_kcal_mol_a2"),
    ],
)
def test_bad_settings_are_named(changes, named):
    with pytest.raises(PathganInputError, match=named):
        DistanceUmbrellaProtocol.from_dict(changes, "umbrella")


def test_start_frames_nearest_each_centre(deca, small_pull):
    ca = deca.end_to_end_atoms()
    coord = PullCoordinate("distance", ((ca[0],), (ca[1],)), "CA-CA")
    centres = np.array([15.0, 18.0, 21.0])
    xyz, info = start_frames(small_pull, deca, coord, centres)
    d = coord.values(xyz)
    assert xyz.shape == (3, deca.n_atoms, 3)
    np.testing.assert_allclose(d, [i["distance_angstrom"] for i in info], atol=1e-3)
    assert np.all(np.abs(d - centres) < 1.0)  # the 14 -> 24 A pulls pass through every centre


def test_stiff_window_holds_the_distance_near_its_centre(deca, small_pull):
    """A single window run in this process: its samples sit near the centre, within a few sqrt(kT/k)."""
    import openmm as mm

    ca = deca.end_to_end_atoms()
    coord = PullCoordinate("distance", ((ca[0],), (ca[1],)), "CA-CA")
    xyz, _ = start_frames(small_pull, deca, coord, np.array([18.0]))
    p = DistanceUmbrellaProtocol(k_kcal_mol_a2=STIFF_K_KCAL_MOL_A2, equilibration_ps=1.0, window_ps=2.0,
                                 sample_interval_steps=20).with_groups(deca)  # fmt: skip
    w = distance_window(mm.XmlSerializer.serialize(deca.md_system()), xyz[0].tolist(), 18.0, p.to_dict(), 7)
    d = np.array(w["distance_angstrom"])
    assert len(d) == 50 and np.all(np.isfinite(d))
    assert abs(d.mean() - 18.0) < 1.0 and d.std() < 4 * np.sqrt(0.596 / STIFF_K_KCAL_MOL_A2)


def test_umbrella_along_distance_writes_its_folder(deca, small_pull, tmp_path, caplog):
    p = DistanceUmbrellaProtocol(
        lo_angstrom=15.0, hi_angstrom=17.0, k_kcal_mol_a2=5.0, spacing_angstrom=0.5,
        equilibration_ps=0.5, window_ps=4.0, sample_interval_steps=10, bins=12, n_bootstrap=3,
    )  # fmt: skip
    meta = umbrella_along_distance(deca, small_pull, tmp_path, p, n_workers=2, progress=False)
    assert [w["centre_angstrom"] for w in meta["windows"]] == [15.0, 15.5, 16.0, 16.5, 17.0]
    means = [w["mean_angstrom"] for w in meta["windows"]]
    assert means == sorted(means)  # each window samples around its own centre
    assert all(w["statistical_inefficiency"] >= 1.0 for w in meta["windows"])
    assert all(w["uncorrelated_samples"] <= w["samples"] == 200 for w in meta["windows"])
    rows = list(csv.reader((tmp_path / "pmf.csv").open()))
    assert rows[0] == ["distance_angstrom", "pmf_kcal_mol", "pmf_err_kcal_mol"] and len(rows) >= 2
    # every bin keeps 20 uncorrelated samples (4 ps windows decorrelate to a few samples each)
    assert len(rows) - 1 <= max(sum(w["uncorrelated_samples"] for w in meta["windows"]) // 20, 1)
    assert min(float(r[1]) for r in rows[1:]) == 0.0
    overlap = np.loadtxt(tmp_path / "overlap.csv", delimiter=",", skiprows=1)[:, 1:]
    np.testing.assert_allclose(overlap.sum(axis=1), 1.0, atol=1e-6)  # rows of a transition matrix
    saved = json.loads((tmp_path / "umbrella.json").read_text())
    # 4 ps windows decorrelate to too few samples for two halves: the check says so (None), it
    # does not invent a number (the halves themselves: tests/test_mbar.py)
    assert "openmm" in saved["versions"] and saved["convergence"]["max_abs_diff_kcal_mol"] is None
    assert isinstance(saved["warnings"], list)
    for name in ("overlap.png", "pmf.png", "windows.json"):
        assert (tmp_path / name).stat().st_size > 500
    # a finished run of the same protocol is reused as it is, also when written before a setting
    # existed (its default filled in); another protocol runs again
    (tmp_path / "pmf.png").unlink()
    earlier = {**saved, "protocol": {k: v for k, v in saved["protocol"].items() if k != "discard_transient"}}
    (tmp_path / "umbrella.json").write_text(json.dumps(earlier))
    assert umbrella_along_distance(deca, small_pull, tmp_path, p, n_workers=2, progress=False) == earlier
    assert not (tmp_path / "pmf.png").exists()  # nothing was redone
    # only an analysis setting changed: the saved samples are analysed again, no window runs
    before = json.loads((tmp_path / "windows.json").read_text())
    with caplog.at_level(logging.INFO, logger="openmm_bridge.umbrella_distance"):
        cut = umbrella_along_distance(
            deca, small_pull, tmp_path, p.replace(discard_transient=True), n_workers=2, progress=False
        )
    assert "re-analysed (discard_transient changed)" in caplog.text
    after = json.loads((tmp_path / "windows.json").read_text())
    assert after["samples"] == before["samples"]
    assert [w["wall_s"] for w in after["windows"]] == [w["wall_s"] for w in before["windows"]]
    assert cut["protocol"]["discard_transient"] is True and (tmp_path / "pmf.png").exists()
    assert all(0 <= w["transient_samples"] <= w["samples"] // 2 for w in cut["windows"])
    other = p.replace(window_ps=2.0)
    again = umbrella_along_distance(deca, small_pull, tmp_path, other, n_workers=2, progress=False)
    assert again["protocol"]["window_ps"] == 2.0 and (tmp_path / "pmf.png").exists()
