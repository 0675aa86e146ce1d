"""The time-dependent end-to-end restraint of a constant-velocity pull.

    U(x, t) = 1/2 k (d(x) - c(t))^2,    c(t) = c0 + t (c1 - c0),    t in [0, 1]

where d is the distance between the geometric centres of two atom groups
(default: the CA atoms of the first and last residue).  This is NAMD colvars'
harmonic restraint with a moving centre, the protocol of the reference pulls
(k = 1 kcal/mol/A^2, 12 -> 34 A).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from openmm_bridge.distances import centroid_distance, check_groups
from openmm_bridge.errors import PathganInputError
from openmm_bridge.protocol import PullProtocol

from .tables import interpolate

if TYPE_CHECKING:
    from openmm_bridge.system import MolecularSystem


class EndToEndRestraint(nn.Module):
    """Harmonic restraint on a centroid distance whose centre moves linearly with t.

    Parameters
    ----------
    group_a, group_b
        Atom indices of the two groups (each non-empty, disjoint).
    k_kcal_mol_a2
        Force constant, kcal/mol/A^2 (energy is 1/2 k (d - c)^2).
    c0_angstrom, c1_angstrom
        Restraint centre at t = 0 and t = 1, Angstrom.
    n_atoms
        If given, indices are checked against it.
    centre_table_angstrom
        Optional centres at evenly spaced t in [0, 1] (at least 2 values); the centre is
        then their piecewise-linear interpolation instead of the straight line c0 -> c1
        (used to follow the reference pulls' mean distance, which lags behind the spring).
    """

    def __init__(
        self,
        group_a: Sequence[int],
        group_b: Sequence[int],
        k_kcal_mol_a2: float = 1.0,
        c0_angstrom: float = 12.0,
        c1_angstrom: float = 34.0,
        n_atoms: int | None = None,
        centre_table_angstrom: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        ga, gb = [int(i) for i in group_a], [int(i) for i in group_b]
        check_groups(ga, gb, 10**9 if n_atoms is None else n_atoms, "end-to-end restraint")
        if k_kcal_mol_a2 < 0:
            raise PathganInputError(f"end-to-end restraint: negative force constant {k_kcal_mol_a2}")
        self.register_buffer("group_a", torch.tensor(ga, dtype=torch.long))
        self.register_buffer("group_b", torch.tensor(gb, dtype=torch.long))
        self.k = float(k_kcal_mol_a2)
        self.c0 = float(c0_angstrom)
        self.c1 = float(c1_angstrom)
        table = torch.empty(0, dtype=torch.float64)
        if centre_table_angstrom is not None:
            table = torch.as_tensor(list(centre_table_angstrom), dtype=torch.float64)
            if table.numel() < 2 or not bool(torch.isfinite(table).all()):
                raise PathganInputError(
                    "end-to-end restraint: the centre table needs at least 2 finite values"
                )
            self.c0, self.c1 = float(table[0]), float(table[-1])
        self.register_buffer("centre_table", table)

    @classmethod
    def from_protocol(
        cls,
        protocol: PullProtocol,
        n_atoms: int | None = None,
        centre_table_angstrom: Sequence[float] | None = None,
    ) -> EndToEndRestraint:
        """The restraint of a pull protocol (its groups must be filled in: ``protocol.with_groups``)."""
        if protocol.group_a is None or protocol.group_b is None:
            raise PathganInputError(
                "end-to-end restraint: the pull protocol has no atom groups; use with_groups(system)"
            )
        return cls(
            protocol.group_a,
            protocol.group_b,
            protocol.k_kcal_mol_a2,
            protocol.c0_angstrom,
            protocol.c1_angstrom,
            n_atoms=n_atoms,
            centre_table_angstrom=centre_table_angstrom,
        )

    def centre(self, t: torch.Tensor) -> torch.Tensor:
        """Restraint centre c(t), Angstrom, same shape as ``t``."""
        if self.centre_table.numel() == 0:
            return self.c0 + t * (self.c1 - self.c0)
        return interpolate(self.centre_table.to(dtype=t.dtype), t)

    def distance(self, pos: torch.Tensor) -> torch.Tensor:
        """End-to-end centroid distance of (batch, n_atoms, 3) positions, shape (batch,), Angstrom."""
        return centroid_distance(pos, self.group_a, self.group_b)

    def forward(self, pos: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Restraint energy, shape (batch,), kcal/mol; ``t`` has shape (batch,) or is a scalar."""
        t = torch.as_tensor(t, dtype=pos.dtype, device=pos.device).expand(pos.shape[0])
        return 0.5 * self.k * (self.distance(pos) - self.centre(t)) ** 2

    def extra_repr(self) -> str:
        shape = f"table of {self.centre_table.numel()}" if self.centre_table.numel() else "linear"
        return f"k={self.k} kcal/mol/A^2, centre {self.c0} -> {self.c1} A ({shape})"


def pull_restraint(
    protocol: PullProtocol,
    system: MolecularSystem,
    centre_table: Sequence[float] | None = None,
) -> nn.Module:
    """The moving restraint of ``protocol`` on ``system``, energy (batch,) kcal/mol of ``(pos, t)``.

    The default distance pull (no ``coordinate`` in the protocol) gives an
    :class:`EndToEndRestraint`, as before; any other coordinate (a torsion, an RMSD, a
    distance given as a spec) a :class:`~pathgan.coordinate_restraint.CoordinateRestraint`,
    the torch twin of the OpenMM force steered MD pulls with. ``centre_table``: see either.
    """
    from .coordinate_restraint import CoordinateRestraint

    if protocol.coordinate is None:
        return EndToEndRestraint.from_protocol(protocol.with_groups(system), system.n_atoms, centre_table)
    return CoordinateRestraint(
        protocol.resolve_coordinate(system),
        protocol.k_kcal_mol_a2,
        protocol.c0_angstrom,
        protocol.c1_angstrom,
        None if centre_table is None else list(centre_table),
    )


def coordinate_values(
    protocol: PullProtocol, system: MolecularSystem, xyz: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """The pulled coordinate of frames (n, n_atoms, 3) in Angstrom at progress ``t`` (n,).

    Angstrom, or degrees for a torsion: unwrapped onto the protocol's centre line (within 180
    degrees of c(t)), so that averages and plots stay continuous across 180 degrees.
    """
    coordinate = protocol.resolve_coordinate(system)
    values = coordinate.values(xyz)
    if coordinate.kind == "torsion":
        centre = protocol.c0_angstrom + np.asarray(t, dtype=np.float64) * (
            protocol.c1_angstrom - protocol.c0_angstrom
        )
        values = centre + (values - centre + 180.0) % 360.0 - 180.0
    return values


def reference_pull(reference: Any) -> PullProtocol | None:
    """The protocol of the pull folder a ReferenceSet's frames come from (``smd.json``), if any."""
    from openmm_bridge.pull_folder import MANIFEST, read_protocol

    for source in reference.sources[:1]:
        folder = Path(source).parent.parent
        if (folder / MANIFEST).exists():
            return read_protocol(folder)
    return None
