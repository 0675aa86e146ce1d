"""The pathgan command line, run as a user would (in-process, real files)."""

from __future__ import annotations

import json

import mdtraj as md
import numpy as np
import pytest

from openmm_bridge.trajio import mdtraj_topology
from pathgan.cli import main


def test_build_then_energy_with_openmm_check(deca, deca_frames, tmp_path, capsys):
    out = tmp_path / "deca"
    assert main(["build", "--sequence", "AAAAAAAAAA", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "end-to-end  CA(8)-CA(98) = 14." in text
    assert "(8/10 residues helix)" in text or "(9/10 residues helix)" in text or "(10/10" in text
    assert "stereo      passed: 10/10 stereocentres L; 11/11 peptide bonds trans" in text
    traj = tmp_path / "frames.dcd"
    md.Trajectory(deca_frames / 10, mdtraj_topology(deca)).save_dcd(str(traj))
    csv = tmp_path / "e.csv"
    argv = ["energy", "--system", str(out), "--traj", str(traj), "--check-openmm", "--csv", str(csv)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "NonbondedForce  1-4+lj+electrostatics" in text
    diffs = [
        float(line.split()[-1])
        for line in text.splitlines()
        if line.strip().startswith(("Harmonic", "Periodic", "Nonbonded"))
    ]
    assert len(diffs) == 4 and max(diffs) < 2e-3
    assert csv.read_text().splitlines()[0].startswith("frame,bonds_kcal_mol")
    assert csv.read_text().splitlines()[0].endswith(",inverted_centres")
    assert len(csv.read_text().splitlines()) == 1 + len(deca_frames)
    assert "invert a stereocentre" not in capsys.readouterr().err


def test_energy_flags_frames_that_invert_a_centre(deca, tmp_path, capsys):
    out = tmp_path / "deca"
    assert main(["build", "--out", str(out)]) == 0
    xyz = np.repeat(deca.positions_angstrom()[None], 3, axis=0)
    xyz[1] *= np.array([-1.0, 1.0, 1.0])  # the mirror image: every centre inverted, the same energy
    traj = tmp_path / "frames.dcd"
    md.Trajectory(xyz / 10, mdtraj_topology(deca)).save_dcd(str(traj))
    capsys.readouterr()
    assert main(["energy", "--system", str(out), "--traj", str(traj)]) == 0
    captured = capsys.readouterr()
    rows = [line.split() for line in captured.out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [int(r[-1]) for r in rows] == [0, 10, 0]
    assert float(rows[0][-2]) == pytest.approx(float(rows[1][-2]), abs=1e-3)  # parity cannot tell them apart
    assert "1 of 3 frames invert a stereocentre" in captured.err and "frame 1 (ALA2:CA" in captured.err


def test_errors_exit_2_with_message(tmp_path, capsys):
    assert main(["energy", "--system", str(tmp_path), "--traj", "x.dcd"]) == 2
    assert "not a pathgan system folder" in capsys.readouterr().err
    assert main(["build", "--sequence", "AXA", "--out", str(tmp_path / "o")]) == 2
    assert "non-standard residue letters ['X']" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_build_refuses_implicit_solvent_unless_accepted(tmp_path, capsys):
    argv = [
        "build",
        "--sequence",
        "AA",
        "--no-minimize",
        "--forcefield",
        "amber14-all.xml",
        "implicit/gbn2.xml",
    ]
    assert main([*argv, "--out", str(tmp_path / "gb")]) == 2
    assert "CustomGBForce" in capsys.readouterr().err and not (tmp_path / "gb").exists()
    assert main([*argv, "--out", str(tmp_path / "gb"), "--allow-unrepresented-forces", "--quiet"]) == 0
    meta = json.loads((tmp_path / "gb" / "metadata.json").read_text())
    assert meta["potential"]["accept_unrepresented_forces"] is True
