"""``pathgan run`` from the command line: a finished run is skipped, --quiet shows no progress, bad YAML exits 2."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
import yaml
from conftest import TINY_RUN

from pathgan.cli import main
from pathgan.pipeline import STAGES


@pytest.fixture(autouse=True)
def restore_logging():
    """``main`` reconfigures the root logger (and warning filters) for the command: put them back."""
    import warnings

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with warnings.catch_warnings():
        yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def tiny_yaml(tmp_path):
    """The tiny settings of ``tiny_run``, as a YAML file for --config."""
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY_RUN))
    return path


def test_a_finished_run_is_skipped_and_says_where_the_report_is(tiny_run, tiny_yaml, capfd):
    stages = json.loads((tiny_run / "stages.json").read_text())
    report_mtime = (tiny_run / "report.html").stat().st_mtime_ns
    assert main(["run", "--out", str(tiny_run), "--config", str(tiny_yaml)]) == 0
    out, err = capfd.readouterr()
    assert f"open {tiny_run}/report.html; numbers in {tiny_run}/metrics.json" in out
    for stage in STAGES:
        assert f"[{stage}] up to date, skipped" in err
    assert f"ran 0 stage(s), skipped {len(STAGES)}" in err
    assert "running" not in err
    # nothing was redone
    assert json.loads((tiny_run / "stages.json").read_text()) == stages
    assert (tiny_run / "report.html").stat().st_mtime_ns == report_mtime


def _forget(run, stage: str) -> None:
    """Drop ``stage`` from the run's record, so that the next run redoes it (and only it)."""
    stages = json.loads((run / "stages.json").read_text())
    del stages[stage]
    (run / "stages.json").write_text(json.dumps(stages))


def test_quiet_shows_no_progress_bar(tiny_run, tiny_yaml, tmp_path, capfd):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    argv = ["run", "--out", str(run), "--config", str(tiny_yaml)]
    # the string (refine) has a progress bar: redo it, shown ...
    _forget(run, "refine")
    assert main(argv) == 0
    out, err = capfd.readouterr()
    assert "[refine] running" in err and "ran 1 stage(s)" in err
    assert "string:" in err and "%|" in err  # tqdm's bar
    # ... and quiet
    _forget(run, "refine")
    assert main([*argv, "--quiet"]) == 0
    out, err = capfd.readouterr()
    assert "refine" in json.loads((run / "stages.json").read_text())  # it ran again
    assert "string:" not in err and "%|" not in err
    assert "running" not in err and "skipped" not in err  # no progress messages either
    assert f"open {run}/report.html" in out


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"train": {"learning_rate": 3}}, "config.train: unknown settings ['learning_rate']"),
        ({"smd": {"replica": 2}}, "config.smd: unknown settings ['replica']"),
        ({"trian": {"epochs": 3}}, "config: unknown settings ['trian']"),
    ],
)
def test_a_bad_setting_exits_2_naming_it(settings, named, tmp_path, capfd):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(settings))
    out_dir = tmp_path / "run"
    assert main(["run", "--out", str(out_dir), "--config", str(cfg), "--quiet"]) == 2
    err = capfd.readouterr().err
    assert err.startswith("pathgan run: error: ") and named in err
    assert not out_dir.exists()  # refused before any work


def test_the_summary_line_reads_basins_on_a_landscape_run_and_the_helix_otherwise():
    from pathgan.cli.run import headline

    generated = {
        "t0_helix_fraction": 0.8,
        "median_rmsd_same_t_angstrom": 1.234,
        "spearman_best_match_vs_t": 0.9,
    }
    deca = headline({"generated": generated, "landscape": {"enabled": False}})
    assert deca.startswith("Generated path: t=0 helix 0.80, median RMSD at same t 1.23 A")
    land = {"candidates_start_in_start_basin": 0.9375, "candidates_end_in_end_basin": 0.875}
    dipeptide = headline({"generated": generated, "landscape": land})
    assert (
        "helix" not in dipeptide and "0.94 start in the start basin, 0.88 end in the end basin" in dipeptide
    )
