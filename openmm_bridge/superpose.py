"""Optimal superposition (Kabsch): one structure onto another, and a chain of frames onto each other."""

from __future__ import annotations

import numpy as np


def kabsch_transform(mobile: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotation (3, 3) and translation (3,) with ``mobile @ rotation + translation`` closest to ``target``.

    Least squares over the (n, 3) points; the rotation is proper (determinant +1), so a
    structure is never mirrored, however few or coplanar the points.
    """
    mc, tc = mobile.mean(axis=0), target.mean(axis=0)
    uu, _, vt = np.linalg.svd((mobile - mc).T @ (target - tc))
    d = np.sign(np.linalg.det(uu @ vt)) or 1.0
    rotation = uu @ np.diag([1.0, 1.0, d]) @ vt
    return rotation, tc - mc @ rotation


def superpose(mobile: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``mobile`` (n, 3) rotated and translated onto ``target`` (least squares, proper rotation)."""
    rotation, translation = kabsch_transform(mobile, target)
    return mobile @ rotation + translation


def align_chain(images: np.ndarray) -> np.ndarray:
    """Each image (n_images, n, 3) superposed on the one before it (the first stays where it is)."""
    out = [images[0]]
    for img in images[1:]:
        out.append(superpose(img, out[-1]))
    return np.stack(out)
