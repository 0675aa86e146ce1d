"""A batched, differentiable molecular-mechanics potential with torchmd's parameters.

torchmd's ``Forces.compute`` evaluates one frame at a time in a Python loop.
:class:`TorchMDPotential` takes the very same parameter tensors (built by
torchmd's ``ForceField.create`` and ``Parameters``) and evaluates a whole batch of
frames, shape (batch, n_atoms, 3) in Angstrom, in one pass of tensor operations,
returning energies in kcal/mol by term.  Vacuum, no cutoff.

Terms (each a tensor of shape (batch,)):

- ``bonds``: k (r - r0)^2
- ``angles``: k (theta - theta0)^2
- ``dihedrals``: sum_n k_n (1 + cos(n phi - phase_n)) over proper torsions
- ``impropers``: periodic like dihedrals (AMBER) or harmonic k (phi - phi0)^2 (CHARMM)
- ``1-4``: the scaled Lennard-Jones and Coulomb interactions of 1-4 pairs
- ``lj``, ``electrostatics``: all other non-excluded pairs
- ``restraint``: the time-dependent end-to-end restraint, when one is attached and t is given

torchmd itself adds the 1-4 pairs into its ``lj`` and ``electrostatics`` entries;
here they are kept apart, so that each term maps onto one OpenMM force.

Terms torchmd has no form for are computed from the OpenMM forces' own parameters
(:mod:`.force_terms`), when the system has them: ``urey_bradley`` and ``cmap`` (CHARMM),
``lj_table`` and ``lj_14`` (charmm36.xml's tabulated Lennard-Jones), ``implicit_solvent``
(OBC2 or GBn2). :mod:`openmm_bridge.force_table` says which OpenMM force is which term; a
system with a force none of them computes is refused when it is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn
from torchmd.forcefields.forcefield import ForceField
from torchmd.forces import ELEC_FACTOR, Forces
from torchmd.parameters import Parameters

from openmm_bridge.errors import PathganInputError
from openmm_bridge.force_table import FORCE_TERMS, TORCHMD_TERMS
from openmm_bridge.trajio import mdtraj_topology

from . import geometry
from .force_terms import force_terms
from .pair_kernel import pair_energies
from .restraint import EndToEndRestraint
from .torsion_kernel import torsion_energy
from .torsions import TorsionSet

if TYPE_CHECKING:
    from openmm_bridge.system import MolecularSystem

#: Energy terms from torchmd's parameters, in the order of the paper's hierarchy, then the terms
#: computed from the OpenMM forces (present only in systems that have those forces).
TERMS: tuple[str, ...] = TORCHMD_TERMS + FORCE_TERMS


def torchmd_parameters(
    system: MolecularSystem, dtype: torch.dtype = torch.float64, device: str | torch.device = "cpu"
) -> Parameters:
    """torchmd's own ``Parameters`` for a system (via ``ForceField.create`` over parmed)."""
    mol = system.torchmd_molecule()
    ff = ForceField.create(mol, system.parameter_set())
    return Parameters(ff, mol, precision=dtype, device=str(device))


class TorchMDPotential(nn.Module):
    """Energy of a batch of structures with torchmd's parameters; differentiable.

    Parameters
    ----------
    parameters
        torchmd ``Parameters`` (see :func:`torchmd_parameters`).
    terms
        Which of :data:`TERMS` to compute (default: the torchmd terms and every term of
        ``extra_terms``).
    restraint
        Optional moving restraint (:class:`EndToEndRestraint`, ``CoordinateRestraint``: any
        module ``(pos, t) -> (batch,)`` kcal/mol), added as the ``restraint`` term when ``t``
        is passed to :meth:`forward`.
    extra_terms
        Terms computed from the OpenMM forces ({name: module}, see :func:`.force_terms.force_terms`).
    """

    def __init__(
        self,
        parameters: Parameters,
        terms: Sequence[str] | None = None,
        restraint: EndToEndRestraint | nn.Module | None = None,
        torsions: TorsionSet | None = None,
        extra_terms: dict[str, nn.Module] | None = None,
    ) -> None:
        super().__init__()
        self.torsions = torsions
        self.extra_terms = nn.ModuleDict(extra_terms or {})
        available = TORCHMD_TERMS + tuple(self.extra_terms)
        terms = available if terms is None else tuple(terms)
        unknown = [t for t in terms if t not in TERMS]
        if unknown:
            raise PathganInputError(f"unknown energy terms {unknown}; known: {list(TERMS)}")
        absent = [t for t in terms if t not in available]
        if absent:
            raise PathganInputError(f"this system has no {absent} terms; it has {list(available)}")
        self.terms = terms
        self.n_atoms = int(parameters.natoms)
        self.restraint = restraint
        par = parameters
        dtype = par.charges.dtype
        self._buffer("charges", par.charges)
        self._bonded(par)
        self._nonbonded(par, dtype)

    # ------------------------------------------------------------------ set-up
    def _buffer(self, name: str, value: torch.Tensor) -> None:
        self.register_buffer(name, value.detach().clone().contiguous())

    def _bonded(self, par: Parameters) -> None:
        empty_i = torch.zeros((0, 2), dtype=torch.long)
        empty_f = torch.zeros((0,), dtype=par.charges.dtype)
        if par.bond_params is not None:
            p = par.bond_params["params"][par.bond_params["map"][:, 1]]
            self._buffer("bond_idx", par.bond_params["idx"])
            self._buffer("bond_k", p[:, 0])
            self._buffer("bond_r0", p[:, 1])
        else:
            self._buffer("bond_idx", empty_i)
            self._buffer("bond_k", empty_f)
            self._buffer("bond_r0", empty_f)
        if par.angle_params is not None:
            p = par.angle_params["params"][par.angle_params["map"][:, 1]]
            self._buffer("angle_idx", par.angle_params["idx"])
            self._buffer("angle_k", p[:, 0])
            self._buffer("angle_theta0", p[:, 1])
        else:
            self._buffer("angle_idx", torch.zeros((0, 3), dtype=torch.long))
            self._buffer("angle_k", empty_f)
            self._buffer("angle_theta0", empty_f)
        for name, block in (("dihedral", par.dihedral_params), ("improper", par.improper_params)):
            if block is not None and len(block["idx"]):
                p = block["params"][block["map"][:, 1]]
                self._buffer(f"{name}_idx", block["idx"])
                self._buffer(f"{name}_term_of", block["map"][:, 0])  # term -> torsion row
                self._buffer(f"{name}_k", p[:, 0])
                self._buffer(f"{name}_phase", p[:, 1])
                self._buffer(f"{name}_per", p[:, 2])
            else:
                self._buffer(f"{name}_idx", torch.zeros((0, 4), dtype=torch.long))
                self._buffer(f"{name}_term_of", torch.zeros((0,), dtype=torch.long))
                for field in ("k", "phase", "per"):
                    self._buffer(f"{name}_{field}", empty_f)
        block = par.nonbonded_14_params
        if block is not None and len(block["idx"]):
            p = block["params"][block["map"][:, 1]]
            idx = block["idx"]
            self._buffer("p14_i", idx[:, 0])
            self._buffer("p14_j", idx[:, 1])
            self._buffer("p14_a", p[:, 0] / p[:, 2])  # A / scnb
            self._buffer("p14_b", p[:, 1] / p[:, 2])  # B / scnb
            self._buffer("p14_qq", ELEC_FACTOR * par.charges[idx[:, 0]] * par.charges[idx[:, 1]] / p[:, 3])
        else:
            for field in ("i", "j"):
                self._buffer(f"p14_{field}", torch.zeros((0,), dtype=torch.long))
            for field in ("a", "b", "qq"):
                self._buffer(f"p14_{field}", empty_f)

    def _nonbonded(self, par: Parameters, dtype: torch.dtype) -> None:
        exclusions = par.get_exclusions(("bonds", "angles", "1-4"))
        pairs = Forces._make_indeces(None, self.n_atoms, exclusions, "cpu")
        pairs = pairs.to(torch.long)
        self._buffer("pair_i", pairs[:, 0])
        self._buffer("pair_j", pairs[:, 1])
        if par.nonbonded_params is not None:
            a_table, b_table = par.get_AB()
            types = par.mapped_atom_types.cpu()[pairs]
            self._buffer("pair_a", a_table.cpu()[types[:, 0], types[:, 1]].to(dtype))
            self._buffer("pair_b", b_table.cpu()[types[:, 0], types[:, 1]].to(dtype))
        else:
            self._buffer("pair_a", torch.zeros(len(pairs), dtype=dtype))
            self._buffer("pair_b", torch.zeros(len(pairs), dtype=dtype))
        q = par.charges.cpu()
        self._buffer("pair_qq", ELEC_FACTOR * q[pairs[:, 0]] * q[pairs[:, 1]])

    @classmethod
    def from_system(
        cls,
        system: MolecularSystem,
        terms: Sequence[str] | None = None,
        restraint: EndToEndRestraint | nn.Module | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> TorchMDPotential:
        """The potential of a :class:`~openmm_bridge.system.MolecularSystem`: torchmd's terms plus
        the terms of the System's forces torchmd has no form for (CHARMM, implicit solvent).

        Its :attr:`torsions` are the system's backbone and side-chain torsions.
        """
        torsions = TorsionSet.from_topology(mdtraj_topology(system))
        extra = force_terms(system.system, dtype)
        return cls(torchmd_parameters(system, dtype), terms, restraint, torsions, extra).to(device)

    def torsion_angles(self, pos: torch.Tensor) -> torch.Tensor:
        """Backbone and side-chain torsions of ``pos`` (batch, n_atoms, 3) Angstrom: (batch, n_torsions), radians.

        The order and names are those of :attr:`torsions` (``torsions.names``).
        """
        if self.torsions is None:
            raise PathganInputError(
                "this potential was built without a topology; pass torsions= to define them"
            )
        self.check_positions(pos)
        return self.torsions.angles(pos)

    # ------------------------------------------------------------------ evaluation
    def check_positions(self, pos: torch.Tensor, where: str = "positions") -> None:
        """Raise :class:`PathganInputError` unless ``pos`` is (batch>0, n_atoms, 3) and finite."""
        if pos.ndim != 3 or pos.shape[-1] != 3:
            raise PathganInputError(
                f"{where}: expected shape (batch, {self.n_atoms}, 3), got {tuple(pos.shape)}"
            )
        if pos.shape[0] == 0:
            raise PathganInputError(f"{where}: empty batch (0 frames)")
        if pos.shape[1] != self.n_atoms:
            raise PathganInputError(
                f"{where}: {pos.shape[1]} atoms per frame, but the system has {self.n_atoms} "
                f"(shape {tuple(pos.shape)})"
            )
        finite = torch.isfinite(pos.detach()).all(dim=-1)
        if not bool(finite.all()):
            frame, atom = (int(v) for v in torch.nonzero(~finite)[0])
            raise PathganInputError(
                f"{where}: NaN or infinite coordinates (first at frame {frame}, atom {atom})"
            )

    def forward(
        self, pos: torch.Tensor, t: torch.Tensor | float | None = None, terms: Sequence[str] | None = None
    ) -> dict[str, torch.Tensor]:
        """Energies by term, each of shape (batch,), kcal/mol, plus ``total``.

        Parameters
        ----------
        pos
            Positions, shape (batch, n_atoms, 3), Angstrom.
        t
            Progress along the pull in [0, 1], shape (batch,) or scalar; needed
            for the ``restraint`` term, ignored without a restraint.
        terms
            Only these of the potential's terms (default: all of them).
        """
        self.check_positions(pos)
        out: dict[str, torch.Tensor] = {}
        terms = self.terms if terms is None else tuple(terms)
        # Atom-major layout (n_atoms, 3, batch): gathering atoms is then a copy of
        # contiguous rows, and its gradient a row-wise index_add.
        xt = pos.permute(1, 2, 0).contiguous()
        if "bonds" in terms:
            r = geometry.norm(self._bond_vectors(xt, self.bond_idx, 0, 1), dim=1)
            out["bonds"] = (self.bond_k[:, None] * (r - self.bond_r0[:, None]) ** 2).sum(0)
        if "angles" in terms:
            idx = self.angle_idx
            theta = geometry.angle_between(
                self._bond_vectors(xt, idx, 1, 0), self._bond_vectors(xt, idx, 1, 2), dim=1
            )
            out["angles"] = (self.angle_k[:, None] * (theta - self.angle_theta0[:, None]) ** 2).sum(0)
        if "dihedrals" in terms:
            out["dihedrals"] = self._torsion_energy(xt, "dihedral")
        if "impropers" in terms:
            out["impropers"] = self._torsion_energy(xt, "improper")
        if "1-4" in terms:
            lj14, el14 = pair_energies(xt, self.p14_i, self.p14_j, self.p14_a, self.p14_b, self.p14_qq)
            out["1-4"] = lj14 + el14
        if "lj" in terms or "electrostatics" in terms:
            lj, el = pair_energies(xt, self.pair_i, self.pair_j, self.pair_a, self.pair_b, self.pair_qq)
            if "lj" in terms:
                out["lj"] = lj
            if "electrostatics" in terms:
                out["electrostatics"] = el
        for name, term in self.extra_terms.items():
            if name in terms:
                out[name] = term(pos)
        if self.restraint is not None and t is not None:
            out["restraint"] = self.restraint(pos, t)
        out["total"] = torch.stack(list(out.values())).sum(0)
        return out

    @staticmethod
    def _bond_vectors(xt: torch.Tensor, idx: torch.Tensor, frm: int, to: int) -> torch.Tensor:
        """x[idx[:, to]] - x[idx[:, frm]] in atom-major layout, shape (n, 3, batch)."""
        return xt.index_select(0, idx[:, to]) - xt.index_select(0, idx[:, frm])

    def _torsion_energy(self, xt: torch.Tensor, name: str) -> torch.Tensor:
        # IUPAC sign, as torchmd and OpenMM.  The sign matters even for phases of 0 and pi:
        # torchmd stores phases in float32 (pi rounded by 9e-8).  Periodicity 0: CHARMM's
        # harmonic impropers (see torsion_kernel).
        return torsion_energy(
            xt,
            getattr(self, f"{name}_idx"),
            getattr(self, f"{name}_term_of"),
            getattr(self, f"{name}_k"),
            getattr(self, f"{name}_phase"),
            getattr(self, f"{name}_per"),
        )

    def energy(self, pos: torch.Tensor, t: torch.Tensor | float | None = None) -> torch.Tensor:
        """Total energy, shape (batch,), kcal/mol."""
        return self.forward(pos, t)["total"]

    def energy_and_forces(
        self, pos: torch.Tensor, t: torch.Tensor | float | None = None
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Energies by term (kcal/mol) and forces -dE_total/dx, shape (batch, n_atoms, 3), kcal/mol/A."""
        x = pos.detach().requires_grad_(True)
        energies = self.forward(x, t)
        (grad,) = torch.autograd.grad(energies["total"].sum(), x)
        return {k: v.detach() for k, v in energies.items()}, -grad
