"""The free-energy files of a pull folder: pull tables read, PMF tables written, bad tables refused."""

from __future__ import annotations

import numpy as np
import pytest

from openmm_bridge.errors import PathganInputError
from openmm_bridge.jarzynski import jarzynski_pmf
from openmm_bridge.pmf_outputs import analyse_pulls, load_work, read_pull_csv, write_pmf_csv


def test_pmf_csv_round_trip(tmp_path):
    c = np.linspace(12, 34, 4)
    pmf = jarzynski_pmf(c, np.array([[0, 1, 2, 3], [0, 2, 3, 5.0]]), 300.0, n_bootstrap=10)
    write_pmf_csv(pmf, tmp_path / "pmf.csv")
    table = read_pull_csv(tmp_path / "pmf.csv")
    np.testing.assert_allclose(table["pmf_cumulant_kcal_mol"], pmf.cumulant, atol=1e-4)


def test_bad_tables(tmp_path):
    with pytest.raises(PathganInputError, match="no finished replicas"):
        load_work(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text("step,work_kcal_mol\n")
    with pytest.raises(PathganInputError, match="empty.csv"):
        read_pull_csv(empty)


def test_analyse_pulls_writes_every_output(small_pull, tmp_path):
    meta, pmf, data, z, g_z = analyse_pulls(small_pull, tmp_path, n_bootstrap=20, seed=1)
    for name in ("pmf.csv", "pmf_distance.csv", "pmf.json", "work.png", "pmf.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    table = read_pull_csv(tmp_path / "pmf.csv")
    np.testing.assert_allclose(table["centre_angstrom"], data.centre_angstrom, atol=1e-4)
    np.testing.assert_allclose(table["pmf_exponential_kcal_mol"], pmf.exponential, atol=1e-4)
    assert meta["replicas"] == ["replica_000", "replica_001", "replica_002"]
    assert np.nanmin(g_z) == 0.0 and pmf.exponential[0] == pytest.approx(0.0, abs=1e-9)
