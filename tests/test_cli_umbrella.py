"""``pathgan umbrella`` from the command line."""

from __future__ import annotations

import json

from pathgan.cli import main


def test_umbrella_from_a_pull_folder(deca_dir, small_pull, tmp_path, capsys):
    out = tmp_path / "umb"
    argv = ["umbrella", "--system", str(deca_dir), "--smd", str(small_pull), "--out", str(out)]
    argv += ["--lo", "15", "--hi", "16", "--stiff", "--spacing", "0.5", "--equilibration-ps", "0.2"]
    argv += ["--window-ps", "2", "--sample-interval", "10", "--bootstrap", "0", "--workers", "2", "--quiet"]
    assert main([*argv, "--discard-transient"]) == 0
    printed = capsys.readouterr().out
    assert "PMF (kcal/mol)" in printed and "3 windows" in printed and "transient samples cut" in printed
    meta = json.loads((out / "umbrella.json").read_text())
    assert meta["protocol"]["k_kcal_mol_a2"] == 7.2 and meta["protocol"]["discard_transient"] is True
    assert [w["centre_angstrom"] for w in meta["windows"]] == [15.0, 15.5, 16.0]
    assert (
        len(meta["protocol"]["group_a"]) == 1 and len(meta["protocol"]["group_b"]) == 1
    )  # CA(1), CA(N) filled in


def test_bad_range_exits_2_naming_the_setting(deca_dir, small_pull, tmp_path, capsys):
    argv = ["umbrella", "--system", str(deca_dir), "--smd", str(small_pull), "--out", str(tmp_path / "u")]
    assert main([*argv, "--lo", "20", "--hi", "15", "--quiet"]) == 2
    assert "hi_angstrom" in capsys.readouterr().err
    assert main(["umbrella", "--smd", str(tmp_path), "--out", str(tmp_path / "u"), "--quiet"]) == 2
    assert "not a pull folder" in capsys.readouterr().err
