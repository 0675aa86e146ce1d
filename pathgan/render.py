"""Pictures of structures: ball-and-stick with the backbone drawn as a tube, helix in red.

Rendered with matplotlib (no display, no molecular viewer needed): atoms as spheres coloured
by element, bonds as lines, the backbone (N-CA-C) as a thick line coloured by DSSP (helix
red, other grey), viewed down the axis of least spread so the molecule lies flat.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import mdtraj as md
import numpy as np

from openmm_bridge.plots import plt, save_figure

_ELEMENT_COLOURS = {"C": "#555555", "N": "#3050f8", "O": "#ff0d0d", "H": "#dddddd", "S": "#ffff30"}
_ELEMENT_SIZES = {"H": 6, "C": 22, "N": 22, "O": 22, "S": 28}


def _view(xyz: np.ndarray) -> np.ndarray:
    """Coordinates rotated onto their principal axes (largest spread first), centred."""
    c = xyz - xyz.mean(axis=0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    return c @ vt.T


def draw_structure(ax: plt.Axes, frame: md.Trajectory, title: str = "") -> None:
    """Draw one frame (an mdtraj Trajectory of one frame) on a 2D axis, in Angstrom.

    Bonds, backbone and atoms are one collection each (a call per atom took seconds per frame).
    """
    from matplotlib.collections import LineCollection

    xyz = _view(frame.xyz[0] * 10.0)
    top = frame.topology
    bonds = np.array([(b.atom1.index, b.atom2.index) for b in top.bonds], dtype=int).reshape(-1, 2)
    ax.add_collection(LineCollection(xyz[bonds][:, :, :2], colors="#999999", linewidths=0.6, zorder=1))
    codes = md.compute_dssp(frame, simplified=True)[0]
    backbone = [a.index for a in top.atoms if a.name in ("N", "CA", "C") and a.residue.is_protein]
    if len(backbone) > 1:
        pairs = np.array(list(zip(backbone[:-1], backbone[1:], strict=True)))
        colours = ["#d62728" if codes[top.atom(a0).residue.index] == "H" else "#7f7f7f" for a0 in pairs[:, 0]]
        ax.add_collection(
            LineCollection(xyz[pairs][:, :, :2], colors=colours, linewidths=4.0, capstyle="round", zorder=2)
        )
    order = np.argsort(xyz[:, 2])  # far atoms first
    elements = [top.atom(int(i)).element.symbol for i in order]
    ax.scatter(
        xyz[order, 0],
        xyz[order, 1],
        s=[_ELEMENT_SIZES.get(el, 20) for el in elements],
        c=[_ELEMENT_COLOURS.get(el, "#ff69b4") for el in elements],
        edgecolors="k",
        linewidths=0.3,
        zorder=3,
    )
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    helix = float((codes == "H").sum()) / max(int((codes != "NA").sum()), 1)
    ax.set_title(f"{title}\nhelix {helix:.0%}", fontsize=9)


def render_strip(
    trajectories: Sequence[tuple[str, md.Trajectory]], t_values: Sequence[float], path: str | os.PathLike
) -> None:
    """A grid of pictures: one row per (label, trajectory), one column per t (nearest frame)."""
    rows, cols = len(trajectories), len(t_values)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.0 * rows), squeeze=False)
    for r, (label, traj) in enumerate(trajectories):
        for c, t in enumerate(t_values):
            k = int(round(t * (traj.n_frames - 1)))
            draw_structure(axes[r, c], traj[k], f"{label}, t = {t:.2f}")
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
