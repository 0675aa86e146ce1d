"""Comparing a path with reference trajectories: a reference against itself, and each metric."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openmm_bridge.trajio import mdtraj_topology
from pathgan.compare import (
    bond_rms_deviation,
    closest_contact,
    compare_path,
    heavy_atoms,
    nonbonded_pairs,
    write_comparison,
)
from pathgan.data import ReferenceSet


@pytest.fixture(scope="module")
def replica0(small_pull, deca) -> ReferenceSet:
    return ReferenceSet.from_smd(small_pull, deca, stride=10).subset([0])


def test_reference_against_itself(replica0, deca, tmp_path):
    xyz = replica0.frames[0]
    t = replica0.labels(0)
    result = compare_path(t, xyz, replica0, deca)
    rmsd = result["arrays"]["rmsd"]
    assert rmsd.shape == (len(t), len(t))
    np.testing.assert_allclose(np.diag(rmsd), 0.0, atol=1e-6)
    s = result["summary"]
    assert s["spearman_best_match_vs_t"] == pytest.approx(1.0)
    assert s["median_rmsd_same_t_angstrom"] == pytest.approx(0.0, abs=1e-6)
    assert s["median_rmsd_same_t_mean_angstrom"] == pytest.approx(0.0, abs=1e-6)  # one replica: mean = min
    assert s["max_end_to_end_deviation_angstrom"] == pytest.approx(0.0, abs=1e-3)
    assert abs(s["median_energy_excess_kcal_mol"]) < 1e-3
    assert s["t0_rmsd_to_reference_start_angstrom"] == pytest.approx(0.0, abs=1e-6)
    assert s["frames_with_inverted_centres"] == 0 and s["reference_frames_with_inverted_centres"] == 0
    write_comparison(result, tmp_path, {"test": True})
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert all(
        ("angstrom" in k or "kcal_mol" in k or "fraction" in k or k.startswith(("n_", "spearman")))
        or k.endswith("inverted_centres")
        for k in saved["summary"]
    )
    for name in ("rmsd_heatmap.png", "rmsd_curves.png", "profiles.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_shuffled_path_has_low_spearman(replica0, deca):
    xyz = replica0.frames[0][::-1]  # the path run backwards
    result = compare_path(replica0.labels(0), xyz, replica0, deca)
    assert result["summary"]["spearman_best_match_vs_t"] == pytest.approx(-1.0)


def test_inverted_centres_are_counted(replica0, deca):
    xyz = replica0.frames[0][:5].copy()
    xyz[3] *= np.array([-1.0, 1.0, 1.0])  # one mirrored frame: every centre inverted
    result = compare_path(replica0.labels(0)[:5], xyz, replica0, deca)
    assert result["summary"]["frames_with_inverted_centres"] == 1
    assert (
        len(result["per_frame"]["inverted_centres"][3]) == 10
        and result["per_frame"]["inverted_centres"][2] == []
    )


def test_physical_checks(deca):
    x = deca.positions_angstrom()[None]
    assert bond_rms_deviation(x, deca.system)[0] < 0.05  # minimised: bonds near r0
    stretched = x.copy()
    stretched[0, 0] += np.array([0.3, 0.0, 0.0])
    assert bond_rms_deviation(stretched, deca.system)[0] > bond_rms_deviation(x, deca.system)[0]
    top = mdtraj_topology(deca)
    pairs = nonbonded_pairs(top)
    bonded = {frozenset((b.atom1.index, b.atom2.index)) for b in top.bonds}
    assert not any(frozenset(p) in bonded for p in pairs)
    assert closest_contact(x, pairs)[0] > 1.5
    assert len(heavy_atoms(top)) == 55  # 10 Ala x 5 + ACE 3 + NME 2 heavy atoms (57 H)


def test_progress_measure_follows_the_pulled_coordinate(replica0, deca, tmp_path):
    """The reference pulls' coordinate by default (here their CA-CA distance); a torsion when asked."""
    from openmm_bridge.protocol import PullProtocol
    from pathgan.figures import progress_measure

    xyz, t = replica0.frames[0], replica0.labels(0)
    default = compare_path(t, xyz, replica0, deca)
    assert default["coordinate"]["label"] == "CA(1)-CA(N) distance"
    np.testing.assert_allclose(
        default["per_frame"]["coordinate"], default["per_frame"]["end_to_end_angstrom"], atol=1e-3
    )
    proto = PullProtocol(
        c0_angstrom=-60.0, c1_angstrom=60.0, coordinate={"kind": "torsion", "torsion": "phi:ALA3"}
    )
    result = compare_path(t, xyz, replica0, deca, pull=proto)
    assert result["coordinate"] == {"label": "torsion phi:ALA3", "unit": "deg", "kind": "torsion"}
    assert result["summary"]["max_coordinate_deviation_deg"] == pytest.approx(0.0, abs=1e-3)
    assert progress_measure(result)[2] == "torsion phi:ALA3 (deg)"
    write_comparison(result, tmp_path, {"test": True})
    assert json.loads((tmp_path / "metrics.json").read_text())["coordinate"]["unit"] == "deg"
