"""pathgan's error classes, and what the command line makes of them (exit 2: bad input, 1: no convergence)."""

from __future__ import annotations

import mdtraj as md
import pytest

from openmm_bridge.errors import (
    MissingParameterError,
    PathganConvergenceError,
    PathganDataError,
    PathganError,
    PathganInputError,
)
from openmm_bridge.trajio import mdtraj_topology
from pathgan.cli import main


def test_input_errors_are_value_errors_and_pathgan_errors():
    err = PathganInputError("bad")
    assert isinstance(err, ValueError) and isinstance(err, PathganError)
    assert not isinstance(err, RuntimeError)
    with pytest.raises(ValueError, match="bad"):  # callers catching ValueError still catch it
        raise err


def test_data_and_missing_parameter_errors_are_input_errors():
    for cls in (PathganDataError, MissingParameterError):
        err = cls("x")
        assert isinstance(err, PathganInputError) and isinstance(err, ValueError)
        assert isinstance(err, PathganError)
    assert not issubclass(PathganDataError, MissingParameterError)
    assert not issubclass(MissingParameterError, PathganDataError)


def test_convergence_errors_are_runtime_errors_not_input_errors():
    err = PathganConvergenceError("diverged")
    assert isinstance(err, RuntimeError) and isinstance(err, PathganError)
    assert not isinstance(err, ValueError) and not isinstance(err, PathganInputError)
    with pytest.raises(RuntimeError, match="diverged"):
        raise err


def test_one_base_class_catches_them_all():
    for cls in (PathganInputError, MissingParameterError, PathganDataError, PathganConvergenceError):
        with pytest.raises(PathganError):
            raise cls("x")
    assert not issubclass(ValueError, PathganError) and not issubclass(RuntimeError, PathganError)


def test_the_package_exports_the_same_classes():
    import openmm_bridge

    assert openmm_bridge.PathganError is PathganError
    assert openmm_bridge.PathganInputError is PathganInputError
    assert openmm_bridge.PathganDataError is PathganDataError
    assert openmm_bridge.PathganConvergenceError is PathganConvergenceError


def test_cli_input_error_exits_2_with_a_one_line_message(tmp_path, capsys):
    assert main(["energy", "--system", str(tmp_path), "--traj", "x.dcd"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("pathgan energy: error: ") and "not a pathgan system folder" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_data_error_exits_2(deca_dir, tmp_path, capsys):
    """A damaged pull manifest (a PathganDataError) is bad input to the command line too."""
    pull = tmp_path / "smd"
    pull.mkdir()
    (pull / "smd.json").write_text("{not json")
    argv = [
        "train",
        "--system",
        str(deca_dir),
        "--reference",
        str(pull),
        "--out",
        str(tmp_path / "t"),
        "--quiet",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("pathgan train: error: ") and "unreadable manifest" in err


def test_cli_convergence_error_exits_1(deca, deca_dir, deca_frames, tmp_path, capsys):
    """A real ``pathgan train`` whose absurd learning rates make the losses NaN: exit 1, no model written."""
    traj = tmp_path / "frames.dcd"
    md.Trajectory(deca_frames / 10, mdtraj_topology(deca)).save_dcd(str(traj))
    config = tmp_path / "diverge.yaml"
    config.write_text(
        "stride: 1\nbatch_size: 32\npretrain_epochs: 1\nepochs: 1\nenergy_steps: 2\nvalidation_fraction: 0\n"
        "pretrain_lr: 1.0e+30\nlr_g: 1.0e+30\nlr_d: 1.0e+30\nmodel: {hidden: [32, 32], template_bins: 4}\n"
    )
    out = tmp_path / "run"
    argv = ["train", "--system", str(deca_dir), "--reference", str(traj), "--out", str(out)]
    assert main([*argv, "--config", str(config), "--quiet"]) == 1
    err = capsys.readouterr().err.splitlines()
    # --quiet keeps warnings (24 frames span fewer than the preset's 31 noise modes), then the error
    assert "not the 31 asked for: keeping 23" in err[0]
    assert err[-1].startswith("pathgan train: did not converge: training diverged: ")
    assert "nan" in err[-1] and not any("Traceback" in line for line in err)
    assert not (out / "model.pt").exists()
