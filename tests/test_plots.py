"""Plots of pulls and strings: real PNG files, written atomically."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from openmm_bridge.jarzynski import jarzynski_pmf
from openmm_bridge.pathcv import PathCV, default_atoms, path_cv_values
from openmm_bridge.plots import (
    plot_path_pull,
    plot_pmf,
    plot_string,
    plot_work,
    plot_work_comparison,
    plt,
    save_figure,
)
from openmm_bridge.string_method import StringConfig, ZeroTemperatureString

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> np.ndarray:
    """``path`` is a nonempty PNG that reads back as an image; returns its pixels."""
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert np.ptp(pixels) > 0  # something was drawn, not a blank canvas
    return pixels


def assert_only(folder, *names) -> None:
    """Nothing else in ``folder``: no temporary file left behind."""
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


@pytest.fixture(scope="module")
def pulls():
    """Work of 4 noisy pulls (kcal/mol) against the restraint centre, and their Jarzynski PMF."""
    rng = np.random.default_rng(3)
    centre = np.linspace(14.0, 24.0, 41)
    work = np.cumsum(rng.normal(0.3, 0.4, size=(4, 41)), axis=1)
    work -= work[:, :1]
    return centre, work, jarzynski_pmf(centre, work, 300.0, n_bootstrap=20, seed=0)


def test_save_figure_is_atomic(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    save_figure(fig, tmp_path / "a.png")
    assert_png(tmp_path / "a.png")
    assert not plt.fignum_exists(fig.number)  # closed
    assert_only(tmp_path, "a.png")
    # a figure that cannot be saved leaves the old file as it was and no temporary file
    before = (tmp_path / "a.png").read_bytes()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with pytest.raises(ValueError):
        save_figure(fig, tmp_path / "a.png", dpi=-5)
    plt.close(fig)
    assert (tmp_path / "a.png").read_bytes() == before
    assert_only(tmp_path, "a.png")


def test_plot_work_and_pmf(pulls, tmp_path):
    centre, work, pmf = pulls
    plot_work(centre, work, pmf, tmp_path / "work.png")
    plot_pmf(pmf, tmp_path / "pmf.png")
    plot_pmf(pmf, tmp_path / "pmf_z.png", along_distance=(centre[::4], pmf.cumulant[::4]))
    for name in ("work.png", "pmf.png", "pmf_z.png"):
        assert_png(tmp_path / name)
    assert_only(tmp_path, "work.png", "pmf.png", "pmf_z.png")
    # the curve along the distance is drawn: the two PMF plots differ
    assert (tmp_path / "pmf.png").read_bytes() != (tmp_path / "pmf_z.png").read_bytes()


def test_plot_string_of_a_real_string(deca, deca_frames, tmp_path):
    images = deca_frames[[0, 12, 23]]
    result = ZeroTemperatureString(deca.system, images, StringConfig(max_iterations=4)).run()
    assert len(result.history) == 4
    plot_string(result.history, tmp_path / "string.png", title="test string")
    assert_png(tmp_path / "string.png")
    assert_only(tmp_path, "string.png")


def test_plot_path_pull(deca, deca_frames, tmp_path):
    cv = PathCV(deca_frames[[0, 12, 23]], default_atoms(deca.topology))
    sz = np.array([path_cv_values(cv, x) for x in deca_frames])
    s0 = np.linspace(0.0, 1.0, len(deca_frames))
    work = np.concatenate([[0.0], np.cumsum(100.0 * (s0[1:] - sz[1:, 0]) * np.diff(s0))])
    rows = np.column_stack([np.arange(len(s0)) * 10, s0, sz[:, 0], sz[:, 1], work])
    plot_path_pull(rows, tmp_path / "pull_s.png")
    assert_png(tmp_path / "pull_s.png")
    assert_only(tmp_path, "pull_s.png")


def test_plot_work_comparison(pulls, tmp_path):
    centre, work, _ = pulls
    curves = [("first two", centre, work[:2].mean(axis=0)), ("last two", centre, work[2:].mean(axis=0))]
    plot_work_comparison(curves, tmp_path / "sub" / "compare.png")  # the folder is made
    assert_png(tmp_path / "sub" / "compare.png")
    assert_only(tmp_path / "sub", "compare.png")
