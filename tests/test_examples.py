"""The examples run as they stand, on tiny settings, from a tiny pipeline run's files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from openmm_bridge.system import MolecularSystem
from openmm_bridge.trajio import load_frames

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str, cwd: Path, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_score_trajectory(tiny_run):
    out = _run(
        "score_trajectory.py",
        "--system",
        "system",
        "--traj",
        "smd/replica_000/trajectory.dcd",
        "--stride",
        "10",
        cwd=tiny_run,
    )
    rows = [line for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert "electrostatics" in out and [r.split()[0] for r in rows] == ["0", "1", "2"]  # frames 0, 10, 20


def test_bias_with_path_cv(tiny_run):
    out = _run("bias_with_path_cv.py", "--system", "system", "--path", "path", "--steps", "100", cwd=tiny_run)
    rows = re.findall(r"s0 = ([\d.]+)\s+s = ([-\d.]+)\s+z = ([-\d.]+) A\^2", out)
    assert [float(r[0]) for r in rows] == pytest.approx(np.linspace(0.1, 1.0, 10))
    assert all(-0.01 <= float(r[1]) <= 1.01 for r in rows)  # s is a progress along the path


def test_seed_string(tiny_run, tmp_path):
    out = _run(
        "seed_string.py",
        "--system",
        "system",
        "--path",
        "path",
        "--images",
        "5",
        "--iterations",
        "5",
        "--out",
        str(tmp_path / "s.dcd"),
        cwd=tiny_run,
    )
    # 5 iterations cannot converge a string: the report says so, with the cost of those 5
    match = re.search(r"converged: (True|False) after (\d+) iterations, (\d+) force evaluations", out)
    assert match is not None, out
    assert match.group(1) == "False" and int(match.group(2)) == 5
    assert int(match.group(3)) == 5 * 3 + 3 + 2  # 3 interior images per iteration, a final pass, 2 ends once
    string = load_frames(tmp_path / "s.dcd", MolecularSystem.load(tiny_run / "system"))
    assert string.n_frames == 5


def test_train_on_own_trajectories(tiny_run, tmp_path):
    from amber_files import write_prmtop

    # the user's own files: a prmtop and coordinates of the system the pulls ran on
    write_prmtop(
        MolecularSystem.load(tiny_run / "system").structure, tmp_path / "sys.prmtop", tmp_path / "sys.inpcrd"
    )
    dcds = [str(tiny_run / "smd" / f"replica_00{i}" / "trajectory.dcd") for i in (0, 1)]
    out = _run(
        "train_on_own_trajectories.py",
        "--prmtop",
        str(tmp_path / "sys.prmtop"),
        "--inpcrd",
        str(tmp_path / "sys.inpcrd"),
        "--dcd",
        *dcds,
        "--out",
        str(tmp_path / "mine"),
        "--tiny",
        cwd=tmp_path,
    )
    assert "trained 3 epochs" in out and (tmp_path / "mine" / "path" / "path.dcd").exists()


def test_run_on_your_pdb(tmp_path):
    """The user's PDB (written by the example) through the whole pipeline, pulling CA(GLY1)-CA(GLY8) chosen by selection."""
    import json

    import yaml

    # a whole pipeline run: about 30 s, more on a loaded machine
    out = _run("run_on_your_pdb.py", "--out", str(tmp_path / "mine"), "--tiny", cwd=tmp_path, timeout=1200)
    run = tmp_path / "mine" / "run"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["system"]["pdb"] == str(tmp_path / "mine" / "my_peptide.pdb")
    protocol = json.loads((run / "smd" / "smd.json").read_text())["protocol"]
    assert protocol["coordinate"]["group_a"] == "resid 1 and name CA" and protocol["c1_angstrom"] == 22.0
    system = MolecularSystem.load(run / "system")
    ca = [a.index for a in system.topology.atoms() if a.name == "CA"]
    start = system.positions_angstrom()
    helix = float(np.linalg.norm(start[ca[0]] - start[ca[-1]]))
    assert protocol["c0_angstrom"] == pytest.approx(helix, abs=1e-5)  # c0: null is the start's distance
    assert 8.0 < helix < 13.0  # 7 residues of helix, 1.5 A each
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["pulls"]["coordinate"]["unit"] == "A" and "resid 8 and name CA" in out
    assert (run / "report.html").stat().st_size > 10_000
