"""``pathgan refine``, ``pathgan pathcv`` and ``pathgan smd --start`` from the command line."""

from __future__ import annotations

import json

import mdtraj as md
import numpy as np

from openmm_bridge.trajio import mdtraj_topology
from pathgan.cli import main


def _path_file(small_pull, deca, tmp_path, every: int = 20):
    """A path as a plain DCD (frames of a reference pull) and its PDB."""
    traj = md.load_dcd(str(small_pull / "replica_000" / "trajectory.dcd"), top=str(small_pull / "start.pdb"))[
        ::every
    ]
    path = tmp_path / "path.dcd"
    traj.save_dcd(str(path))
    traj[0].save_pdb(str(tmp_path / "path0.pdb"))
    return path


def test_refine_string_and_swarms(deca_dir, deca, small_pull, tmp_path, capsys):
    path = _path_file(small_pull, deca, tmp_path)
    argv = ["refine", "--system", str(deca_dir), "--path", str(path), "--out", str(tmp_path / "s")]
    assert main([*argv, "--images", "8", "--max-iterations", "20", "--quiet"]) == 0
    meta = json.loads((tmp_path / "s" / "string.json").read_text())
    assert meta["iterations"] == 20 and len(meta["history"]) == 20 and len(meta["energies_kcal_mol"]) == 8
    assert (tmp_path / "s" / "string.png").stat().st_size > 0
    argv = ["refine", "--method", "swarms", "--system", str(deca_dir), "--path", str(path)]
    argv += ["--out", str(tmp_path / "w"), "--images", "4", "--max-iterations", "1", "--swarm-size", "2"]
    argv += ["--cvs", "phi:ALA3", "psi:ALA3", "distance:8-108", "--workers", "2", "--quiet"]
    assert main([*argv, "--convergence", "profile", "--precision", "0.3"]) == 0
    meta = json.loads((tmp_path / "w" / "swarms.json").read_text())
    assert (
        meta["collective_variables"] == ["phi:ALA3", "psi:ALA3", "distance:8-108"] and meta["iterations"] == 1
    )
    assert meta["periodic"] == [True, True, False]
    assert meta["config"]["convergence"] == "profile" and meta["config"]["profile_precision_kcal_mol"] == 0.3
    capsys.readouterr()


def test_pathcv_pull(deca_dir, deca, small_pull, tmp_path, capsys):
    path = _path_file(small_pull, deca, tmp_path, every=10)
    argv = ["pathcv", "pull", "--system", str(deca_dir), "--path", str(path), "--out", str(tmp_path / "p")]
    assert main([*argv, "--pull-ps", "0.5", "--quiet"]) == 0
    assert "final_s" in capsys.readouterr().out
    assert (tmp_path / "p" / "pull_s.png").stat().st_size > 0


def test_smd_from_a_path_frame(deca_dir, deca, small_pull, tmp_path, capsys):
    path = _path_file(small_pull, deca, tmp_path)
    start = tmp_path / "path0.pdb"
    out = tmp_path / "smd"
    argv = ["smd", "--system", str(deca_dir), "--out", str(out), "--replicas", "1", "--length-ps", "0.2"]
    # the old protocol (no equilibration at c0), so the first frame is the start structure itself
    argv += [
        "--start",
        str(start),
        "--minimize-steps",
        "0",
        "--equilibration-ps",
        "0",
        "--workers",
        "1",
        "--quiet",
    ]
    assert main(argv) == 0
    manifest = json.loads((out / "smd.json").read_text())
    assert manifest["start"].endswith("path0.pdb[0]")
    first = md.load_dcd(str(out / "replica_000" / "trajectory.dcd"), top=str(out / "start.pdb"))[0]
    np.testing.assert_allclose(first.xyz[0], md.load(str(start)).xyz[0], atol=2e-4)  # nm; no minimisation
    # a start structure of another system is refused
    other = tmp_path / "other.pdb"
    md.Trajectory(
        deca.positions_angstrom()[None, :50] / 10, mdtraj_topology(deca).subset(range(50))
    ).save_pdb(str(other))
    argv[argv.index("--start") + 1] = str(other)
    argv[argv.index("--out") + 1] = str(tmp_path / "smd2")
    assert main(argv) == 2
    assert "other.pdb" in capsys.readouterr().err
    del path


def test_refine_bad_input(deca_dir, deca, tmp_path, capsys):
    one = tmp_path / "one.pdb"
    md.Trajectory(deca.positions_angstrom()[None] / 10, mdtraj_topology(deca)).save_pdb(str(one))
    assert main(["refine", "--system", str(deca_dir), "--path", str(one), "--out", str(tmp_path / "r")]) == 2
    assert "at least 2 frames" in capsys.readouterr().err


def test_refine_the_best_candidates_of_a_path_folder(tiny_run, tmp_path, capsys):
    out = tmp_path / "best2"
    argv = ["refine", "--path", str(tiny_run / "path"), "--out", str(out), "--images", "5"]
    assert main([*argv, "--candidates", "2", "--max-iterations", "10", "--quiet"]) == 0
    rows = json.loads((out / "candidates.json").read_text())
    ranking = (tiny_run / "path" / "ranking.csv").read_text().splitlines()[1:3]
    assert [r["sample"] for r in rows] == [int(line.split(",")[1]) for line in ranking]
    assert sum(bool(r.get("kept")) for r in rows) == 1 and all(r["iterations"] == 10 for r in rows)
    kept = next(r for r in rows if r.get("kept"))
    assert json.loads((out / "string.json").read_text())["force_evaluations"] == kept["force_evaluations"]
    # more candidates than the folder holds, or a plain trajectory, are refused
    assert main([*argv, "--candidates", "99", "--quiet"]) == 2
    assert "cannot refine the 99 best of" in capsys.readouterr().err
    plain = tiny_run / "path" / "path.dcd"
    argv[argv.index("--path") + 1] = str(plain)
    assert main([*argv, "--system", str(tiny_run / "system"), "--candidates", "2", "--quiet"]) == 2
    assert "needs a path folder" in capsys.readouterr().err
