"""Equilibrium starts: pymbar's decorrelation on series of known correlation, the choice of start
frames, and a real equilibration of deca-alanine under the restraint at c0 (files, record, reuse)."""

from __future__ import annotations

import csv
import json

import mdtraj as md
import numpy as np
import pytest
from conftest import ar1_series

from openmm_bridge.equilibration import (
    EQUILIBRATION,
    RECORD,
    STATES,
    TABLE,
    decorrelation,
    ensure_equilibration,
    equilibration_seed,
    select_starts,
    start_state,
)
from openmm_bridge.errors import PathganDataError
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import MANIFEST, prepare_pull, read_manifest, replica_seed
from openmm_bridge.trajio import read_trajectory

#: A 6 ps equilibration at c0 = 14 A with a stiff spring; frames every 0.1 ps, samples every 0.02 ps.
PROTOCOL = PullProtocol(
    c0_angstrom=14.0,
    c1_angstrom=20.0,
    k_kcal_mol_a2=5.0,
    length_ps=2.0,
    equilibration_ps=6.0,
    minimize_steps=50,
    frame_interval_steps=50,
    update_interval_steps=10,
    checkpoint_interval_steps=500,
)


# ---------------------------------------------------------------- decorrelation
def test_decorrelation_recovers_the_known_inefficiency_of_ar1_series():
    slow, fast = ar1_series(0.9, 40_000, 1), ar1_series(0.5, 40_000, 2)
    d = decorrelation(slow, fast, sample_interval_ps=0.02)
    assert d["g_coordinate"] == pytest.approx((1 + 0.9) / (1 - 0.9), rel=0.2)  # 19 samples
    assert d["g_energy"] == pytest.approx((1 + 0.5) / (1 - 0.5), rel=0.2)  # 3 samples
    assert d["tau_coordinate_ps"] == pytest.approx(0.02 * d["g_coordinate"])
    assert d["tau_ps"] == max(d["tau_coordinate_ps"], d["tau_energy_ps"]) == d["tau_coordinate_ps"]
    swapped = decorrelation(fast, slow, sample_interval_ps=0.02)
    assert swapped["tau_ps"] == pytest.approx(0.02 * swapped["g_energy"])  # the slower of the two sets tau


def test_decorrelation_discards_a_transient():
    x = ar1_series(0.5, 4000, 3)
    transient = x + 30.0 * np.exp(-np.arange(4000) / 100.0)  # relaxes over a few hundred samples
    d = decorrelation(transient, x, sample_interval_ps=0.02)
    assert 100 <= d["t0_samples"] <= 1500
    assert decorrelation(x, x, 0.02)["t0_samples"] < 100  # none to discard in a stationary series


def test_decorrelation_of_a_series_too_short_or_constant_is_its_whole_length():
    d = decorrelation(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.5, 2.0]), sample_interval_ps=0.1)
    assert d["t0_samples"] == 0 and d["g_coordinate"] == 3 and d["tau_ps"] == pytest.approx(0.3)


# ---------------------------------------------------------------- choice of start frames
def test_select_starts_spreads_the_starts_at_least_the_spacing_apart():
    # room for 4 starts 20 frames apart in [10, 100]: spread as far as the run allows (30 apart)
    frames, enough = select_starts(n_frames=101, first=10, spacing=20, n_replicas=4)
    assert enough and frames == [100, 70, 40, 10]
    frames, enough = select_starts(n_frames=101, first=10, spacing=20, n_replicas=5)
    assert enough and frames == [100, 78, 56, 34, 12]  # 22 apart: the whole room, whole frames
    frames, enough = select_starts(n_frames=91, first=10, spacing=20, n_replicas=5)
    assert enough and frames == [90, 70, 50, 30, 10]  # at the spacing itself
    frames, enough = select_starts(n_frames=101, first=10, spacing=40, n_replicas=3)
    assert enough and frames == [100, 55, 10]
    assert select_starts(101, 10, 20, 1) == ([100], True)  # one replica: the last frame


def test_select_starts_too_short_spreads_then_reuses():
    frames, enough = select_starts(n_frames=101, first=10, spacing=20, n_replicas=8)
    assert not enough and len(set(frames)) == 8 and min(frames) >= 10 and max(frames) == 100
    assert min(np.diff(sorted(frames))) < 20  # closer than the spacing: said by the caller
    frames, enough = select_starts(n_frames=11, first=5, spacing=3, n_replicas=9)
    assert not enough and sorted(set(frames)) == [5, 6, 7, 8, 9, 10] and len(frames) == 9


# ---------------------------------------------------------------- a real equilibration
@pytest.fixture(scope="module")
def equilibrated(deca_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("eq") / "pull"
    prepare_pull(deca_dir, out, 3, PROTOCOL, base_seed=5)
    record = ensure_equilibration(deca_dir, out)
    return out, record


def test_equilibration_files_and_record(equilibrated, deca):
    out, record = equilibrated
    folder = out / EQUILIBRATION
    n_frames = PROTOCOL.equilibration_steps // PROTOCOL.frame_interval_steps + 1
    with open(folder / TABLE) as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["step", "time_ps", "distance_angstrom", "potential_energy_kcal_mol"]
    assert [int(r["step"]) for r in rows] == list(range(0, PROTOCOL.equilibration_steps + 1, 10))
    traj = read_trajectory(folder / "trajectory.dcd", str(out / "start.pdb"))
    assert traj.n_frames == n_frames == record["n_frames"]
    # the table's distance is the CA-CA distance of the DCD frame of the same step
    pair = [[PROTOCOL.with_groups(deca).group_a[0], PROTOCOL.with_groups(deca).group_b[0]]]
    d_table = np.array([float(r["distance_angstrom"]) for r in rows[:: PROTOCOL.frame_interval_steps // 10]])
    np.testing.assert_allclose(10 * md.compute_distances(traj, pair)[:, 0], d_table, atol=2e-3)
    with np.load(folder / STATES) as states:
        assert states["positions_nm"].shape == states["velocities_nm_ps"].shape == (n_frames, deca.n_atoms, 3)
        np.testing.assert_allclose(
            states["positions_nm"], traj.xyz, atol=1e-5
        )  # float64 beside the DCD's float32
        v = states["velocities_nm_ps"][1:]
        assert np.all(np.abs(v).mean(axis=(1, 2)) > 0.1)  # thermal velocities, nm/ps
    manifest = read_manifest(out)
    assert manifest["equilibration"] == record
    assert record["length_ps"] == 6.0 and record["seed"] == equilibration_seed(5)
    assert record["seed"] not in [replica_seed(5, i) for i in range(3)]
    assert record["tau_ps"] > 0 and record["spacing_ps"] >= record["tau_ps"]
    assert record["spacing_ps"] == pytest.approx(record["spacing_frames"] * 0.1)
    assert record["coordinate"] == "CA(1)-CA(N) distance" and record["coordinate_unit"] == "A"
    assert record["pymbar"].startswith("4.")
    # held at c0 = 14 A by a 5 kcal/mol/A^2 spring: the mean within a few kT/k of it
    assert abs(record["mean_coordinate"] - 14.0) < 1.0 and 0.05 < record["sd_coordinate"] < 1.0
    json.loads((folder / RECORD).read_text())  # a whole record
    assert not list(out.glob(f".{EQUILIBRATION}*"))  # nothing partial left


def test_starts_are_distinct_frames_spaced_by_tau(equilibrated):
    out, record = equilibrated
    frames = record["start_frames"]
    assert len(frames) == 3 and len(set(frames)) == 3
    assert record["decorrelated"] and record["warning"] is None
    assert min(frames) >= record["first_usable_frame"]  # after the transient
    assert np.diff(sorted(frames)).min() * record["frame_interval_ps"] >= record["tau_ps"]
    for i, f in enumerate(frames):
        frame, x, v = start_state(out, i)
        assert frame == f
        with np.load(out / EQUILIBRATION / STATES) as states:
            np.testing.assert_array_equal(x, states["positions_nm"][f])
            np.testing.assert_array_equal(v, states["velocities_nm_ps"][f])
    with pytest.raises(PathganDataError, match="no equilibration start recorded for replica 3"):
        start_state(out, 3)


def test_a_finished_equilibration_is_reused_and_more_replicas_extend_the_starts(equilibrated, deca_dir):
    out, record = equilibrated
    stamp = (out / EQUILIBRATION / STATES).stat().st_mtime_ns
    assert ensure_equilibration(deca_dir, out) == record
    assert (out / EQUILIBRATION / STATES).stat().st_mtime_ns == stamp
    more = prepare_pull(deca_dir, out, 40, PROTOCOL, base_seed=5)
    assert more["equilibration"] == record  # prepare_pull keeps the record
    extended = ensure_equilibration(deca_dir, out)
    assert (out / EQUILIBRATION / STATES).stat().st_mtime_ns == stamp
    assert extended["start_frames"][:3] == record["start_frames"]
    # 40 starts spaced by tau do not fit in 6 ps: said, and recorded
    assert not extended["decorrelated"] and "too short for 40 replicas" in extended["warning"]
    assert "raise equilibration_ps" in extended["warning"] and extended["needed_ps"] > 6.0
    assert read_manifest(out)["equilibration"] == extended


def test_a_killed_equilibration_is_redone(deca_dir, tmp_path, equilibrated):
    _, record = equilibrated
    out = tmp_path / "pull"
    prepare_pull(deca_dir, out, 3, PROTOCOL, base_seed=5)
    killed = out / f".{EQUILIBRATION}.abc123.tmp"  # what atomic_directory leaves when killed
    killed.mkdir()
    (killed / "trajectory.dcd").write_bytes(b"half a frame")
    again = ensure_equilibration(deca_dir, out)
    assert again == record  # the same run again (same seed, Reference platform)
    with np.load(out / EQUILIBRATION / STATES) as a, np.load(equilibrated[0] / EQUILIBRATION / STATES) as b:
        np.testing.assert_array_equal(a["velocities_nm_ps"], b["velocities_nm_ps"])


def test_a_recorded_equilibration_of_another_length_is_an_error(deca_dir, tmp_path, equilibrated):
    out = tmp_path / "pull"
    prepare_pull(deca_dir, out, 3, PROTOCOL, base_seed=5)
    ensure_equilibration(deca_dir, out)
    rec = json.loads((out / EQUILIBRATION / RECORD).read_text())
    (out / EQUILIBRATION / RECORD).write_text(json.dumps({**rec, "length_ps": 3.0}))
    with pytest.raises(
        PathganDataError, match=r"an equilibration of 3.0 ps, but the protocol asks for 6.0 ps"
    ):
        ensure_equilibration(deca_dir, out)


def test_no_equilibration_with_equilibration_ps_0(deca_dir, tmp_path):
    out = tmp_path / "pull"
    prepare_pull(deca_dir, out, 2, PROTOCOL.replace(equilibration_ps=0.0))
    assert ensure_equilibration(deca_dir, out) is None
    assert not (out / EQUILIBRATION).exists() and "equilibration" not in json.loads(
        (out / MANIFEST).read_text()
    )
