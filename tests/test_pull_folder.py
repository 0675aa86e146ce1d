"""The pull folder: replica seeds, the manifest and start structure, re-runs, finished replicas."""

from __future__ import annotations

import json
import re
import shutil

import mdtraj as md
import numpy as np
import openmm.app as app
import openmm.unit as u
import pytest

from openmm_bridge.errors import PathganDataError, PathganInputError
from openmm_bridge.protocol import PullProtocol
from openmm_bridge.pull_folder import (
    FORMAT,
    MANIFEST,
    START_PDB,
    SUMMARY,
    finished_replicas,
    partial_dir,
    prepare_pull,
    read_manifest,
    read_protocol,
    replica_dir,
    replica_seed,
)
from openmm_bridge.trajio import mdtraj_topology

#: A short pull that passes every check (its length does not matter here: nothing is run).
PROTOCOL = PullProtocol(c0_angstrom=14.0, c1_angstrom=24.0, length_ps=20.0, checkpoint_interval_steps=2000)


def _start_pdb_angstrom(folder) -> np.ndarray:
    return app.PDBFile(str(folder / START_PDB)).getPositions(asNumpy=True).value_in_unit(u.angstrom)


# ---------------------------------------------------------------- seeds
def test_replica_seeds_are_deterministic_nonzero_and_distinct():
    seeds = [replica_seed(2024, i) for i in range(2000)]
    assert seeds == [replica_seed(2024, i) for i in range(2000)]
    assert len(set(seeds)) == len(seeds)
    assert all(isinstance(s, int) and 0 < s < 2**31 for s in seeds)  # 0 means "random" to OpenMM
    others = [replica_seed(2025, i) for i in range(2000)]
    assert len(set(seeds) & set(others)) < 5  # another base seed: other streams
    assert replica_seed(0, 0) != 0 and replica_seed(0, 0) != replica_seed(0, 1)


# ---------------------------------------------------------------- prepare_pull
def test_prepare_pull_writes_manifest_and_start(deca, deca_dir, tmp_path):
    out = tmp_path / "smd"
    manifest = prepare_pull(deca_dir, out, 3, PROTOCOL, base_seed=11)
    assert json.loads((out / MANIFEST).read_text()) == manifest == read_manifest(out)
    assert manifest["format"] == FORMAT and manifest["n_replicas"] == 3 and manifest["base_seed"] == 11
    assert manifest["seeds"] == [replica_seed(11, i) for i in range(3)]
    assert manifest["system"] == str(deca_dir.resolve()) and "start" not in manifest
    assert manifest["units"] == {"distance": "angstrom", "energy": "kcal/mol", "time": "ps"}
    i, j = deca.end_to_end_atoms()
    assert manifest["protocol"]["group_a"] == [i] and manifest["protocol"]["group_b"] == [j]
    assert manifest["protocol"]["c0_angstrom"] == 14.0
    np.testing.assert_allclose(_start_pdb_angstrom(out), deca.positions_angstrom(), atol=1e-3)
    assert not list(out.glob(".*.tmp"))  # atomic writes leave nothing behind


def test_read_protocol_round_trip(deca, deca_dir, tmp_path):
    out = tmp_path / "smd"
    prepare_pull(deca_dir, out, 1, PROTOCOL)
    proto = read_protocol(out)
    assert isinstance(proto, PullProtocol) and proto == PROTOCOL.with_groups(deca)
    assert proto.n_steps == PROTOCOL.n_steps


def test_rerun_with_more_replicas_extends_the_seeds(deca_dir, tmp_path):
    out = tmp_path / "smd"
    first = prepare_pull(deca_dir, out, 2, PROTOCOL, base_seed=5)
    more = prepare_pull(deca_dir, out, 4, PROTOCOL, base_seed=5)
    assert more["n_replicas"] == 4 and more["seeds"][:2] == first["seeds"] and len(set(more["seeds"])) == 4
    fewer = prepare_pull(deca_dir, out, 1, PROTOCOL, base_seed=5)  # asking for fewer forgets none
    assert fewer["n_replicas"] == 4 and fewer["seeds"] == more["seeds"]
    assert read_manifest(out)["seeds"] == more["seeds"]


def test_given_groups_equal_to_the_defaults_are_the_same_pull(deca, deca_dir, tmp_path):
    out = tmp_path / "smd"
    prepare_pull(deca_dir, out, 1, PROTOCOL)
    i, j = deca.end_to_end_atoms()
    again = PullProtocol(**{**PROTOCOL.to_dict(), "group_a": [i], "group_b": [j]})
    assert prepare_pull(deca_dir, out, 1, again)["n_replicas"] == 1


def test_another_protocol_or_seed_is_refused_naming_the_difference(deca_dir, tmp_path):
    out = tmp_path / "smd"
    prepare_pull(deca_dir, out, 2, PROTOCOL, base_seed=5)
    before = (out / MANIFEST).read_text()
    with pytest.raises(PathganInputError, match="holds a pull with another protocol") as err:
        prepare_pull(deca_dir, out, 2, PROTOCOL.replace(k_kcal_mol_a2=2.0), base_seed=5)
    assert "'k_kcal_mol_a2': (1.0, 2.0)" in str(err.value) and "choose another --out" in str(err.value)
    assert "c0_angstrom" not in str(err.value)  # only what differs
    with pytest.raises(PathganInputError, match=re.escape("another base_seed ({'base_seed': (5, 6)})")):
        prepare_pull(deca_dir, out, 2, PROTOCOL, base_seed=6)
    with pytest.raises(PathganInputError, match="another base_seed, protocol"):
        prepare_pull(deca_dir, out, 2, PROTOCOL.replace(length_ps=40.0), base_seed=6)
    assert (out / MANIFEST).read_text() == before  # a refused re-run changes nothing


def test_a_start_structure_replaces_the_positions(deca, deca_dir, deca_frames, tmp_path):
    traj = tmp_path / "frames.dcd"
    md.Trajectory(deca_frames / 10, mdtraj_topology(deca)).save_dcd(str(traj))
    out = tmp_path / "smd"
    manifest = prepare_pull(deca_dir, out, 1, PROTOCOL, start=traj, start_frame=20)
    assert manifest["start"] == f"{traj.resolve()}[20]"
    np.testing.assert_allclose(_start_pdb_angstrom(out), deca_frames[20], atol=2e-3)
    assert np.abs(deca_frames[20] - deca.positions_angstrom()).max() > 0.1  # it is another structure
    with pytest.raises(PathganInputError, match="another start"):
        prepare_pull(deca_dir, out, 1, PROTOCOL, start=traj, start_frame=3)
    with pytest.raises(PathganInputError, match="another start"):
        prepare_pull(deca_dir, out, 1, PROTOCOL)  # no start now, one before
    plain = tmp_path / "plain"
    prepare_pull(deca_dir, plain, 1, PROTOCOL)
    with pytest.raises(PathganInputError, match="another start"):
        prepare_pull(deca_dir, plain, 1, PROTOCOL, start=traj)


def test_bad_requests(deca_dir, tmp_path):
    with pytest.raises(PathganInputError, match="the number of replicas must be positive, got 0"):
        prepare_pull(deca_dir, tmp_path / "a", 0, PROTOCOL)
    with pytest.raises(PathganInputError, match="trajectory not found"):
        prepare_pull(deca_dir, tmp_path / "b", 1, PROTOCOL, start=tmp_path / "missing.dcd")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


# ---------------------------------------------------------------- reading
def test_read_manifest_errors(tmp_path):
    with pytest.raises(PathganInputError, match=f"not a pull folder \\(no {MANIFEST}\\)"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text('{"format": "pathgan-smd-1", "seeds": [1, 2')  # truncated
    with pytest.raises(PathganDataError, match="unreadable manifest"):
        read_manifest(tmp_path)
    with pytest.raises(PathganDataError, match="unreadable manifest"):
        read_protocol(tmp_path)


def test_finished_replicas_ignores_partial_folders(tmp_path):
    for index in (0, 2, 10):
        replica_dir(tmp_path, index).mkdir()
        (replica_dir(tmp_path, index) / SUMMARY).write_text("{}")
    replica_dir(tmp_path, 1).mkdir()  # renamed into place but no summary: not finished
    partial_dir(tmp_path, 3).mkdir()
    (partial_dir(tmp_path, 3) / SUMMARY).write_text("{}")  # in progress, even with a summary
    (tmp_path / "replica_4").mkdir()  # not a replica's name
    (tmp_path / "replica_4" / SUMMARY).write_text("{}")
    assert partial_dir(tmp_path, 3).name == ".replica_003.partial"
    assert finished_replicas(tmp_path) == [replica_dir(tmp_path, i) for i in (0, 2, 10)]
    assert finished_replicas(tmp_path / "nowhere") == []


def test_a_start_frame_out_of_range_is_named(deca, deca_dir, tmp_path):
    import mdtraj as md

    from openmm_bridge.pull_folder import prepare_pull
    from openmm_bridge.trajio import mdtraj_topology

    one = tmp_path / "one.dcd"
    md.Trajectory(deca.positions_angstrom()[None] / 10, mdtraj_topology(deca)).save_dcd(str(one))
    with pytest.raises(PathganInputError, match=r"one.dcd: no frame 5 \(it has 1, counted from 0\)"):
        prepare_pull(deca_dir, tmp_path / "p", 1, PullProtocol(), start=one, start_frame=5)


# ---------------------------------------------------------------- equilibration_ps and old folders
def _as_before_equilibration_ps(out) -> None:
    """Make ``out``'s smd.json look written before equilibration_ps existed (no such key)."""
    manifest = json.loads((out / MANIFEST).read_text())
    del manifest["protocol"]["equilibration_ps"]
    (out / MANIFEST).write_text(json.dumps(manifest))


def test_an_old_folder_reads_as_equilibration_ps_0_and_refuses_another(deca_dir, tmp_path):
    out = tmp_path / "smd"
    old = PROTOCOL.replace(equilibration_ps=0.0)
    prepare_pull(deca_dir, out, 2, old, base_seed=5)
    _as_before_equilibration_ps(out)
    assert read_protocol(out).equilibration_ps == 0.0  # not the default
    before = (out / MANIFEST).read_text()
    with pytest.raises(PathganInputError, match="another protocol") as err:
        prepare_pull(deca_dir, out, 2, PROTOCOL, base_seed=5)  # the default: 500 ps
    assert "'equilibration_ps': (0.0, 500.0)" in str(err.value)
    assert "predates equilibration_ps" in str(err.value) and "choose another --out" in str(err.value)
    assert (out / MANIFEST).read_text() == before
    # the old protocol asked for explicitly is the same pull
    assert prepare_pull(deca_dir, out, 2, old, base_seed=5)["protocol"]["equilibration_ps"] == 0.0


def test_a_new_folder_of_another_equilibration_is_refused_without_the_old_folder_hint(deca_dir, tmp_path):
    out = tmp_path / "smd"
    prepare_pull(deca_dir, out, 2, PROTOCOL.replace(equilibration_ps=10.0), base_seed=5)
    with pytest.raises(PathganInputError, match=re.escape("'equilibration_ps': (10.0, 0.0)")) as err:
        prepare_pull(deca_dir, out, 2, PROTOCOL.replace(equilibration_ps=0.0), base_seed=5)
    assert "predates" not in str(err.value)


def test_a_rerun_keeps_the_equilibration_record(deca_dir, tmp_path):
    out = tmp_path / "smd"
    prepare_pull(deca_dir, out, 2, PROTOCOL, base_seed=5)
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "equilibration": {"start_frames": [7, 3]}}))
    assert prepare_pull(deca_dir, out, 3, PROTOCOL, base_seed=5)["equilibration"] == {"start_frames": [7, 3]}


def test_a_moved_system_folder_is_the_same_pull_and_another_system_is_refused(deca_dir, tmp_path):
    out = tmp_path / "smd"
    prepare_pull(deca_dir, out, 1, PROTOCOL)
    moved = tmp_path / "elsewhere" / "system"
    shutil.copytree(deca_dir, moved)
    manifest = prepare_pull(moved, out, 1, PROTOCOL)  # the project moved: same content, same pull
    assert manifest["system"] == str(moved.resolve())
    assert read_manifest(out)["system"] == str(moved.resolve())  # later stages load it from there
    structure = moved / "structure.pdb"
    structure.write_text(structure.read_text().replace("END", "REMARK another structure\nEND", 1))
    with pytest.raises(PathganInputError, match="another system"):
        prepare_pull(moved, out, 1, PROTOCOL)
