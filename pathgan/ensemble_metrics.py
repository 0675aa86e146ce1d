"""Judging an ensemble of structures against held-out reference frames, bin by bin along t.

A conditional generator is a distribution over structures at each t, so it is judged on
distributions (the metrics of generative models of molecules), always against reference
frames it did not train on:

- **spread**: the median heavy-atom RMSD (after superposition) between frames of *different*
  paths (generated samples, or reference replicas) at the same t, over the t of a bin; the
  *spread ratio* is the generated ensemble's spread over the held-out replicas'.
- **precision and coverage** (Kynkaanniemi et al., NeurIPS 2019, "Improved precision and
  recall metric for assessing generative models"): each frame of a set gets a ball whose
  radius is the RMSD to its k-th nearest neighbour in its own set (k = 3); precision is the
  share of generated frames inside some ball of the reference frames, coverage (recall) the
  share of reference frames inside some ball of the generated frames. Counted within each
  bin of t and pooled over the bins.
- **Jensen-Shannon divergence** of backbone (phi, psi) histograms (36 x 36 bins of 10 degrees,
  every residue's pair pooled), in bits (0 for equal distributions, 1 for disjoint ones).

Frames are Angstrom, (n, n_atoms, 3); t in [0, 1]. Bins of t are 10 equal bins; t = 0 sits in
the first (:func:`t_bins`).
"""

from __future__ import annotations

import numpy as np

#: Number of bins of t the metrics are computed in.
N_T_BINS = 10
#: k of the k-nearest-neighbour radii of precision and coverage.
K_NEAREST = 3
#: (phi, psi) histogram bins per axis (10 degrees).
N_ANGLE_BINS = 36


def t_bins(t: np.ndarray, n_bins: int = N_T_BINS) -> np.ndarray:
    """Bin index (0 .. n_bins - 1) of each t: equal bins over [0, 1], t = 1 in the last."""
    return np.minimum((np.asarray(t, dtype=np.float64) * n_bins).astype(int), n_bins - 1)


def rmsd_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """RMSD (A) after optimal superposition (proper rotations) of every frame of ``a`` to every frame of ``b``.

    ``a`` (n_a, n_atoms, 3), ``b`` (n_b, n_atoms, 3) -> (n_a, n_b), float64. Batched Kabsch:
    ``rmsd^2 = (|A|^2 + |B|^2 - 2 sum_k s_k d_k) / n`` with the singular values s of A^T B and
    the reflection guard d.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    n = a.shape[1]
    out = np.empty((len(a), len(b)))
    gb = (b**2).sum(axis=(1, 2))
    for i, ai in enumerate(a):
        h = np.einsum("na,mnb->mab", ai, b)
        u, sv, vt = np.linalg.svd(h)
        sv[:, 2] *= np.sign(np.linalg.det(u @ vt))
        msd = ((ai**2).sum() + gb - 2.0 * sv.sum(axis=1)) / n
        out[i] = np.sqrt(np.clip(msd, 0.0, None))
    return out


def spread(frames: np.ndarray, t: np.ndarray, path: np.ndarray) -> float:
    """Median RMSD (A) between frames of different paths at the same t; NaN without such a pair.

    ``frames`` (n, n_atoms, 3), ``t`` (n,), ``path`` (n,): which sample or replica each frame is of.
    """
    t, path = np.asarray(t), np.asarray(path)
    same = (np.abs(t[:, None] - t[None, :]) < 1e-9) & (path[:, None] != path[None, :])
    i, j = np.nonzero(np.triu(same, 1))
    if not len(i):
        return float("nan")
    d = rmsd_matrix(frames, frames)
    return float(np.median(d[i, j]))


def knn_radii(d_self: np.ndarray, k: int = K_NEAREST) -> np.ndarray:
    """Distance of each frame to its k-th nearest neighbour in its own set (``d_self`` square, zero diagonal)."""
    n = len(d_self)
    if n <= k:
        return np.zeros(n)  # too few frames for a k-th neighbour: the set covers only exact matches
    return np.sort(d_self, axis=1)[:, k]  # column 0 is the frame itself


def precision_coverage(
    generated: np.ndarray, reference: np.ndarray, k: int = K_NEAREST
) -> tuple[int, int, int, int]:
    """(generated inside the reference manifold, n generated, reference inside the generated one, n reference)."""
    d_rr = rmsd_matrix(reference, reference)
    d_gg = rmsd_matrix(generated, generated)
    d_gr = rmsd_matrix(generated, reference)
    r_ref, r_gen = knn_radii(d_rr, k), knn_radii(d_gg, k)
    inside_ref = (d_gr <= r_ref[None, :]).any(axis=1)  # a generated frame in some reference ball
    inside_gen = (d_gr <= r_gen[:, None]).any(axis=0)  # a reference frame in some generated ball
    return int(inside_ref.sum()), len(generated), int(inside_gen.sum()), len(reference)


def phi_psi_histogram(phi_psi_rad: np.ndarray, bins: int = N_ANGLE_BINS) -> np.ndarray:
    """Normalised 2-D histogram (bins, bins) of (phi, psi) pairs, radians, shape (..., 2) pooled."""
    x = np.asarray(phi_psi_rad, dtype=np.float64).reshape(-1, 2)
    edges = np.linspace(-np.pi, np.pi, bins + 1)
    h, _, _ = np.histogram2d(x[:, 0], x[:, 1], bins=(edges, edges))
    return h / max(h.sum(), 1.0)


def jensen_shannon(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (bits) between two normalised histograms of the same shape."""
    p, q = np.asarray(p, dtype=np.float64).ravel(), np.asarray(q, dtype=np.float64).ravel()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray, b: np.ndarray) -> float:
        nz = a > 0
        return float((a[nz] * np.log2(a[nz] / b[nz])).sum())

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def ensemble_scores(
    gen_xyz: np.ndarray,
    gen_t: np.ndarray,
    gen_path: np.ndarray,
    ref_xyz: np.ndarray,
    ref_t: np.ndarray,
    ref_path: np.ndarray,
    atoms: np.ndarray,
    n_bins: int = N_T_BINS,
    skip_first_bin_spread: bool = True,
) -> dict[str, object]:
    """Spread, precision and coverage of generated frames against reference frames, per bin of t.

    ``gen_xyz`` (n_g, n_atoms, 3) with ``gen_t`` (n_g,) and ``gen_path`` (n_g,) (the sample each
    frame belongs to), likewise the reference (``ref_path``: the replica); ``atoms`` the atoms
    compared (heavy atoms). The spread ratio leaves out the first bin when
    ``skip_first_bin_spread`` (all pulls start from one structure, so the reference's spread
    there is mostly thermal noise about one frame). Returns the pooled precision and
    coverage, the median spread ratio over bins, and every bin's numbers.
    """
    gb, rb = t_bins(gen_t, n_bins), t_bins(ref_t, n_bins)
    g_xyz, r_xyz = np.asarray(gen_xyz)[:, atoms], np.asarray(ref_xyz)[:, atoms]
    gen_t, ref_t, gen_path, ref_path = (np.asarray(a) for a in (gen_t, ref_t, gen_path, ref_path))
    per_bin = []
    counts = np.zeros(4, dtype=int)
    for b in range(n_bins):
        g, r = g_xyz[gb == b], r_xyz[rb == b]
        row: dict[str, float | int] = {"bin": b, "n_generated": int(len(g)), "n_reference": int(len(r))}
        if len(g) and len(r):
            counts += np.array(precision_coverage(g, r))
            row["spread_generated_angstrom"] = spread(g, gen_t[gb == b], gen_path[gb == b])
            row["spread_reference_angstrom"] = spread(r, ref_t[rb == b], ref_path[rb == b])
            ref_spread = row["spread_reference_angstrom"]
            # identical reference frames (every pull's t=0 frame is the one start) define no ratio
            row["spread_ratio"] = (
                row["spread_generated_angstrom"] / ref_spread if ref_spread > 1e-6 else float("nan")
            )
        per_bin.append(row)
    ratios = [
        r["spread_ratio"]
        for r in per_bin[int(skip_first_bin_spread) :]
        if np.isfinite(r.get("spread_ratio", np.nan))
    ]
    return {
        "spread_ratio_median": float(np.median(ratios)) if ratios else float("nan"),
        "precision": counts[0] / counts[1] if counts[1] else float("nan"),
        "coverage": counts[2] / counts[3] if counts[3] else float("nan"),
        "per_bin": per_bin,
    }
