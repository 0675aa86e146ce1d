"""``pathgan smd`` and ``pathgan pmf`` from the command line."""

from __future__ import annotations

import json

from openmm_bridge.pmf_outputs import read_pull_csv
from pathgan.cli import main


def test_smd_then_pmf(deca_dir, tmp_path, capsys):
    out = tmp_path / "pull"
    argv = ["smd", "--system", str(deca_dir), "--out", str(out), "--replicas", "2", "--length-ps", "2"]
    argv += ["--workers", "2", "--minimize-steps", "20", "--checkpoint-interval", "500", "--quiet"]
    argv += ["--equilibration-ps", "2"]  # replicas from a 2 ps equilibration at c0 (default: 500 ps)
    assert main(argv) == 0
    manifest = json.loads((out / "smd.json").read_text())
    assert manifest["protocol"]["equilibration_ps"] == 2.0
    assert len(manifest["equilibration"]["start_frames"]) == 2
    printed = capsys.readouterr().out
    assert "replica" in printed and "work (kcal/mol)" in printed
    assert sorted(p.name for p in out.glob("replica_*")) == ["replica_000", "replica_001"]
    assert main(["pmf", "--smd", str(out), "--bootstrap", "20"]) == 0
    printed = capsys.readouterr().out
    assert "PMF from 2 replicas at 300 K" in printed
    for name in ("pmf.csv", "pmf.json", "work.png", "pmf.png"):
        assert (out / name).stat().st_size > 0
    meta = json.loads((out / "pmf.json").read_text())
    table = read_pull_csv(out / "pmf.csv")
    assert abs(table["pmf_cumulant_kcal_mol"][-1] - meta["final_pmf_cumulant_kcal_mol"]) < 1e-3
    assert meta["versions"]["openmm"].startswith("8.")
    assert main(["pmf", "--smd", str(out), "--bootstrap", "5", "--compare", str(out)]) == 0
    assert "work at the end of the pull" in capsys.readouterr().out
    assert (out / "work_compare.png").stat().st_size > 0


def test_bad_input_exits_2_with_message(deca_dir, tmp_path, capsys):
    argv = ["smd", "--system", str(deca_dir), "--out", str(tmp_path / "x"), "--platform", "Nope"]
    assert main(argv) == 2
    assert "unknown OpenMM platform 'Nope'" in capsys.readouterr().err
    argv = ["smd", "--system", str(deca_dir), "--out", str(tmp_path / "x"), "--c0", "20", "--c1", "20"]
    assert main(argv) == 2
    assert "nothing would be pulled" in capsys.readouterr().err
    assert main(["pmf", "--smd", str(tmp_path)]) == 2
    assert "not a pull folder" in capsys.readouterr().err
    argv = ["smd", "--system", str(deca_dir), "--out", str(tmp_path / "x"), "--group-a", "999"]
    assert main(argv) == 2
    assert "out of range" in capsys.readouterr().err


def test_smd_along_a_torsion_then_pmf(deca_dir, tmp_path, capsys):
    out = tmp_path / "torsion"
    argv = ["smd", "--system", str(deca_dir), "--out", str(out), "--replicas", "2", "--length-ps", "1"]
    argv += ["--workers", "1", "--minimize-steps", "20", "--checkpoint-interval", "500", "--quiet"]
    argv += ["--equilibration-ps", "1"]
    argv += ["--coordinate", "{kind: torsion, torsion: phi:ALA2}", "--c0", "-60", "--c1", "-90", "--k", "100"]
    assert main(argv) == 0
    assert "final value" in capsys.readouterr().out
    assert "coordinate" in read_pull_csv(out / "replica_001" / "pull.csv")
    assert main(["pmf", "--smd", str(out), "--bootstrap", "5"]) == 0
    printed = capsys.readouterr().out
    assert "centre (deg)" in printed and "torsion (deg)" in printed and "pmf_coordinate.csv" in printed
    bad = ["smd", "--system", str(deca_dir), "--out", str(tmp_path / "x"), "--coordinate", "[1, 2]"]
    assert main(bad) == 2
    assert "--coordinate: expected a mapping" in capsys.readouterr().err
