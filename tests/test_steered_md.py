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

from openmm_bridge.errors import PathganInputError
from openmm_bridge.pmf_outputs import read_pull_csv
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import partial_dir, prepare_pull, replica_dir, replica_seed
from openmm_bridge.reporters import AtomicCheckpointReporter
from openmm_bridge.steered_md import run_pull, run_replica
from openmm_bridge.trajio import read_trajectory

PROGRESS = AtomicCheckpointReporter.PROGRESS

#: A short, fast pull: 40 ps, 14 -> 22 A, stiff enough that the distance follows.
PROTOCOL = PullProtocol(
    c0_angstrom=14.0,
    c1_angstrom=22.0,
    k_kcal_mol_a2=5.0,
    length_ps=40.0,
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
    cmd += ["--checkpoint-interval", "2000"]
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
