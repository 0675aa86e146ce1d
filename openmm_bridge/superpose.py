"""Optimal superposition (Kabsch): one structure onto another, and a chain of frames onto each other."""

from __future__ import annotations

import numpy as np


def superpose(mobile: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``mobile`` (n, 3) rotated and translated onto ``target`` (least squares, proper rotation)."""
    mc, tc = mobile.mean(axis=0), target.mean(axis=0)
    a, b = mobile - mc, target - tc
    uu, _, vt = np.linalg.svd(a.T @ b)
    d = np.sign(np.linalg.det(uu @ vt))
    return a @ (uu @ np.diag([1.0, 1.0, d]) @ vt) + tc


def align_chain(images: np.ndarray) -> np.ndarray:
    """Each image (n_images, n, 3) superposed on the one before it (the first stays where it is)."""
    out = [images[0]]
    for img in images[1:]:
        out.append(superpose(img, out[-1]))
    return np.stack(out)
