"""Tables over progress t in [0, 1]: binning frames by t, and interpolating values tabulated at even t.

The cGAN's template (reference structures at evenly spaced t) and its restraint centre (the
reference pulls' mean distance at evenly spaced t) are both such tables; this is the one
place that bins frames into them and reads them back.
"""

from __future__ import annotations

import numpy as np
import torch

from openmm_bridge.errors import PathganInputError


def bin_by_t(t: np.ndarray, n_bins: int) -> list[np.ndarray]:
    """Indices of the frames in each of ``n_bins`` bins of t, bin k centred on k / (n_bins - 1).

    A bin holds the frames within half a bin width of its centre; an empty bin gets the
    single frame nearest its centre, so every bin has at least one frame.
    """
    t = np.asarray(t, dtype=np.float64)
    if n_bins < 2:
        raise PathganInputError(f"a table over t needs at least 2 bins, got {n_bins}")
    half = 0.5 / (n_bins - 1)
    out = []
    for centre in np.linspace(0.0, 1.0, n_bins):
        idx = np.flatnonzero(np.abs(t - centre) <= half + 1e-12)
        out.append(idx if idx.size else np.array([int(np.argmin(np.abs(t - centre)))]))
    return out


def interpolate(table: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of ``table`` (K >= 2, ...) tabulated at t = k / (K - 1).

    ``t`` (batch,) is clamped to [0, 1]; the result has shape (batch, ...).
    """
    k = table.shape[0]
    x = t.clamp(0.0, 1.0) * (k - 1)
    lo = x.floor().long().clamp(max=k - 2)
    frac = (x - lo).to(table.dtype).reshape(-1, *([1] * (table.ndim - 1)))
    return table[lo] * (1 - frac) + table[lo + 1] * frac
