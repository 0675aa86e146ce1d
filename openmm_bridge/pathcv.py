"""Path collective variables s(x) and z(x) (Branduardi, Gervasio and Parrinello 2007) as an OpenMM Force.

For reference frames x_1 .. x_M along a path and a metric d(x, x_i)^2::

    s(x) = sum_i (i-1)/(M-1) exp(-lambda d_i^2) / sum_i exp(-lambda d_i^2)    (0 at the start, 1 at the end)
    z(x) = -(1/lambda) ln sum_i exp(-lambda d_i^2)                             (distance from the path, A^2)

The metric is the mean squared difference of the intra-molecular distances of a set of
atoms (by default the CA atoms), so s and z need no superposition: they are invariant to
rotation and translation, smooth, and differentiable everywhere. lambda defaults to
2.3 / <d^2 of consecutive frames>, Branduardi's choice.

:class:`PathCV` computes (s, z) in torch; :class:`PathCVBias` turns it into a TorchScript
bias ``1/2 k_s (s - s0)^2`` (+ an optional upper wall on z) with ``pathcv_s0`` and
``pathcv_ks`` as global parameters, and :func:`path_cv_force` wraps it in an openmm-torch
``TorchForce`` that any OpenMM user adds to their System::

    force = path_cv_force(frames_angstrom, atoms, k_s_kcal_mol=1200.0)
    system.addForce(force)
    simulation.context.setParameter("pathcv_s0", 0.3)

Units: the Python arguments are Angstrom and kcal/mol (``z`` in A^2, lambda in 1/A^2);
inside the force, OpenMM's: it receives positions in nm and returns kJ/mol, and its Context
parameter ``pathcv_ks`` is in kJ/mol (``pathcv_s0`` is dimensionless). The force sits in
force group 30 (``force_group``), so the work of moving ``pathcv_s0`` is read from OpenMM.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

import numpy as np
import openmm as mm
import openmm.app as app
import openmm.unit as u
import torch

from .context import N_FORCE_GROUPS
from .errors import PathganInputError
from .settings import renamed_arguments
from .string_method import reparametrize
from .units import ANGSTROM_PER_NM, kcal_to_kj, value_in

#: Global parameters of the force: the target of s, and k_s in kJ/mol (OpenMM's units).
S0_PARAMETER = "pathcv_s0"
KS_PARAMETER = "pathcv_ks"
#: Default force group of the path-CV force.
PATHCV_FORCE_GROUP = N_FORCE_GROUPS - 2


def _pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    i, j = torch.triu_indices(n, n, offset=1)
    return i, j


class PathCV(torch.nn.Module):
    """s and z (A^2) of positions with respect to a reference path.

    ``forward`` takes positions (n_atoms, 3) in nm, as OpenMM hands them to a TorchForce;
    :func:`path_cv_values` takes Angstrom.

    Parameters
    ----------
    frames_angstrom
        (M >= 2, n_atoms, 3) reference frames (all atoms of the system), Angstrom.
    atoms
        Indices of the atoms whose distances define the metric (at least 3).
    lam_per_a2
        lambda, 1/A^2; default 2.3 / mean d^2 between consecutive frames.
    """

    @renamed_arguments(frames_nm="frames_angstrom", lam="lam_per_a2")
    def __init__(
        self, frames_angstrom: np.ndarray, atoms: Sequence[int], lam_per_a2: float | None = None
    ) -> None:
        super().__init__()
        frames = np.asarray(frames_angstrom, dtype=np.float64)
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
        self.angstrom_per_nm = ANGSTROM_PER_NM  # OpenMM hands the TorchForce nm
        self.register_buffer("atoms", torch.tensor(atoms, dtype=torch.long))
        i, j = _pairs(len(atoms))
        self.register_buffer("pi", i)
        self.register_buffer("pj", j)
        sel = torch.as_tensor(frames[:, atoms], dtype=torch.float64)
        ref = torch.sqrt(((sel[:, i] - sel[:, j]) ** 2).sum(dim=-1))  # (M, n_pairs)
        self.register_buffer("ref", ref)
        m = frames.shape[0]
        self.register_buffer("progress", torch.arange(m, dtype=torch.float64) / (m - 1))
        if lam_per_a2 is None:
            consecutive = ((ref[1:] - ref[:-1]) ** 2).mean(dim=1)
            mean = float(consecutive.mean())
            if mean <= 0:
                raise PathganInputError("path CV: consecutive frames are identical; cannot set lambda")
            lam_per_a2 = 2.3 / mean
        self.lam = float(lam_per_a2)

    def msd(self, positions: torch.Tensor) -> torch.Tensor:
        """d^2 to every reference frame, (M,), A^2, of positions (n_atoms, 3) in nm."""
        x = positions[self.atoms].to(self.ref.dtype) * self.angstrom_per_nm
        d = torch.sqrt(((x[self.pi] - x[self.pj]) ** 2).sum(dim=-1))
        return ((d[None, :] - self.ref) ** 2).mean(dim=1)

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Tensor [s, z] (z in A^2) of positions (n_atoms, 3) in nm."""
        logw = -self.lam * self.msd(positions)
        lse = torch.logsumexp(logw, dim=0)
        s = (torch.exp(logw - lse) * self.progress).sum()
        z = -lse / self.lam
        return torch.stack([s, z])


class PathCVBias(torch.nn.Module):
    """``1/2 k_s (s - s0)^2 + 1/2 k_z max(z - z_max, 0)^2`` in kJ/mol (OpenMM's unit), for openmm-torch.

    ``forward(positions_nm, pathcv_s0, pathcv_ks)``: ``pathcv_ks`` in kJ/mol, the two global
    parameters of the force. ``k_z_kcal_mol_a4`` (kcal/mol/A^4) and ``z_max_a2`` (A^2) set the
    wall on z.
    """

    @renamed_arguments(k_z_kj_mol_nm4="k_z_kcal_mol_a4", z_max_nm2="z_max_a2")
    def __init__(self, cv: PathCV, k_z_kcal_mol_a4: float = 0.0, z_max_a2: float = 0.0) -> None:
        super().__init__()
        self.cv = cv
        self.k_z = float(kcal_to_kj(k_z_kcal_mol_a4))  # kJ/mol/A^4: the bias returns kJ/mol
        self.z_max = float(z_max_a2)

    def forward(
        self, positions: torch.Tensor, pathcv_s0: torch.Tensor, pathcv_ks: torch.Tensor
    ) -> torch.Tensor:
        sz = self.cv(positions)
        energy = 0.5 * pathcv_ks.to(sz.dtype) * (sz[0] - pathcv_s0.to(sz.dtype)) ** 2
        if self.k_z > 0:
            energy = energy + 0.5 * self.k_z * torch.clamp(sz[1] - self.z_max, min=0.0) ** 2
        return energy.to(positions.dtype)


def equally_spaced_frames(
    frames_angstrom: np.ndarray, atoms: Sequence[int], n_frames: int | None = None
) -> np.ndarray:
    """Frames along the same path, equally spaced in the path CV's own metric, (n_frames, n_atoms, 3) A.

    Branduardi's lambda (2.3 over the mean d^2 of consecutive frames) assumes even spacing: a
    path whose frames bunch up in one place and leave a gap in another (a string equally spaced
    in all-atom Cartesian space is not equally spaced in intra-molecular distances) gives an s
    that jumps across the gap, and an umbrella window there a force that can blow the MD up.
    New frames are placed at equal arc length of ``sqrt(d^2)`` between consecutive frames, each
    a linear interpolation of the two Cartesian frames on either side (the frames must share
    one orientation, as a string's images do). The first and last frames are kept.
    """
    x = np.asarray(frames_angstrom, dtype=np.float64)
    n = len(x) if n_frames is None else int(n_frames)
    if x.ndim != 3 or len(x) < 2 or n < 2:
        raise PathganInputError(
            f"path CV: need at least 2 frames (n_frames, n_atoms, 3); got shape {x.shape}"
        )
    i, j = (t.numpy() for t in _pairs(len(atoms)))
    sel = x[:, list(atoms)]
    d = np.sqrt(((sel[:, i] - sel[:, j]) ** 2).sum(axis=-1))  # (M, n_pairs)
    step = np.sqrt(((d[1:] - d[:-1]) ** 2).mean(axis=1))
    arc = np.concatenate([[0.0], np.cumsum(step)])
    if arc[-1] <= 0:
        raise PathganInputError("path CV: consecutive frames are identical; cannot space them")
    return reparametrize(x, arc, n)


def default_atoms(topology: app.Topology) -> list[int]:
    """The default metric atoms of an OpenMM topology: the CA atoms, or every heavy atom when fewer than 3 CA.

    A peptide of three residues or more is described by its CA trace; a smaller molecule (alanine
    dipeptide has one CA) by all its heavy atoms.
    """
    atoms = [a.index for a in topology.atoms() if a.name == "CA"]
    if len(atoms) >= 3:
        return atoms
    heavy = [a.index for a in topology.atoms() if a.element is not None and a.element.symbol != "H"]
    if len(heavy) < 3:
        raise PathganInputError(
            f"path CV: the topology has {len(atoms)} CA and {len(heavy)} heavy atoms; pass atoms= explicitly"
        )
    return heavy


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


@renamed_arguments(
    frames_nm="frames_angstrom",
    k_s_kj_mol="k_s_kcal_mol",
    lam="lam_per_a2",
    k_z_kj_mol_nm4="k_z_kcal_mol_a4",
    z_max_nm2="z_max_a2",
)
def path_cv_force(
    frames_angstrom: np.ndarray,
    atoms: Sequence[int],
    k_s_kcal_mol: float = 1200.0,
    s0: float = 0.0,
    lam_per_a2: float | None = None,
    k_z_kcal_mol_a4: float = 0.0,
    z_max_a2: float = 0.0,
    force_group: int = PATHCV_FORCE_GROUP,
) -> mm.Force:
    """An openmm-torch ``TorchForce`` biasing s(x) towards ``pathcv_s0`` (TorchScript inside).

    ``k_s_kcal_mol`` (or a Quantity) becomes the Context parameter ``pathcv_ks`` in kJ/mol.
    """
    openmmtorch = ensure_openmmtorch()
    k_s = value_in(k_s_kcal_mol, u.kilocalorie_per_mole, "k_s_kcal_mol")
    module = torch.jit.script(
        PathCVBias(PathCV(frames_angstrom, atoms, lam_per_a2), k_z_kcal_mol_a4, z_max_a2)
    )
    force = openmmtorch.TorchForce(module)
    force.addGlobalParameter(S0_PARAMETER, float(s0))
    force.addGlobalParameter(KS_PARAMETER, float(kcal_to_kj(k_s)))
    force.setName("path CV bias")
    force.setForceGroup(force_group)
    return force


def path_cv_values(cv: PathCV, positions_angstrom: np.ndarray) -> tuple[float, float]:
    """(s, z in A^2) of one structure (n_atoms, 3) Angstrom."""
    with torch.no_grad():
        sz = cv(torch.as_tensor(np.asarray(positions_angstrom) / ANGSTROM_PER_NM, dtype=torch.float64))
    return float(sz[0]), float(sz[1])
