"""Path collective variables s(x) and z(x) (Branduardi, Gervasio and Parrinello 2007) as an OpenMM Force.

For reference frames x_1 .. x_M along a path and a metric d(x, x_i)^2::

    s(x) = sum_i (i-1)/(M-1) exp(-lambda d_i^2) / sum_i exp(-lambda d_i^2)    (0 at the start, 1 at the end)
    z(x) = -(1/lambda) ln sum_i exp(-lambda d_i^2)                             (distance from the path)

The metric is the mean squared difference of the intra-molecular distances of a set of
atoms (by default the CA atoms), so s and z need no superposition: they are invariant to
rotation and translation, smooth, and differentiable everywhere. lambda defaults to
2.3 / <d^2 of consecutive frames>, Branduardi's choice.

:class:`PathCV` computes (s, z) in torch; :class:`PathCVBias` turns it into a TorchScript
bias ``1/2 k_s (s - s0)^2`` (+ an optional upper wall on z) with ``pathcv_s0`` and
``pathcv_ks`` as global parameters, and :func:`path_cv_force` wraps it in an openmm-torch
``TorchForce`` that any OpenMM user adds to their System::

    force = path_cv_force(frames_nm, atoms, k_s_kj_mol=5000.0)
    system.addForce(force)
    simulation.context.setParameter("pathcv_s0", 0.3)

Units: nm and kJ/mol, OpenMM's own, inside the force.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import numpy as np
import openmm as mm
import openmm.app as app
import torch

from .errors import PathganInputError

S0_PARAMETER = "pathcv_s0"
KS_PARAMETER = "pathcv_ks"


def _pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    i, j = torch.triu_indices(n, n, offset=1)
    return i, j


class PathCV(torch.nn.Module):
    """s and z of positions (n_atoms, 3) nm with respect to a reference path.

    Parameters
    ----------
    frames_nm
        (M >= 2, n_atoms, 3) reference frames (all atoms of the system), nm.
    atoms
        Indices of the atoms whose distances define the metric (at least 3).
    lam
        lambda, 1/nm^2; default 2.3 / mean d^2 between consecutive frames.
    """

    def __init__(self, frames_nm: np.ndarray, atoms: Sequence[int], lam: float | None = None) -> None:
        super().__init__()
        frames = np.asarray(frames_nm, dtype=np.float64)
        if frames.ndim != 3 or frames.shape[2] != 3:
            raise PathganInputError(
                f"path CV: frames must have shape (n_frames, n_atoms, 3), got {frames.shape}"
            )
        if frames.shape[0] < 2:
            raise PathganInputError(f"path CV: a path needs at least 2 frames, got {frames.shape[0]}")
        if not np.isfinite(frames).all():
            raise PathganInputError("path CV: the path has NaN or infinite coordinates")
        atoms = [int(a) for a in atoms]
        if len(atoms) < 3:
            raise PathganInputError(f"path CV: needs at least 3 atoms for its metric, got {len(atoms)}")
        bad = [a for a in atoms if not 0 <= a < frames.shape[1]]
        if bad:
            raise PathganInputError(f"path CV: atom indices {bad} out of range ({frames.shape[1]} atoms)")
        self.register_buffer("atoms", torch.tensor(atoms, dtype=torch.long))
        i, j = _pairs(len(atoms))
        self.register_buffer("pi", i)
        self.register_buffer("pj", j)
        sel = torch.as_tensor(frames[:, atoms], dtype=torch.float64)
        ref = torch.sqrt(((sel[:, i] - sel[:, j]) ** 2).sum(dim=-1))  # (M, n_pairs)
        self.register_buffer("ref", ref)
        m = frames.shape[0]
        self.register_buffer("progress", torch.arange(m, dtype=torch.float64) / (m - 1))
        if lam is None:
            consecutive = ((ref[1:] - ref[:-1]) ** 2).mean(dim=1)
            mean = float(consecutive.mean())
            if mean <= 0:
                raise PathganInputError("path CV: consecutive frames are identical; cannot set lambda")
            lam = 2.3 / mean
        self.lam = float(lam)

    def msd(self, positions: torch.Tensor) -> torch.Tensor:
        """d^2 to every reference frame, (M,), nm^2."""
        x = positions[self.atoms].to(self.ref.dtype)
        d = torch.sqrt(((x[self.pi] - x[self.pj]) ** 2).sum(dim=-1))
        return ((d[None, :] - self.ref) ** 2).mean(dim=1)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Tensor [s, z] (z in nm^2) of positions (n_atoms, 3) nm."""
        logw = -self.lam * self.msd(positions)
        lse = torch.logsumexp(logw, dim=0)
        s = (torch.exp(logw - lse) * self.progress).sum()
        z = -lse / self.lam
        return torch.stack([s, z])


class PathCVBias(torch.nn.Module):
    """``1/2 k_s (s - s0)^2 + 1/2 k_z max(z - z_max, 0)^2``, kJ/mol, for openmm-torch.

    ``forward(positions, pathcv_s0, pathcv_ks)``: the two global parameters of the force.
    """

    def __init__(self, cv: PathCV, k_z_kj_mol_nm4: float = 0.0, z_max_nm2: float = 0.0) -> None:
        super().__init__()
        self.cv = cv
        self.k_z = float(k_z_kj_mol_nm4)
        self.z_max = float(z_max_nm2)

    def forward(
        self, positions: torch.Tensor, pathcv_s0: torch.Tensor, pathcv_ks: torch.Tensor
    ) -> torch.Tensor:
        sz = self.cv(positions)
        energy = 0.5 * pathcv_ks.to(sz.dtype) * (sz[0] - pathcv_s0.to(sz.dtype)) ** 2
        if self.k_z > 0:
            energy = energy + 0.5 * self.k_z * torch.clamp(sz[1] - self.z_max, min=0.0) ** 2
        return energy.to(positions.dtype)


def default_atoms(topology: app.Topology) -> list[int]:
    """CA atoms of an OpenMM topology (the default metric atoms)."""
    atoms = [a.index for a in topology.atoms() if a.name == "CA"]
    if len(atoms) < 3:
        raise PathganInputError(f"path CV: the topology has {len(atoms)} CA atoms; pass atoms= explicitly")
    return atoms


_PLUGINS_CHECKED = False


def ensure_openmmtorch() -> ModuleType:
    """Import openmmtorch and make sure its OpenMM kernels are registered; return the module.

    OpenMM loads its plugins when ``openmm`` is first imported; if that happened before
    ``torch``, the Torch kernels fail to load (their CUDA dependencies were not loaded yet)
    and a Context with a TorchForce is refused. They are loaded again here.
    """
    global _PLUGINS_CHECKED
    import contextlib
    import io

    import openmm as mm

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        import openmmtorch  # prints a deprecation notice about simtk on import
    if not _PLUGINS_CHECKED:
        for failure in mm.Platform.getPluginLoadFailures():
            if "OpenMMTorch" in failure and "OpenCL" not in failure and "Error loading library " in failure:
                library = failure.split("Error loading library ", 1)[1].split(": ", 1)[0]
                with contextlib.suppress(Exception):  # a GPU plugin without its GPU stays unloaded
                    mm.Platform.loadPluginLibrary(library)
        _PLUGINS_CHECKED = True
    return openmmtorch


def path_cv_force(
    frames_nm: np.ndarray,
    atoms: Sequence[int],
    k_s_kj_mol: float = 5000.0,
    s0: float = 0.0,
    lam: float | None = None,
    k_z_kj_mol_nm4: float = 0.0,
    z_max_nm2: float = 0.0,
) -> mm.Force:
    """An openmm-torch ``TorchForce`` biasing s(x) towards ``pathcv_s0`` (TorchScript inside)."""
    openmmtorch = ensure_openmmtorch()
    module = torch.jit.script(PathCVBias(PathCV(frames_nm, atoms, lam), k_z_kj_mol_nm4, z_max_nm2))
    force = openmmtorch.TorchForce(module)
    force.addGlobalParameter(S0_PARAMETER, float(s0))
    force.addGlobalParameter(KS_PARAMETER, float(k_s_kj_mol))
    force.setName("path CV bias")
    return force


def path_cv_values(cv: PathCV, positions_nm: np.ndarray) -> tuple[float, float]:
    """(s, z) of one structure (n_atoms, 3) nm."""
    with torch.no_grad():
        sz = cv(torch.as_tensor(np.asarray(positions_nm), dtype=torch.float64))
    return float(sz[0]), float(sz[1])
