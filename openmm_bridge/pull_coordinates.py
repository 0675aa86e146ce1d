"""Pull coordinates: what a steered-MD pull may move, each an OpenMM force and a numpy definition.

A :class:`PullCoordinate` is one of

- ``distance``: between the geometric centres of two atom groups (Angstrom);
- ``torsion``: an IUPAC dihedral of four atoms (degrees, periodic);
- ``rmsd``: the RMSD of some atoms to a target structure after optimal superposition (Angstrom).

:meth:`PullCoordinate.force` is the moving harmonic restraint ``U = 1/2 k (cv - c)^2`` as an
OpenMM force (any platform) with the global parameters ``<name>_centre`` (dU/dcentre requested)
and ``<name>_k``, in a force group of its own (31 by default): the pulling reporters and the
exact work of :mod:`.work` apply to it unchanged. For a torsion the difference ``cv - c`` is
wrapped into (-pi, pi]. :meth:`PullCoordinate.values` computes the same variable in numpy, and
``pathgan.coordinate_restraint.CoordinateRestraint`` the same restraint in torch.

A coordinate comes from a YAML-friendly dict (:func:`resolve_coordinate`)::

    {"kind": "distance", "group_a": "resid 1 and name CA", "group_b": [98]}   # mdtraj selections or indices
    {"kind": "torsion", "torsion": "phi:ALA2"}                                  # or "atoms": [4, 6, 8, 10]
    {"kind": "rmsd", "target": "end.pdb", "atoms": "backbone"}                  # default atoms: not element H

Units at the interface: Angstrom for distances and RMSDs, degrees for torsions; the force
constant in kcal/mol/A^2 or kcal/mol/rad^2. Inside OpenMM (the Context's parameters) OpenMM's:
``<name>_centre`` in nm or radians, ``<name>_k`` in kJ/mol/nm^2 or kJ/mol/rad^2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mdtraj as md
import numpy as np
import openmm as mm

from .collective_variables import available_torsions
from .distances import centroid_distance
from .errors import PathganInputError
from .pull_forces import DEFAULT_NAME, PULL_FORCE_GROUP, centroid_distance_force
from .stereochemistry import dihedral_deg
from .superpose import superpose
from .units import angstrom_to_nm, kcal_a2_to_kj_nm2, kcal_to_kj, nm_to_angstrom

#: The kinds of coordinate and the unit of each at the interface.
UNITS = {"distance": "A", "torsion": "deg", "rmsd": "A"}
#: Atoms an RMSD is computed on when the spec names none.
DEFAULT_RMSD_ATOMS = "not element H"
#: The settings each kind takes (besides ``kind``).
_KEYS = {
    "distance": ("group_a", "group_b"),
    "torsion": ("torsion", "atoms"),
    "rmsd": ("target", "atoms"),
}


@dataclass(frozen=True)
class PullCoordinate:
    """A coordinate to pull along: its atoms, a label, and for an RMSD the target structure.

    Parameters
    ----------
    kind
        ``"distance"``, ``"torsion"`` or ``"rmsd"``.
    atoms
        0-based atom indices: ``(group_a, group_b)`` for a distance, ``((i, j, k, l),)`` for a
        torsion, ``(atoms,)`` for an RMSD.
    label
        Human-readable name (``"torsion phi:ALA2"``), for tables and plots.
    reference_angstrom
        RMSD only: target positions of *all* atoms, shape (n_atoms, 3), Angstrom.
    """

    kind: str
    atoms: tuple[tuple[int, ...], ...]
    label: str
    reference_angstrom: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in UNITS:
            raise PathganInputError(f"pull coordinate: unknown kind {self.kind!r}; known: {list(UNITS)}")
        atoms = tuple(tuple(int(i) for i in group) for group in self.atoms)
        object.__setattr__(self, "atoms", atoms)
        n_groups = {"distance": 2, "torsion": 1, "rmsd": 1}[self.kind]
        if len(atoms) != n_groups or any(len(g) == 0 for g in atoms):
            raise PathganInputError(
                f"pull coordinate {self.label!r}: a {self.kind} takes {n_groups} non-empty atom group(s), got {atoms}"
            )
        if self.kind == "torsion" and len(atoms[0]) != 4:
            raise PathganInputError(
                f"pull coordinate {self.label!r}: a torsion takes 4 atoms, got {atoms[0]}"
            )
        if self.kind == "rmsd":
            if self.reference_angstrom is None:
                raise PathganInputError(f"pull coordinate {self.label!r}: an RMSD needs reference positions")
            ref = np.array(self.reference_angstrom, dtype=np.float64)  # a private, read-only copy
            if ref.ndim != 2 or ref.shape[1] != 3 or max(atoms[0]) >= len(ref):
                raise PathganInputError(
                    f"pull coordinate {self.label!r}: reference positions of shape {ref.shape} do not cover "
                    f"atom {max(atoms[0])}"
                )
            ref.flags.writeable = False
            object.__setattr__(self, "reference_angstrom", ref)

    @property
    def unit(self) -> str:
        """Unit of the coordinate at the interface: ``"A"`` or ``"deg"``."""
        return UNITS[self.kind]

    @property
    def periodic(self) -> bool:
        """Whether the coordinate wraps (torsions, at +-180 degrees)."""
        return self.kind == "torsion"

    def values(self, xyz_angstrom: np.ndarray) -> np.ndarray:
        """The coordinate of each frame, the same definition as :meth:`force`'s.

        Parameters
        ----------
        xyz_angstrom
            Positions (n_frames, n_atoms, 3) or one frame (n_atoms, 3), Angstrom.

        Returns
        -------
        numpy.ndarray
            (n_frames,), float64: Angstrom (distance, RMSD) or degrees in (-180, 180] (torsion).
        """
        xyz = np.asarray(xyz_angstrom, dtype=np.float64)
        if xyz.ndim == 2:
            xyz = xyz[None]
        if xyz.ndim != 3 or xyz.shape[-1] != 3:
            raise PathganInputError(
                f"{self.label}: positions must have shape (n_frames, n_atoms, 3), got {xyz.shape}"
            )
        if self.kind == "rmsd" and xyz.shape[1] != len(self.reference_angstrom):
            raise PathganInputError(
                f"{self.label}: positions of {xyz.shape[1]} atoms, but the target has {len(self.reference_angstrom)}"
            )
        if self.kind == "distance":
            return centroid_distance(xyz, list(self.atoms[0]), list(self.atoms[1]))
        if self.kind == "torsion":
            return dihedral_degrees(xyz, self.atoms[0])
        return kabsch_rmsd(xyz[:, list(self.atoms[0])], self.reference_angstrom[list(self.atoms[0])])

    def force(
        self, k: float, centre: float, name: str = DEFAULT_NAME, force_group: int = PULL_FORCE_GROUP
    ) -> mm.Force:
        """The restraint ``1/2 k (cv - centre)^2`` as an OpenMM force (wrapped difference for a torsion).

        Parameters
        ----------
        k
            Force constant: kcal/mol/A^2 (distance, RMSD) or kcal/mol/rad^2 (torsion).
        centre
            Initial centre: Angstrom, or degrees for a torsion.
        name
            Prefix of the global parameters ``<name>_centre`` (nm or rad; dU/dcentre requested)
            and ``<name>_k`` (kJ/mol/nm^2 or kJ/mol/rad^2); the force is called ``"<name> restraint"``.
        force_group
            The force's group, which no other force of the System may use (the work is read from it).
        """
        if k < 0:
            raise PathganInputError(f"{self.label}: negative force constant {k}")
        if self.kind == "distance":
            return centroid_distance_force(*self.atoms, k, centre, name=name, force_group=force_group)
        if self.kind == "torsion":
            # dw = theta - centre wrapped into (-pi, pi]; floor's derivative is zero, so dU/dcentre = -k dw
            # holds everywhere but at the far side (dw = +-pi), where U is continuous but not smooth.
            force = mm.CustomTorsionForce(
                f"0.5*{name}_k*dw^2; dw = dt + {2 * math.pi!r}*floor(({math.pi!r} - dt)/{2 * math.pi!r}); "
                f"dt = theta - {name}_centre"
            )
            force.addGlobalParameter(f"{name}_k", kcal_to_kj(float(k)))
            force.addGlobalParameter(f"{name}_centre", math.radians(centre))
            force.addTorsion(*self.atoms[0], [])
        else:
            force = mm.CustomCVForce(f"0.5*{name}_k*(rmsd-{name}_centre)^2")
            force.addGlobalParameter(f"{name}_k", kcal_a2_to_kj_nm2(float(k)))
            force.addGlobalParameter(f"{name}_centre", angstrom_to_nm(float(centre)))
            reference_nm = angstrom_to_nm(self.reference_angstrom)
            force.addCollectiveVariable(
                "rmsd", mm.RMSDForce([mm.Vec3(*map(float, x)) for x in reference_nm], list(self.atoms[0]))
            )
        force.addEnergyParameterDerivative(f"{name}_centre")
        force.setName(f"{name} restraint")
        force.setForceGroup(force_group)
        return force

    def centre_to_openmm(self, centre: float) -> float:
        """A centre at the interface (Angstrom or degrees) in the Context's units (nm or radians)."""
        return math.radians(centre) if self.kind == "torsion" else angstrom_to_nm(float(centre))


def dihedral_degrees(xyz: np.ndarray, quad: Sequence[int]) -> np.ndarray:
    """IUPAC dihedral i-j-k-l of each frame (n_frames, n_atoms, 3), degrees in (-180, 180] (OpenMM's sign)."""
    deg = dihedral_deg(xyz, *quad)
    return np.where(deg <= -180.0, deg + 360.0, deg)  # atan2 may give -180 itself


def kabsch_rmsd(mobile: np.ndarray, target: np.ndarray) -> np.ndarray:
    """RMSD of frames (n_frames, n, 3) to ``target`` (n, 3) after optimal superposition, same unit.

    Each frame is superposed onto the target by a proper rotation (:func:`.superpose.superpose`),
    as OpenMM's ``RMSDForce`` does; the deviation is summed after superposition, not taken from
    singular values, to keep small RMSDs accurate.
    """
    moved = np.stack([superpose(frame, target) for frame in np.asarray(mobile, dtype=np.float64)])
    return np.sqrt(((moved - target) ** 2).sum(axis=(1, 2)) / moved.shape[1])


def _fail(where: str, message: str) -> PathganInputError:
    return PathganInputError(f"{where}: {message}")


def _indices(value: Any, topology: md.Topology, where: str, what: str) -> tuple[int, ...]:
    """Atoms of an mdtraj selection string or a list of 0-based indices (non-empty, in range, distinct)."""
    n = topology.n_atoms
    if isinstance(value, str):
        try:
            atoms = topology.select(value)
        except Exception as err:  # mdtraj raises ValueError, but its parser may raise others
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise _fail(where, f"invalid mdtraj selection {value!r} ({first[:160]})") from err
        if len(atoms) == 0:
            raise _fail(where, f"the selection {value!r} matches no atom of the system ({n} atoms)")
        return tuple(int(i) for i in atoms)
    if isinstance(value, list | tuple) and value:
        if not all(isinstance(i, int | np.integer) and not isinstance(i, bool) for i in value):
            raise _fail(
                where, f"expected {what} as an mdtraj selection or a list of atom indices, got {value!r}"
            )
        bad = [int(i) for i in value if not 0 <= int(i) < n]
        if bad:
            raise _fail(where, f"atom indices {bad} are out of range (the system has {n} atoms, 0-based)")
        if len(set(map(int, value))) != len(value):
            raise _fail(where, f"atom indices {list(value)} repeat an atom")
        return tuple(int(i) for i in value)
    if isinstance(value, list | tuple):
        raise _fail(where, "the list of atom indices is empty")
    raise _fail(where, f"expected {what} as an mdtraj selection or a list of atom indices, got {value!r}")


def _describe(value: Any) -> str:
    """A selection as the label shows it."""
    return value if isinstance(value, str) else "[" + ", ".join(str(int(i)) for i in value) + "]"


def read_target_structure(path: Path, topology: md.Topology, where: str) -> np.ndarray:
    """Positions (n_atoms, 3), Angstrom, of a single-structure PDB whose atoms match ``topology``.

    The same atoms in the same order, residue by residue (names as written); refused otherwise,
    naming ``where``, the file and the first atom that differs.
    """
    if not path.is_file():
        raise _fail(where, f"target structure {path} not found")
    try:
        target = md.load_pdb(
            str(path), standard_names=False
        )  # names as written, to compare with the system's
    except Exception as err:  # mdtraj's PDB reader raises several kinds on bad files
        raise _fail(where, f"{path} cannot be read as a PDB file ({err})") from err
    if target.n_frames != 1:
        raise _fail(where, f"{path} holds {target.n_frames} models; give a single target structure")
    if target.n_atoms != topology.n_atoms:
        raise _fail(where, f"{path} has {target.n_atoms} atoms, but the system has {topology.n_atoms}")
    if target.topology.n_residues != topology.n_residues:
        raise _fail(
            where,
            f"{path} has {target.topology.n_residues} residues, but the system has {topology.n_residues}",
        )
    for theirs, ours in zip(target.topology.residues, topology.residues, strict=True):
        their_names, our_names = [a.name for a in theirs.atoms], [a.name for a in ours.atoms]
        if their_names != our_names:
            diff = next(
                (k for k, (a, b) in enumerate(zip(their_names, our_names, strict=False)) if a != b),
                min(len(their_names), len(our_names)),
            )
            theirs_at = their_names[diff] if diff < len(their_names) else "nothing"
            ours_at = our_names[diff] if diff < len(our_names) else "nothing"
            raise _fail(
                where,
                f"{path} does not match the system: atom {diff} of residue {ours} (index {ours.index}) is "
                f"{theirs_at} in the file but {ours_at} in the system",
            )
    xyz = nm_to_angstrom(target.xyz[0].astype(np.float64))
    if not np.isfinite(xyz).all():
        raise _fail(where, f"{path} has NaN or infinite coordinates")
    return xyz


def resolve_coordinate(
    spec: dict, topology: md.Topology, where: str = "smd.coordinate", base_dir: Path | None = None
) -> PullCoordinate:
    """A :class:`PullCoordinate` from its settings (see the module docstring for the forms).

    Parameters
    ----------
    spec
        ``{"kind": "distance" | "torsion" | "rmsd", ...}`` as in a YAML file.
    topology
        The system's mdtraj topology (``trajio.mdtraj_topology(system)``).
    where
        Where the settings live, the start of every error message.
    base_dir
        Folder a relative RMSD target path is taken from (default: the working directory).

    Raises
    ------
    PathganInputError
        Naming ``where`` and the setting at fault.
    """
    if not isinstance(spec, dict):
        raise _fail(where, f"expected a mapping with a 'kind' ({list(UNITS)}), got {spec!r}")
    kind = spec.get("kind")
    if kind not in UNITS:
        raise _fail(f"{where}.kind", f"expected one of {list(UNITS)}, got {kind!r}")
    known = _KEYS[kind]
    unknown = sorted(map(str, set(spec) - {"kind", *known}))
    if unknown:
        raise _fail(where, f"unknown settings {unknown} for a {kind}; known: {['kind', *known]}")

    if kind == "distance":
        for key in known:
            if key not in spec:
                raise _fail(f"{where}.{key}", "missing (an mdtraj selection or a list of atom indices)")
        group_a = _indices(spec["group_a"], topology, f"{where}.group_a", "an atom group")
        group_b = _indices(spec["group_b"], topology, f"{where}.group_b", "an atom group")
        shared = sorted(set(group_a) & set(group_b))
        if shared:
            raise _fail(where, f"group_a and group_b share atoms {shared[:10]}")
        label = f"distance({_describe(spec['group_a'])} | {_describe(spec['group_b'])})"
        return PullCoordinate("distance", (group_a, group_b), label)

    if kind == "torsion":
        if ("torsion" in spec) == ("atoms" in spec):
            raise _fail(where, "give either 'torsion' (a name such as 'phi:ALA2') or 'atoms' (4 indices)")
        if "torsion" in spec:
            name = spec["torsion"]
            torsions = available_torsions(topology)
            if name not in torsions:
                known_names = ", ".join(list(torsions)[:6])
                raise _fail(
                    f"{where}.torsion",
                    f"{name!r} is not a torsion of this system (known: {known_names}, ...; or give 'atoms')",
                )
            return PullCoordinate("torsion", (torsions[name],), f"torsion {name}")
        value = spec["atoms"]
        if not isinstance(value, list | tuple) or len(value) != 4:
            raise _fail(f"{where}.atoms", f"a torsion takes a list of 4 atom indices, got {value!r}")
        quad = _indices(value, topology, f"{where}.atoms", "a torsion's atoms")
        return PullCoordinate("torsion", (quad,), "torsion " + "-".join(map(str, quad)))

    if "target" not in spec:
        raise _fail(f"{where}.target", "missing (a PDB file of the target structure)")
    if not isinstance(spec["target"], str | Path):
        raise _fail(f"{where}.target", f"expected a PDB file name, got {spec['target']!r}")
    path = Path(spec["target"])
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    reference = read_target_structure(path, topology, f"{where}.target")
    selection = spec.get("atoms", DEFAULT_RMSD_ATOMS)
    atoms = _indices(selection, topology, f"{where}.atoms", "the atoms of the RMSD")
    if len(atoms) < 3:
        raise _fail(f"{where}.atoms", f"an RMSD after superposition needs at least 3 atoms, got {len(atoms)}")
    label = f"rmsd to {spec['target']} ({_describe(selection)})"
    return PullCoordinate("rmsd", (atoms,), label, reference)
