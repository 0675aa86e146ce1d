"""What every command shares: tables, even picks of frames, loading a system folder, --quiet / --verbose."""

from __future__ import annotations

import argparse
import logging
import warnings

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from pathgan.cli.common import add_output_options, configure_output, evenly, load_system, progress, table


def test_table_aligns_columns_and_rounds_floats():
    text = table(["name", "rmsd", "n"], [("helix", 1.234567, 3), ("unfolded chain", 12.0, 1024)])
    lines = text.splitlines()
    assert len(lines) == 4 and set(lines[1]) == {"-", " "}
    assert len({len(line) for line in lines}) == 1  # every row as wide as the header
    # right-aligned: each column's cells end where the column's dashes end
    ends = np.cumsum([len(d) + 2 for d in lines[1].split("  ")]) - 2
    for row in [lines[0], *lines[2:]]:
        for end in ends:
            assert row[end - 1] != " " and (end == len(row) or row[end] == " ")
    assert "1.2346" in lines[2] and "1.23456" not in text
    assert "12.0000" in lines[3] and "1024" in lines[3]  # ints stay as they are
    assert lines[0].split() == ["name", "rmsd", "n"] and lines[2].split() == ["helix", "1.2346", "3"]


@pytest.mark.parametrize("n_frames, n", [(10, 4), (101, 7), (5, 2), (7, 7)])
def test_evenly_picks_first_and_last_evenly_spaced(n_frames, n):
    frames = np.arange(n_frames * 6, dtype=float).reshape(n_frames, 2, 3)  # frames of 2 atoms
    picked = evenly(frames, n)
    assert picked.shape == (n, 2, 3)
    index = picked[:, 0, 0].astype(int) // 6
    assert index[0] == 0 and index[-1] == n_frames - 1
    gaps = np.diff(index)
    assert (gaps > 0).all() and gaps.max() - gaps.min() <= 1  # as even as whole frames allow


def test_evenly_gives_every_frame_when_fewer_than_asked():
    frames = np.arange(4)
    np.testing.assert_array_equal(evenly(frames, 10), frames)


def test_load_system(deca_dir):
    with pytest.raises(PathganInputError, match="runs/x: no system folder recorded; pass --system DIR"):
        load_system(None, None, "runs/x")
    loaded = load_system(None, str(deca_dir), "runs/x")  # the recorded folder
    assert loaded.n_atoms == 112 and loaded.metadata["loaded_from"] == str(deca_dir)
    # the folder given wins over the recorded one
    assert load_system(str(deca_dir), "/nonexistent", "runs/x").n_atoms == 112
    with pytest.raises(PathganInputError, match="not a pathgan system folder"):
        load_system(str(deca_dir.parent), None, "runs/x")


@pytest.fixture
def restore_logging():
    """Put back the root logger and the warning filters that configure_output changes."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    with warnings.catch_warnings():
        yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in ("distributed", "pymbar", "matplotlib", "numexpr"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_output_options(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize(
    "argv, level, shows_progress",
    [(["--quiet"], logging.WARNING, False), ([], logging.INFO, True), (["--verbose"], logging.DEBUG, True)],
)
def test_configure_output_sets_the_pathgan_level(argv, level, shows_progress, restore_logging, capfd):
    args = _args(*argv)
    configure_output(args)
    log = logging.getLogger("pathgan")
    assert log.getEffectiveLevel() == level
    assert progress(args) is shows_progress
    log.debug("a debug line")
    log.info("an info line")
    log.warning("a warning line")
    err = capfd.readouterr().err
    assert ("a debug line" in err) is (level <= logging.DEBUG)
    assert ("an info line" in err) is (level <= logging.INFO)
    assert "a warning line" in err
    # other libraries' INFO chatter (Dask's scheduler and workers) only with --verbose
    logging.getLogger("distributed.scheduler").info("State start")
    assert ("State start" in capfd.readouterr().err) is (argv == ["--verbose"])


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as err:
        _args("--quiet", "--verbose")
    assert err.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
