"""Generator and discriminator: shapes, t-conditioning, templates, superposition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from openmm_bridge.superpose import superpose
from pathgan.model import (
    Discriminator,
    Generator,
    TimeEncoding,
    mlp,
    rmsd_after_alignment,
    template_frames,
)


def test_generator_shape_and_t_conditioning():
    g = Generator(n_atoms=12, noise_dim=5, hidden=(16, 16), activation="sigmoid")
    t = torch.tensor([0.0, 0.5, 1.0])
    z = torch.zeros(3, 5)
    x = g(t, z)
    assert x.shape == (3, 12, 3)
    assert not torch.allclose(x[0], x[2])  # same noise, other t: another structure
    torch.testing.assert_close(g(t[:1], z[:1]), x[:1])  # deterministic given (t, z)
    assert g.sample_noise(4).shape == (4, 5)


def test_template_generator_starts_on_the_template():
    frames = torch.randn(5, 7, 3, dtype=torch.float64)
    g = Generator(7, noise_dim=3, hidden=(8,), activation="silu", t_frequencies=4, template=frames).double()
    t = torch.tensor([0.0, 0.25, 0.125, 1.0], dtype=torch.float64)
    x = g(t, torch.randn(4, 3, dtype=torch.float64))
    torch.testing.assert_close(x[0], frames[0])
    torch.testing.assert_close(x[1], frames[1])
    torch.testing.assert_close(x[2], 0.5 * (frames[0] + frames[1]))
    torch.testing.assert_close(x[3], frames[4])


def test_mean_structure_sets_the_output_bias():
    mean = torch.arange(21, dtype=torch.float32).reshape(7, 3)
    g = Generator(7, hidden=(4,), mean_structure=mean)
    torch.testing.assert_close(g.net[-1].bias, mean.reshape(-1))


def test_discriminator_probabilities():
    for features in ("angles", "cos_sin"):
        d = Discriminator(n_torsions=6, hidden=(10,), t_frequencies=2, torsion_features=features)
        p = d(torch.rand(4), torch.rand(4, 6) * 6 - 3)
        assert p.shape == (4,) and bool(((p > 0) & (p < 1)).all())
    with pytest.raises(ValueError, match="torsion_features"):
        Discriminator(3, torsion_features="degrees")


def test_time_encoding_and_mlp():
    enc = TimeEncoding(3)
    f = enc(torch.tensor([0.0, 1.0]))
    assert f.shape == (2, 7) and enc.dim == 7
    torch.testing.assert_close(f[0], torch.tensor([0, 0, 0, 0, 1, 1, 1.0]))
    with pytest.raises(ValueError, match="unknown activation"):
        mlp([2, 3], "swish2")


def test_kabsch_and_templates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3))
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    y = x @ q.T + 5.0
    np.testing.assert_allclose(superpose(y, x), x, atol=1e-10)
    assert rmsd_after_alignment(y, x) < 1e-10
    xyz = rng.normal(size=(50, 20, 3))
    t = np.linspace(0, 1, 50)
    tmpl = template_frames(xyz, t, n_bins=5)
    assert tmpl.shape == (5, 20, 3)
    np.testing.assert_allclose(tmpl[0].mean(axis=0), 0.0, atol=1e-12)
    # every template frame is a real frame (a medoid), moved rigidly
    for f in tmpl:
        assert min(rmsd_after_alignment(f, x_) for x_ in xyz) < 1e-8


def test_noise_modes_reproduce_the_references_spread(reference):
    """Modes orthonormal; the coefficients' mean and covariance per bin are the data's; same z, same path."""
    import torch

    from pathgan.model import NoiseModes, noise_modes, template_frames

    xyz, t, _ = reference.arrays()
    template = template_frames(xyz, t, 5)
    modes, mean, cov = noise_modes(xyz, t, template, 6, 5)
    flat = modes.reshape(6, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(6), atol=1e-10)
    assert mean.shape == (5, 6) and cov.shape == (5, 6, 6)
    nm = NoiseModes(torch.tensor(modes), torch.tensor(mean), torch.tensor(cov), scale=1.0)
    g = torch.Generator().manual_seed(0)
    z = torch.randn(20000, 6, generator=g, dtype=torch.float64)
    x = nm(torch.full((20000,), 0.5, dtype=torch.float64), z)  # bin 2 of 5 exactly
    coef = x.reshape(20000, -1) @ torch.tensor(flat).T
    np.testing.assert_allclose(coef.mean(0).numpy(), mean[2], atol=0.05 * np.sqrt(np.diag(cov[2])).max())
    np.testing.assert_allclose(np.cov(coef.numpy().T), cov[2], atol=0.05 * np.abs(cov[2]).max())
    wide = NoiseModes(torch.tensor(modes), torch.tensor(mean), torch.tensor(cov), scale=2.0)(
        torch.full((20000,), 0.5, dtype=torch.float64), z
    )
    spread = (wide.reshape(20000, -1) @ torch.tensor(flat).T - torch.tensor(mean[2])).std(0) / (
        coef - torch.tensor(mean[2])
    ).std(0)
    np.testing.assert_allclose(spread.numpy(), 2.0, rtol=1e-6)


def test_a_path_is_one_noise_draw(deca, reference, pull_protocol):
    import torch
    from conftest import tiny

    from pathgan.gan import GAN

    gan = GAN.for_reference(
        deca,
        tiny(model={"hidden": [16], "template_bins": 5, "noise_modes": 4, "noise_dim": 8, "noise_bins": 5}),
        pull_protocol,
        reference,
    )
    t = torch.linspace(0, 1, 7)
    paths = gan.generate_paths(t, 3, torch.Generator().manual_seed(1)).detach()
    assert paths.shape == (3, 7, deca.n_atoms, 3)
    # the noise moves the structure: paths differ; along one path the structure changes smoothly
    assert float((paths[0] - paths[1]).abs().max()) > 0.05
    steps = (paths[0, 1:] - paths[0, :-1]).norm(dim=-1).mean(-1)
    assert float(steps.max()) < 5.0
