"""The examples run as they stand, on tiny settings, from a tiny pipeline run's files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import parmed

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _run(script: str, *args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, cwd=cwd, timeout=300
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
    assert out.count("s0 = ") == 10


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
    assert "converged" in out and (tmp_path / "s.dcd").stat().st_size > 0


def test_train_on_own_trajectories(tiny_run, tmp_path):
    structure = parmed.load_file(
        str(tiny_run / "system" / "parameters.prmtop"), xyz=str(tiny_run / "system" / "structure.pdb")
    )
    structure.save(str(tmp_path / "sys.inpcrd"), format="rst7")
    dcds = [str(tiny_run / "smd" / f"replica_00{i}" / "trajectory.dcd") for i in (0, 1)]
    out = _run(
        "train_on_own_trajectories.py",
        "--prmtop",
        str(tiny_run / "system" / "parameters.prmtop"),
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
