"""The conditional GAN: a generator of structures at progress t, and a discriminator of torsions.

Two configurations (see :mod:`pathgan.config`):

``paper``
    The model of the paper: generator ``[t, z (31)] -> 32 -> 50 -> 100 -> 3N`` with sigmoid
    hidden activations, predicting Cartesian coordinates directly (the output bias starts
    at the mean reference structure); discriminator ``[t, torsions] -> 10 -> 1``, sigmoid.

``pathgan`` (the default)
    The generator predicts a *correction* to a reference template: the template is the
    medoid reference frame of each of K bins of t, consecutive medoids superposed, linearly
    interpolated in t; the network adds a displacement computed from Fourier features of t
    and the noise, through a zero-initialised output layer. So the t=0 frame starts from
    the reference start (the helix) and training only has to fix what the template lacks
    (physical bond lengths between medoids, a low energy, the variety of real frames).
    The discriminator reads (cos, sin) of the torsions and the same t features.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from openmm_bridge.errors import PathganInputError
from openmm_bridge.superpose import superpose

from .tables import bin_by_t, interpolate

log = logging.getLogger(__name__)

_ACTIVATIONS = {
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.2),
}


def mlp(sizes: Sequence[int], activation: str, final_activation: bool = False) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between them."""
    if activation not in _ACTIVATIONS:
        raise PathganInputError(f"unknown activation {activation!r}; known: {sorted(_ACTIVATIONS)}")
    layers: list[nn.Module] = []
    for k in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[k], sizes[k + 1]))
        if k < len(sizes) - 2 or final_activation:
            layers.append(_ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class TimeEncoding(nn.Module):
    """t (batch,) -> features (batch, dim): raw ``[t]`` or ``[t, sin(pi k t), cos(pi k t)], k=1..n``."""

    def __init__(self, n_frequencies: int = 0) -> None:
        super().__init__()
        self.n_frequencies = int(n_frequencies)
        self.register_buffer("freqs", math.pi * torch.arange(1, self.n_frequencies + 1, dtype=torch.float32))

    @property
    def dim(self) -> int:
        """Number of features."""
        return 1 + 2 * self.n_frequencies

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # noqa: D102
        t = t.reshape(-1, 1)
        if self.n_frequencies == 0:
            return t
        angles = t * self.freqs.to(t.dtype)
        return torch.cat([t, torch.sin(angles), torch.cos(angles)], dim=1)


class Template(nn.Module):
    """Reference structures at evenly spaced t, linearly interpolated: (batch,) t -> (batch, N, 3) Angstrom."""

    def __init__(self, frames_angstrom: torch.Tensor) -> None:
        super().__init__()
        if frames_angstrom.ndim != 3 or frames_angstrom.shape[0] < 2:
            raise PathganInputError(
                f"a template needs (K>=2, n_atoms, 3) frames, got {tuple(frames_angstrom.shape)}"
            )
        self.register_buffer("frames", frames_angstrom.detach().clone())

    def forward(self, t: torch.Tensor) -> torch.Tensor:  # noqa: D102
        return interpolate(self.frames, t)


class NoiseModes(nn.Module):
    """Noise that reaches the structure: ``V^T (mu(t) + s L(t) z)``, (batch, N, 3) Angstrom.

    ``modes`` V (K, N, 3): orthonormal directions of the reference frames' deviations from the
    template (principal components); ``mean`` (B, K) and ``cov`` (B, K, K): the mean and the
    covariance of those deviations' coefficients in each of B bins of t, interpolated in t;
    L(t) is the Cholesky factor of the interpolated covariance. So at every t the noise spreads structures as the reference pulls
    spread there, correlations included; the same z at every t gives a smooth path. ``scale``
    s widens the spread (the K modes and the relaxation that follows take some of it away).
    """

    def __init__(
        self, modes: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor, scale: float = 1.0
    ) -> None:
        super().__init__()
        k = modes.shape[0]
        if modes.ndim != 3 or mean.shape[1:] != (k,) or cov.shape[1:] != (k, k) or mean.shape[0] < 2:
            raise PathganInputError(
                f"noise modes need (K, n_atoms, 3) modes, (B>=2, K) means and (B, K, K) covariances, got "
                f"{tuple(modes.shape)}, {tuple(mean.shape)}, {tuple(cov.shape)}"
            )
        self.register_buffer("modes", modes.detach().clone())
        self.register_buffer("mean", mean.detach().clone())
        self.register_buffer("cov", cov.detach().clone())
        self.scale = float(scale)

    @property
    def n_modes(self) -> int:
        """K."""
        return self.modes.shape[0]

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:  # noqa: D102
        zk = z[:, : self.n_modes]
        # float64: covariances of near-degenerate modes are ill-conditioned in float32
        chol = torch.linalg.cholesky(interpolate(self.cov.double(), t.double())).to(z.dtype)
        coef = interpolate(self.mean, t).to(z.dtype) + self.scale * torch.einsum("bkj,bj->bk", chol, zk)
        return torch.einsum("bk,knd->bnd", coef, self.modes.to(z.dtype))


class Generator(nn.Module):
    """G(t, z) -> structure (batch, n_atoms, 3), Angstrom.

    Parameters
    ----------
    n_atoms
        Atoms per structure.
    noise_dim
        Size of z (standard normal).
    hidden
        Hidden layer sizes.
    activation
        Hidden activation.
    t_frequencies
        Fourier frequencies of the t encoding (0: raw t, as in the paper).
    template
        (K, n_atoms, 3) reference frames: the output is template(t) + network. ``None``:
        the network predicts coordinates itself (``mean_structure`` sets its output bias).
    modes
        Optional ``(modes, mean, chol, scale)`` of :class:`NoiseModes` (the first K noise values
        move the structure along them); the output is then template(t) + modes(t, z) + network(t, z).
    """

    def __init__(
        self,
        n_atoms: int,
        noise_dim: int = 31,
        hidden: Sequence[int] = (32, 50, 100),
        activation: str = "sigmoid",
        t_frequencies: int = 0,
        template: torch.Tensor | None = None,
        mean_structure: torch.Tensor | None = None,
        modes: tuple[torch.Tensor, torch.Tensor, torch.Tensor, float] | None = None,
    ) -> None:
        super().__init__()
        self.n_atoms, self.noise_dim = int(n_atoms), int(noise_dim)
        self.modes = None if modes is None else NoiseModes(*modes)
        if self.modes is not None and self.modes.n_modes > self.noise_dim:
            raise PathganInputError(
                f"{self.modes.n_modes} noise modes need noise_dim >= that, got {noise_dim}"
            )
        self.time = TimeEncoding(t_frequencies)
        self.net = mlp([self.time.dim + self.noise_dim, *hidden, 3 * self.n_atoms], activation)
        out = self.net[-1]
        self.template = Template(template) if template is not None else None
        with torch.no_grad():
            if self.template is not None:
                out.weight.zero_()  # start exactly on the template
                out.bias.zero_()
            elif mean_structure is not None:
                out.bias.copy_(mean_structure.reshape(-1).to(out.bias.dtype))

    def sample_noise(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Standard normal z, shape (n, noise_dim)."""
        z = torch.randn(n, self.noise_dim, generator=generator)
        return z.to(device) if device is not None else z

    def forward(self, t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """Structures at progress ``t`` (batch,) from noise ``z`` (batch, noise_dim): (batch, n_atoms, 3) A."""
        h = torch.cat([self.time(t.to(z.dtype)), z], dim=1)
        x = self.net(h).reshape(-1, self.n_atoms, 3)
        if self.template is not None:
            x = x + self.template(t).to(x.dtype)
        if self.modes is not None:
            x = x + self.modes(t, z)
        return x


class Discriminator(nn.Module):
    """D(t, torsions) -> probability that the structure is a real reference frame, shape (batch,).

    ``torsion_features``: ``"angles"`` (radians, as in the paper) or ``"cos_sin"``.
    """

    def __init__(
        self,
        n_torsions: int,
        hidden: Sequence[int] = (10,),
        activation: str = "sigmoid",
        t_frequencies: int = 0,
        torsion_features: str = "angles",
    ) -> None:
        super().__init__()
        if torsion_features not in ("angles", "cos_sin"):
            raise PathganInputError(
                f"torsion_features must be 'angles' or 'cos_sin', got {torsion_features!r}"
            )
        self.torsion_features = torsion_features
        self.time = TimeEncoding(t_frequencies)
        n_in = self.time.dim + n_torsions * (2 if torsion_features == "cos_sin" else 1)
        self.net = mlp([n_in, *hidden, 1], activation)

    def forward(self, t: torch.Tensor, torsions_rad: torch.Tensor) -> torch.Tensor:
        """Logit-free probability in (0, 1), shape (batch,)."""
        return torch.sigmoid(self.logits(t, torsions_rad))

    def logits(self, t: torch.Tensor, torsions_rad: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid score, shape (batch,) (for a numerically stable BCE)."""
        if self.torsion_features == "cos_sin":
            feats = torch.cat([torch.cos(torsions_rad), torch.sin(torsions_rad)], dim=1)
        else:
            feats = torsions_rad
        h = torch.cat([self.time(t.to(feats.dtype)), feats], dim=1)
        return self.net(h).squeeze(1)


# ---------------------------------------------------------------------- templates from data
def rmsd_after_alignment(a: np.ndarray, b: np.ndarray) -> float:
    """RMSD (same units) between two (n_atoms, 3) structures after optimal superposition."""
    return float(np.sqrt(((superpose(a, b) - b) ** 2).sum(axis=1).mean()))


def template_frames(
    xyz: np.ndarray, t: np.ndarray, n_bins: int, max_per_bin: int = 40, seed: int = 0
) -> np.ndarray:
    """Medoid frame of each of ``n_bins`` bins of t, consecutive medoids superposed: (n_bins, n_atoms, 3).

    ``xyz`` (n_frames, n_atoms, 3) Angstrom, ``t`` (n_frames,). The medoid (the frame with
    the smallest summed RMSD to the others of its bin, at most ``max_per_bin`` sampled)
    is a real, physical frame, unlike a mean structure. Bin k is centred on t = k/(n_bins-1).
    """
    rng = np.random.default_rng(seed)
    out = []
    for idx in bin_by_t(t, n_bins):
        if idx.size > max_per_bin:
            idx = rng.choice(idx, max_per_bin, replace=False)
        frames = xyz[idx]
        cost = [sum(rmsd_after_alignment(f, g) for g in frames) for f in frames]
        medoid = frames[int(np.argmin(cost))].astype(np.float64)
        out.append(superpose(medoid, out[-1]) if out else medoid - medoid.mean(axis=0))
    return np.stack(out)


def noise_modes(
    xyz: np.ndarray, t: np.ndarray, template: np.ndarray, n_modes: int, n_bins: int = 25
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal directions of the reference frames' deviations from the template, and their statistics along t.

    Each frame (n_frames, n_atoms, 3) Angstrom is superposed on the template at its t; the
    deviations' leading ``n_modes`` principal components are the modes (n_modes, n_atoms, 3,
    orthonormal); the mean (n_bins, n_modes) and the covariance (n_bins, n_modes, n_modes) of
    the frames' coefficients in each of ``n_bins`` bins of t describe how the reference spreads
    there. The covariances carry a ridge of 1e-4 of the mean variance (plus 1e-6 A^2), so that
    they stay positive definite in float32 in bins with fewer frames than modes. Fewer than
    ``n_modes + 1`` frames span fewer directions: then ``len(xyz) - 1`` modes are kept, with a warning.
    """
    if len(xyz) < 2:
        raise PathganInputError(f"noise modes need at least 2 training frames, got {len(xyz)}")
    if len(xyz) <= n_modes:
        log.warning(
            "%d training frames span at most %d noise modes, not the %d asked for: keeping %d",
            len(xyz),
            len(xyz) - 1,
            n_modes,
            len(xyz) - 1,
        )
        n_modes = len(xyz) - 1
    xyz, template = np.asarray(xyz, dtype=np.float64), np.asarray(template, dtype=np.float64)
    base = interpolate(torch.as_tensor(template), torch.as_tensor(t, dtype=torch.float64)).numpy()
    dev = np.stack([superpose(x, y) - y for x, y in zip(xyz, base, strict=True)]).reshape(len(xyz), -1)
    _, _, vt = np.linalg.svd(dev, full_matrices=False)
    modes = vt[:n_modes]
    coef = dev @ modes.T
    ridge = (1e-4 * np.var(coef, axis=0).mean() + 1e-6) * np.eye(n_modes)
    means, covs = [], []
    for idx in bin_by_t(t, n_bins):
        c = coef[idx]
        cov = np.atleast_2d(np.cov(c.T)) if len(c) > 1 else np.zeros((n_modes, n_modes))
        means.append(c.mean(axis=0))
        covs.append(cov + ridge)
    return modes.reshape(n_modes, *xyz.shape[1:]), np.asarray(means), np.asarray(covs)
