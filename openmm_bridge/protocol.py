"""The pull protocol: the one description of a constant-velocity pull.

Steered MD runs it in OpenMM (:mod:`.steered_md`), the cGAN's energy loss applies the same
moving restraint in torch (``pathgan.restraint.EndToEndRestraint.from_protocol``), and a pull
folder records it in ``smd.json``. Distances in Angstrom, force constant in kcal/mol/A^2,
times in ps or fs as named, temperature in K (OpenMM Quantities accepted).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from .context import get_platform
from .distances import check_groups
from .errors import PathganInputError
from .settings import Settings, non_negative, one_of, positive

if TYPE_CHECKING:
    from .system import MolecularSystem


@dataclasses.dataclass
class PullProtocol(Settings):
    """Everything that defines a pull. Defaults: the paper's protocol (GUIDE section 2).

    ``group_a``/``group_b`` (0-based atom indices) default to the CA atoms of the first and
    last residue of the system (:meth:`with_groups`).
    """

    c0_angstrom: float = 12.0
    c1_angstrom: float = 34.0
    k_kcal_mol_a2: float = positive(1.0)
    length_ps: float = positive(1000.0)
    temperature_k: float = positive(300.0)
    friction_per_ps: float = positive(1.0)
    timestep_fs: float = positive(2.0)
    constraints: str | None = one_of(("HBonds", None), "HBonds")
    minimize_steps: int = non_negative(500)
    frame_interval_steps: int = positive(50)
    update_interval_steps: int = positive(10)
    checkpoint_interval_steps: int = positive(25_000)
    platform: str = "Reference"
    group_a: list[int] | None = None
    group_b: list[int] | None = None

    @property
    def n_steps(self) -> int:
        """Number of MD steps of the pull."""
        return int(round(self.length_ps * 1000.0 / self.timestep_fs))

    @property
    def n_frames(self) -> int:
        """Frames per replica, step 0 included."""
        return self.n_steps // self.frame_interval_steps + 1

    def centre_at_t(self, t: float) -> float:
        """Restraint centre (Angstrom) at progress ``t`` in [0, 1] of the pull."""
        return self.c0_angstrom + t * (self.c1_angstrom - self.c0_angstrom)

    def with_groups(self, system: MolecularSystem) -> PullProtocol:
        """A copy with the default groups filled in from ``system``, validated against it."""
        i, j = system.end_to_end_atoms()
        proto = dataclasses.replace(
            self,
            group_a=list(self.group_a) if self.group_a is not None else [i],
            group_b=list(self.group_b) if self.group_b is not None else [j],
        )
        proto.validate("pull")
        check_groups(proto.group_a, proto.group_b, system.n_atoms, "pull")
        return proto

    def check(self, where: str) -> None:
        """Cross-field rules: a real move, whole frames, checkpoints on frames, a known platform."""
        if self.c0_angstrom == self.c1_angstrom:
            raise PathganInputError(f"{where}: c0 = c1 = {self.c0_angstrom} A; nothing would be pulled")
        if self.frame_interval_steps % self.update_interval_steps:
            raise PathganInputError(
                f"{where}: frame interval {self.frame_interval_steps} is not a multiple of the centre's "
                f"update interval {self.update_interval_steps}"
            )
        if self.checkpoint_interval_steps % self.frame_interval_steps:
            raise PathganInputError(
                f"{where}: checkpoint interval {self.checkpoint_interval_steps} is not a multiple of the "
                f"frame interval {self.frame_interval_steps}"
            )
        if self.n_steps <= 0 or self.n_steps % self.frame_interval_steps:
            raise PathganInputError(
                f"{where}: {self.n_steps} steps ({self.length_ps} ps at {self.timestep_fs} fs) is not a "
                f"positive multiple of the frame interval {self.frame_interval_steps}"
            )
        if self.group_a is not None and self.group_b is not None:
            check_groups(self.group_a, self.group_b, 10**9, where)
        get_platform(self.platform)
