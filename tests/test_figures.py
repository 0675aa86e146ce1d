"""pathgan's figures: the RMSD heatmap and curves, the profiles along t, the loss curves (real PNGs)."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pytest

from pathgan.compare import compare_path
from pathgan.data import ReferenceSet, centre_on_mass
from pathgan.figures import plot_losses, plot_profiles, plot_rmsd

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_SIGNATURE
    pixels = mpimg.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 50 and np.ptp(pixels) > 0


@pytest.fixture(scope="module")
def comparison(deca, deca_frames):
    """compare_path of 6 of the frames against two 'trajectories' made of the 24 frames."""
    masses = np.array([a.element.mass._value for a in deca.topology.atoms()])
    reference = ReferenceSet(
        [centre_on_mass(deca_frames[:12], masses), centre_on_mass(deca_frames[12:], masses)],
        ["first", "second"],
        masses,
    )
    path = deca_frames[::4]
    return compare_path(np.linspace(0.0, 1.0, len(path)), path, reference, deca)


def test_plot_rmsd(comparison, tmp_path):
    assert comparison["arrays"]["rmsd"].shape == (6, 24)
    plot_rmsd(comparison, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rmsd_curves.png", "rmsd_heatmap.png"]
    for name in ("rmsd_curves.png", "rmsd_heatmap.png"):
        assert_png(tmp_path / name)


def test_plot_profiles(comparison, tmp_path):
    plot_profiles(comparison, tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["profiles.png"]  # and no temporary file
    assert_png(tmp_path / "profiles.png")


def _history(n_pretrain: int, n_adversarial: int) -> list[dict]:
    """Rows as the trainer writes them: pre-training rows have no energy terms."""
    rng = np.random.default_rng(0)
    rows = []
    for epoch in range(1, n_pretrain + n_adversarial + 1):
        row = {"epoch": epoch, "val_total_kcal_mol": 50.0 - epoch, "val_restraint_kcal_mol": 0.01}
        if epoch <= n_pretrain:
            row.update(phase="pretrain", reconstruction=0.02 / epoch)
        else:
            row.update(phase="adversarial", loss_g_adv=0.65, loss_d=1.39 + 0.01 * rng.normal())
            for term in ("bonds", "angles", "dihedrals", "impropers", "1-4", "lj", "electrostatics"):
                row[f"{term}_kcal_mol"] = float(rng.normal(0.0, 100.0))  # either sign: |E| on a log axis
        rows.append(row)
    return rows


@pytest.mark.filterwarnings("ignore:No artists with labels found:UserWarning")  # the empty energy panel
def test_plot_losses(tmp_path):
    plot_losses(_history(1, 3), tmp_path / "losses.png")
    assert_png(tmp_path / "losses.png")
    plot_losses(_history(2, 0), tmp_path / "pretrain_only.png")  # no energy term at all yet
    assert_png(tmp_path / "pretrain_only.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["losses.png", "pretrain_only.png"]


def test_plot_losses_of_an_empty_history_writes_nothing(tmp_path):
    plot_losses([], tmp_path / "losses.png")
    assert list(tmp_path.iterdir()) == []
