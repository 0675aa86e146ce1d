"""Relaxing generated structures in the batched TorchMD potential: the last step of generation.

Structures built from the noise modes have the reference pulls' spread but linear moves break
bond lengths and angles; a few steps of steepest descent repair them, in batch, on the GPU or
CPU the generator runs on:

1. ``local_steps`` steps on bonds and angles alone (stiff, local: they fix geometry without
   moving the molecule along its soft modes);
2. ``full_steps`` steps on the whole potential with the pull's restraint at each frame's t
   (clashes and strained torsions relax; the restraint keeps the frame's place on the path).

Step sizes are Angstrom^2/(kcal/mol); each atom's force is capped (``max_force_kcal_mol_a``)
so a bad clash cannot throw an atom. Few steps on purpose: a minimisation would collapse the
ensemble onto local minima; this is a repair.

Force fields have no chirality term, and linear moves along the noise modes can push a
hydrogen through its carbon: both stages add a :class:`ChiralityGuard`, ``k (m - s V)^2`` for
every stereocentre whose signed volume V (A^3) is not at least the margin m on the side s of
the system's own configuration (:mod:`openmm_bridge.stereochemistry`). It only steers the
relaxation: reported energies never include it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from openmm_bridge.stereochemistry import centre_signs, stereocentres

from .potential import TorchMDPotential

if TYPE_CHECKING:
    from openmm_bridge.system import MolecularSystem


@dataclass(frozen=True)
class RelaxSettings:
    """Steps and step sizes of :func:`relax` (A^2 / (kcal/mol)); zero steps turn a stage off."""

    local_steps: int = 100
    local_step_size: float = 6e-4
    full_steps: int = 50
    full_step_size: float = 2e-4
    max_force_kcal_mol_a: float = 500.0
    chirality_k: float = 50.0  # kcal/mol/A^6
    chirality_margin_a3: float = 1.5


#: The relaxation generation applies by default.
DEFAULT_RELAX = RelaxSettings()


class ChiralityGuard(torch.nn.Module):
    """``sum k relu(m - s V)^2`` over stereocentres, kcal/mol per frame.

    ``atoms`` (n, 4): centre, a, b, d of each signed volume ``(a - c) . ((b - c) x (d - c))``;
    ``signs`` (n,): the side each must stay on.
    """

    def __init__(self, atoms: torch.Tensor, signs: torch.Tensor, k: float, margin: float) -> None:
        super().__init__()
        self.register_buffer("atoms", atoms.long().reshape(-1, 4))
        self.register_buffer("signs", torch.as_tensor(signs, dtype=torch.float64))
        self.k, self.margin = float(k), float(margin)

    @classmethod
    def of_system(cls, system: MolecularSystem, settings: RelaxSettings = DEFAULT_RELAX) -> ChiralityGuard:
        """The guard of every stereocentre of ``system``, on the side of its own structure."""
        centres = stereocentres(system.topology)
        signs = centre_signs(system.positions_angstrom(), centres)
        atoms = torch.tensor([c.atoms for c in centres], dtype=torch.long)
        return cls(atoms, torch.as_tensor(signs), settings.chirality_k, settings.chirality_margin_a3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The guard's energy of each frame of ``x`` (batch, n_atoms, 3) A: (batch,) kcal/mol."""
        if not len(self.atoms):
            return x.new_zeros(x.shape[0])
        c, a, b, d = (x[:, self.atoms[:, i]] for i in range(4))
        volume = ((a - c) * torch.linalg.cross(b - c, d - c)).sum(-1)  # (batch, n)
        short = torch.relu(self.margin - self.signs.to(x.dtype) * volume)
        return self.k * (short**2).sum(-1)


def _descend(
    potential: TorchMDPotential,
    guard: ChiralityGuard | None,
    x: torch.Tensor,
    t: torch.Tensor | None,
    terms: tuple[str, ...] | None,
    steps: int,
    size: float,
    cap: float,
) -> torch.Tensor:
    for _ in range(steps):
        x = x.detach().requires_grad_(True)
        energy = potential(x, t, terms)["total"].sum()
        if guard is not None:
            energy = energy + guard(x).sum()
        (grad,) = torch.autograd.grad(energy, x)
        x = x.detach() - size * grad.clamp(-cap, cap)
    return x.detach()


def relax(
    potential: TorchMDPotential,
    xyz: torch.Tensor,
    t: torch.Tensor,
    settings: RelaxSettings | None = None,
    guard: ChiralityGuard | None = None,
) -> torch.Tensor:
    """Relaxed copies of structures ``xyz`` (batch, n_atoms, 3) A at progress ``t`` (batch,) (see the module docstring).

    ``potential`` is the full potential with the pull's restraint (a GAN's ``potential``);
    ``guard``: the system's :class:`ChiralityGuard` (none: stereocentres are not guarded).
    """
    s = settings or RelaxSettings()
    x = xyz.detach()
    guard = None if guard is None else guard.to(x.device)
    cap = s.max_force_kcal_mol_a
    with torch.enable_grad():  # also when the caller generates under no_grad
        x = _descend(potential, guard, x, None, ("bonds", "angles"), s.local_steps, s.local_step_size, cap)
        return _descend(potential, guard, x, t.to(x.dtype), None, s.full_steps, s.full_step_size, cap)
