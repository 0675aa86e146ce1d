"""Steered-MD replicas: files, physics of the pull, reproducibility, and a killed run resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import mdtraj as md
import numpy as np
import pytest

from openmm_bridge.equilibration import EQUILIBRATION
from openmm_bridge.errors import PathganInputError
from openmm_bridge.pmf_outputs import read_pull_csv
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import partial_dir, prepare_pull, replica_dir, replica_seed
from openmm_bridge.reporters import AtomicCheckpointReporter
from openmm_bridge.steered_md import run_pull, run_replica
from openmm_bridge.trajio import read_trajectory

PROGRESS = AtomicCheckpointReporter.PROGRESS

#: A short, fast pull: 40 ps, 14 -> 22 A, stiff enough that the distance follows; the old protocol
#: (no equilibration: every replica starts from the minimised structure).
PROTOCOL = PullProtocol(
    c0_angstrom=14.0,
    c1_angstrom=22.0,
    k_kcal_mol_a2=5.0,
    length_ps=40.0,
    equilibration_ps=0.0,
    minimize_steps=50,
    frame_interval_steps=50,
    update_interval_steps=10,
    checkpoint_interval_steps=2000,
)
SEED = 7


@pytest.fixture(scope="module")
def pulled(deca_dir, tmp_path_factory) -> tuple[Path, list[dict]]:
    """Two replicas on a local Dask cluster of 2 worker processes."""
    out = tmp_path_factory.mktemp("smd") / "pull"
    results = run_pull(deca_dir, out, 2, PROTOCOL, base_seed=SEED, n_workers=2, progress=False)
    return out, results


def _frames(out: Path, index: int) -> md.Trajectory:
    return read_trajectory(replica_dir(out, index) / "trajectory.dcd", str(out / "start.pdb"))


def test_two_replicas_write_frames_and_work(pulled):
    out, results = pulled
    manifest = json.loads((out / "smd.json").read_text())
    assert manifest["seeds"] == [replica_seed(SEED, 0), replica_seed(SEED, 1)]
    assert len(set(manifest["seeds"])) == 2 and manifest["protocol"]["group_a"] == [8]
    assert [r["index"] for r in results] == [0, 1]
    for i in (0, 1):
        table = read_pull_csv(replica_dir(out, i) / "pull.csv")
        assert len(table["step"]) == PROTOCOL.n_frames == 401
        np.testing.assert_array_equal(table["step"], np.arange(0, 20001, 50))
        traj = _frames(out, i)
        assert traj.n_frames == 401
        # The CSV distance is the CA-CA distance of the DCD frame written at the same step.
        pair = [manifest["protocol"]["group_a"][0], manifest["protocol"]["group_b"][0]]
        d_dcd = 10 * md.compute_distances(traj, [pair])[:, 0]
        np.testing.assert_allclose(d_dcd, table["distance_angstrom"], atol=2e-3)
        assert results[i]["final_work_kcal_mol"] == pytest.approx(table["work_kcal_mol"][-1], abs=1e-6)
    assert not list(out.glob(".replica_*"))


def test_distance_follows_the_moving_centre(pulled):
    out, _ = pulled
    for i in (0, 1):
        t = read_pull_csv(replica_dir(out, i) / "pull.csv")
        c, d = t["centre_angstrom"], t["distance_angstrom"]
        np.testing.assert_allclose(c, 14.0 + 8.0 * t["step"] / 20000, atol=1e-5)
        assert np.corrcoef(c, d)[0, 1] > 0.95
        assert abs(d[-20:].mean() - 22.0) < 2.5  # stiff spring: within a few kT/k of the centre
        assert d[-1] - d[0] > 5.0


def test_work_recomputed_from_saved_distances_and_centres(pulled):
    out, _ = pulled
    for i in (0, 1):
        t = read_pull_csv(replica_dir(out, i) / "pull.csv")
        c, d, w = t["centre_angstrom"], t["distance_angstrom"], t["work_kcal_mol"]
        # W = integral of dU/dc dc = integral of k (c - d) dc, trapezoid over the saved frames
        dudc = PROTOCOL.k_kcal_mol_a2 * (c - d)
        rebuilt = np.concatenate([[0.0], np.cumsum(0.5 * (dudc[1:] + dudc[:-1]) * np.diff(c))])
        assert np.max(np.abs(rebuilt - w)) < 0.02 * np.abs(w).max() + 0.2
        assert abs(w[-1]) > 5.0  # a real amount of work was done


def test_same_seed_reproduces_the_trajectory_in_process(pulled, deca_dir, tmp_path):
    """Replica 0 again, in this process (no Dask), with its recorded seed: the same frames."""
    out, _ = pulled
    manifest = json.loads((out / "smd.json").read_text())
    again = tmp_path / "again"
    run_replica(str(deca_dir), manifest["protocol"], manifest["seeds"][0], str(again), 0)
    np.testing.assert_array_equal(
        read_trajectory(replica_dir(again, 0) / "trajectory.dcd", str(out / "start.pdb")).xyz,
        _frames(out, 0).xyz,
    )
    assert (replica_dir(again, 0) / "pull.csv").read_text() == (replica_dir(out, 0) / "pull.csv").read_text()


def test_killed_run_resumes_without_losing_or_duplicating(pulled, deca_dir, tmp_path):
    out_ref, _ = pulled
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "pathgan.cli", "smd", "--system", str(deca_dir), "--out", str(out)]
    cmd += ["--replicas", "2", "--seed", str(SEED), "--workers", "2", "--quiet"]
    cmd += ["--length-ps", "40", "--c0", "14", "--c1", "22", "--k", "5", "--minimize-steps", "50"]
    cmd += ["--checkpoint-interval", "2000", "--equilibration-ps", "0"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    killed_at = None
    while time.time() < deadline and proc.poll() is None:
        steps = []
        for i in (0, 1):
            try:
                steps.append(json.loads((partial_dir(out, i) / PROGRESS).read_text())["step"])
            except (OSError, ValueError):
                pass
        if steps and max(steps) >= 6000:
            os.killpg(proc.pid, signal.SIGKILL)  # the CLI, the scheduler and the worker processes
            killed_at = steps
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert killed_at is not None, (
        f"the run finished or failed before it could be killed: {proc.stderr.read()}"
    )
    assert len(list(out.glob("replica_*"))) < 2  # killed part-way
    # Run again: it resumes and completes.
    results = run_pull(deca_dir, out, 2, PROTOCOL, base_seed=SEED, n_workers=2, progress=False)
    assert sorted(r["index"] for r in results) == [0, 1]
    assert any(r["resumed_from_step"] > 0 for r in results)
    assert not list(out.glob(".replica_*")) and len(list(out.glob("replica_*"))) == 2
    for i in (0, 1):
        t = read_pull_csv(replica_dir(out, i) / "pull.csv")
        np.testing.assert_array_equal(t["step"], np.arange(0, 20001, 50))  # none lost, none twice
        # Resumed from an OpenMM checkpoint: the very same trajectory as the uninterrupted run.
        np.testing.assert_array_equal(_frames(out, i).xyz, _frames(out_ref, i).xyz)
        assert (replica_dir(out, i) / "pull.csv").read_text() == (
            replica_dir(out_ref, i) / "pull.csv"
        ).read_text()


def test_rerun_keeps_finished_replicas_and_rejects_another_protocol(pulled, deca_dir):
    out, results = pulled
    stamp = (replica_dir(out, 0) / "trajectory.dcd").stat().st_mtime_ns
    assert run_replica(str(deca_dir), PROTOCOL.to_dict(), 0, str(out), 0) == results[0]
    assert (replica_dir(out, 0) / "trajectory.dcd").stat().st_mtime_ns == stamp
    other = PullProtocol(**{**PROTOCOL.to_dict(), "k_kcal_mol_a2": 2.0})
    with pytest.raises(PathganInputError, match=r"another protocol.*k_kcal_mol_a2.*\(5\.0, 2\.0\)"):
        prepare_pull(deca_dir, out, 2, other, base_seed=SEED)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"c1_angstrom": 14.0}, "c0 = c1 = 14.0"),
        ({"length_ps": 0.0}, "length_ps: must be positive"),
        ({"platform": "Nope"}, "unknown OpenMM platform 'Nope'; available"),
        ({"group_a": [500]}, r"atom indices \[500\].*out of range.*112 atoms"),
        ({"frame_interval_steps": 55}, "not a multiple"),
    ],
)
def test_bad_protocols_raise_clear_errors(deca_dir, tmp_path, change, message):
    bad = PullProtocol(**{**PROTOCOL.to_dict(), **change})
    with pytest.raises(PathganInputError, match=message):
        prepare_pull(deca_dir, tmp_path / "bad", 1, bad)


# ---------------------------------------------------------------- equilibrium starts
#: 3 replicas of a 2 ps pull started from a 6 ps equilibration at c0.
EQUILIBRATED = PROTOCOL.replace(length_ps=2.0, equilibration_ps=6.0, checkpoint_interval_steps=500)


def test_old_protocol_starts_every_replica_from_the_minimised_structure(pulled):
    out, results = pulled
    first = [_frames(out, i).xyz[0] for i in (0, 1)]
    np.testing.assert_array_equal(first[0], first[1])  # the same minimised structure
    manifest = json.loads((out / "smd.json").read_text())
    assert manifest["protocol"]["equilibration_ps"] == 0.0 and "equilibration" not in manifest
    assert not (out / EQUILIBRATION).exists()
    assert all("start_frame" not in r for r in results)  # the old summary.json, as it was


@pytest.fixture(scope="module")
def equilibrated(deca_dir, tmp_path_factory) -> tuple[Path, list[dict]]:
    """Three replicas from one equilibration, on a local Dask cluster of 2 workers."""
    out = tmp_path_factory.mktemp("smd_eq") / "pull"
    results = run_pull(deca_dir, out, 3, EQUILIBRATED, base_seed=SEED, n_workers=2, progress=False)
    return out, results


def test_replicas_start_from_distinct_frames_of_the_equilibration(equilibrated):
    out, results = equilibrated
    record = json.loads((out / "smd.json").read_text())["equilibration"]
    eq_traj = read_trajectory(out / EQUILIBRATION / "trajectory.dcd", str(out / "start.pdb"))
    eq_table = read_pull_csv(out / EQUILIBRATION / "equilibration.csv")
    frames = record["start_frames"]
    assert len(set(frames)) == 3
    for i, r in enumerate(results):
        assert r["start_frame"] == frames[i]
        np.testing.assert_allclose(_frames(out, i).xyz[0], eq_traj.xyz[frames[i]], atol=1e-6)
        row = list(eq_table["step"]).index(frames[i] * EQUILIBRATED.frame_interval_steps)
        d0 = read_pull_csv(replica_dir(out, i) / "pull.csv")["distance_angstrom"][0]
        assert d0 == pytest.approx(eq_table["distance_angstrom"][row], abs=1e-5)
    starts = [_frames(out, i).xyz[0] for i in range(3)]
    assert min(np.abs(a - b).max() for a, b in [(starts[0], starts[1]), (starts[1], starts[2])]) > 0.01  # nm


def test_smd_json_records_the_equilibration_and_spacing_at_least_tau(equilibrated):
    out, _ = equilibrated
    manifest = json.loads((out / "smd.json").read_text())
    record = manifest["equilibration"]
    assert manifest["protocol"]["equilibration_ps"] == record["length_ps"] == 6.0
    assert record["tau_ps"] == max(record["tau_coordinate_ps"], record["tau_energy_ps"]) > 0
    assert record["decorrelated"] and record["warning"] is None
    assert record["spacing_ps"] >= record["tau_ps"]
    assert record["min_spacing_ps"] >= record["tau_ps"]
    assert np.diff(sorted(record["start_frames"])).min() * record["frame_interval_ps"] >= record["tau_ps"]
    assert record["files"]["trajectory"] == "equilibration/trajectory.dcd"


def test_resume_reuses_the_equilibration_and_the_replicas(equilibrated, deca_dir):
    out, results = equilibrated
    files = [out / EQUILIBRATION / "states.npz", out / EQUILIBRATION / "trajectory.dcd"]
    files += [replica_dir(out, i) / "trajectory.dcd" for i in range(3)]
    stamps = [f.stat().st_mtime_ns for f in files]
    again = run_pull(deca_dir, out, 3, EQUILIBRATED, base_seed=SEED, n_workers=1, progress=False)
    assert again == results
    assert [f.stat().st_mtime_ns for f in files] == stamps


def test_an_old_protocol_folder_is_refused_naming_equilibration_ps(pulled, deca_dir, tmp_path):
    old = tmp_path / "old"
    prepare_pull(deca_dir, old, 2, PROTOCOL, base_seed=SEED)
    manifest = json.loads((old / "smd.json").read_text())
    del manifest["protocol"]["equilibration_ps"]  # as written before the setting existed
    (old / "smd.json").write_text(json.dumps(manifest))
    with pytest.raises(
        PathganInputError, match=r"another protocol.*'equilibration_ps': \(0\.0, 6\.0\).*predates"
    ):
        run_pull(deca_dir, old, 2, EQUILIBRATED.replace(length_ps=40.0), base_seed=SEED, n_workers=1)
    assert not (old / EQUILIBRATION).exists()
    # the old protocol asked for explicitly (equilibration_ps 0) is the same pull: it continues
    assert prepare_pull(deca_dir, old, 2, PROTOCOL, base_seed=SEED)["protocol"]["equilibration_ps"] == 0.0


def test_an_equilibration_too_short_for_the_replicas_is_said(deca_dir, tmp_path):
    short = PROTOCOL.replace(length_ps=0.1, equilibration_ps=0.4, checkpoint_interval_steps=50)
    out = tmp_path / "short"
    with pytest.warns(
        UserWarning, match=r"equilibration_ps = 0.4 is too short for 8 replicas.*reuse a frame"
    ):
        results = run_pull(deca_dir, out, 8, short, base_seed=SEED, n_workers=2, progress=False)
    record = json.loads((out / "smd.json").read_text())["equilibration"]
    assert not record["decorrelated"] and "too short" in record["warning"]
    assert len(set(record["start_frames"])) < 8 and record["needed_ps"] > 0.4
    assert [r["start_frame"] for r in results] == record["start_frames"]
