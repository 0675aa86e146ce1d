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


def test_build_refuses_an_uncomputed_solvent_model_unless_accepted(tmp_path, capsys):
    argv = [
        "build",
        "--sequence",
        "AA",
        "--no-minimize",
        "--forcefield",
        "amber14-all.xml",
        "implicit/hct.xml",  # HCT: a CustomGBForce pathgan does not compute (it does OBC2 and GBn2)
    ]
    assert main([*argv, "--out", str(tmp_path / "gb")]) == 2
    assert "CustomGBForce" in capsys.readouterr().err and not (tmp_path / "gb").exists()
    assert main([*argv, "--out", str(tmp_path / "gb"), "--allow-unrepresented-forces", "--quiet"]) == 0
    meta = json.loads((tmp_path / "gb" / "metadata.json").read_text())
    assert meta["potential"]["accept_unrepresented_forces"] is True


@pytest.fixture(scope="module")
def charmm_peptide_files(tmp_path_factory):
    """psf, prm and pdb of a CHARMM36 tri-alanine."""
    from charmm_files import write_charmm_peptide

    return write_charmm_peptide(tmp_path_factory.mktemp("charmm"), "AAA")


def test_build_from_namd_style_charmm_files(charmm_peptide_files, tmp_path, capsys):
    from charmm_files import write_namd_style_set

    psf, prm, pdb = charmm_peptide_files
    files = [str(f) for f in write_namd_style_set(prm)]
    out = tmp_path / "namd"
    argv = [
        "build",
        "--psf",
        str(psf),
        "--charmm-params",
        *files,
        "--coordinates",
        str(pdb),
        "--out",
        str(out),
    ]
    assert main([*argv, "--allow-unrepresented-forces"]) == 0
    text = capsys.readouterr().out
    assert "types with no MASS line, accepted as NAMD does: CM" in text
    assert "inputs      kept verbatim in" in text and "par_peptide_cmap.prm" in text
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["format"] == "pathgan-system/3" and meta["kind"] == "charmm"
    assert sorted(p.name for p in (out / "inputs").iterdir()) == sorted(r["name"] for r in meta["inputs"])


def test_build_from_chamber_prmtop_with_zero_box(charmm_peptide_files, tmp_path, capsys):
    from charmm_files import write_chamber

    prmtop, rst7 = write_chamber(*charmm_peptide_files, zero_box=True)
    out = tmp_path / "chamber"
    argv = ["build", "--prmtop", str(prmtop), "--inpcrd", str(rst7), "--out", str(out)]
    assert main([*argv, "--allow-unrepresented-forces"]) == 0
    text = capsys.readouterr().out
    assert "(charmm)" in text and "box         ignored" in text and "[0.0, 0.0, 0.0] nm" in text


def test_build_refuses_solvent_and_unreadable_files_in_one_line(tmp_path, capsys):
    from amber_files import write_solvated_pdb

    pdb = write_solvated_pdb(tmp_path)
    argv = ["build", "--pdb", str(pdb), "--forcefield", "amber14-all.xml", "amber14/tip3p.xml"]
    assert main([*argv, "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err
    assert "solvated system" in err and "implicit/obc2.xml" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "w").exists()
    (tmp_path / "x.prmtop").write_text("garbage\n")
    (tmp_path / "x.inpcrd").write_text("garbage\n")
    argv = ["build", "--prmtop", str(tmp_path / "x.prmtop"), "--inpcrd", str(tmp_path / "x.inpcrd")]
    assert main([*argv, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert (
        f"{tmp_path / 'x.prmtop'}: cannot be read as an AMBER prmtop" in err
        and len(err.strip().splitlines()) == 1
    )


def test_build_in_implicit_solvent_says_so(tmp_path, capsys):
    argv = ["build", "--sequence", "AA", "--no-minimize", "--out", str(tmp_path / "gb")]
    assert main([*argv, "--forcefield", "amber14-all.xml", "implicit/gbn2.xml"]) == 0
    out = capsys.readouterr().out
    assert "solvent     implicit solvent (GBn2)" in out and "accepted without" not in out


def test_build_prmtop_in_implicit_solvent(tmp_path, capsys):
    from amber_files import write_amber_peptide

    prmtop, inpcrd = write_amber_peptide(tmp_path, "AA", radii="mbondi2")
    argv = ["build", "--prmtop", str(prmtop), "--inpcrd", str(inpcrd), "--out", str(tmp_path / "s")]
    assert main([*argv, "--implicit-solvent", "OBC2"]) == 0
    assert "solvent     implicit solvent (OBC2)" in capsys.readouterr().out
    bad = ["build", "--sequence", "AA", "--implicit-solvent", "OBC2", "--out", str(tmp_path / "x")]
    assert main(bad) == 2
    assert "--implicit-solvent goes with --prmtop" in capsys.readouterr().err
