"""The pull protocol: the one description of a constant-velocity pull.

Steered MD runs it in OpenMM (:mod:`.steered_md`), the cGAN's energy loss applies the same
moving restraint in torch (``pathgan.restraint.pull_restraint``), and a pull
folder records it in ``smd.json``. Distances in Angstrom, force constant in kcal/mol/A^2,
times in ps or fs as named, temperature in K (OpenMM Quantities accepted).

The pulled coordinate is the distance between two atom groups unless ``coordinate`` names
another (:mod:`.pull_coordinates`): then ``c0_angstrom``/``c1_angstrom`` are in that
coordinate's unit (degrees for a torsion) and ``k_kcal_mol_a2`` in kcal/mol per unit squared
(kcal/mol/rad^2 for a torsion). The names keep their historical suffixes so that every
existing config and ``smd.json`` reads as before.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .context import get_platform
from .distances import check_groups
from .errors import PathganInputError
from .settings import Settings, non_negative, one_of, positive

if TYPE_CHECKING:
    from .pull_coordinates import PullCoordinate
    from .system import MolecularSystem


#: Default equilibration at c0 before the pulls, ps (deca-alanine's measured decorrelation: see the field).
EQUILIBRATION_PS = 500.0


@dataclasses.dataclass
class PullProtocol(Settings):
    """Everything that defines a pull. Defaults: the paper's protocol (GUIDE section 2).

    ``group_a``/``group_b`` (0-based atom indices) default to the CA atoms of the first and
    last residue of the system (:meth:`with_groups`).

    ``coordinate`` (optional) is a :func:`~openmm_bridge.pull_coordinates.resolve_coordinate`
    spec, e.g. ``{"kind": "torsion", "torsion": "phi:ALA2"}`` or ``{"kind": "rmsd", "target":
    "end.pdb"}``; None (the default) pulls the distance between ``group_a`` and ``group_b``,
    which a spec excludes. With a spec, ``c0_angstrom``, ``c1_angstrom`` and ``k_kcal_mol_a2``
    are in the coordinate's units: Angstrom and kcal/mol/A^2 for a distance or an RMSD,
    **degrees and kcal/mol/rad^2 for a torsion** (the suffixes are historical; a Quantity is
    therefore only accepted for Angstrom-valued coordinates). ``to_dict`` leaves out a None
    ``coordinate``, so the ``smd.json`` of a distance pull is the same as before.

    ``equilibration_ps``: length of ONE Langevin run under the restraint held at c0 before the
    pulls (:mod:`.equilibration`); the replicas start from configurations (positions and
    velocities) drawn from it, spaced by its measured decorrelation time. 0 is the old protocol:
    every replica starts from the minimised structure with fresh Maxwell-Boltzmann velocities. A
    ``smd.json`` written before this setting existed has none: it reads as 0.
    """

    c0_angstrom: float = 12.0
    c1_angstrom: float = 34.0
    k_kcal_mol_a2: float = positive(1.0)
    length_ps: float = positive(1000.0)
    equilibration_ps: float = non_negative(EQUILIBRATION_PS)
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
    coordinate: dict[str, Any] | None = None

    @property
    def n_steps(self) -> int:
        """Number of MD steps of the pull."""
        return int(round(self.length_ps * 1000.0 / self.timestep_fs))

    @property
    def equilibration_steps(self) -> int:
        """Number of MD steps of the equilibration at c0 before the pulls (0: none)."""
        return int(round(self.equilibration_ps * 1000.0 / self.timestep_fs))

    @property
    def n_frames(self) -> int:
        """Frames per replica, step 0 included."""
        return self.n_steps // self.frame_interval_steps + 1

    def centre_at_t(self, t: float) -> float:
        """Restraint centre (Angstrom, or degrees for a torsion) at progress ``t`` in [0, 1] of the pull."""
        return self.c0_angstrom + t * (self.c1_angstrom - self.c0_angstrom)

    @property
    def unit(self) -> str:
        """Unit of the centres: ``"deg"`` for a torsion, else ``"A"``."""
        return "deg" if (self.coordinate or {}).get("kind") == "torsion" else "A"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict; without ``coordinate`` when it is None (old manifests compare equal)."""
        out = super().to_dict()
        if out.get("coordinate") is None:
            out.pop("coordinate", None)
        return out

    def resolve_coordinate(
        self, system: MolecularSystem, base_dir: str | Path | None = None
    ) -> PullCoordinate:
        """The pulled :class:`~openmm_bridge.pull_coordinates.PullCoordinate` on ``system``.

        Without a ``coordinate`` spec: the distance between ``group_a`` and ``group_b`` (default:
        CA of the first and last residue). ``base_dir``: folder of a relative RMSD target.
        """
        from .pull_coordinates import PullCoordinate, resolve_coordinate
        from .trajio import mdtraj_topology

        if self.coordinate is not None:
            return resolve_coordinate(self.coordinate, mdtraj_topology(system), "pull.coordinate", base_dir)
        proto = self.with_groups(system)
        groups = (tuple(proto.group_a), tuple(proto.group_b))
        try:
            ends = tuple((i,) for i in system.end_to_end_atoms())
        except PathganInputError:  # no two CA atoms: the groups were given
            ends = ()
        label = "CA(1)-CA(N) distance" if groups == ends else "distance"
        return PullCoordinate("distance", groups, label)

    def with_groups(self, system: MolecularSystem, base_dir: str | Path | None = None) -> PullProtocol:
        """A copy with the default groups filled in from ``system``, validated against it.

        With a ``coordinate`` spec the groups stay None; the spec is checked against ``system``
        and a relative RMSD target is made absolute (from ``base_dir``, default the working
        directory), so that the recorded protocol means the same from anywhere.
        """
        if self.coordinate is not None:
            spec = dict(self.coordinate)
            if spec.get("kind") == "rmsd" and isinstance(spec.get("target"), str):
                spec["target"] = str((Path(base_dir or ".") / spec["target"]).resolve())
            proto = dataclasses.replace(self, coordinate=spec)
            proto.validate("pull")
            proto.resolve_coordinate(system)
            return proto
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
            raise PathganInputError(
                f"{where}: c0 = c1 = {self.c0_angstrom} {self.unit}; nothing would be pulled"
            )
        if self.coordinate is not None:
            if not isinstance(self.coordinate, dict) or "kind" not in self.coordinate:
                raise PathganInputError(
                    f"{where}.coordinate: expected a mapping with a 'kind', got {self.coordinate!r}"
                )
            if self.group_a is not None or self.group_b is not None:
                raise PathganInputError(
                    f"{where}: give either 'coordinate' or 'group_a'/'group_b' (a distance: "
                    "coordinate: {kind: distance, group_a: ..., group_b: ...}), not both"
                )
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
        n_eq = self.equilibration_steps
        if self.equilibration_ps > 0 and (n_eq <= 0 or n_eq % self.frame_interval_steps):
            raise PathganInputError(
                f"{where}.equilibration_ps: {n_eq} steps ({self.equilibration_ps} ps at {self.timestep_fs} fs) "
                f"is not a positive multiple of the frame interval {self.frame_interval_steps} (or 0: no "
                "equilibration)"
            )
        if self.group_a is not None and self.group_b is not None:
            check_groups(self.group_a, self.group_b, 10**9, where)
        get_platform(self.platform)
