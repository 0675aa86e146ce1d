"""Trajectory files of a system: formats, atom checks, NaN."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.trajio import frames_angstrom, load_frames, mdtraj_topology


def test_dcd_roundtrip(deca, deca_frames, tmp_path):
    path = tmp_path / "frames.dcd"
    md.Trajectory(deca_frames / 10, mdtraj_topology(deca)).save_dcd(str(path))
    traj = load_frames(path, deca)
    np.testing.assert_allclose(frames_angstrom(traj), deca_frames, atol=1e-3)


def test_other_topology_rejected(deca, deca_frames, tmp_path):
    sub = md.Trajectory(deca_frames / 10, mdtraj_topology(deca)).atom_slice(range(100))
    sub.save_pdb(str(tmp_path / "other.pdb"))
    with pytest.raises(PathganInputError, match="other.pdb: 100 atoms per frame, but the system .* has 112"):
        load_frames(tmp_path / "other.pdb", deca)
    sub.save_dcd(str(tmp_path / "other.dcd"))
    with pytest.raises(PathganInputError, match="other.dcd: cannot be read as a trajectory"):
        load_frames(tmp_path / "other.dcd", deca)


def test_reordered_elements_rejected(deca, deca_frames, tmp_path):
    traj = md.Trajectory(deca_frames[:1] / 10, mdtraj_topology(deca))
    traj.topology.atom(0).element = md.element.oxygen  # a carbon written as an oxygen
    traj.save_pdb(str(tmp_path / "swapped.pdb"))
    with pytest.raises(PathganInputError, match="swapped.pdb: atom 0 .* the topologies do not match"):
        load_frames(tmp_path / "swapped.pdb", deca)


def test_nan_frames_and_missing_file(deca, deca_frames, tmp_path):
    xyz = deca_frames[:3].copy()
    xyz[2, 4] = np.nan
    md.Trajectory(xyz / 10, mdtraj_topology(deca)).save_dcd(str(tmp_path / "nan.dcd"))
    with pytest.raises(PathganInputError, match=r"nan.dcd: NaN or infinite coordinates in frames \[2\]"):
        load_frames(tmp_path / "nan.dcd", deca)
    with pytest.raises(PathganInputError, match="missing.dcd: trajectory not found"):
        load_frames(tmp_path / "missing.dcd", deca)


def test_truncate_dcd_keeps_every_bit_and_refuses_a_short_file(deca, deca_frames, tmp_path):
    import openmm.app as app
    import openmm.unit as u

    from openmm_bridge.errors import PathganDataError
    from openmm_bridge.trajio import read_trajectory, truncate_dcd

    path = tmp_path / "t.dcd"
    with open(path, "wb") as fh:  # written as OpenMM writes a pull's frames: frame 0 is step 0
        dcd = app.DCDFile(fh, deca.topology, 0.002 * u.picosecond, firstStep=0, interval=50)
        for frame in deca_frames[:9]:
            dcd.writeModel(frame * u.angstrom)
    full = read_trajectory(path, mdtraj_topology(deca))
    truncate_dcd(path, 7, deca.topology, 0.002, 50)
    cut = read_trajectory(path, mdtraj_topology(deca))
    np.testing.assert_array_equal(cut.xyz, full.xyz[:7])
    np.testing.assert_allclose(cut.time, full.time[:7])  # the header's steps survive
    with pytest.raises(PathganDataError, match="holds 7 whole frames, fewer than the 9 checkpointed"):
        truncate_dcd(path, 9, deca.topology, 0.002, 50)


def test_dcd_reading_prints_nothing(deca, deca_frames, tmp_path, capfd):
    from openmm_bridge.trajio import read_trajectory

    path = tmp_path / "quiet.dcd"
    md.Trajectory(deca_frames / 10, mdtraj_topology(deca)).save_dcd(str(path))
    capfd.readouterr()
    read_trajectory(path, mdtraj_topology(deca))
    out = capfd.readouterr()
    assert "dcdplugin" not in out.out + out.err


def test_write_trajectory_by_suffix(deca, deca_frames, tmp_path):
    from openmm_bridge.trajio import write_trajectory

    top = mdtraj_topology(deca)
    for suffix in (".dcd", ".pdb", ".xtc"):
        path = write_trajectory(deca_frames[:3], top, tmp_path / f"x{suffix}")
        np.testing.assert_allclose(frames_angstrom(load_frames(path, deca)), deca_frames[:3], atol=2e-2)
    with pytest.raises(PathganInputError, match="cannot write this format"):
        write_trajectory(deca_frames[:3], top, tmp_path / "x.abc")
