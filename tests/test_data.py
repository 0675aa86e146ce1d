"""Training data: centring, progress labels, rotations, the split by replica, and bad input."""

from __future__ import annotations

import mdtraj as md
import numpy as np
import pytest
import torch

from openmm_bridge.errors import PathganInputError
from openmm_bridge.steered_md import replica_dir
from pathgan.data import FrameDataset, ReferenceSet, centre_on_mass, random_rotations


def test_from_smd_labels_and_centring(small_pull, deca):
    ref = ReferenceSet.from_smd(small_pull, stride=2)
    assert ref.n_trajectories == 3
    assert [len(f) for f in ref.frames] == [101, 101, 101]  # 201 frames, every 2nd
    np.testing.assert_allclose(ref.labels(0), np.linspace(0, 1, 101))
    com = (ref.frames[1] * ref.masses[None, :, None]).sum(axis=1) / ref.masses.sum()
    np.testing.assert_allclose(com, 0.0, atol=1e-4)
    # Frames are the DCD's, moved: internal distances unchanged.
    traj = md.load_dcd(str(replica_dir(small_pull, 1) / "trajectory.dcd"), top=str(small_pull / "start.pdb"))
    d_ref = np.linalg.norm(ref.frames[1][:, 8] - ref.frames[1][:, 108], axis=-1)
    d_dcd = 10 * md.compute_distances(traj[::2], [[8, 108]])[:, 0]
    np.testing.assert_allclose(d_ref, d_dcd, atol=1e-3)


def test_split_is_by_replica(small_pull):
    ref = ReferenceSet.from_smd(small_pull)
    train, val = ref.split(validation_fraction=0.34, seed=0)
    assert train.n_trajectories + val.n_trajectories == 3 and val.n_trajectories == 1
    assert not set(train.sources) & set(val.sources)
    _, _, which = train.arrays()
    assert set(which.tolist()) == set(range(train.n_trajectories))
    with pytest.raises(PathganInputError, match="at least 2 trajectories"):
        ref.subset([0]).split()


def test_rotations_are_uniform_proper_rotations():
    g = torch.Generator().manual_seed(0)
    r = random_rotations(4000, g)
    eye = torch.eye(3, dtype=r.dtype).expand_as(r)
    torch.testing.assert_close(r @ r.transpose(1, 2), eye, atol=1e-10, rtol=0)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(4000, dtype=r.dtype), atol=1e-10, rtol=0)
    # Uniform on SO(3): the rotated z axis is uniform on the sphere, so its mean is ~0.
    assert r[:, :, 2].mean(dim=0).abs().max() < 0.05


def test_dataset_augmentation_keeps_shapes_and_distances(small_pull):
    ref = ReferenceSet.from_smd(small_pull)
    plain, rotated = FrameDataset(ref, augment=False), FrameDataset(ref, augment=True, seed=1)
    assert len(plain) == 603
    t, x = plain[5]
    t2, y = rotated[5]
    assert t == t2 and x.shape == (112, 3)
    assert not torch.allclose(x, y)

    def dist(z):
        return (z[:, None] - z[None]).norm(dim=-1)

    torch.testing.assert_close(dist(x), dist(y), atol=1e-4, rtol=0)


def test_centre_on_mass_and_bad_input(small_pull, deca, tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 4, 3))
    m = np.array([1.0, 2.0, 3.0, 4.0])
    c = centre_on_mass(x, m)
    np.testing.assert_allclose((c * m[None, :, None]).sum(axis=1), 0.0, atol=1e-12)
    with pytest.raises(PathganInputError, match="stride must be positive"):
        ReferenceSet.from_files([replica_dir(small_pull, 0) / "trajectory.dcd"], deca, stride=0)
    wrong = tmp_path / "wrong.pdb"
    traj = md.load(str(small_pull / "start.pdb")).atom_slice(range(50))
    traj.save_pdb(str(wrong))
    with pytest.raises(PathganInputError, match="wrong.pdb"):
        ReferenceSet.from_files([wrong], deca)
    with pytest.raises(PathganInputError, match="not a pull folder"):
        ReferenceSet.from_smd(tmp_path)
