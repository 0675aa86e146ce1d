"""Generated paths: frames at evenly spaced t, energies, files, and reading paths back."""

from __future__ import annotations

import json

import mdtraj as md
import numpy as np
import pytest
import torch
from conftest import tiny

from openmm_bridge.errors import PathganInputError
from openmm_bridge.system import MolecularSystem
from pathgan.gan import GAN
from pathgan.paths import generate_path, load_candidates, load_path, write_path


@pytest.fixture(scope="module")
def gan(deca, reference, pull_protocol):
    return GAN.for_reference(deca, tiny(), pull_protocol, reference)


def test_generate_and_write_and_read(gan, deca, tmp_path):
    path = generate_path(gan, n_frames=6, n_samples=3, seed=1)
    assert path.xyz.shape == (3, 6, deca.n_atoms, 3)
    np.testing.assert_allclose(path.t, np.linspace(0, 1, 6))
    assert set(path.energies) >= {"bonds", "lj", "restraint", "total"} and path.energies["total"].shape == (
        3,
        6,
    )
    # energies belong to the written (superposed) frames: superposition changes no energy
    e = gan.potential(torch.as_tensor(path.xyz[1], dtype=gan.dtype), torch.as_tensor(path.t, dtype=gan.dtype))
    np.testing.assert_allclose(e["total"].detach().numpy(), path.energies["total"][1], rtol=1e-4, atol=1e-2)
    write_path(path, deca, tmp_path / "p", {"model": "test"})
    meta = json.loads((tmp_path / "p" / "path.json").read_text())
    assert meta["n_frames"] == 6 and meta["n_samples"] == 3 and meta["provenance"] == {"model": "test"}
    assert (
        md.load_dcd(str(tmp_path / "p" / "ensemble.dcd"), top=str(tmp_path / "p" / "path.pdb")).n_frames == 18
    )
    t, xyz = load_path(tmp_path / "p", deca)
    np.testing.assert_allclose(t, path.t)
    best = int(path.ranking[0])
    np.testing.assert_allclose(xyz, path.xyz[best], atol=2e-3)  # path.dcd: the best candidate (DCD: float32)
    # candidates ranked by their highest energy along t, restraint left out
    profile = path.energies["total"] - path.energies["restraint"]
    np.testing.assert_allclose(path.scores, profile.max(axis=1))
    assert list(path.ranking) == list(np.argsort(profile.max(axis=1))) and meta["best_sample"] == best
    rows = (tmp_path / "p" / "ranking.csv").read_text().splitlines()
    assert rows[0] == "rank,sample,score_kcal_mol" and rows[1].startswith(f"1,{best},")
    t3, candidates, ranking = load_candidates(tmp_path / "p", deca)
    assert candidates.shape == path.xyz.shape and ranking == [int(k) for k in path.ranking]
    # any trajectory is a path too, with t evenly spaced
    t2, xyz2 = load_path(tmp_path / "p" / "path.dcd", deca)
    np.testing.assert_allclose(t2, np.linspace(0, 1, 6))


def test_same_seed_same_path(gan):
    a = generate_path(gan, 4, seed=3)
    b = generate_path(gan, 4, seed=3)
    np.testing.assert_array_equal(a.xyz, b.xyz)


def test_truncation_gathers_the_candidates_towards_the_mean_path(gan):
    def spread(truncation: float) -> float:
        xyz = generate_path(gan, 4, n_samples=4, seed=2, relax=None, truncation=truncation).xyz
        return float(np.abs(xyz - xyz.mean(axis=0)).mean())

    assert spread(0.0) < 1e-6  # no noise: every candidate is the mean path
    assert 0.0 < spread(0.5) < spread(1.0)
    assert generate_path(gan, 3, relax=None, truncation=0.5).metadata["truncation"] == 0.5
    with pytest.raises(PathganInputError, match="truncation"):
        generate_path(gan, 3, relax=None, truncation=-1.0)


def test_bad_paths(gan, deca, tmp_path):
    with pytest.raises(PathganInputError, match="at least 2 frames"):
        generate_path(gan, n_frames=1)
    with pytest.raises(PathganInputError, match="not a path folder"):
        load_path(tmp_path, deca)
    wrong = tmp_path / "wrong.pdb"
    other = MolecularSystem.from_sequence("AAA", minimize=False)
    other_top = md.Topology.from_openmm(other.topology)
    md.Trajectory(other.positions_angstrom()[None].astype(np.float32) / 10, other_top).save_pdb(str(wrong))
    with pytest.raises(PathganInputError, match="wrong.pdb"):
        load_path(wrong, deca)
